"""read_parquet: the C library's native parquet reader, into numpy arrays or a pandas DataFrame.

Column types (physical type, plus its integer annotation):
  BOOLEAN -> bool; INT32/INT64 -> int32/int64, or the annotated width and sign (INT_8 -> int8,
  UINT_16 -> uint16, ...); FLOAT -> float32; DOUBLE -> float64; INT96 -> datetime64[ns]
  (the legacy timestamp); strings (UTF8/STRING/ENUM/JSON) -> object arrays of str; other
  BYTE_ARRAY and FIXED_LEN_BYTE_ARRAY -> object arrays of bytes.
Missing values (nulls): NaN for floats; an integer column with a null becomes float64 with NaN
(as pandas does); None in object arrays (bool columns with nulls become object arrays of
True/False/None); NaT for INT96. Other logical annotations (DATE, DECIMAL, ...) are returned
as their physical values.
"""
import ctypes
import json
import os
import re

import numpy as np

from . import _lib

__all__ = ["read_parquet"]

_BOOLEAN, _INT32, _INT64, _INT96, _FLOAT, _DOUBLE, _BYTE_ARRAY, _FLBA = range(8)
_PHYS_DTYPE = {_BOOLEAN: np.uint8, _INT32: np.int32, _INT64: np.int64, _FLOAT: np.float32,
               _DOUBLE: np.float64}
_JULIAN_UNIX_EPOCH = 2440588


def _c_array(addr, ctype, n):
    """A numpy copy of n elements of ctype at addr (empty when n == 0)."""
    if n == 0 or not addr:
        return np.empty(0, dtype=ctype)
    return np.ctypeslib.as_array(ctypes.cast(addr, ctypes.POINTER(
        np.ctypeslib.as_ctypes_type(ctype))), shape=(n,)).copy()


def _convert(d, info):
    n = int(d.n)
    valid = _c_array(d.valid, np.uint8, n).astype(bool) if d.valid else None
    missing = None if valid is None or valid.all() else ~valid
    t = d.type
    if t in _PHYS_DTYPE:
        vals = _c_array(d.values, _PHYS_DTYPE[t], n)
        if t == _BOOLEAN:
            vals = vals.astype(bool)
            if missing is not None:
                vals = vals.astype(object)
                vals[missing] = None
            return vals
        if t in (_INT32, _INT64) and info.int_bits in (8, 16, 32, 64):
            target = np.dtype(("i" if info.int_signed else "u") + str(info.int_bits // 8))
            cast = vals.astype(target)
            if np.array_equal(cast.astype(vals.dtype), vals):  # else keep the physical values
                vals = cast
        if missing is not None:
            if vals.dtype.kind in "iu":
                vals = vals.astype(np.float64)
            vals[missing] = np.nan
        return vals
    if t == _INT96:
        raw = _c_array(d.values, np.uint8, 12 * n).reshape(n, 12)
        nanos = raw[:, :8].copy().view("<i8")[:, 0]
        days = raw[:, 8:].copy().view("<u4")[:, 0].astype(np.int64)
        out = ((days - _JULIAN_UNIX_EPOCH) * 86400 * 10**9 + nanos).astype("datetime64[ns]")
        if missing is not None:
            out[missing] = np.datetime64("NaT")
        return out
    if t in (_BYTE_ARRAY, _FLBA):
        offs = _c_array(d.offsets, np.int64, n + 1).tolist() if n else [0]
        raw = ctypes.string_at(d.data, d.data_size) if d.data_size else b""
        out = np.empty(n, dtype=object)
        if info.is_string:
            out[:] = [raw[a:b].decode("utf-8", errors="replace")
                      for a, b in zip(offs[:-1], offs[1:])]
        else:
            out[:] = [raw[a:b] for a, b in zip(offs[:-1], offs[1:])]
        if missing is not None:
            out[missing] = None
        return out
    raise _lib.Error(f"column {info.name!r}: physical type {t} is not supported",
                     _lib.EF_ERR_UNSUPPORTED)


def _pandas_index_columns(L, r):
    """The index columns named in the footer's pandas metadata (as pandas.to_parquet wrote it)."""
    key, value = ctypes.c_char_p(), ctypes.c_char_p()
    for i in range(L.ef_pq_num_kv(r)):
        L.ef_pq_kv(r, i, ctypes.byref(key), ctypes.byref(value))
        if key.value == b"pandas" and value.value:
            try:
                meta = json.loads(value.value.decode("utf-8", errors="replace"))
                cols = meta.get("index_columns", [])
            except (ValueError, AttributeError):
                return []
            return [c for c in cols if isinstance(c, str)]
    return []


def read_parquet(path, columns=None, *, as_pandas=False):
    """Reads a parquet file with eraformer's native reader.

    path: str, bytes or os.PathLike. columns: names to read, in that order (None: every column
    in the file's order); an unknown name raises :class:`eraformer.Error` naming it.

    Returns a dict {name: numpy array} (the types are listed in the module docstring), or, with
    ``as_pandas=True``, a pandas DataFrame. For a DataFrame, the index columns recorded in the
    file's pandas metadata (``id`` in Numerai's files) are read too and become the index, as
    ``pandas.read_parquet`` does.

    Raises :class:`eraformer.Error` with the C reader's message (the path; for bad data the
    column, row group and byte offset) when the file is missing, unreadable or corrupt.
    """
    if as_pandas:
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("read_parquet(as_pandas=True) needs pandas "
                              "(apt install python3-pandas)") from None
    if columns is not None:
        if isinstance(columns, (str, bytes)):
            raise TypeError("columns: a list of column names, not a single string")
        columns = list(columns)
        for c in columns:
            if not isinstance(c, str):
                raise TypeError(f"columns: names must be str, got {c!r}")
    L = _lib.lib()
    fpath = os.fsencode(os.fspath(path))
    if b"\0" in fpath:
        raise ValueError("path: contains a NUL byte")
    reader = ctypes.c_void_p()
    err = _lib.new_error()
    _lib.check(L.ef_pq_reader_open(ctypes.byref(reader), fpath, ctypes.byref(err)), err)
    try:
        index_cols = _pandas_index_columns(L, reader) if as_pandas else []
        if columns is None:
            idx = list(range(L.ef_pq_num_columns(reader)))
        else:
            names = columns + [c for c in index_cols if c not in columns]
            arr = (ctypes.c_char_p * len(names))(*[c.encode("utf-8") for c in names])
            cols = (ctypes.c_int * len(names))()
            if names:
                _lib.check(L.ef_pq_find_columns(reader, arr, len(names), cols,
                                                ctypes.byref(err)), err)
            idx = list(cols)
        out = {}
        for c in idx:
            info = L.ef_pq_column(reader, c).contents
            name = info.name.decode("utf-8", errors="replace")
            if name in out:
                continue
            data = _lib.PqColumnData()
            try:
                st = L.ef_pq_read_column_all(reader, c, ctypes.byref(data), ctypes.byref(err))
                _lib.check(st, err)
                out[name] = _convert(data, info)
            finally:
                L.ef_pq_column_data_free(ctypes.byref(data))
    finally:
        L.ef_pq_reader_close(reader)
    if not as_pandas:
        return out
    nrows = len(next(iter(out.values()))) if out else 0
    df = pd.DataFrame(out, index=pd.RangeIndex(nrows))
    index_cols = [c for c in index_cols if c in df.columns]
    if index_cols:
        df = df.set_index(index_cols)
        df.index.names = [None if re.fullmatch(r"__index_level_\d+__", str(nm)) else nm
                          for nm in df.index.names]
    return df
