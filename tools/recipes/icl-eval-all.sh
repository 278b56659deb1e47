#!/bin/sh
# The evaluation part of the mixture recipes: for each class, icl-eval over 1,280 tasks
# noise-free (CSV + SVG) and with label noise sigma = 0.25 (CSV), then the out-of-distribution
# variants (scaled x and y, skewed covariance, convex combinations, classes never trained on).
#   tools/recipes/icl-eval-all.sh MODEL.st PREFIX CLASS...
# Environment: ERAFORMER (default build/eraformer), THREADS (default 1), ENSEMBLE (default 1:
# with N > 1 the CSVs also carry the N-member symmetry ensemble, icl-eval --ensemble).
set -eu
BIN=${ERAFORMER:-build/eraformer}
THREADS=${THREADS:-1}
ENSEMBLE=${ENSEMBLE:-1}
M=$1
OUT=$2
shift 2
E="$BIN icl-eval --model $M --tasks 1280 --threads $THREADS --ensemble $ENSEMBLE"
for c in "$@"; do
    $E --class "$c" --csv "$OUT.$c.csv" --plot "$OUT.$c.svg"
    $E --class "$c" --prior-params noise_prob=1,noise_min=0.25,noise_max=0.25 --csv "$OUT.$c.noise.csv"
done
$E --class linear --ood scale-x=2 --csv "$OUT.ood.scale-x.csv"
$E --class linear --ood scale-y=3 --csv "$OUT.ood.scale-y.csv"
$E --class linear --ood skewed --csv "$OUT.ood.skewed.csv"
$E --ood combo=linear+tree --csv "$OUT.ood.combo-linear-tree.csv"
$E --ood combo=relu+forest --csv "$OUT.ood.combo-relu-forest.csv"
$E --class sinusoid --csv "$OUT.ood.sinusoid.csv"
$E --class quadratic --csv "$OUT.ood.quadratic.csv"
