#!/bin/sh
# Builds seed corpora for the fuzz targets from the parquet fixtures:
#   $1/reader  - the fixture files themselves
#   $1/thrift  - each fixture's footer (prefixed 0x00) and its first page header bytes (0x01)
# usage: fuzz/make_seeds.sh OUTDIR [FIXTURE_DIR]
set -eu
out=$1
fix=${2:-$(dirname "$0")/../../shared/fixtures/parquet}
mkdir -p "$out/reader" "$out/thrift"
for f in "$fix"/*.parquet; do
  b=$(basename "$f" .parquet)
  cp "$f" "$out/reader/$b.parquet"
  size=$(stat -c %s "$f")
  flen=$(tail -c 8 "$f" | head -c 4 | od -An -tu4 | tr -d ' ')
  { printf '\000'; tail -c $((flen + 8)) "$f" | head -c "$flen"; } > "$out/thrift/$b.footer"
  { printf '\001'; tail -c +5 "$f" | head -c 256; } > "$out/thrift/$b.pages"
  : "$size"
done
