"""No process-wide side effect on numpy's BLAS: liberaformer.so and numpy share one OpenBLAS
(Debian's libblas.so.3 is a wrapper over libopenblas.so.0). The library sets OpenBLAS to one
thread only for the duration of each call and gives the caller's count back; it used to set it
once and never restore it, which made numpy single-threaded for the rest of the process."""
import ctypes
import ctypes.util
import os

import numpy as np
import pytest

import eraformer as ef
from conftest import SOURCE_DIR

os.environ.setdefault("ERAFORMER_MODELS_DIR", os.path.join(SOURCE_DIR, "models"))


def openblas():
    ef.version()  # liberaformer.so (and with it libopenblas.so.0) is loaded
    for name in ("libopenblas.so.0", ctypes.util.find_library("openblas")):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)  # the copy already in the process
        except OSError:
            continue
        if hasattr(lib, "openblas_get_num_threads"):
            lib.openblas_get_num_threads.restype = ctypes.c_int
            lib.openblas_set_num_threads.argtypes = [ctypes.c_int]
            return lib
    pytest.skip("no libopenblas.so.0 in the process")


@pytest.fixture
def blas():
    lib = openblas()
    before = lib.openblas_get_num_threads()
    lib.openblas_set_num_threads(2)  # the program's own choice
    assert lib.openblas_get_num_threads() == 2
    yield lib
    lib.openblas_set_num_threads(before)


def test_regressor_leaves_numpy_blas_threads(blas):
    rng = np.random.default_rng(0)
    X, Xt = rng.normal(size=(200, 6)), rng.normal(size=(50, 6))
    y = X @ rng.normal(size=6)
    reg = pytest.importorskip("sklearn") and ef.TabularRegressor(n_ensemble=2, random_state=0)
    p = reg.fit(X, y).predict(Xt)
    assert blas.openblas_get_num_threads() == 2
    blas.openblas_set_num_threads(1)  # the result does not depend on it
    assert np.array_equal(reg.predict(Xt), p)
    assert blas.openblas_get_num_threads() == 1


def test_metrics_leave_numpy_blas_threads(blas):
    rng = np.random.default_rng(1)
    n, era = 300, np.repeat(["a", "b", "c"], 100)
    F = rng.integers(0, 5, size=(n, 4)).astype(np.float32)
    pred = rng.normal(size=n) + 0.1 * F[:, 0]
    target = rng.integers(0, 5, size=n) / 4
    ef.neutralize(pred, F, proportion=0.5, era=era)
    ef.feature_neutral_corr(pred, F, target, era=era)
    assert blas.openblas_get_num_threads() == 2
