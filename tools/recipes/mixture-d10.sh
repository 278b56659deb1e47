#!/bin/sh
# Recipe of models/mixture-d10.st (models/mixture-d10.md): the full mixture of function classes,
# d = 10, rows layout with row positions (the time-series classes are ordered), 4 layers x 128
# (0.8 M parameters), batches of 64 tasks. A class curriculum:
#   phase 1: dense linear alone = models/linear-d10.st (tools/recipes/linear-d10.sh, 40k steps);
#   phase 2: the whole mixture from its weights (--init: fresh AdamW moments and schedule; the
#            row-position embedding starts at zero), lr 5e-4, 55,000 steps on one thread
#            (91 min on one core of this machine while the other core was busy).
# Label noise on half of the tasks (relative sigma U[0.05, 0.5]), 10 % of tasks with missing
# features, 5 % with labels quantised to Numerai's 5 bins; 20 % of tasks on Numerai-like inputs.
# Then the weights-only export and the in-context evaluation of every class (1,280 tasks each),
# noise-free and with label noise sigma = 0.25 (where the Bayes-optimal estimators are not exact).
#   INIT=... to start from another phase-1 model (default models/linear-d10.st).
set -eu
BIN=${ERAFORMER:-build/eraformer}
OUT=${1:-mixture-d10}
THREADS=${THREADS:-1}
INIT=${INIT:-"$(dirname "$0")/../../models/linear-d10.st"}
"$BIN" pretrain --layout rows --row-positions --init "$INIT" \
    --mixture linear=0.15,laplace=0.05,elasticnet=0.05,sparse=0.15,relu=0.15,tree=0.1,forest=0.1,timeseries=0.25 \
    --x gaussian=0.8,numerai=0.2 --prior-params noise_prob=0.5,mask_prob=0.1,quantize_prob=0.05 \
    --d 10 --points 21 --curriculum-every 0 --layers 4 --d-model 128 --heads 4 --batch 64 --lr 5e-4 \
    --steps 55000 --eval-every 1000 --checkpoint-every 1000 --threads "$THREADS" --out "$OUT.train.st"
"$BIN" export --model "$OUT.train.st" --out "$OUT.st"
THREADS=$THREADS ERAFORMER="$BIN" "$(dirname "$0")/icl-eval-all.sh" "$OUT.st" "$OUT" linear laplace elasticnet sparse relu tree forest ar_drift regime lstm
