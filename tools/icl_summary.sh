#!/bin/sh
# One markdown row per icl-eval CSV: at K in-context examples, the transformer's error [90 % CI],
# the best baseline (lowest mean; 'zero' included) and the ratio transformer / best; where the
# CSV has a symmetry-ensemble row (icl-eval --ensemble N: transformer-ensN), its error and ratio
# follow.
#   tools/icl_summary.sh K FILE.csv...
set -eu
K=$1; shift
for f in "$@"; do
    awk -F, -v k="$K" -v name="$(basename "$f" .csv)" '
        function ratio(a, b) { return b > 1e-9 ? sprintf("%.3f", a / b) : "n/a (exact)" }
        NR > 1 && $1 == k {
            if ($2 == "transformer") { t = $3; lo = $4; hi = $5 }
            else if ($2 ~ /^transformer-ens/) { en = $2; ev = $3 }
            else if (best == "" || $3 < bv) { best = $2; bv = $3 }
        }
        END {
            printf "| %s | %.3g [%.3g, %.3g] | %s %.3g | %s |", name, t, lo, hi, best, bv, ratio(t, bv)
            if (en != "") printf " %s %.4g | %s |", en, ev, ratio(ev, bv)
            printf "\n"
        }' "$f"
done
