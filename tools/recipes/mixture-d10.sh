#!/bin/sh
# Recipe of models/mixture-d10.st (models/mixture-d10.md): the full mixture of function classes,
# d = 10, rows layout with row positions (the time-series classes are ordered), batches of 64
# tasks. A class curriculum, then depth growth:
#   phase 1: dense linear alone = models/linear-d10.st (tools/recipes/linear-d10.sh, 40k steps,
#            4 layers x 128);
#   phase 2: the whole mixture from its weights (--init: fresh AdamW moments and schedule; the
#            row-position embedding starts at zero), lr 5e-4, 55,000 steps on one thread
#            (91 min on one core of this machine while the other core was busy); this was the
#            shipped model until session 4 (its evaluation: docs/icl/mixture-d10-4layer/);
#   phase 3: grown to 6 layers (--init --layers 6: the two new blocks start as the identity),
#            the linear family's share raised from 0.40 to 0.55 and the trees' lowered, lr 3e-4,
#            38,000 steps on one thread (96 min at 6.6 steps/s, the other core busy); shipped in
#            session 4 (its evaluation: docs/icl/mixture-d10-6layer/);
#   phase 4: long contexts (--ctx-min 10: each step labels 10..20 rows instead of 0..20) and the
#            linear family at 0.64, trees and forests at 0.02 each, time series 0.22, lr 1.5e-4,
#            22,000 steps (59 min at 6.2 steps/s, the other core busy);
#   phase 5: the same with laplace, elasticnet and sparse raised again (linear family 0.68,
#            time series 0.18), lr 1e-4, 16,000 steps (48 min at 5.6 steps/s); shipped in
#            session 5 (its evaluation: docs/icl/mixture-d10-phase5/);
#   phase 6: the time series back at 0.26 and trees/forests at 0.04 each (linear family 0.56),
#            lr 7e-5, 9,000 steps (14 min at 10.9 steps/s on 2 threads);
#   phase 7: a new task stream (--seed 6), sparse 0.18, linear 0.18, relu 0.08 (linear family
#            0.58, time series 0.26), lr 5e-5, 8,000 steps (27 min at 4.9 steps/s, sharing the
#            cores with an evaluation).
# Label noise on half of the tasks (relative sigma U[0.05, 0.5]), 10 % of tasks with missing
# features, 5 % with labels quantised to Numerai's 5 bins; 20 % of tasks on Numerai-like inputs.
# Then the weights-only export and the in-context evaluation of every class (1,280 tasks each),
# noise-free and with label noise sigma = 0.25, single pass and 4-member symmetry ensemble.
#   INIT=... to start from another phase-1 model (default models/linear-d10.st).
set -eu
BIN=${ERAFORMER:-build/eraformer}
OUT=${1:-mixture-d10}
THREADS=${THREADS:-1}
INIT=${INIT:-"$(dirname "$0")/../../models/linear-d10.st"}
COMMON="--layout rows --row-positions --x gaussian=0.8,numerai=0.2
        --prior-params noise_prob=0.5,mask_prob=0.1,quantize_prob=0.05 --d 10 --points 21 --curriculum-every 0
        --batch 64 --eval-every 1000 --checkpoint-every 1000 --threads $THREADS"
# shellcheck disable=SC2086
"$BIN" pretrain $COMMON --init "$INIT" \
    --mixture linear=0.15,laplace=0.05,elasticnet=0.05,sparse=0.15,relu=0.15,tree=0.1,forest=0.1,timeseries=0.25 \
    --lr 5e-4 --steps 55000 --out "$OUT.phase2.st"
# shellcheck disable=SC2086
"$BIN" pretrain $COMMON --init "$OUT.phase2.st" --layers 6 \
    --mixture linear=0.25,laplace=0.075,elasticnet=0.075,sparse=0.15,relu=0.12,tree=0.04,forest=0.04,timeseries=0.25 \
    --lr 3e-4 --steps 38000 --out "$OUT.phase3.st"
# shellcheck disable=SC2086
"$BIN" pretrain $COMMON --init "$OUT.phase3.st" --ctx-min 10 \
    --mixture linear=0.28,laplace=0.12,elasticnet=0.08,sparse=0.16,relu=0.10,tree=0.02,forest=0.02,timeseries=0.22 \
    --lr 1.5e-4 --steps 22000 --out "$OUT.phase4.st"
# shellcheck disable=SC2086
"$BIN" pretrain $COMMON --init "$OUT.phase4.st" --ctx-min 10 \
    --mixture linear=0.22,laplace=0.18,elasticnet=0.10,sparse=0.18,relu=0.10,tree=0.02,forest=0.02,timeseries=0.18 \
    --lr 1e-4 --steps 16000 --out "$OUT.phase5.st"
# shellcheck disable=SC2086
"$BIN" pretrain $COMMON --init "$OUT.phase5.st" --ctx-min 10 \
    --mixture linear=0.20,laplace=0.14,elasticnet=0.08,sparse=0.14,relu=0.10,tree=0.04,forest=0.04,timeseries=0.26 \
    --lr 7e-5 --steps 9000 --out "$OUT.phase6.st"
# shellcheck disable=SC2086
"$BIN" pretrain $COMMON --init "$OUT.phase6.st" --ctx-min 10 --seed 6 \
    --mixture linear=0.18,laplace=0.14,elasticnet=0.08,sparse=0.18,relu=0.08,tree=0.04,forest=0.04,timeseries=0.26 \
    --lr 5e-5 --steps 8000 --out "$OUT.train.st"
"$BIN" export --model "$OUT.train.st" --out "$OUT.st"
THREADS=$THREADS ENSEMBLE=4 ERAFORMER="$BIN" "$(dirname "$0")/icl-eval-all.sh" "$OUT.st" "$OUT" linear laplace elasticnet sparse relu tree forest ar_drift regime lstm
