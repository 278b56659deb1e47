#!/usr/bin/env bash
# ctest install_pkgconfig: installs the build tree into <build>/install_test, then builds and
# runs tests/install/hello.c the way a consumer would, with nothing but pkg-config:
#   1. against liberaformer.so (pkg-config --cflags --libs), run from the install tree only;
#   2. against liberaformer.a with the .pc file's Requires.private and Libs.private;
# and checks that liberaformer.so exports only ef_* symbols.
# usage: check_install.sh BUILD_DIR CC HELLO_C [EXTRA_CFLAGS]
set -euo pipefail
build=$1 cc=$2 hello=$3 extra=${4:-}
if ! command -v pkg-config >/dev/null 2>&1; then
  echo "skipped: pkg-config is not installed" >&2
  exit 77
fi
prefix=$build/install_test
rm -rf "$prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null

pc=$(find "$prefix" -name eraformer.pc -path '*/pkgconfig/*' | head -n 1)
[ -n "$pc" ] || { echo "FAIL: no eraformer.pc installed under $prefix" >&2; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc")
for h in base.h metrics.h parquet.h data.h model.h; do
  [ -f "$prefix/include/eraformer/$h" ] || { echo "FAIL: include/eraformer/$h not installed" >&2; exit 1; }
done
version=$(pkg-config --modversion eraformer)
libdir=$(pkg-config --variable=libdir eraformer)
echo "eraformer.pc: version $version, libdir $libdir"
echo "cflags: $(pkg-config --cflags eraformer)"
echo "libs:   $(pkg-config --libs eraformer)"

out=$build/install_test/hello
# 1. shared: the run must find liberaformer.so in the install tree (rpath), not the build tree
# shellcheck disable=SC2046,SC2086
"$cc" $extra -std=c11 -Wall -Werror -o "$out" "$hello" $(pkg-config --cflags --libs eraformer) \
    -Wl,-rpath,"$libdir"
got=$(env -u LD_LIBRARY_PATH "$out")
echo "shared: $got"
[ "$got" = "eraformer $version" ] || { echo "FAIL: expected 'eraformer $version'" >&2; exit 1; }
if command -v ldd >/dev/null 2>&1; then
  loaded=$(env -u LD_LIBRARY_PATH ldd "$out" | awk '/liberaformer\.so/ {print $3}')
  if [ -z "$loaded" ] || [ "$(dirname "$(readlink -f "$loaded")")" != "$(readlink -f "$libdir")" ]; then
    echo "FAIL: hello loads '$loaded', not the installed liberaformer.so in $libdir" >&2
    exit 1
  fi
fi

# 2. static: liberaformer.a plus the private dependencies the .pc file lists (Requires.private
# and Libs.private; the dependencies themselves linked as shared libraries: a fully static
# `pkg-config --static` link would also need the -dev packages of libcurl's own dependencies)
reqs=$(pkg-config --print-requires-private eraformer | awk '{print $1}')
private=$(sed -n 's/^Libs.private: *//p' "$pc")
# shellcheck disable=SC2086
static_libs="$(pkg-config --libs $reqs) $private"
# shellcheck disable=SC2046,SC2086
"$cc" $extra -std=c11 -Wall -Werror -o "$out.static" "$hello" $(pkg-config --cflags eraformer) \
    "$libdir/liberaformer.a" $static_libs
got=$("$out.static")
echo "static: $got"
[ "$got" = "eraformer $version" ] || { echo "FAIL: static build printed '$got'" >&2; exit 1; }

# 3. the shared library's dynamic symbol table: ef_* only
so=$(ls "$libdir"/liberaformer.so.*.*.* | head -n 1)
leaked=$(nm -D --defined-only "$so" | awk '{print $NF}' | grep -v -E '^(ef_|_init$|_fini$)' || true)
if [ -n "$leaked" ]; then
  echo "FAIL: $so exports non-ef_ symbols:" >&2
  echo "$leaked" | head -n 20 >&2
  exit 1
fi
echo "exports: $(nm -D --defined-only "$so" | grep -c ' ef_') ef_* symbols, nothing else"
echo "install_pkgconfig: OK"
