#!/bin/sh
# Recipe of the linear-d10 model (docs/icl/README.md): dense linear regression, d = 10, rows
# layout, 4 layers x 128, 20,000 steps of 64 tasks, Garg-style curriculum (d 4 -> 10). About
# 65 minutes with one thread on the shared 2-core machine; then the in-context evaluation.
set -eu
BIN=${ERAFORMER:-build/eraformer}
OUT=${1:-linear-d10.st}
"$BIN" pretrain --task linear --d 10 --points 21 --layout rows --layers 4 --d-model 128 --heads 4 \
    --batch 64 --steps 20000 --lr 1e-3 --eval-every 1000 --checkpoint-every 500 --threads 1 --out "$OUT"
"$BIN" icl-eval --model "$OUT" --class linear --tasks 1280 --plot "${OUT%.st}.svg" --csv "${OUT%.st}.csv"
