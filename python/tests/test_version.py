import os
import re
import subprocess
import sys

import eraformer

from conftest import SOURCE_DIR


def header_version():
    with open(os.path.join(SOURCE_DIR, "include", "eraformer", "base.h")) as f:
        return re.search(r'#define EF_VERSION_STRING "([^"]+)"', f.read()).group(1)


def test_version_is_the_headers():
    assert eraformer.version() == header_version()


def test_package_version_matches_library():
    assert eraformer.__version__ == eraformer.version()


def test_library_path_is_the_env_var():
    env = os.environ.get("ERAFORMER_LIBRARY")
    if env:
        assert eraformer.library_path() == env


def run_python(code, **env_changes):
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env.update(env_changes)
    return subprocess.run([sys.executable, "-B", "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)


def test_missing_library_is_a_clear_error_not_an_import_failure():
    code = ("import eraformer\n"
            "try:\n"
            "    eraformer.version()\n"
            "except eraformer.LibraryNotFoundError as e:\n"
            "    print('NOTFOUND', e)\n")
    r = run_python(code, ERAFORMER_LIBRARY="/nonexistent/liberaformer.so")
    assert r.returncode == 0, r.stderr
    assert "NOTFOUND" in r.stdout and "/nonexistent/liberaformer.so" in r.stdout


def test_env_var_pointing_at_another_library_is_refused():
    r = run_python("import eraformer\n"
                   "try:\n"
                   "    eraformer.version()\n"
                   "except OSError as e:\n"
                   "    print('REFUSED', e)\n",
                   ERAFORMER_LIBRARY="libm.so.6")
    assert r.returncode == 0, r.stderr
    assert "REFUSED" in r.stdout and "not eraformer's library" in r.stdout
