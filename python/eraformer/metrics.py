"""Numerai scoring: thin wrappers over the C library's numerai-tools 0.6.0 scores.

Every function takes numpy arrays, lists, or pandas Series/DataFrames. Inputs are checked and
converted here (to contiguous float64, or float32 features kept as they are) before the C
library sees them, so a wrong dtype, shape or length raises ValueError/TypeError and never
reaches C. Rows are aligned by position; pandas inputs must share one index (align them first,
e.g. with ``df.loc[ids]``). For ``top_bottom`` ties to match numerai-tools exactly, pass rows
sorted by id, as numerai-tools sorts them.

Without ``era``, all rows are one era and a score is a float (a Series/array per column for 2-D
predictions). With ``era`` (one label per row), each era is scored on its own: the result has
one entry per era, in sorted era order (``numpy.unique(era)``): a pandas Series indexed by era
when any input is a pandas object, else a numpy array. An era whose score cannot be computed
(too few rows, too many NaN: the C library's EF_ERR_INVALID) is NaN there, as in the C per-era
driver; without ``era`` the same condition raises :class:`eraformer.Error`.
"""
import ctypes
import numbers

import numpy as np

from . import _lib

try:  # optional
    import pandas as _pd
except ImportError:  # pragma: no cover - exercised only without pandas
    _pd = None

__all__ = ["numerai_corr", "correlation_contribution", "neutralize", "feature_neutral_corr"]


# ---- input checks and conversion -----------------------------------------------------------

def _is_pandas(x):
    return _pd is not None and isinstance(x, (_pd.Series, _pd.DataFrame))


def _common_index(*objs):
    """The shared index of the pandas inputs (None if none is pandas); ValueError if they differ."""
    index = None
    for x in objs:
        if _is_pandas(x):
            if index is None:
                index = x.index
            elif not index.equals(x.index):
                raise ValueError("the pandas inputs have different indexes: align them first "
                                 "(rows are matched by position)")
    return index


def _pandas_to_numpy(x):
    """Plain numpy values; nullable numeric columns (Float64, Int64 with pd.NA) become float64
    with NaN for NA."""
    dtypes = [x.dtype] if isinstance(x, _pd.Series) else list(x.dtypes)
    nullable = any(isinstance(d, _pd.api.extensions.ExtensionDtype) for d in dtypes)
    if nullable and all(_pd.api.types.is_numeric_dtype(d) or _pd.api.types.is_bool_dtype(d)
                        for d in dtypes):
        return x.to_numpy(dtype=np.float64, na_value=np.nan)
    return x.to_numpy()


def _to_float_array(x, name):
    if _is_pandas(x):
        x = _pandas_to_numpy(x)
    try:
        a = np.asarray(x)
    except Exception as e:  # ragged lists and the like
        raise ValueError(f"{name}: cannot be read as an array ({e})") from None
    if a.dtype.kind not in "biuf":
        if a.dtype.kind == "O":
            try:
                a = a.astype(np.float64)
            except (TypeError, ValueError):
                raise TypeError(f"{name}: values must be numbers (got dtype object with "
                                "non-numeric entries)") from None
        else:
            raise TypeError(f"{name}: values must be numbers, not dtype {a.dtype}")
    return a


def _vector(x, name, n=None, allow_nan=True):
    """A contiguous float64 1-D copy of x (n rows when given)."""
    a = _to_float_array(x, name)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise ValueError(f"{name}: expected one value per row (1-D), got shape {a.shape}")
    if n is not None and a.shape[0] != n:
        raise ValueError(f"{name}: {a.shape[0]} rows, expected {n} (one per prediction)")
    a = np.ascontiguousarray(a, dtype=np.float64)
    if np.isinf(a).any():
        raise ValueError(f"{name}: contains infinite values")
    if not allow_nan and np.isnan(a).any():
        raise ValueError(f"{name}: contains NaN (at row {int(np.flatnonzero(np.isnan(a))[0])})")
    return a


def _columns(x, name):
    """Predictions as a float64 (n, k) array, the column labels, and whether x was 1-D."""
    labels = None
    if _pd is not None and isinstance(x, _pd.DataFrame):
        labels = x.columns
    a = _to_float_array(x, name)
    if a.ndim not in (1, 2):
        raise ValueError(f"{name}: expected 1-D (n,) or 2-D (n, k), got shape {a.shape}")
    a = np.asarray(a, dtype=np.float64)
    if np.isinf(a).any():
        raise ValueError(f"{name}: contains infinite values")
    if a.ndim == 1:
        return np.ascontiguousarray(a)[:, None], labels, True
    return a, labels, False


def _features(x, n, name="features"):
    """Features as a C-contiguous (n, nf) float32 or float64 array, finite."""
    a = _to_float_array(x, name)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"{name}: expected 2-D (rows, features), got shape {a.shape}")
    if a.shape[0] != n:
        raise ValueError(f"{name}: {a.shape[0]} rows, expected {n} (one per prediction)")
    dtype = np.float32 if a.dtype == np.float32 else np.float64
    a = np.ascontiguousarray(a, dtype=dtype)
    if not np.isfinite(a).all():
        raise ValueError(f"{name}: contains NaN or infinite values (fill them first)")
    return a


def _era_groups(era, n):
    """(labels, [row indices of each era]) in sorted label order; rows keep their order."""
    if _is_pandas(era):
        era = era.to_numpy()
    e = np.asarray(era)
    if e.ndim != 1 or e.shape[0] != n:
        raise ValueError(f"era: expected one label per row ({n}), got shape {e.shape}")
    if e.dtype.kind == "f" and np.isnan(e).any():
        raise ValueError("era: contains NaN")
    if e.dtype.kind == "O":
        # strings from pandas or read_parquet: factorize by hashing (sorting a million Python
        # objects is slow), then sort the few distinct labels
        if _pd is not None:
            codes, uniq = _pd.factorize(e)
            if n and codes.min() < 0:
                raise ValueError("era: contains missing labels (None/NaN)")
            uniq = list(uniq)
        else:
            index = {}
            codes = np.fromiter((index.setdefault(v, len(index)) for v in e.tolist()),
                                dtype=np.intp, count=n)
            uniq = list(index)
            if any(v is None or (isinstance(v, float) and v != v) for v in uniq):
                raise ValueError("era: contains missing labels (None/NaN)")
        try:
            rank = sorted(range(len(uniq)), key=uniq.__getitem__)
        except TypeError as ex:
            raise TypeError(f"era: labels cannot be sorted ({ex})") from None
        pos = np.empty(len(uniq), dtype=np.intp)
        pos[rank] = np.arange(len(uniq))
        codes = pos[codes]
        labels = np.empty(len(uniq), dtype=object)
        labels[:] = [uniq[i] for i in rank]
        order = np.argsort(codes, kind="stable")
        starts = np.cumsum(np.bincount(codes, minlength=len(uniq)))[:-1]
        return labels, np.split(order, starts)
    try:  # one stable sort: eras in label order (numpy.unique's), rows in their order
        order = np.argsort(e, kind="stable")
    except TypeError as ex:
        raise TypeError(f"era: labels cannot be sorted ({ex})") from None
    sorted_e = e[order]
    starts = np.flatnonzero(np.r_[True, sorted_e[1:] != sorted_e[:-1]]) if n else \
        np.zeros(0, dtype=np.intp)
    return sorted_e[starts], np.split(order, starts[1:])


def _opts(target_pow15=True, top_bottom=None, max_filtered_ratio=0.2):
    if top_bottom is None:
        tb = 0
    else:
        if isinstance(top_bottom, bool) or not isinstance(top_bottom, numbers.Integral) \
                or top_bottom <= 0:
            raise ValueError(f"top_bottom: a positive integer or None, got {top_bottom!r}")
        tb = int(top_bottom)
    r = float(max_filtered_ratio)
    if not 0.0 <= r <= 1.0:
        raise ValueError(f"max_filtered_ratio: must lie in [0, 1], got {max_filtered_ratio!r}")
    return _lib.CorrOpts(1 if target_pow15 else 0, tb, r)


def _ptr(a):
    return a.ctypes.data_as(ctypes.c_void_p) if a is not None else None


# ---- one era, one prediction column: the C calls ---------------------------------------------

class _TooFewRowsForTopBottom(ValueError):
    pass


def _c_numerai_corr(p, t, opts):
    if opts.top_bottom:
        # The C library's top/bottom buffers hold one copy of each scored row, so 2m rows must
        # remain after NaN filtering (numerai-tools would count some rows twice instead).
        m = int(np.count_nonzero(~np.isnan(p) & ~np.isnan(t)))
        if 2 * opts.top_bottom > m:
            raise _TooFewRowsForTopBottom(
                f"top_bottom={opts.top_bottom} needs at least {2 * opts.top_bottom} rows with "
                f"both a prediction and a target, got {m}")
    out = ctypes.c_double()
    err = _lib.new_error()
    st = _lib.lib().ef_metrics_numerai_corr(ctypes.byref(out), _ptr(p), _ptr(t), p.shape[0],
                                            ctypes.byref(opts), ctypes.byref(err))
    _lib.check(st, err)
    return out.value


def _c_mmc(p, m, t, opts):
    out = ctypes.c_double()
    err = _lib.new_error()
    st = _lib.lib().ef_metrics_correlation_contribution(
        ctypes.byref(out), _ptr(p), _ptr(m), _ptr(t), p.shape[0], ctypes.byref(opts),
        ctypes.byref(err))
    _lib.check(st, err)
    return out.value


def _feature_ptrs(F):
    if F.dtype == np.float32:
        return None, _ptr(F)
    return _ptr(F), None


def _c_neutralize(S, F, proportion):
    """S: (n, k) float64; F: (n, nf) C-contiguous. Returns (n, k) float64."""
    n, k = S.shape
    s = np.asfortranarray(S, dtype=np.float64)  # column j at s + j*n
    out = np.empty((n, k), dtype=np.float64, order="F")
    f64, f32 = _feature_ptrs(F)
    err = _lib.new_error()
    st = _lib.lib().ef_metrics_neutralize(_ptr(out), _ptr(s), n, k, f64, f32, F.shape[1],
                                          F.shape[1], n, float(proportion), ctypes.byref(err))
    _lib.check(st, err)
    return np.ascontiguousarray(out)


def _c_fnc(p, t, F):
    out = ctypes.c_double()
    f64, f32 = _feature_ptrs(F)
    err = _lib.new_error()
    st = _lib.lib().ef_metrics_feature_neutral_corr(
        ctypes.byref(out), _ptr(p), _ptr(t), f64, f32, F.shape[1], F.shape[1], p.shape[0],
        ctypes.byref(err))
    _lib.check(st, err)
    return out.value


# ---- per-column, per-era plumbing for the scalar scores --------------------------------------

def _score(name, pred, per_row, inputs, era, fn):
    """Scores each prediction column (per era when era is given) with fn(p, *rows of per_row).

    pred: (P, labels, was_1d) from _columns; per_row: the other converted per-row arrays;
    inputs: the caller's objects (a pandas one makes the per-era result pandas)."""
    P, labels, was_1d = pred
    pandas_out = labels is not None or any(_is_pandas(x) for x in inputs)

    def one(rows):
        """rows: None (all rows) or a slice of the era-sorted arrays."""
        vals = []
        for j in range(P.shape[1]):
            if rows is None:
                vals.append(fn(np.ascontiguousarray(P[:, j]), *per_row))
                continue
            args = [a[rows] for a in per_row_sorted]   # contiguous slices: no copy
            try:
                vals.append(fn(Pt_sorted[j, rows], *args))
            except _lib.Error as e:  # this era cannot be scored: NaN, as the C driver does
                if e.code != _lib.EF_ERR_INVALID:
                    raise
                vals.append(np.nan)
            except _TooFewRowsForTopBottom:
                vals.append(np.nan)
        return vals

    if era is None:
        vals = one(None)
        if was_1d:
            return float(vals[0])
        if pandas_out:
            return _pd.Series(vals, index=labels, name=name, dtype=np.float64)
        return np.asarray(vals, dtype=np.float64)

    era_labels, groups = _era_groups(era, P.shape[0])
    # gather the rows once in era order; each era is then a contiguous slice
    order = np.concatenate(groups) if groups else np.zeros(0, dtype=np.intp)
    Pt_sorted = np.ascontiguousarray(P[order].T)                     # (k, n)
    per_row_sorted = [np.ascontiguousarray(a[order]) for a in per_row]
    bounds = np.cumsum([0] + [len(g) for g in groups])
    table = np.array([one(slice(bounds[e], bounds[e + 1])) for e in range(len(groups))],
                     dtype=np.float64).reshape(len(groups), P.shape[1])
    if pandas_out:
        era_name = getattr(era, "name", None) if _is_pandas(era) else None
        idx = _pd.Index(era_labels, name=era_name if era_name is not None else "era")
        if was_1d:
            return _pd.Series(table[:, 0], index=idx, name=name)
        return _pd.DataFrame(table, index=idx, columns=labels)
    return table[:, 0] if was_1d else table


# ---- public functions ------------------------------------------------------------------------

def numerai_corr(predictions, target, era=None, *, target_pow15=True, top_bottom=None,
                 max_filtered_ratio=0.2):
    """Numerai's CORR (numerai-tools ``numerai_corr``): Pearson correlation of
    ``power(gaussian(tie_kept_rank(predictions)), 1.5)`` with the centred target raised to the
    power 1.5 (``target_pow15=False``: the centred target itself).

    predictions: (n,) or (n, k) (DataFrame: one score per column); target: (n,). NaN rows are
    dropped as numerai-tools does (at most ``max_filtered_ratio`` of an input's rows may be;
    else :class:`eraformer.Error`). ``top_bottom=m`` scores only the m lowest and m highest
    predictions (ValueError when fewer than 2m rows have both a prediction and a target; NaN
    for such an era). ``era``: score each era on its own (see the module docstring).
    """
    _common_index(predictions, target, era)
    pred = _columns(predictions, "predictions")
    t = _vector(target, "target", pred[0].shape[0])
    opts = _opts(target_pow15, top_bottom, max_filtered_ratio)
    return _score("numerai_corr", pred, [t], (predictions, target, era), era,
                  lambda p, tt: _c_numerai_corr(p, tt, opts))


def correlation_contribution(predictions, meta_model, target, era=None, *, top_bottom=None,
                             max_filtered_ratio=0.2):
    """MMC (against the meta model) or BMC (against a benchmark): numerai-tools
    ``correlation_contribution``. The gaussianized ranks of the predictions are orthogonalized
    against the meta model's; the result is their covariance with the centred target (times 4
    when the target lies in [0, 1]). predictions: (n,) or (n, k); meta_model, target: (n,).
    ``top_bottom=m``: only the m lowest and m highest orthogonalized predictions count.
    """
    _common_index(predictions, meta_model, target, era)
    pred = _columns(predictions, "predictions")
    n = pred[0].shape[0]
    m = _vector(meta_model, "meta_model", n)
    t = _vector(target, "target", n)
    opts = _opts(True, top_bottom, max_filtered_ratio)
    return _score("correlation_contribution", pred, [m, t],
                  (predictions, meta_model, target, era), era,
                  lambda p, mm, tt: _c_mmc(p, mm, tt, opts))


def feature_neutral_corr(predictions, features, target, era=None):
    """FNC (numerai-tools ``feature_neutral_corr``): ``numerai_corr`` of the gaussianized ranks of
    the predictions, fully neutralized against the features (plus an intercept) and divided by
    their standard deviation. predictions: (n,) or (n, k), no NaN; features: (n, nf), finite
    (float32 is passed as is, anything else as float64); target: (n,), NaN allowed.
    """
    _common_index(predictions, features, target, era)
    pred = _columns(predictions, "predictions")
    n = pred[0].shape[0]
    if np.isnan(pred[0]).any():
        raise ValueError("predictions: contains NaN (feature_neutral_corr needs every row)")
    F = _features(features, n)
    t = _vector(target, "target", n)
    return _score("feature_neutral_corr", pred, [t, F], (predictions, features, target, era),
                  era, _c_fnc)


def neutralize(predictions, features, proportion=1.0, era=None):
    """numerai-tools ``neutralize``: ``predictions - proportion * X pinv(X) predictions`` with
    ``X = [features | 1]`` (an intercept is always appended), each prediction column on its own.

    predictions: (n,) or (n, k), no NaN; features: (n, nf), finite. A constant prediction
    column becomes NaN (numerai-tools). With ``era``, each era is neutralized on its own and
    the rows keep their original order. Returns the same kind as predictions: a Series (same
    index and name), a DataFrame (same index and columns) or an array of the same shape. The
    values are the raw residuals: rank them (per era) for a submission.
    """
    _common_index(predictions, features, era)
    P, labels, was_1d = _columns(predictions, "predictions")
    n = P.shape[0]
    if np.isnan(P).any():
        raise ValueError("predictions: contains NaN (neutralize needs every row)")
    F = _features(features, n)
    if isinstance(proportion, bool) or not isinstance(proportion, numbers.Real):
        raise TypeError(f"proportion: a number, got {proportion!r}")
    prop = float(proportion)
    if not np.isfinite(prop):
        raise ValueError(f"proportion: must be finite, got {proportion!r}")
    if era is None:
        out = _c_neutralize(P, F, prop)
    else:
        out = np.empty_like(P)
        for rows in _era_groups(era, n)[1]:
            out[rows] = _c_neutralize(P[rows], np.ascontiguousarray(F[rows]), prop)
    if _pd is not None and isinstance(predictions, _pd.Series):
        return _pd.Series(out[:, 0], index=predictions.index, name=predictions.name)
    if _pd is not None and isinstance(predictions, _pd.DataFrame):
        return _pd.DataFrame(out, index=predictions.index, columns=labels)
    return out[:, 0].copy() if was_1d else out
