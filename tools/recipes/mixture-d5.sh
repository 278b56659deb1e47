#!/bin/sh
# Recipe of models/mixture-d5.st (models/mixture-d5.md): the static function classes (no time
# series: the rows layout cannot see the order of the rows), d = 5, rows layout, 4 layers x 128
# (0.8 M parameters), batches of 64 tasks, Garg-style curriculum (d 4 -> 5), 30,000 steps on one
# thread (~25 min on an idle core). Label noise on half of the tasks (relative sigma
# U[0.05, 0.5]), 10 % of tasks with missing features, 5 % with 5-bin labels; 20 % Numerai-like
# inputs. Then the weights-only export and the evaluation at k = 2d = 10 (1,280 tasks per class),
# noise-free and with label noise sigma = 0.25, and the out-of-distribution variants.
set -eu
BIN=${ERAFORMER:-build/eraformer}
OUT=${1:-mixture-d5}
THREADS=${THREADS:-1}
"$BIN" pretrain --layout rows \
    --mixture linear=0.2,laplace=0.1,elasticnet=0.1,sparse=0.15,relu=0.15,tree=0.15,forest=0.15 \
    --x gaussian=0.8,numerai=0.2 --prior-params noise_prob=0.5,mask_prob=0.1,quantize_prob=0.05 \
    --d 5 --points 11 --curriculum-every 200 --layers 4 --d-model 128 --heads 4 --batch 64 --lr 1e-3 \
    --steps 30000 --eval-every 1000 --checkpoint-every 1000 --threads "$THREADS" --out "$OUT.train.st"
"$BIN" export --model "$OUT.train.st" --out "$OUT.st"
THREADS=$THREADS ERAFORMER="$BIN" "$(dirname "$0")/icl-eval-all.sh" "$OUT.st" "$OUT" linear laplace elasticnet sparse relu tree forest
