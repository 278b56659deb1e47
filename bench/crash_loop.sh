#!/usr/bin/env bash
# Crash-safety loop: kill -9 at random moments of finetune, pretrain and predict on a tiny
# synthetic dataset, N times each, and check what a crash leaves behind.
#
#   finetune  OUT.st (best checkpoint) and OUT.st.json (its sidecar): each absent or complete.
#             A present OUT.st must have its sidecar and predict with it must give every row.
#             Then --resume OUT.st.last.st (or, killed before the first one, a fresh run) must
#             finish, and predict with the result must give every row.
#   pretrain  OUT.st: absent or loadable; --resume OUT.st (or a fresh run) must finish with a
#             checkpoint byte-identical to an uninterrupted run's (pretrain resumes exactly).
#   predict   OUT.csv: absent, or the header plus every row.
# Kill times are uniform in [0, 1.25 x the uninterrupted run's time); a kill that comes after
# the command finished is counted as such (not "killed while running") and checked the same.
# Leftover temp files of the atomic writes (NAME.tmp.*) are counted, not failures.
#
# usage: bench/crash_loop.sh [N] [WORK_DIR]     N kills per command (default 20);
#        WORK_DIR default /tmp/ef_crash_loop (wiped first). ERAFORMER: the binary (default
#        build/eraformer). Exit status 1 if any check failed.
set -uo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-20}
W=${2:-/tmp/ef_crash_loop}
BIN=${ERAFORMER:-$HERE/build/eraformer}
[ -x "$BIN" ] || { echo "error: $BIN is not built (or set ERAFORMER)" >&2; exit 2; }
rm -rf "$W" && mkdir -p "$W" || exit 2
D=$W/data
FT_OPTS="--train $D/train.parquet --validation $D/validation.parquet --features-json $D/features.json
 --context-rows 32 --query-rows 16 --batch 2 --layers 1 --d-model 16 --heads 2 --embargo 4 --threads 1
 --members 2 --ema 0 --steps 600 --eval-every 30"
PT_OPTS="--task linear --d 4 --points 9 --layers 2 --d-model 32 --heads 2 --batch 8 --checkpoint-every 5
 --eval-every 10 --threads 1 --steps 300"
PR_OPTS="--data $D/validation.parquet,$D/live.parquet --context $D/train.parquet --ensemble 48 --threads 1"
FAILS=0

fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
now_ms() { date +%s%3N; }
# runs "$@" in the background, kills it -9 after a random time in [0, 1.25 x ref_ms) (a quarter
# past the reference run's time, so that some kills land around the final writes); sets KILLED
# (1 if it was still running) and the log in $W/run.log
kill_at_random() {
  local max_ms=$(( $1 * 5 / 4 )); shift
  "$@" > "$W/run.log" 2>&1 &
  local pid=$! ms=$(( (RANDOM * 32768 + RANDOM) % max_ms ))
  sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
  if kill -9 "$pid" 2>/dev/null; then KILLED=1; else KILLED=0; fi
  wait "$pid" 2>/dev/null
}
rows_ok() { [ -f "$1" ] && [ "$(wc -l < "$1")" -eq "$EXPECT_LINES" ]; }
LEFTOVER=0
# counts (then removes) the temp files of atomic writes that a kill left behind
tmp_sweep() {
  LEFTOVER=$((LEFTOVER + $(find "$W" -maxdepth 1 -name '*.tmp.*' | wc -l)))
  find "$W" -maxdepth 1 -name '*.tmp.*' -delete
}

echo "== data and uninterrupted reference runs ($BIN)"
"$BIN" synth --out "$D" --eras-train 40 --eras-validation 12 --rows-per-era 60 --features 24 -q > /dev/null || exit 2
t0=$(now_ms)
# shellcheck disable=SC2086
"$BIN" finetune $FT_OPTS --out "$W/ref.st" > /dev/null 2>&1 || { echo "error: reference finetune failed" >&2; exit 2; }
FT_MS=$(( $(now_ms) - t0 + 1 ))
t0=$(now_ms)
# shellcheck disable=SC2086
"$BIN" pretrain $PT_OPTS --out "$W/pref.st" > /dev/null 2>&1 || { echo "error: reference pretrain failed" >&2; exit 2; }
PT_MS=$(( $(now_ms) - t0 + 1 ))
t0=$(now_ms)
# shellcheck disable=SC2086
"$BIN" predict --model "$W/ref.st" $PR_OPTS --out "$W/ref.csv" > /dev/null 2>&1 || { echo "error: reference predict failed" >&2; exit 2; }
PR_MS=$(( $(now_ms) - t0 + 1 ))
EXPECT_LINES=$(wc -l < "$W/ref.csv")
echo "finetune ${FT_MS} ms, pretrain ${PT_MS} ms, predict ${PR_MS} ms ($EXPECT_LINES lines); kills uniform in [0, 1.25 x that)"

# a finetune checkpoint is usable: sidecar present, predict gives every row
ft_usable() {
  [ -f "$1.json" ] || return 1
  # shellcheck disable=SC2086
  "$BIN" predict --model "$1" $PR_OPTS --out "$W/check.csv" > /dev/null 2>&1 && rows_ok "$W/check.csv"
}

echo "== finetune x $N"
ft_killed=0 ft_present=0 ft_resumed=0 ft_restarted=0
for i in $(seq "$N"); do
  tmp_sweep
  rm -f "$W"/m.st*
  # shellcheck disable=SC2086
  kill_at_random "$FT_MS" "$BIN" finetune $FT_OPTS --out "$W/m.st"
  ft_killed=$((ft_killed + KILLED))
  if [ -f "$W/m.st" ]; then
    ft_present=$((ft_present + 1))
    ft_usable "$W/m.st" || fail "finetune #$i: m.st present but not usable (sidecar: $([ -f "$W/m.st.json" ] && echo yes || echo no))"
  fi
  if [ -f "$W/m.st.last.st" ]; then
    ft_resumed=$((ft_resumed + 1))
    # shellcheck disable=SC2086
    "$BIN" finetune $FT_OPTS --out "$W/m.st" --resume "$W/m.st.last.st" > "$W/resume.log" 2>&1 ||
      fail "finetune #$i: --resume failed: $(tail -1 "$W/resume.log")"
  else
    ft_restarted=$((ft_restarted + 1))
    # shellcheck disable=SC2086
    "$BIN" finetune $FT_OPTS --out "$W/m.st" > "$W/resume.log" 2>&1 || fail "finetune #$i: a fresh run failed"
  fi
  ft_usable "$W/m.st" || fail "finetune #$i: after the resumed run, m.st is not usable"
done
echo "finetune: $N runs, $ft_killed killed while running, best checkpoint present after the kill $ft_present," \
     "resumed $ft_resumed, restarted (killed before the first .last.st) $ft_restarted"

echo "== pretrain x $N"
pt_killed=0 pt_present=0
for i in $(seq "$N"); do
  tmp_sweep
  rm -f "$W"/p.st*
  # shellcheck disable=SC2086
  kill_at_random "$PT_MS" "$BIN" pretrain $PT_OPTS --out "$W/p.st"
  pt_killed=$((pt_killed + KILLED))
  resume=()
  if [ -f "$W/p.st" ]; then pt_present=$((pt_present + 1)); resume=(--resume "$W/p.st"); fi
  # shellcheck disable=SC2086
  "$BIN" pretrain $PT_OPTS "${resume[@]}" --out "$W/p.st" > "$W/resume.log" 2>&1 ||
    fail "pretrain #$i: ${resume[*]:-fresh run} failed: $(tail -1 "$W/resume.log")"
  cmp -s "$W/p.st" "$W/pref.st" || fail "pretrain #$i: the resumed checkpoint differs from the uninterrupted one"
done
echo "pretrain: $N runs, $pt_killed killed while running, checkpoint present after the kill $pt_present (resumed)," \
     "$((N - pt_present)) fresh; every final checkpoint checked byte-identical"

echo "== predict x $N"
pr_killed=0 pr_present=0
for i in $(seq "$N"); do
  tmp_sweep
  rm -f "$W/p.csv"
  # shellcheck disable=SC2086
  kill_at_random "$PR_MS" "$BIN" predict --model "$W/ref.st" $PR_OPTS --out "$W/p.csv"
  pr_killed=$((pr_killed + KILLED))
  if [ -f "$W/p.csv" ]; then
    pr_present=$((pr_present + 1))
    rows_ok "$W/p.csv" || fail "predict #$i: p.csv has $(wc -l < "$W/p.csv") lines, expected $EXPECT_LINES"
  fi
done
echo "predict: $N runs, $pr_killed killed while running, output present after the kill $pr_present (all complete unless FAIL above)"

tmp_sweep
echo "leftover temp files of atomic writes (NAME.tmp.PID, removed): $LEFTOVER"
echo "failures: $FAILS"
[ "$FAILS" -eq 0 ]
