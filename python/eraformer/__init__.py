"""eraformer: Python bindings (ctypes + numpy) for the eraformer C library, liberaformer.so.

    import eraformer
    eraformer.version()                                 # the C library's version
    eraformer.numerai_corr(df["prediction"], df["target"], era=df["era"])  # per-era CORR
    data = eraformer.read_parquet("validation.parquet", columns=["era", "target"])
    eraformer.TabularRegressor().fit(X, y).predict(X_test)   # in-context regression (scikit-learn)
    eraformer.NumeraiModel.load("model.st").predict("live.parquet", context=["train.parquet"])

See python/README.md. The library is found through ERAFORMER_LIBRARY, next to this package, or
on the system library path (eraformer._lib explains the order). A failure inside the C library
raises eraformer.Error with its message; bad inputs raise ValueError/TypeError before C runs.
"""
from ._lib import Error, LibraryNotFoundError, library_path, version
from .metrics import correlation_contribution, feature_neutral_corr, neutralize, numerai_corr
from .numerai import NumeraiModel
from .parquet import read_parquet

try:  # scikit-learn is optional: the estimator exists only when it imports
    from .sklearn import TabularRegressor
except ImportError:  # pragma: no cover
    TabularRegressor = None

__version__ = "0.1.0"  # the Python package; version() is the C library's (they match in a release)

__all__ = ["Error", "LibraryNotFoundError", "version", "library_path", "numerai_corr",
           "correlation_contribution", "neutralize", "feature_neutral_corr", "read_parquet",
           "TabularRegressor", "NumeraiModel", "__version__"]
