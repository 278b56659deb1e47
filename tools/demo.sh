#!/bin/sh
# eraformer end-to-end demo on synthetic Numerai-like data (docs/finetune.md):
#   synth -> train (the recommended recipe: members early-stopped on held-out train eras,
#   one model directory) -> predict validation + live with it
#   -> ridge and XGBoost (all train eras, Numerai's parameters) -> evaluate each
#   -> one comparison table + report.html
# Every score in the table is on the validation eras, which no selection (early stopping,
# recipe or hyperparameter choice) looked at.
#
# usage: tools/demo.sh [OUT_DIR]      (default demo_out; build first: see README)
# environment: ERAFORMER=path/to/eraformer (default build/eraformer),
#              TRAIN_MINUTES=time budget of `train` (default 3), PRETRAIN_STEPS (set: pretrain the
#              base here instead of using the shipped one), XGB_TREES (default 2000),
#              THREADS (default: all cores)
# About 6 minutes on 2 cores. Every step shows a progress line on stderr.
set -eu

HERE=$(cd "$(dirname "$0")/.." && pwd)
BIN=${ERAFORMER:-$HERE/build/eraformer}
OUT=${1:-demo_out}
TRAIN_MINUTES=${TRAIN_MINUTES:-3}
PRETRAIN_STEPS_SET=${PRETRAIN_STEPS:-}   # set: pretrain the base here instead of the shipped one
PRETRAIN_STEPS=${PRETRAIN_STEPS:-300}
XGB_TREES=${XGB_TREES:-2000}
THREADS_OPT=""
# OpenMP threads sleep instead of spinning at barriers: much faster when the cores are shared
OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
export OMP_WAIT_POLICY
[ -n "${THREADS:-}" ] && THREADS_OPT="--threads $THREADS"

if [ ! -x "$BIN" ]; then
    echo "demo: $BIN not found; build first:" >&2
    echo "  cmake -S . -B build && cmake --build build -j" >&2
    exit 1
fi
mkdir -p "$OUT"
DATA=$OUT/data
T_ALL=$(date +%s)

step() { printf '\n==> %s\n' "$*" >&2; }
now() { date +%s; }

step "1/7 synthetic Numerai-like data -> $DATA"
"$BIN" synth --out "$DATA" >/dev/null

step "2/7 base model"
BASE=$HERE/models/mixture-numerai.st   # shipped: tools/recipes/mixture-numerai.sh, models/mixture-numerai.md
if [ -f "$BASE" ] && [ -z "${PRETRAIN_STEPS_SET:-}" ]; then
    echo "demo: using the shipped pretrained mixture model $BASE" >&2
else
    BASE=$OUT/base.st
    if [ ! -f "$BASE" ]; then
        "$BIN" pretrain --layout rows --mixture linear=0.3,sparse=0.2,relu=0.2,tree=0.3 --x numerai=0.7,gaussian=0.3 \
            --d 16 --points 64 --curriculum-every 0 --layers 3 --d-model 64 --heads 4 --batch 16 \
            --steps "$PRETRAIN_STEPS" --lr 1e-3 --eval-every 100000 --out "$BASE" $THREADS_OPT >/dev/null
    else
        echo "demo: reusing $BASE" >&2
    fi
fi

step "3/7 train: the recommended recipe within $TRAIN_MINUTES min (early stopping on held-out train eras)"
T0=$(now)
rm -rf "$OUT/model"
"$BIN" train --train "$DATA/train.parquet" --validation "$DATA/validation.parquet" \
    --features-json "$DATA/features.json" --feature-set all --target target --base "$BASE" \
    --time-budget "$TRAIN_MINUTES" --out "$OUT/model" $THREADS_OPT >"$OUT/train.json"
T_FT=$(( $(now) - T0 ))

step "4/7 predict live with the model directory (train already predicted validation: model/validation/)"
cp "$OUT/model/validation/predictions.csv" "$OUT/eraformer_validation.csv"
T0=$(now)
"$BIN" predict --model "$OUT/model" --data "$DATA/live.parquet" \
    --context "$DATA/train.parquet,$DATA/validation.parquet" --out "$OUT/eraformer_live.csv" $THREADS_OPT >/dev/null
T_PV=$(( $(now) - T0 ))
"$BIN" validate-submission "$OUT/eraformer_live.csv" --live "$DATA/live.parquet" >&2

step "5/7 baselines: ridge and XGBoost ($XGB_TREES trees, Numerai's example parameters, all train eras)"
T0=$(now)
"$BIN" baseline --kind ridge --train "$DATA/train.parquet" --validation "$DATA/validation.parquet" \
    --out "$OUT/ridge_validation.csv" --live "$DATA/live.parquet" --live-out "$OUT/ridge_live.csv" $THREADS_OPT >/dev/null
T_RIDGE=$(( $(now) - T0 ))
T0=$(now)
XGB=1
"$BIN" baseline --kind xgboost --trees "$XGB_TREES" --train "$DATA/train.parquet" --validation "$DATA/validation.parquet" \
    --out "$OUT/xgboost_validation.csv" --live "$DATA/live.parquet" --live-out "$OUT/xgboost_live.csv" $THREADS_OPT >/dev/null || XGB=0
T_XGB=$(( $(now) - T0 ))

step "6/7 evaluate on the validation eras"
MODELS="eraformer ridge"
[ "$XGB" = 1 ] && MODELS="eraformer xgboost ridge"
for m in $MODELS; do
    "$BIN" evaluate --predictions "$OUT/${m}_validation.csv" --data "$DATA/validation.parquet" \
        --features-json "$DATA/features.json" --features all --out "$OUT/eval_$m" $THREADS_OPT >"$OUT/eval_$m.txt"
done

step "7/7 comparison"
val() { awk -v k="$2" '$1 == k { print $2 }' "$OUT/eval_$1.txt"; }
wall() {
    case $1 in
        eraformer) echo "$T_FT+$T_PV" ;;
        ridge) echo "$T_RIDGE" ;;
        xgboost) echo "$T_XGB" ;;
    esac
}
TABLE=$OUT/comparison.txt
{
    printf '%-10s %9s %9s %8s %9s %9s %9s %10s\n' model corr_mean corr_std sharpe max_dd fnc_mean exposure wall_s
    for m in $MODELS; do
        printf '%-10s %9s %9s %8s %9s %9s %9s %10s\n' "$m" "$(val "$m" corr_mean)" "$(val "$m" corr_std)" \
            "$(val "$m" corr_sharpe)" "$(val "$m" corr_max_drawdown)" "$(val "$m" fnc_mean)" \
            "$(val "$m" max_feature_exposure)" "$(wall "$m")"
    done
} >"$TABLE"
{
    echo "<!doctype html><html><head><meta charset=utf-8><title>eraformer demo</title>"
    echo "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}pre{background:#f4f4f4;padding:1em}</style></head><body>"
    echo "<h1>eraformer demo: validation eras of the synthetic dataset</h1><pre>"
    cat "$TABLE"
    echo "</pre><p>wall_s for eraformer = train (including predicting validation) + predicting live (seconds). No selection looked at these eras. Per-model diagnostics:</p><ul>"
    for m in $MODELS; do echo "<li><a href=\"eval_$m/report.html\">$m</a></li>"; done
    echo "</ul><p>train: <code>$(cat "$OUT/train.json")</code></p></body></html>"
} >"$OUT/report.html"

cat "$TABLE"
echo
echo "report: $OUT/report.html   live submission: $OUT/eraformer_live.csv   total $(( $(now) - T_ALL )) s"
