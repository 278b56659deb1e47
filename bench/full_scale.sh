#!/usr/bin/env bash
# Numerai at full scale on this machine: a synthetic dataset in Numerai's layout with the real
# file's shape (2.75M rows x 2,748 int8 features: 420 train + 90 validation eras of ~5,400 rows,
# a live era of ~7,000 rows), then
#   1. finetune on `all` features (wide read-in, default model): load time, training rows/s,
#      the share of time waiting for data, peak RSS;
#   2. predict the live era with an 8-member ensemble and 2,048 context rows (issue 6's case):
#      wall time, the prediction time without loading, peak RSS.
# Needs ~3 GB of disk and ~9 GB of memory. Builds nothing.
#   EF_BIN (default build/eraformer)   DIR (default /tmp/eraformer_full)   FT_MINUTES (default 3)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
EF_BIN=${EF_BIN:-$root/build/eraformer}
DIR=${DIR:-/tmp/eraformer_full}
FT_MINUTES=${FT_MINUTES:-3}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
mkdir -p "$DIR"
if [ ! -f "$DIR/data/live.parquet" ]; then
    "$EF_BIN" synth --out "$DIR/data" --eras-train 420 --eras-validation 90 --rows-per-era 5400 --features 2748 >/dev/null
fi
du -sh "$DIR/data"/*.parquet
rss() { sed -n 's/.*Maximum resident set size (kbytes): \([0-9]*\).*/\1/p' "$1" | awk '{printf "%.2f GB", $1/1048576}'; }

/usr/bin/time -v "$EF_BIN" finetune --train "$DIR/data/train.parquet" --validation "$DIR/data/validation.parquet" \
    --features-json "$DIR/data/features.json" --feature-set all --time-budget "$FT_MINUTES" --eval-every 100000 \
    --eval-eras 8 --out "$DIR/ft.st" >"$DIR/ft.json" 2>"$DIR/ft.err"
load=$(grep -o 'validation eras ([0-9.]* s)' "$DIR/ft.err" | grep -o '[0-9.]* s')
last=$(grep '"rows_per_s"' "$DIR/ft.st.log.jsonl" | tail -1)
echo "finetune: load $load; $(echo "$last" | grep -o '"step":[0-9]*'), $(echo "$last" | grep -o '"rows_per_s":[0-9]*') (context+query rows), $(echo "$last" | grep -o '"data_wait_share":[0-9.]*'); peak RSS $(rss "$DIR/ft.err")"

/usr/bin/time -v "$EF_BIN" predict --model "$DIR/ft.st" --data "$DIR/data/live.parquet" \
    --context "$DIR/data/train.parquet,$DIR/data/validation.parquet" --ensemble 8 --context-rows 2048 \
    --out "$DIR/live.csv" >"$DIR/predict.json" 2>"$DIR/predict.err"
echo "predict live: $(cat "$DIR/predict.json"); peak RSS $(rss "$DIR/predict.err")"

