#!/bin/sh
# Builds seed corpora for the fuzz targets, one folder per target under OUTDIR:
#   reader         - the parquet fixtures themselves
#   thrift         - each fixture's footer (prefixed 0x00) and its first page header bytes (0x01)
#   features_json, dataset_csv, checkpoint, finetune_meta, model_dir
#                  - the committed seeds in fuzz/seeds/<target> (small files: Numerai's v5.3
#                    excerpt and hand-written features.json files, CSVs in the int and legacy
#                    float layouts, tiny pretrained checkpoints of each layout, sidecars)
# usage: fuzz/make_seeds.sh OUTDIR [FIXTURE_DIR]
set -eu
out=$1
here=$(dirname "$0")
fix=${2:-$here/../../shared/fixtures/parquet}
mkdir -p "$out/reader" "$out/thrift"
for f in "$fix"/*.parquet; do
  b=$(basename "$f" .parquet)
  cp "$f" "$out/reader/$b.parquet"
  flen=$(tail -c 8 "$f" | head -c 4 | od -An -tu4 | tr -d ' ')
  { printf '\000'; tail -c $((flen + 8)) "$f" | head -c "$flen"; } > "$out/thrift/$b.footer"
  { printf '\001'; tail -c +5 "$f" | head -c 256; } > "$out/thrift/$b.pages"
done
for t in features_json dataset_csv checkpoint finetune_meta model_dir icl_table; do
  mkdir -p "$out/$t"
  cp "$here/seeds/$t"/* "$out/$t/"
done
cp "$fix"/*.parquet "$out/icl_table/"   # icl-predict reads parquet too
