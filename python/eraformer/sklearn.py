"""TabularRegressor: the C library's in-context regressor (include/eraformer/icl.h) as a
scikit-learn estimator.

    from eraformer import TabularRegressor
    reg = TabularRegressor(n_ensemble=16).fit(X_train, y_train)   # stores the table, no training
    y_pred = reg.predict(X_test)

A pretrained transformer predicts each test row from a context of training rows in one forward
pass per ensemble member. The scaling (robust or rank-gauss per feature, standardised target) is
fitted on the training rows inside the C library; NaN in X is a missing value. Any number of
features and rows: wider tables are seen through column subsets (or random projections), larger
ones through a context sample per member. Results are the same for any ``n_jobs``.

The model defaults to ``linear-d10.st`` from, in order: ``$ERAFORMER_MODEL`` (a file),
``$ERAFORMER_MODELS_DIR``, ``models/`` next to this package, the source tree's ``models/``.
"""
import ctypes
import os

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from . import _lib

DEFAULT_MODEL = "linear-d10.st"  # the best shipped model on real tables (docs/icl_regressor.md)
_SCALING = {"robust": 0, "rankgauss": 1}
_WIDE = {"subset": 0, "project": 1}


def default_model_path():
    """The checkpoint TabularRegressor uses when ``model`` is None (see the module docstring)."""
    env = os.environ.get("ERAFORMER_MODEL")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    dirs = [os.environ.get("ERAFORMER_MODELS_DIR"), os.path.join(here, "models"),
            os.path.join(here, "..", "..", "models")]
    for d in dirs:
        if d and os.path.exists(os.path.join(d, DEFAULT_MODEL)):
            return os.path.normpath(os.path.join(d, DEFAULT_MODEL))
    raise FileNotFoundError(
        f"no {DEFAULT_MODEL} found (tried $ERAFORMER_MODEL, $ERAFORMER_MODELS_DIR, the package "
        "folder's models/ and the source tree's models/): pass model='path/to/model.st'")


class _Handle:
    """Owns one ef_icl_regressor; destroys it with the Python object."""

    def __init__(self, ptr):
        self.ptr = ptr

    def __del__(self):
        if self.ptr:
            _lib.lib().ef_icl_regressor_destroy(self.ptr)
            self.ptr = None


def _seed(random_state):
    if random_state is None:
        return 0
    if isinstance(random_state, (int, np.integer)):
        if random_state < 0:
            raise ValueError(f"random_state must be >= 0, got {random_state}")
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    raise TypeError(f"random_state must be None, an int or a numpy RandomState, not {random_state!r}")


def _f32(a):
    return np.ascontiguousarray(a, dtype=np.float32)


class TabularRegressor(RegressorMixin, BaseEstimator):
    """In-context regression with a pretrained eraformer model.

    Parameters
    ----------
    model : str or None
        A rows-layout checkpoint without row positions; None = the default model.
    n_ensemble : int
        Members (1..1024); each sees its own context sample, column subset and symmetries.
    context_rows : int or None
        Context rows per member; None = the model's pretraining capacity.
    scaling : {"robust", "rankgauss"}
        Per-feature scaling fitted on the training rows.
    wide : {"subset", "project"}
        How members see more columns than the model's input width.
    random_state : int, RandomState or None
        Seed of every random choice (None = 0: the estimator is deterministic).
    n_jobs : int or None
        OpenMP threads for fit and predict (None = the OpenMP default); results do not depend on it.
    """

    def __init__(self, model=None, n_ensemble=16, context_rows=None, scaling="robust",
                 wide="subset", random_state=None, n_jobs=None):
        self.model = model
        self.n_ensemble = n_ensemble
        self.context_rows = context_rows
        self.scaling = scaling
        self.wide = wide
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _options(self):
        if self.scaling not in _SCALING:
            raise ValueError(f"scaling must be one of {sorted(_SCALING)}, not {self.scaling!r}")
        if self.wide not in _WIDE:
            raise ValueError(f"wide must be one of {sorted(_WIDE)}, not {self.wide!r}")
        o = _lib.IclOptions()
        _lib.lib().ef_icl_options_init(ctypes.byref(o))
        o.n_ensemble = int(self.n_ensemble)
        o.max_context = 0 if self.context_rows is None else int(self.context_rows)
        o.seed = _seed(self.random_state)
        o.scaling = _SCALING[self.scaling]
        o.wide = _WIDE[self.wide]
        return o

    def _threads(self):
        return 0 if self.n_jobs is None or self.n_jobs < 0 else int(self.n_jobs)

    def _build(self):
        """A fitted C regressor over self._X_fit, self._y_fit."""
        lib = _lib.lib()
        path = self.model if self.model is not None else default_model_path()
        opts = self._options()
        err = _lib.new_error()
        ptr = ctypes.c_void_p()
        _lib.check(lib.ef_icl_regressor_open(ctypes.byref(ptr), os.fsencode(path), ctypes.byref(opts),
                                             ctypes.byref(err)), err)
        handle = _Handle(ptr.value)
        X, y = self._X_fit, self._y_fit
        _lib.check(lib.ef_icl_regressor_fit(handle.ptr, X.ctypes.data, y.ctypes.data, X.shape[0], X.shape[1],
                                            self._threads(), ctypes.byref(err)), err)
        return handle

    def fit(self, X, y):
        """Stores the training table (float32 copies) and fits the scaling in C."""
        X, y = self._validate_data(X, y, dtype=[np.float64, np.float32], force_all_finite="allow-nan",
                                   y_numeric=True)
        if not np.all(np.isfinite(y)):
            raise ValueError("y contains NaN or infinity")
        self._X_fit, self._y_fit = _f32(X), _f32(y)
        self._handle = self._build()
        self.context_rows_ = _lib.lib().ef_icl_regressor_context_rows(self._handle.ptr)
        self.model_width_ = _lib.lib().ef_icl_regressor_model_width(self._handle.ptr)
        return self

    def predict(self, X):
        """Predictions for the rows of X (NaN = missing), float64."""
        check_is_fitted(self, "context_rows_")
        X = self._validate_data(X, dtype=[np.float64, np.float32], force_all_finite="allow-nan", reset=False)
        X = _f32(X)
        if getattr(self, "_handle", None) is None:   # after unpickling
            self._handle = self._build()
        out = np.empty(X.shape[0], dtype=np.float32)
        err = _lib.new_error()
        _lib.check(_lib.lib().ef_icl_regressor_predict(self._handle.ptr, X.ctypes.data, X.shape[0], X.shape[1],
                                                       self._threads(), out.ctypes.data, ctypes.byref(err)), err)
        return out.astype(np.float64)

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_handle", None)   # the C object is rebuilt from the stored table on demand
        return state

    def _more_tags(self):
        return {"allow_nan": True}
