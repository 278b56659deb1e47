#!/bin/sh
# One markdown row per icl-eval CSV: at K in-context examples, the transformer's error [90 % CI],
# the best baseline (lowest mean; 'zero' included) and the ratio transformer / best.
#   tools/icl_summary.sh K FILE.csv...
set -eu
K=$1; shift
for f in "$@"; do
    awk -F, -v k="$K" -v name="$(basename "$f" .csv)" '
        NR > 1 && $1 == k {
            if ($2 == "transformer") { t = $3; lo = $4; hi = $5 }
            else if (best == "" || $3 < bv) { best = $2; bv = $3 }
        }
        END {
            r = bv > 1e-9 ? sprintf("%.2f", t / bv) : "n/a (exact)"
            printf "| %s | %.3g [%.3g, %.3g] | %s %.3g | %s |\n", name, t, lo, hi, best, bv, r
        }' "$f"
done
