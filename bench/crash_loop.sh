#!/usr/bin/env bash
# Crash-safety loop: kill -9 at random moments of finetune, pretrain, predict and download on
# tiny inputs, N times each, and check what a crash leaves behind.
#
#   finetune  OUT.st (best checkpoint, its input contract embedded): absent or complete. A
#             present OUT.st must carry the contract and predict from a copy of it alone (no
#             sidecar beside it) must give every row. Then --resume OUT.st.last.st (or, killed
#             before the first one, a fresh run) must finish, and the result must be usable.
#   pretrain  OUT.st: absent or loadable; --resume OUT.st (or a fresh run) must finish with a
#             checkpoint byte-identical to an uninterrupted run's (pretrain resumes exactly).
#   predict   OUT.csv: absent, or the header plus every row; a rerun must give every row.
#   download  against the net tests' fake API run as a process (bench/fake_api_serve, a file
#             of DL_BYTES sent at DL_BPS bytes/s, so that kills land mid-transfer): DEST/NAME
#             absent or byte-identical to the served file; when a partial DEST/NAME.temp is
#             left, a second kill lands at a random moment of the resumed download; then a
#             rerun must finish (saying "resumed at byte" when a partial file was there) with
#             DEST/NAME byte-identical and no .temp left.
# Kill times are uniform in [0, 1.25 x the uninterrupted run's time); a kill that comes after
# the command finished is counted as such (not "killed while running") and checked the same.
# Temp files of the atomic writes (NAME.tmp.PID) that a kill leaves are counted; the next
# write of the same NAME must remove them (ef_atomic_open removes NAME.tmp.PID of dead PIDs):
# one still there after the rerun rewrote NAME is a failure.
#
# usage: bench/crash_loop.sh [N] [WORK_DIR]     N kills per command (default 20);
#        WORK_DIR default /tmp/ef_crash_loop (wiped first). ERAFORMER: the binary (default
#        build/eraformer); FAKE_API_SERVE: the server (default bench/fake_api_serve beside
#        the binary); COMMANDS: which of "finetune pretrain predict download" to run (all);
#        DL_BYTES, DL_BPS (default 6000000 bytes at 2000000 bytes/s). Exit status 1 if any
#        check failed.
set -uo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-20}
W=${2:-/tmp/ef_crash_loop}
BIN=${ERAFORMER:-$HERE/build/eraformer}
SERVE=${FAKE_API_SERVE:-$(dirname "$BIN")/bench/fake_api_serve}
COMMANDS=${COMMANDS:-finetune pretrain predict download}
DL_BYTES=${DL_BYTES:-6000000}
DL_BPS=${DL_BPS:-2000000}
[ -x "$BIN" ] || { echo "error: $BIN is not built (or set ERAFORMER)" >&2; exit 2; }
want() { case " $COMMANDS " in *" $1 "*) return 0;; esac; return 1; }
if want download && [ ! -x "$SERVE" ]; then
  echo "error: $SERVE is not built (target fake_api_serve; or set FAKE_API_SERVE)" >&2; exit 2
fi
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
TMP_AFTER_KILL=0 TMP_REMOVED=0 TMP_KEPT=0
tmp_list() { find "$W" -maxdepth 1 -name '*.tmp.*'; }
# counts the temp files of atomic writes (NAME.tmp.PID) that a kill left behind
tmp_after_kill() {
  TMP_N=$(tmp_list | wc -l)
  TMP_AFTER_KILL=$((TMP_AFTER_KILL + TMP_N))
}
# after the rerun: the writes of the rerun removed the stale temp files of their targets. One
# whose NAME the rerun rewrote must be gone; one whose NAME was not rewritten (a resumed
# finetune that found no better checkpoint) is counted as kept, then removed here
tmp_after_rerun() {
  local f t left=0
  while IFS= read -r f; do
    left=$((left + 1))
    t=${f%.tmp.*}
    if [ -e "$t" ] && [ "$t" -nt "$f" ]; then fail "$1: $(basename "$f") survived a later write of $(basename "$t")"
    else TMP_KEPT=$((TMP_KEPT + 1)); fi
    rm -f "$f"
  done < <(tmp_list)
  [ "$left" -le "$TMP_N" ] && TMP_REMOVED=$((TMP_REMOVED + TMP_N - left))
}

echo "== data and uninterrupted reference runs ($BIN)"
FT_MS=0 PT_MS=0 PR_MS=0 EXPECT_LINES=0
if want finetune || want predict; then
  "$BIN" synth --out "$D" --eras-train 40 --eras-validation 12 --rows-per-era 60 --features 24 -q > /dev/null || exit 2
  t0=$(now_ms)
  # shellcheck disable=SC2086
  "$BIN" finetune $FT_OPTS --out "$W/ref.st" > /dev/null 2>&1 || { echo "error: reference finetune failed" >&2; exit 2; }
  FT_MS=$(( $(now_ms) - t0 + 1 ))
  t0=$(now_ms)
  # shellcheck disable=SC2086
  "$BIN" predict --model "$W/ref.st" $PR_OPTS --out "$W/ref.csv" > /dev/null 2>&1 || { echo "error: reference predict failed" >&2; exit 2; }
  PR_MS=$(( $(now_ms) - t0 + 1 ))
  EXPECT_LINES=$(wc -l < "$W/ref.csv")
fi
if want pretrain; then
  t0=$(now_ms)
  # shellcheck disable=SC2086
  "$BIN" pretrain $PT_OPTS --out "$W/pref.st" > /dev/null 2>&1 || { echo "error: reference pretrain failed" >&2; exit 2; }
  PT_MS=$(( $(now_ms) - t0 + 1 ))
fi
echo "finetune ${FT_MS} ms, pretrain ${PT_MS} ms, predict ${PR_MS} ms ($EXPECT_LINES lines); kills uniform in [0, 1.25 x that)"

# 1 when the safetensors file $1 has the input contract in its header's __metadata__
has_contract() {
  local n
  n=$(od -An -tu8 -N8 "$1" 2>/dev/null | tr -d ' ')
  [ -n "$n" ] && [ "$n" -gt 0 ] && [ "$n" -lt 100000000 ] &&
    head -c $((8 + n)) "$1" | tail -c "$n" | grep -q '"eraformer\.contract"'
}
# a finetune checkpoint is usable on its own: it carries its contract, and predict from a copy
# with no sidecar beside it gives every row
ft_usable() {
  has_contract "$1" || return 1
  rm -rf "$W/solo" && mkdir -p "$W/solo" && cp "$1" "$W/solo/m.st" || return 1
  # shellcheck disable=SC2086
  "$BIN" predict --model "$W/solo/m.st" $PR_OPTS --out "$W/check.csv" > /dev/null 2>&1 && rows_ok "$W/check.csv"
}

if want finetune; then
echo "== finetune x $N"
ft_killed=0 ft_present=0 ft_sidecar=0 ft_resumed=0 ft_restarted=0
for i in $(seq "$N"); do
  rm -f "$W"/m.st*
  # shellcheck disable=SC2086
  kill_at_random "$FT_MS" "$BIN" finetune $FT_OPTS --out "$W/m.st"
  ft_killed=$((ft_killed + KILLED))
  tmp_after_kill
  if [ -f "$W/m.st" ]; then
    ft_present=$((ft_present + 1))
    [ -f "$W/m.st.json" ] && ft_sidecar=$((ft_sidecar + 1))
    ft_usable "$W/m.st" || fail "finetune #$i: m.st present but not usable (contract embedded: $(has_contract "$W/m.st" && echo yes || echo no))"
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
  tmp_after_rerun "finetune #$i"
done
echo "finetune: $N runs, $ft_killed killed while running, best checkpoint present after the kill $ft_present" \
     "(its sidecar too: $ft_sidecar), resumed $ft_resumed, restarted (killed before the first .last.st) $ft_restarted"
fi

if want pretrain; then
echo "== pretrain x $N"
pt_killed=0 pt_present=0
for i in $(seq "$N"); do
  rm -f "$W"/p.st*
  # shellcheck disable=SC2086
  kill_at_random "$PT_MS" "$BIN" pretrain $PT_OPTS --out "$W/p.st"
  pt_killed=$((pt_killed + KILLED))
  tmp_after_kill
  resume=()
  if [ -f "$W/p.st" ]; then pt_present=$((pt_present + 1)); resume=(--resume "$W/p.st"); fi
  # shellcheck disable=SC2086
  "$BIN" pretrain $PT_OPTS "${resume[@]}" --out "$W/p.st" > "$W/resume.log" 2>&1 ||
    fail "pretrain #$i: ${resume[*]:-fresh run} failed: $(tail -1 "$W/resume.log")"
  cmp -s "$W/p.st" "$W/pref.st" || fail "pretrain #$i: the resumed checkpoint differs from the uninterrupted one"
  tmp_after_rerun "pretrain #$i"
done
echo "pretrain: $N runs, $pt_killed killed while running, checkpoint present after the kill $pt_present (resumed)," \
     "$((N - pt_present)) fresh; every final checkpoint checked byte-identical"
fi

if want predict; then
echo "== predict x $N"
pr_killed=0 pr_present=0
for i in $(seq "$N"); do
  rm -f "$W/p.csv"
  # shellcheck disable=SC2086
  kill_at_random "$PR_MS" "$BIN" predict --model "$W/ref.st" $PR_OPTS --out "$W/p.csv"
  pr_killed=$((pr_killed + KILLED))
  tmp_after_kill
  if [ -f "$W/p.csv" ]; then
    pr_present=$((pr_present + 1))
    rows_ok "$W/p.csv" || fail "predict #$i: p.csv has $(wc -l < "$W/p.csv") lines, expected $EXPECT_LINES"
  fi
  # shellcheck disable=SC2086
  "$BIN" predict --model "$W/ref.st" $PR_OPTS --out "$W/p.csv" > "$W/resume.log" 2>&1 || fail "predict #$i: the rerun failed"
  rows_ok "$W/p.csv" || fail "predict #$i: after the rerun p.csv has $(wc -l < "$W/p.csv") lines"
  tmp_after_rerun "predict #$i"
done
echo "predict: $N runs, $pr_killed killed while running, output present after the kill $pr_present (all complete unless FAIL above)"
fi

if want download; then
echo "== download x $N"
NAME=v5.2/train.parquet
"$SERVE" "$NAME" "$DL_BYTES" "$DL_BPS" "$W/served.bin" > "$W/port" 2> "$W/serve.log" &
SERVE_PID=$!
trap 'kill "$SERVE_PID" 2>/dev/null' EXIT
for _ in $(seq 100); do [ -s "$W/port" ] && break; sleep 0.1; done
[ -s "$W/port" ] || { echo "error: fake_api_serve did not start: $(cat "$W/serve.log")" >&2; exit 2; }
NUMERAI_API_URL="http://127.0.0.1:$(head -1 "$W/port")"
export NUMERAI_API_URL
# retries of a dropped connection are not what this loop tests: keep them quick
DL_OPTS="--retry-delay 0.05 --connect-timeout 5"
t0=$(now_ms)
# shellcheck disable=SC2086
"$BIN" download "$NAME" --dest "$W/dlref" $DL_OPTS > /dev/null 2>&1 || { echo "error: reference download failed" >&2; exit 2; }
DL_MS=$(( $(now_ms) - t0 + 1 ))
cmp -s "$W/dlref/$NAME" "$W/served.bin" || { echo "error: the reference download differs from the served file" >&2; exit 2; }
echo "download of $DL_BYTES bytes at $DL_BPS bytes/s: ${DL_MS} ms; kills uniform in [0, 1.25 x that)"
F=$W/dl/$NAME
# DEST/NAME after a kill: absent, or byte-identical to the served file
dl_check() {
  if [ -e "$F" ]; then
    cmp -s "$F" "$W/served.bin" || fail "download #$i ($1): $NAME present but not the served bytes ($(stat -c %s "$F") bytes)"
    return 0
  fi
  return 1
}
dl_killed=0 dl_present=0 dl_partial=0 dl_second=0 dl_second_killed=0 dl_present2=0 dl_resumed=0
for i in $(seq "$N"); do
  rm -rf "$W/dl"
  # shellcheck disable=SC2086
  kill_at_random "$DL_MS" "$BIN" download "$NAME" --dest "$W/dl" $DL_OPTS
  dl_killed=$((dl_killed + KILLED))
  dl_check "first kill" && dl_present=$((dl_present + 1))
  if [ -s "$F.temp" ]; then
    dl_partial=$((dl_partial + 1))
    if [ ! -e "$F" ]; then   # a second kill, during the resumed transfer
      dl_second=$((dl_second + 1))
      # shellcheck disable=SC2086
      kill_at_random "$DL_MS" "$BIN" download "$NAME" --dest "$W/dl" $DL_OPTS
      dl_second_killed=$((dl_second_killed + KILLED))
      dl_check "second kill" && dl_present2=$((dl_present2 + 1))
    fi
  fi
  had=0
  [ -s "$F.temp" ] && had=$(stat -c %s "$F.temp")
  # shellcheck disable=SC2086
  "$BIN" download "$NAME" --dest "$W/dl" $DL_OPTS > /dev/null 2> "$W/resume.log" ||
    fail "download #$i: the rerun failed: $(tail -1 "$W/resume.log")"
  cmp -s "$F" "$W/served.bin" || fail "download #$i: after the rerun $NAME is not the served bytes"
  [ -e "$F.temp" ] && fail "download #$i: $NAME.temp left after the rerun"
  if [ "$had" -gt 0 ] && [ "$had" -lt "$DL_BYTES" ]; then
    if grep -q "resumed at byte $had" "$W/resume.log"; then dl_resumed=$((dl_resumed + 1))
    else fail "download #$i: the rerun did not resume at byte $had: $(tail -1 "$W/resume.log")"; fi
  fi
done
kill "$SERVE_PID" 2>/dev/null; wait "$SERVE_PID" 2>/dev/null; trap - EXIT
echo "download: $N runs, $dl_killed killed while running, complete file present after the kill $dl_present," \
     "partial .temp left $dl_partial; a second kill during the resumed transfer $dl_second" \
     "($dl_second_killed while running, complete after it $dl_present2); reruns that resumed a partial file" \
     "$dl_resumed; every final file byte-identical unless FAIL above"
fi

echo "temp files of atomic writes (NAME.tmp.PID) left by the kills: $TMP_AFTER_KILL; removed by the" \
     "rerun's writes of the same NAME: $TMP_REMOVED; kept because the rerun did not rewrite NAME: $TMP_KEPT"
echo "failures: $FAILS"
[ "$FAILS" -eq 0 ]
