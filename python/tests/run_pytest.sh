#!/usr/bin/env bash
# ctest python_pytest: runs python/tests with the first python3 that has numpy and pytest
# ($EF_PYTHON first if set); exit 77 (ctest: skipped) when there is none. Writes nothing into
# the source tree: no bytecode (-B, PYTHONDONTWRITEBYTECODE), no .pytest_cache.
set -u
here=$(cd "$(dirname "$0")" && pwd)
for py in ${EF_PYTHON:-} python3 /usr/bin/python3; do
  command -v "$py" >/dev/null 2>&1 || continue
  if PYTHONDONTWRITEBYTECODE=1 "$py" -B -c 'import numpy, pytest' >/dev/null 2>&1; then
    export PYTHONDONTWRITEBYTECODE=1
    exec "$py" -B -m pytest -q -p no:cacheprovider --rootdir "$here" "$here" "$@"
  fi
done
echo "skipped: no python3 with numpy and pytest (apt install python3-numpy python3-pytest)" >&2
exit 77
