#!/usr/bin/env bash
# Renders an `eraformer evaluate` report.html in a real headless browser and writes a PNG
# screenshot, to check that the inline SVG plots display. Not part of ctest (needs chromium).
#
#   tools/metrics_render_report.sh [REPORT.html] [OUT.png]
#
# Without REPORT.html it generates a small synthetic dataset (60 eras x 300 rows, 8 features),
# runs `eraformer evaluate` on it (binary: $EF_CLI, default build/eraformer) and renders that.
# Needs Debian's chromium:  apt-get install -y --no-install-recommends chromium
# Look at the PNG afterwards (it should show the summary table, the cumulative-score lines,
# the per-era bars, the histogram and the feature-exposure bars).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
report=${1:-}
png=${2:-${TMPDIR:-/tmp}/eraformer_report.png}
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "metrics_render_report: chromium not found; install it with:" >&2
  echo "  apt-get install -y --no-install-recommends chromium" >&2
  exit 2
fi
if [ -z "$report" ]; then
  cli=${EF_CLI:-$here/build/eraformer}
  [ -x "$cli" ] || { echo "metrics_render_report: $cli not built (set EF_CLI)" >&2; exit 2; }
  work=$(mktemp -d)
  python3 - "$work" <<'PY'
import random, sys
random.seed(7)
d = sys.argv[1]
E, R, NF = 60, 300, 8
with open(f"{d}/data.csv", "w") as f, open(f"{d}/preds.csv", "w") as p, \
     open(f"{d}/meta.csv", "w") as m, open(f"{d}/example.csv", "w") as x:
    f.write("id,era,data_type," + ",".join(f"feature_{j}" for j in range(NF)) + ",target\n")
    p.write("id,prediction\n"); m.write("id,numerai_meta_model\n"); x.write("id,prediction\n")
    for e in range(1, E + 1):
        drift = random.gauss(0, 0.4)
        for i in range(R):
            fid = f"n{e:04d}{i:05d}"
            fs = [random.randint(0, 4) for _ in range(NF)]
            z = (0.25 + drift) * (fs[0] - 2) + 0.1 * (fs[1] - 2) + random.gauss(0, 1)
            t = 0 if z < -1.64 else .25 if z < -.52 else .5 if z < .52 else .75 if z < 1.64 else 1.0
            f.write(f"{fid},{e:04d},validation,{','.join(map(str, fs))},{t}\n")
            pr = 0.12 * (fs[0] - 2) + 0.05 * (fs[2] - 2) + random.gauss(0, 1)
            p.write(f"{fid},{pr:.6f}\n")
            m.write(f"{fid},{pr + random.gauss(0, 1.5):.6f}\n")
            x.write(f"{fid},{0.1 * (fs[0] - 2) + random.gauss(0, 1):.6f}\n")
PY
  "$cli" evaluate --predictions "$work/preds.csv" --data "$work/data.csv" --features all \
    --meta-model "$work/meta.csv" --example "$work/example.csv" --out "$work/out"
  report=$work/out/report.html
fi
[ -f "$report" ] || { echo "metrics_render_report: no such file: $report" >&2; exit 2; }
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1100,2600 \
  --screenshot="$png" "file://$(cd "$(dirname "$report")" && pwd)/$(basename "$report")" 2>/dev/null
[ -s "$png" ] || { echo "metrics_render_report: no screenshot written" >&2; exit 1; }
echo "metrics_render_report: $report -> $png"
