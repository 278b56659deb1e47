#!/bin/sh
# Recipe of models/mixture-numerai.st (models/mixture-numerai.md): the small base model that the
# demo and `finetune --base` start from: rows layout, 3 layers x 64 (0.15 M parameters), 300
# steps of batches of 16 tasks with 64 points (d 16) from a linear/sparse/relu/tree mixture on
# Numerai-like 5-bin inputs (70 %) and Gaussian inputs (30 %); about 15 s on one core.
# Deterministic: the same build gives the same file for any thread count.
set -eu
BIN=${ERAFORMER:-build/eraformer}
OUT=${1:-mixture-numerai}
"$BIN" pretrain --layout rows --mixture linear=0.3,sparse=0.2,relu=0.2,tree=0.3 --x numerai=0.7,gaussian=0.3 \
    --d 16 --points 64 --curriculum-every 0 --layers 3 --d-model 64 --heads 4 --batch 16 \
    --steps 300 --lr 1e-3 --eval-every 100000 --out "$OUT.train.st"
"$BIN" export --model "$OUT.train.st" --out "$OUT.st"
