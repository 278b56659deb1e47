#!/usr/bin/env bash
# ctest python_pip_install: `pip install` of a copy of python/ (pip builds in the source folder,
# so never this one), offline (--no-index), into BUILD_DIR/pip_test; then the installed package,
# with a liberaformer.so bundled next to it and ERAFORMER_LIBRARY unset, must find and load it.
# Exit 77 (skipped) without a python3 that has numpy, pip and setuptools.
# usage: run_pip_install.sh BUILD_DIR LIBRARY
set -euo pipefail
build=$1 library=$2
src=$(cd "$(dirname "$0")/.." && pwd)
py=
for cand in ${EF_PYTHON:-} python3 /usr/bin/python3; do
  command -v "$cand" >/dev/null 2>&1 || continue
  if "$cand" -B -c 'import setuptools, numpy' >/dev/null 2>&1 &&
     "$cand" -B -m pip --version >/dev/null 2>&1; then py=$cand; break; fi
done
if [ -z "$py" ]; then
  echo "skipped: no python3 with numpy, pip and setuptools (apt install python3-pip)" >&2
  exit 77
fi
export PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore
work=$build/pip_test
rm -rf "$work"
mkdir -p "$work"
cp -R "$src" "$work/src"
rm -rf "$work/src/tests" "$work/src/build" "$work/src"/*.egg-info
cp -L "$library" "$work/src/eraformer/liberaformer.so"
"$py" -B -m pip install --quiet --no-index --no-deps --no-build-isolation \
    --target "$work/site" "$work/src"
cd "$work"
env -u ERAFORMER_LIBRARY PYTHONPATH="$work/site" "$py" -B -c '
import os, sys, numpy as np, eraformer as ef
site = sys.argv[1]
assert ef.__file__.startswith(site), ef.__file__
assert ef.library_path() == os.path.join(site, "eraformer", "liberaformer.so"), ef.library_path()
assert ef.version() == ef.__version__, (ef.version(), ef.__version__)
r = ef.numerai_corr(np.arange(10.0), np.arange(10.0) % 5 / 4)
assert np.isfinite(r), r
print("installed eraformer", ef.__version__, "loads", ef.library_path(), "- corr", round(r, 6))
' "$work/site"
