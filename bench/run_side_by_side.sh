#!/usr/bin/env bash
# eraformer vs PyTorch, training-step throughput side by side: for each config (A, B, C) and
# layout (interleaved, rows) runs `eraformer bench` and bench/torch_bench.py one after the
# other and prints a table with the ratio eraformer / torch (tokens/s). Builds nothing.
#
# Environment (all optional):
#   EF_BIN        the eraformer binary              (default: build/eraformer)
#   PYTHON        python with torch 1.13            (default: /usr/bin/python3)
#   CONFIGS       configs to run                    (default: "A B C")
#   LAYOUTS       layouts to run                    (default: "interleaved rows")
#   STEPS         timed steps per run, median taken (default: 10)
#   EF_THREADS    eraformer --threads               (default: 2)
#   TORCH_THREADS torch intra-op threads            (default: 1)
#   BLAS_THREADS  torch's OpenBLAS threads          (default: 2)
#   OUT           also append the raw JSON lines to this file
# The machine is shared: compare ratios from one run, not absolute times across runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
EF_BIN=${EF_BIN:-$root/build/eraformer}
PYTHON=${PYTHON:-/usr/bin/python3}
CONFIGS=${CONFIGS:-"A B C"}
LAYOUTS=${LAYOUTS:-"interleaved rows"}
STEPS=${STEPS:-10}
EF_THREADS=${EF_THREADS:-2}
TORCH_THREADS=${TORCH_THREADS:-1}
BLAS_THREADS=${BLAS_THREADS:-2}

if [ ! -x "$EF_BIN" ]; then
    echo "run_side_by_side.sh: $EF_BIN is not an executable; build it first or set EF_BIN" >&2
    exit 2
fi
if ! "$PYTHON" -c "import torch" 2>/dev/null; then
    echo "run_side_by_side.sh: $PYTHON cannot import torch (apt-get install python3-torch; or set PYTHON)" >&2
    exit 2
fi

lines=$(mktemp)
trap 'rm -f "$lines"' EXIT
for layout in $LAYOUTS; do
    for cfg in $CONFIGS; do
        echo "== $cfg $layout: eraformer" >&2
        # OpenBLAS inside eraformer is pinned to 1 thread by ef_nn_init; keep torch's env out
        env -u OMP_NUM_THREADS -u OPENBLAS_NUM_THREADS \
            "$EF_BIN" bench --config "$cfg" --layout "$layout" --steps "$STEPS" --threads "$EF_THREADS" | tee -a "$lines"
        echo "== $cfg $layout: torch" >&2
        "$PYTHON" "$here/torch_bench.py" --config "$cfg" --layout "$layout" --steps "$STEPS" \
            --threads "$TORCH_THREADS" --blas-threads "$BLAS_THREADS" | tee -a "$lines"
    done
done >&2
if [ -n "${OUT:-}" ]; then cat "$lines" >> "$OUT"; fi

"$PYTHON" - "$lines" <<'EOF'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    line = line.strip()
    if not line.startswith("{"):
        continue
    r = json.loads(line)
    rows.setdefault((r["config"], r["layout"]), {})[r["impl"]] = r
print(f"{'config':6} {'layout':11} {'tokens':>6} {'eraformer tok/s':>15} {'torch tok/s':>12} {'ratio':>6}"
      f" {'ef ms':>8} {'torch ms':>8} {'ef GF/s':>8} {'torch GF/s':>10}")
for (c, l), v in rows.items():
    e, t = v.get("eraformer"), v.get("torch")
    if not e or not t:
        print(f"{c:6} {l:11} (missing {'eraformer' if not e else 'torch'} result)")
        continue
    print(f"{c:6} {l:11} {e['tokens']:>6} {e['tokens_per_s']:>15.0f} {t['tokens_per_s']:>12.0f}"
          f" {e['tokens_per_s'] / t['tokens_per_s']:>6.2f} {e['step_ms']:>8.1f} {t['step_ms']:>8.1f}"
          f" {e['gflops']:>8.1f} {t['gflops']:>10.1f}")
EOF
