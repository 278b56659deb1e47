"""Finding and loading liberaformer.so, the C prototypes, and the C library's error type.

The library is looked for, in this order:

1. the file named by the environment variable ``ERAFORMER_LIBRARY`` (and only that file: when
   the variable is set and the file does not load, that is an error, not a fall-through);
2. ``liberaformer.so*`` next to this package (copied there before ``pip install``);
3. the system's library path: ``ctypes.util.find_library("eraformer")`` (ldconfig's cache,
   e.g. after ``cmake --install`` to /usr/local and ``ldconfig``), then the dynamic loader's own
   search for ``liberaformer.so`` (``LD_LIBRARY_PATH``, the default directories).

It is loaded on first use, so ``import eraformer`` works without it.
"""
import ctypes
import ctypes.util
import glob
import os
import threading

ENV_VAR = "ERAFORMER_LIBRARY"

# ef_status values (include/eraformer/base.h)
EF_OK = 0
EF_ERR_NOMEM = 1
EF_ERR_IO = 2
EF_ERR_FORMAT = 3
EF_ERR_INVALID = 4
EF_ERR_UNSUPPORTED = 5
EF_ERR_NET = 6
EF_ERR_AUTH = 7
EF_ERR_API = 8
EF_ERR_INTERNAL = 9

_STATUS_NAMES = {
    EF_ERR_NOMEM: "EF_ERR_NOMEM", EF_ERR_IO: "EF_ERR_IO", EF_ERR_FORMAT: "EF_ERR_FORMAT",
    EF_ERR_INVALID: "EF_ERR_INVALID", EF_ERR_UNSUPPORTED: "EF_ERR_UNSUPPORTED",
    EF_ERR_NET: "EF_ERR_NET", EF_ERR_AUTH: "EF_ERR_AUTH", EF_ERR_API: "EF_ERR_API",
    EF_ERR_INTERNAL: "EF_ERR_INTERNAL",
}


class Error(Exception):
    """An error reported by the C library.

    ``str(e)`` and ``e.message`` are the C library's message (what went wrong and where: the
    file, column, row group, byte offset...). ``e.code`` is the ef_status number and
    ``e.status`` its name (``"EF_ERR_IO"``, ``"EF_ERR_INVALID"``...).
    """

    def __init__(self, message, code=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = _STATUS_NAMES.get(code, "unknown") if code is not None else None


class LibraryNotFoundError(OSError):
    """liberaformer.so could not be found or loaded (see the module docstring)."""


class EfError(ctypes.Structure):
    """struct ef_error"""
    _fields_ = [("code", ctypes.c_int), ("msg", ctypes.c_char * 1024),
                ("src_file", ctypes.c_char_p), ("src_line", ctypes.c_int)]


class CorrOpts(ctypes.Structure):
    """struct ef_corr_opts"""
    _fields_ = [("target_pow15", ctypes.c_int), ("top_bottom", ctypes.c_size_t),
                ("max_filtered_ratio", ctypes.c_double)]


class PqColumnInfo(ctypes.Structure):
    """struct ef_pq_column_info"""
    _fields_ = [("name", ctypes.c_char_p), ("type", ctypes.c_int),
                ("type_length", ctypes.c_int), ("nullable", ctypes.c_int),
                ("max_def", ctypes.c_int), ("converted_type", ctypes.c_int),
                ("int_bits", ctypes.c_int), ("int_signed", ctypes.c_int),
                ("is_string", ctypes.c_int)]


class PqColumnData(ctypes.Structure):
    """struct ef_pq_column_data"""
    _fields_ = [("type", ctypes.c_int), ("type_length", ctypes.c_int),
                ("n", ctypes.c_int64), ("null_count", ctypes.c_int64),
                ("values", ctypes.c_void_p), ("valid", ctypes.c_void_p),
                ("offsets", ctypes.c_void_p), ("data", ctypes.c_void_p),
                ("data_size", ctypes.c_size_t), ("cap_n", ctypes.c_int64),
                ("cap_data", ctypes.c_size_t)]


class IclOptions(ctypes.Structure):
    """struct ef_icl_options (include/eraformer/icl.h)"""
    _fields_ = [("n_ensemble", ctypes.c_int), ("max_context", ctypes.c_int),
                ("seed", ctypes.c_uint64), ("scaling", ctypes.c_int), ("wide", ctypes.c_int),
                ("target_scale", ctypes.c_float), ("symmetries", ctypes.c_int)]


_vp = ctypes.c_void_p
_sz = ctypes.c_size_t
_int = ctypes.c_int
_err_p = ctypes.POINTER(EfError)

# name: (restype, argtypes)
_PROTOTYPES = {
    "ef_version": (ctypes.c_char_p, []),
    "ef_status_str": (ctypes.c_char_p, [_int]),
    "ef_metrics_numerai_corr": (_int, [_vp, _vp, _vp, _sz, ctypes.POINTER(CorrOpts), _err_p]),
    "ef_metrics_correlation_contribution":
        (_int, [_vp, _vp, _vp, _vp, _sz, ctypes.POINTER(CorrOpts), _err_p]),
    "ef_metrics_neutralize":
        (_int, [_vp, _vp, _sz, _sz, _vp, _vp, _sz, _sz, _sz, ctypes.c_double, _err_p]),
    "ef_metrics_feature_neutral_corr":
        (_int, [_vp, _vp, _vp, _vp, _vp, _sz, _sz, _sz, _err_p]),
    "ef_pq_reader_open": (_int, [ctypes.POINTER(_vp), ctypes.c_char_p, _err_p]),
    "ef_pq_reader_close": (None, [_vp]),
    "ef_pq_num_rows": (ctypes.c_int64, [_vp]),
    "ef_pq_num_columns": (_int, [_vp]),
    "ef_pq_column": (ctypes.POINTER(PqColumnInfo), [_vp, _int]),
    "ef_pq_find_columns": (_int, [_vp, ctypes.POINTER(ctypes.c_char_p), _int,
                                  ctypes.POINTER(_int), _err_p]),
    "ef_pq_read_column_all": (_int, [_vp, _int, ctypes.POINTER(PqColumnData), _err_p]),
    "ef_pq_column_data_free": (None, [ctypes.POINTER(PqColumnData)]),
    "ef_pq_num_kv": (_int, [_vp]),
    "ef_pq_kv": (None, [_vp, _int, ctypes.POINTER(ctypes.c_char_p),
                        ctypes.POINTER(ctypes.c_char_p)]),
    "ef_icl_options_init": (None, [ctypes.POINTER(IclOptions)]),
    "ef_icl_regressor_open": (_int, [ctypes.POINTER(_vp), ctypes.c_char_p,
                                     ctypes.POINTER(IclOptions), _err_p]),
    "ef_icl_regressor_destroy": (None, [_vp]),
    "ef_icl_regressor_fit": (_int, [_vp, _vp, _vp, ctypes.c_int64, _int, _int, _err_p]),
    "ef_icl_regressor_predict": (_int, [_vp, _vp, ctypes.c_int64, _int, _int, _vp, _err_p]),
    "ef_icl_regressor_context_rows": (_int, [_vp]),
    "ef_icl_regressor_model_width": (_int, [_vp]),
}

_lock = threading.Lock()
_lib = None
_lib_path = None


def _candidates():
    env = os.environ.get(ENV_VAR)
    if env:
        return [env], True
    here = os.path.dirname(os.path.abspath(__file__))
    names = sorted(glob.glob(os.path.join(here, "liberaformer.so*")), key=len)
    found = ctypes.util.find_library("eraformer")
    if found:
        names.append(found)
    names.append("liberaformer.so")
    return names, False


def _load():
    names, explicit = _candidates()
    failures = []
    for name in names:
        if explicit and os.sep in name and not os.path.exists(name):
            failures.append(f"{name}: no such file")
            continue
        try:
            lib = ctypes.CDLL(name)
        except OSError as e:
            failures.append(f"{name}: {e}")
            continue
        try:
            for fn, (restype, argtypes) in _PROTOTYPES.items():
                f = getattr(lib, fn)
                f.restype = restype
                f.argtypes = argtypes
        except AttributeError as e:
            failures.append(f"{name}: not eraformer's library ({e})")
            continue
        return lib, name
    where = (f"{ENV_VAR}={names[0]}" if explicit else
             f"{ENV_VAR} is not set; tried the package folder, find_library and the loader path")
    raise LibraryNotFoundError(
        "cannot load liberaformer.so (" + where + "): " + "; ".join(failures) +
        f". Build it (cmake --build build) and set {ENV_VAR}=/path/to/build/liberaformer.so")


def lib():
    """The loaded library (a ctypes.CDLL); loads it on first call."""
    global _lib, _lib_path
    if _lib is None:
        with _lock:
            if _lib is None:
                _lib, _lib_path = _load()
    return _lib


def library_path():
    """The path or name liberaformer.so was loaded from."""
    lib()
    return _lib_path


def new_error():
    return EfError()


def check(status, err):
    """Raises Error carrying the C message when status is not EF_OK."""
    if status != EF_OK:
        msg = err.msg.decode("utf-8", errors="replace")
        if not msg:
            msg = lib().ef_status_str(status).decode("utf-8", errors="replace")
        raise Error(msg, status)


def version():
    """The C library's version string (ef_version()), e.g. "0.1.0"."""
    return lib().ef_version().decode("ascii")
