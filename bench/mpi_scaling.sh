#!/usr/bin/env bash
# Data-parallel scaling of `eraformer pretrain` on this machine: tokens/s with 1 rank x 1 thread,
# 1 rank x 2 threads and 2 ranks x 1 thread (same global batch), and the share of the 2-rank
# run's wall time spent in MPI_Allreduce (the log's allreduce_share). Builds nothing.
#   EF_BIN  (default build/eraformer)   STEPS (default 60)   CONFIG: model flags
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
EF_BIN=${EF_BIN:-$root/build/eraformer}
STEPS=${STEPS:-60}
CONFIG=${CONFIG:-"--task linear --d 10 --points 21 --layout rows --layers 4 --d-model 128 --heads 4 --curriculum-every 0"}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rate() { # last tokens_per_s of a log
    grep '"tokens_per_s"' "$1" | tail -1 | sed 's/.*"tokens_per_s":\([0-9.]*\).*/\1/'
}
run() { # name, launcher..., -- extra args
    local name=$1; shift
    "$@" $CONFIG --steps "$STEPS" --eval-every 100000 --checkpoint-every 100000 --out "$tmp/$name.st" >/dev/null 2>&1
    echo "$name $(rate "$tmp/$name.st.log.jsonl") $(grep '"allreduce_share"' "$tmp/$name.st.log.jsonl" | tail -1 | sed 's/.*"allreduce_share":\([0-9.]*\).*/\1/')"
}
MPI="mpirun --allow-run-as-root --oversubscribe -np 2"
export OMPI_MCA_btl=self,vader
{
    run "1rank_1thread_batch64" "$EF_BIN" pretrain --threads 1 --batch 64
    run "1rank_2threads_batch64" "$EF_BIN" pretrain --threads 2 --batch 64
    run "2ranks_1thread_batch32" $MPI "$EF_BIN" pretrain --threads 1 --batch 32
} | awk '{printf "%-26s %10.0f tokens/s  allreduce %.1f%%\n", $1, $2, 100*$3; r[NR]=$2} END {printf "2 ranks / 1 rank: %.2fx   2 threads / 1 thread: %.2fx\n", r[3]/r[1], r[2]/r[1]}'

# Fine-tuning on a synthetic Numerai-like dataset (synth defaults: 150 + 50 eras x ~400 rows x
# 160 features): training rows/s (context + query rows) over all ranks, 1 rank x 1 thread vs
# 2 ranks x 1 thread with the same global batch; each rank reads only its half of the eras.
FT_STEPS=${FT_STEPS:-40}
"$EF_BIN" synth --out "$tmp/data" -q >/dev/null
FT="finetune --train $tmp/data/train.parquet --validation $tmp/data/validation.parquet --features-json $tmp/data/features.json --steps $FT_STEPS --eval-every 100000 --eval-eras 4 --eval-members 1 --ema 0"
ft_rate() { grep '"rows_per_s"' "$1" | tail -1 | sed 's/.*"rows_per_s":\([0-9.]*\).*/\1/'; }
{
    "$EF_BIN" $FT --threads 1 --batch 8 --out "$tmp/ft1.st" >/dev/null 2>&1
    echo "finetune_1rank_1thread_batch8 $(ft_rate "$tmp/ft1.st.log.jsonl")"
    $MPI "$EF_BIN" $FT --threads 1 --batch 4 --out "$tmp/ft2.st" >/dev/null 2>&1
    echo "finetune_2ranks_1thread_batch4 $(ft_rate "$tmp/ft2.st.log.jsonl")"
} | awk '{printf "%-32s %10.0f rows/s\n", $1, $2; r[NR]=$2} END {printf "finetune 2 ranks / 1 rank: %.2fx\n", r[2]/r[1]}'
