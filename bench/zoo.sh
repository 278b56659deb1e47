#!/bin/sh
# The honest Numerai comparison over the generator zoo (docs/synth.md): for every generator,
# a Numerai-like dataset in the v5 layout, then
#   eraformer train --time-budget $BUDGET   (selection on held-out train eras only)
#   XGBoost with Numerai's parameters on ALL train eras (baseline --kind xgboost)
#   ridge on all train eras
# each scored by `evaluate` on the validation eras, which no selection looked at. Prints one
# table: CORR mean, std, Sharpe, max drawdown, wall time and peak RSS per model, and a "blend"
# row (eraformer + XGBoost 1:1 per era, `eraformer blend`; an extra option, not eraformer alone).
#
# usage: bench/zoo.sh [OUT_DIR]            (default zoo_out; build first)
# environment: GENERATORS (default: factor nonlinear drift weak), BUDGET (minutes for
#   train, default 20), ERAS_TRAIN (240), ERAS_VALIDATION (80), ROWS (1000 per era),
#   FEATURES (300), SEED (7), THREADS (default all cores), XGB_TREES (2000),
#   TRAIN_OPTS (extra options for train), ERAFORMER (default build/eraformer),
#   REUSE_BASELINES=1 (keep OUT_DIR/GEN/{xgboost,ridge}_validation.csv and their .res from an
#   earlier run on the same data instead of fitting them again: both are deterministic)
# With the defaults this takes about 4 x (20 + 5) minutes on 2 cores.
set -eu
HERE=$(cd "$(dirname "$0")/.." && pwd)
BIN=${ERAFORMER:-$HERE/build/eraformer}
OUT=${1:-zoo_out}
BUDGET=${BUDGET:-20}
ERAS_TRAIN=${ERAS_TRAIN:-240}
ERAS_VALIDATION=${ERAS_VALIDATION:-80}
ROWS=${ROWS:-1000}
FEATURES=${FEATURES:-300}
SEED=${SEED:-7}
XGB_TREES=${XGB_TREES:-2000}
TRAIN_OPTS=${TRAIN_OPTS:-}
THREADS_OPT=""
[ -n "${THREADS:-}" ] && THREADS_OPT="--threads $THREADS"
OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
export OMP_WAIT_POLICY
GENERATORS=${GENERATORS:-factor nonlinear drift weak}   # eraformer synth --help lists them
mkdir -p "$OUT"

# runs a command, appends "wall_s peak_rss_mb" of it (children included) to $1
timed() {
    res=$1
    shift
    python3 - "$res" "$@" <<'EOF'
import resource, subprocess, sys, time
t = time.time()
rc = subprocess.call(sys.argv[2:], stdout=subprocess.DEVNULL)
wall = time.time() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
with open(sys.argv[1], "w") as f:
    f.write("%.0f %.0f\n" % (wall, rss))
sys.exit(rc)
EOF
}

val() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }

TABLE=$OUT/zoo.txt
printf '%-10s %-10s %9s %9s %8s %9s %8s %8s\n' generator model corr_mean corr_std sharpe max_dd wall_s rss_mb >"$TABLE"
for g in $GENERATORS; do
    D=$OUT/$g
    mkdir -p "$D"
    echo "==> $g: synth ($ERAS_TRAIN + $ERAS_VALIDATION eras x $ROWS rows x $FEATURES features)" >&2
    [ -f "$D/data/train.parquet" ] || "$BIN" synth --generator "$g" --out "$D/data" --eras-train "$ERAS_TRAIN" \
        --eras-validation "$ERAS_VALIDATION" --rows-per-era "$ROWS" --features "$FEATURES" --seed "$SEED" -q >/dev/null
    DATA="--train $D/data/train.parquet --validation $D/data/validation.parquet"

    echo "==> $g: eraformer train ($BUDGET min)" >&2
    rm -rf "$D/model"
    # shellcheck disable=SC2086
    timed "$D/eraformer.res" "$BIN" train $DATA --features-json "$D/data/features.json" --time-budget "$BUDGET" \
        --out "$D/model" $THREADS_OPT $TRAIN_OPTS
    cp "$D/model/validation/predictions.csv" "$D/eraformer_validation.csv"

    if [ "${REUSE_BASELINES:-0}" = 1 ] && [ -f "$D/xgboost.res" ] && [ -f "$D/ridge.res" ] &&
        [ -f "$D/xgboost_validation.csv" ] && [ -f "$D/ridge_validation.csv" ]; then
        echo "==> $g: XGBoost and ridge: reusing the earlier run's predictions (REUSE_BASELINES=1)" >&2
    else
        echo "==> $g: XGBoost (all train eras, $XGB_TREES trees)" >&2
        # shellcheck disable=SC2086
        timed "$D/xgboost.res" "$BIN" baseline --kind xgboost --trees "$XGB_TREES" $DATA --out "$D/xgboost_validation.csv" $THREADS_OPT
        echo "==> $g: ridge" >&2
        # shellcheck disable=SC2086
        timed "$D/ridge.res" "$BIN" baseline --kind ridge $DATA --out "$D/ridge_validation.csv" $THREADS_OPT
    fi

    # An extra row, not eraformer's own model: eraformer and XGBoost blended 1:1 per era
    # (eraformer blend); its wall time is the two models' together, its memory the larger.
    "$BIN" blend --predictions "$D/eraformer_validation.csv,$D/xgboost_validation.csv" \
        --data "$D/data/validation.parquet" --out "$D/blend_validation.csv" 2>/dev/null
    set -- $(cat "$D/eraformer.res") $(cat "$D/xgboost.res")
    echo "$(($1 + $3)) $(($2 > $4 ? $2 : $4))" >"$D/blend.res"
    for m in eraformer xgboost ridge blend; do
        "$BIN" evaluate --predictions "$D/${m}_validation.csv" --data "$D/data/validation.parquet" \
            --out "$D/eval_$m" >"$D/eval_$m.txt" 2>/dev/null
        set -- $(cat "$D/$m.res")
        printf '%-10s %-10s %9s %9s %8s %9s %8s %8s\n' "$g" "$m" "$(val "$D/eval_$m.txt" corr_mean)" \
            "$(val "$D/eval_$m.txt" corr_std)" "$(val "$D/eval_$m.txt" corr_sharpe)" \
            "$(val "$D/eval_$m.txt" corr_max_drawdown)" "$1" "$2" >>"$TABLE"
    done
    cat "$TABLE" >&2
done
echo "# $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores; budget $BUDGET min; seed $SEED"
cat "$TABLE"
