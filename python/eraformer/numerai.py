"""NumeraiModel: fine-tuned eraformer models predicting Numerai eras, through the C library's
predict pipeline (include/eraformer/numerai.h: ef_numerai_model_load, ef_numerai_data_load,
ef_numerai_context_load, ef_numerai_predict).

    import eraformer
    m = eraformer.NumeraiModel.load("model.st")          # or a `train` directory, or a list
    preds = m.predict("live.parquet", context=["train.parquet", "validation.parquet"])

``predict`` gives bit for bit the predictions of ``eraformer predict`` on the same files and
options (the same C functions run). Inputs may also be pandas DataFrames (or dicts of numpy
arrays) in Numerai's layout (``id``, ``era``, ``data_type``, the model's ``feature_*`` columns
and, for the context, its targets); their columns go to the C library in memory
(ef_dataset_from_arrays, no copy for contiguous columns) with the values the file loaders give
for the same data: integer features are levels 0..4, float features 0, .25, .., 1 (a column
whose maximum is above 1: levels), NaN a missing feature (level 2); targets float (float32 in
C). ``finetune`` and ``train`` run the ``eraformer`` binary (see their docstrings).
"""
import ctypes
import os
import shutil
import subprocess

import numpy as np

from . import _lib

__all__ = ["NumeraiModel"]


class _Targets(ctypes.Structure):
    """struct ef_numerai_targets"""
    _fields_ = [("n", ctypes.c_int), ("names", ctypes.POINTER(ctypes.c_char_p)),
                ("w", ctypes.POINTER(ctypes.c_double))]


class _Contract(ctypes.Structure):
    """struct ef_numerai_contract"""
    _fields_ = [("read_in", ctypes.c_int), ("n_feat", ctypes.c_int),
                ("features", ctypes.POINTER(ctypes.c_char_p)), ("targets", _Targets),
                ("embargo", ctypes.c_int), ("window", ctypes.c_int),
                ("context_rows", ctypes.c_int), ("members", ctypes.c_int),
                ("seed", ctypes.c_uint64), ("feature_dropout", ctypes.c_double),
                ("best_corr", ctypes.c_double), ("best_step", ctypes.c_long),
                ("transform", ctypes.c_int), ("n_groups", ctypes.c_int),
                ("group_off", ctypes.POINTER(ctypes.c_int)),
                ("group_idx", ctypes.POINTER(ctypes.c_int))]


class _PredictOpts(ctypes.Structure):
    """struct ef_numerai_predict_opts"""
    _fields_ = [("members", ctypes.c_int), ("context_rows", ctypes.c_int),
                ("embargo", ctypes.c_int), ("window", ctypes.c_int), ("has_seed", ctypes.c_int),
                ("seed", ctypes.c_uint64), ("threads", ctypes.c_int),
                ("on_era", ctypes.c_void_p), ("ctx", ctypes.c_void_p)]


class _Arrays(ctypes.Structure):
    """struct ef_dataset_arrays"""
    _fields_ = [("n_rows", ctypes.c_int64), ("n_features", ctypes.c_int),
                ("feature_names", ctypes.POINTER(ctypes.c_char_p)),
                ("x_cols", ctypes.POINTER(ctypes.c_void_p)), ("x_dtypes", ctypes.POINTER(ctypes.c_int)),
                ("n_targets", ctypes.c_int), ("target_names", ctypes.POINTER(ctypes.c_char_p)),
                ("y_cols", ctypes.POINTER(ctypes.c_void_p)), ("y_dtypes", ctypes.POINTER(ctypes.c_int)),
                ("eras", ctypes.c_void_p), ("era_width", ctypes.c_size_t),
                ("ids", ctypes.c_void_p), ("id_width", ctypes.c_size_t),
                ("data_types", ctypes.c_void_p), ("data_type_width", ctypes.c_size_t)]


# ef_dtype codes (include/eraformer/data.h)
_DTYPES = {np.dtype(np.int8): 0, np.dtype(np.uint8): 1, np.dtype(np.float32): 2,
           np.dtype(np.float64): 3}

_vp = ctypes.c_void_p
_err_p = ctypes.POINTER(_lib.EfError)
_strs = ctypes.POINTER(ctypes.c_char_p)
_PROTOTYPES = {
    "ef_numerai_model_load": (ctypes.c_int, [ctypes.POINTER(_vp), ctypes.c_char_p, _err_p]),
    "ef_numerai_model_destroy": (None, [_vp]),
    "ef_numerai_model_count": (ctypes.c_int, [_vp]),
    "ef_numerai_model_path": (ctypes.c_char_p, [_vp, ctypes.c_int]),
    "ef_numerai_model_contract": (ctypes.POINTER(_Contract), [_vp, ctypes.c_int]),
    "ef_numerai_predict_opts_init": (None, [ctypes.POINTER(_PredictOpts)]),
    "ef_numerai_dataset_create": (ctypes.c_int, [ctypes.POINTER(_vp), _err_p]),
    "ef_numerai_dataset_destroy": (None, [_vp]),
    "ef_numerai_dataset_rows": (ctypes.c_int64, [_vp]),
    "ef_numerai_dataset_ids": (None, [_vp, _strs]),
    "ef_numerai_data_load": (ctypes.c_int, [_vp, _strs, ctypes.c_int, _vp, _err_p]),
    "ef_dataset_from_arrays": (ctypes.c_int, [_vp, ctypes.POINTER(_Arrays), _err_p]),
    "ef_numerai_context_load": (ctypes.c_int, [_vp, _vp, ctypes.POINTER(_PredictOpts), _strs,
                                               ctypes.c_int, _vp, _err_p]),
    "ef_numerai_predict": (ctypes.c_int, [_vp, _vp, _vp, ctypes.POINTER(_PredictOpts), _vp,
                                          _err_p]),
}
_bound = None


def _c():
    """The library with this module's prototypes set (once)."""
    global _bound
    if _bound is None:
        lib = _lib.lib()
        for name, (restype, argtypes) in _PROTOTYPES.items():
            f = getattr(lib, name)
            f.restype = restype
            f.argtypes = argtypes
        _bound = lib
    return _bound


def _call(fn, *args):
    err = _lib.new_error()
    _lib.check(fn(*args, ctypes.byref(err)), err)


def _fspath(p):
    p = os.fspath(p)
    return os.fsdecode(p) if isinstance(p, bytes) else p


def _is_path(x):
    return isinstance(x, (str, bytes, os.PathLike))


def _c_strings(items):
    arr = (ctypes.c_char_p * len(items))()
    for i, s in enumerate(items):
        arr[i] = os.fsencode(s)
    return arr


class _Dataset:
    """A heap ef_dataset (ef_numerai_dataset_create), freed on close."""

    def __init__(self):
        self.ptr = _vp()
        _call(_c().ef_numerai_dataset_create, ctypes.byref(self.ptr))

    def close(self):
        if self.ptr:
            _c().ef_numerai_dataset_destroy(self.ptr)
            self.ptr = _vp()

    def rows(self):
        return int(_c().ef_numerai_dataset_rows(self.ptr))

    def ids(self):
        n = self.rows()
        arr = (ctypes.c_char_p * max(n, 1))()
        _c().ef_numerai_dataset_ids(self.ptr, arr)
        return np.array([arr[i].decode("utf-8", errors="replace") for i in range(n)], dtype=object)


def _columns(frame):
    """(names, {name: 1-D array}) of a pandas DataFrame or a dict of arrays; a DataFrame's
    index named id becomes the id column."""
    if isinstance(frame, dict):
        cols = {str(k): np.asarray(v) for k, v in frame.items()}
    elif hasattr(frame, "columns") and hasattr(frame, "index"):
        cols = {str(k): frame[k].to_numpy() for k in frame.columns}
        if "id" not in cols and getattr(frame.index, "name", None) == "id":
            cols["id"] = frame.index.to_numpy()
    else:
        raise TypeError(f"expected a path, a pandas DataFrame or a dict of arrays, got "
                        f"{type(frame).__name__}")
    n = {len(v) for v in cols.values()}
    if len(n) > 1:
        raise ValueError(f"columns of different lengths: {sorted(n)}")
    return cols


def _strings(values, what):
    """A numpy 'S' array (fixed width, NUL-padded UTF-8) of values: str, bytes or numbers."""
    a = np.asarray(values)
    if a.ndim != 1:
        raise ValueError(f"column {what} must be 1-D, got shape {a.shape}")
    if a.dtype.kind == "S":
        out = a
    elif a.dtype.kind == "U":
        out = np.char.encode(a, "utf-8")
    else:
        out = np.array([v if isinstance(v, bytes) else str(v).encode("utf-8") for v in a.tolist()],
                       dtype=bytes)
    if out.dtype.itemsize == 0 or len(out) == 0:
        out = out.astype("S1")
    return np.ascontiguousarray(out)


def _numeric(v, name, floats_only):
    """A contiguous 1-D column of a dtype C reads: int8/uint8/float32/float64 as they are,
    other integers clipped to levels 0..4 as int8 (the CSV loader's clamp), other floats as
    float64; anything else is a TypeError."""
    a = np.asarray(v)
    if a.ndim != 1:
        raise ValueError(f"column {name} must be 1-D, got shape {a.shape}")
    if a.dtype.kind == "b" or a.dtype.kind not in "iuf":
        raise TypeError(f"column {name} has dtype {a.dtype}: numeric columns expected")
    if floats_only and a.dtype.kind != "f":
        a = a.astype(np.float64)
    elif a.dtype not in _DTYPES:
        a = np.clip(a, 0, 4).astype(np.int8) if a.dtype.kind in "iu" else a.astype(np.float64)
    return np.ascontiguousarray(a)


def _levels(v, name):
    """A feature column as int8 levels 0..4, exactly as C maps it (dataset_arrays.c): floats
    rounded to float32; a float column whose maximum is <= 1 scaled by 4 (in float32);
    rounded half away from zero (roundf; exact in float64), clamped; NaN -> 2."""
    a = _numeric(v, name, False)
    if a.dtype.kind != "f":
        return np.clip(a.astype(np.int16), 0, 4).astype(np.int8)
    x = a.astype(np.float32)
    with np.errstate(invalid="ignore"):
        mx = np.max(x, initial=0.0, where=~np.isnan(x))
        if mx <= 1:
            x = x * np.float32(4)
        lv = np.clip(np.floor(x.astype(np.float64) + 0.5), 0, 4)
    return np.where(np.isnan(lv), 2, lv).astype(np.int8)


def _frame_dataset(frame, features, targets, ds):
    """Fills the heap dataset ds (a _Dataset) from a frame's columns in memory."""
    cols = _columns(frame)
    missing = [c for c in ["era"] + list(features) if c not in cols]
    if missing:
        raise ValueError(f"missing column(s) {missing[:5]}{' ...' if len(missing) > 5 else ''}")
    targets = [t for t in targets if t in cols]
    n = len(cols["era"])
    keep = []   # every array C reads stays referenced until the call returns
    a = _Arrays()
    a.n_rows = n

    def columns(names, floats_only):
        arrs = [_numeric(cols[c], c, floats_only) for c in names]
        keep.extend(arrs)
        ptrs = (ctypes.c_void_p * max(len(arrs), 1))(*[x.ctypes.data for x in arrs])
        codes = (ctypes.c_int * max(len(arrs), 1))(*[_DTYPES[x.dtype] for x in arrs])
        keep.extend([ptrs, codes])
        return len(arrs), _c_strings(names), ptrs, codes

    a.n_features, a.feature_names, a.x_cols, a.x_dtypes = columns(features, False)
    a.n_targets, a.target_names, a.y_cols, a.y_dtypes = columns(targets, True)
    keep.extend([a.feature_names, a.target_names])
    for field, name in (("eras", "era"), ("ids", "id"), ("data_types", "data_type")):
        if name not in cols:
            continue
        sa = _strings(cols[name], name)
        keep.append(sa)
        setattr(a, field, sa.ctypes.data)
        setattr(a, field[:-1] + "_width" if field != "data_types" else "data_type_width",
                sa.dtype.itemsize)
    _call(_c().ef_dataset_from_arrays, ds.ptr, ctypes.byref(a))


def _read_path(path, names):
    """The columns of a parquet or CSV file that are among names, as a dict of arrays."""
    p = _fspath(path)
    if p.endswith(".csv"):
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("a CSV path in a list with frames needs pandas; pass every item "
                              "as a path or every item as a frame") from None
        df = pd.read_csv(p, usecols=lambda c: c in names)
        return {str(k): df[k].to_numpy() for k in df.columns}
    from .parquet import read_parquet
    cols = read_parquet(p)
    if "id" not in cols and "__index_level_0__" in cols:   # as the C loader finds ids
        cols["id"] = cols["__index_level_0__"]
    return {k: v for k, v in cols.items() if k in names}


def _cli_binary():
    """The eraformer binary: $ERAFORMER_CLI, next to the loaded library, or on PATH."""
    env = os.environ.get("ERAFORMER_CLI")
    if env:
        return env
    try:
        here = os.path.dirname(os.path.abspath(_lib.library_path()))
        cand = os.path.join(here, "eraformer")
        if os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    except (OSError, _lib.LibraryNotFoundError):
        pass
    found = shutil.which("eraformer")
    if not found:
        raise FileNotFoundError("the eraformer binary was not found: set ERAFORMER_CLI, or put it "
                                "on PATH (cmake --build build; cmake --install build)")
    return found


def _cli_args(options):
    args = []
    for k, v in options.items():
        if v is None or v is False:
            continue
        flag = "--" + k.replace("_", "-")
        if v is True:
            args.append(flag)
        else:
            args += [flag, _fspath(v) if _is_path(v) else str(v)]
    return args


def _run_cli(command, options, check=True):
    cmd = [_cli_binary(), command] + _cli_args(options)
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and res.returncode != 0:
        raise _lib.Error(f"eraformer {command} exited with {res.returncode}: "
                         f"{res.stderr.strip()[-2000:]}")
    return res


class NumeraiModel:
    """One or several fine-tuned models (ensembled as ``eraformer predict`` does).

    Create with :meth:`load`. Properties: ``paths`` (the checkpoints; a model directory's
    members), ``features``, ``targets`` (name -> weight), ``members``, ``context_rows``,
    ``embargo``, ``window``, ``seed`` (the first model's prediction defaults). A model is only
    read after loading: several threads may call :meth:`predict` at once.
    """

    def __init__(self, handle, spec):
        self._h = handle
        self._spec = spec
        c = _c()
        n = c.ef_numerai_model_count(handle)
        self.paths = [c.ef_numerai_model_path(handle, i).decode() for i in range(n)]
        k = c.ef_numerai_model_contract(handle, 0).contents
        self.features = [k.features[i].decode() for i in range(k.n_feat)]
        self.targets = {k.targets.names[i].decode(): k.targets.w[i] for i in range(k.targets.n)}
        self.members, self.context_rows = k.members, k.context_rows
        self.embargo, self.window, self.seed = k.embargo, k.window, int(k.seed)

    @classmethod
    def load(cls, path):
        """Loads checkpoints written by ``eraformer finetune`` and model directories written by
        ``eraformer train`` (all their members, checked against the manifest): ``path`` is one,
        a comma-separated string of several, or a list. Several models must read the same
        features, targets and encoding. Raises :class:`eraformer.Error` with the C message."""
        if isinstance(path, (list, tuple)):
            spec = ",".join(_fspath(p) for p in path)
        else:
            spec = _fspath(path)
        h = _vp()
        _call(_c().ef_numerai_model_load, ctypes.byref(h), os.fsencode(spec))
        return cls(h, spec)

    def close(self):
        """Frees the C model (also done when the object is collected)."""
        if getattr(self, "_h", None):
            _c().ef_numerai_model_destroy(self._h)
            self._h = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"NumeraiModel({self._spec!r}, models={len(self.paths)}, features={len(self.features)})"

    def _opts(self, members, context_rows, embargo, window, seed, threads):
        o = _PredictOpts()
        _c().ef_numerai_predict_opts_init(ctypes.byref(o))
        for name, v, lo in (("members", members, 1), ("context_rows", context_rows, 1),
                            ("embargo", embargo, 0), ("window", window, 0),
                            ("threads", threads, 1)):
            if v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo or v > 1 << 24:
                raise ValueError(f"{name} must be an integer in [{lo}, {1 << 24}], got {v!r}")
            setattr(o, name, int(v))
        if seed is not None:
            if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or \
                    not 0 <= seed < 1 << 64:
                raise ValueError(f"seed must be an integer in [0, 2^64), got {seed!r}")
            o.has_seed, o.seed = 1, int(seed)
        return o

    def predict(self, live, context, *, members=None, context_rows=None, embargo=None,
                window=None, seed=None, threads=None, as_pandas=None):
        """Predictions for every row of ``live``: per era a context ensemble per model, ranked
        into (0, 1] (``eraformer predict``; the same bits for the same files and options).

        live: a parquet/CSV path, a list of paths, a pandas DataFrame or a dict of arrays.
        context: labelled data (the same kinds, or a list of them), e.g. the train and
        validation files. members, context_rows, embargo, window, seed: override the model's
        defaults (``--ensemble``, ``--context-rows``...). threads: OpenMP threads of this call
        (None: all cores); the result does not depend on it.

        Returns a pandas Series named ``prediction`` indexed by ``id`` (rows in era order, as
        the C loader orders them), or without pandas (or with ``as_pandas=False``) a dict
        ``{"id": object array, "prediction": float64 array}``.
        """
        if self._h is None:
            raise ValueError("the model is closed")
        o = self._opts(members, context_rows, embargo, window, seed, threads)
        ctx_items = list(context) if isinstance(context, (list, tuple)) else [context]
        live_items = list(live) if isinstance(live, (list, tuple)) else [live]
        if not ctx_items or not live_items:
            raise ValueError("live and context need at least one file or frame each")
        c = _c()
        q, k = _Dataset(), _Dataset()
        try:
            self._load(live_items, [], q, None, o)
            self._load(ctx_items, list(self.targets), k, q, o)
            n = q.rows()
            pred = np.empty(max(n, 1), dtype=np.float64)
            _call(c.ef_numerai_predict, self._h, q.ptr, k.ptr, ctypes.byref(o),
                  pred.ctypes.data_as(_vp))
            pred = pred[:n]
            ids = q.ids()
        finally:
            q.close()
            k.close()
        if as_pandas is None or as_pandas:
            try:
                import pandas as pd
            except ImportError:
                if as_pandas:
                    raise
                pd = None
            if pd is not None:
                return pd.Series(pred, index=pd.Index(ids, name="id"), name="prediction")
        return {"id": ids, "prediction": pred}

    def _load(self, items, targets, ds, live, o):
        """items (paths or frames) into the heap dataset ds: paths through the C loaders
        (ef_numerai_data_load / _context_load, live: the data for the context's era window),
        frames in memory; a mixed list is read into one frame (parquet through read_parquet,
        CSV through pandas) in the given order."""
        c = _c()
        if all(_is_path(it) for it in items):
            ps = _c_strings([_fspath(p) for p in items])
            if live is None:
                _call(c.ef_numerai_data_load, self._h, ps, len(items), ds.ptr)
            else:
                _call(c.ef_numerai_context_load, self._h, live.ptr, ctypes.byref(o), ps,
                      len(items), ds.ptr)
            return
        names = ["id", "era", "data_type"] + list(self.features) + list(targets)
        frames = [_read_path(it, names) if _is_path(it) else _columns(it) for it in items]
        if len(frames) == 1:
            frame = frames[0]
        else:   # the columns every frame has, concatenated in order (the loaders' row order);
            # features as levels first: a float column's scale is decided per frame
            feats = set(self.features)
            common = [k for k in frames[0] if all(k in f for f in frames[1:])]
            frame = {k: np.concatenate([_levels(f[k], k) if k in feats else np.asarray(f[k])
                                        for f in frames]) for k in common}
        _frame_dataset(frame, self.features, targets, ds)

    @staticmethod
    def finetune(**options):
        """Fine-tunes a model by running ``eraformer finetune`` (the binary: ``$ERAFORMER_CLI``,
        next to liberaformer.so, or on PATH; the training loop is not in the C API yet).
        Options are the command's, with underscores: ``train=``, ``validation=``,
        ``features_json=``, ``out=``, ``steps=``, ``context_rows=``... (True for a flag).
        Returns the loaded model at ``out``. Raises :class:`eraformer.Error` with the
        command's stderr when it fails."""
        if "out" not in options:
            raise ValueError("finetune needs out=")
        _run_cli("finetune", options)
        return NumeraiModel.load(options["out"])

    @staticmethod
    def train(**options):
        """Trains a model directory (several members within a time budget) by running
        ``eraformer train`` (the binary as for :meth:`finetune`). Options are the command's,
        with underscores (``train=``, ``features_json=``, ``out=``, ``members=``,
        ``time_budget=``...). Returns the loaded model directory ``out`` (every member)."""
        if "out" not in options:
            raise ValueError("train needs out=")
        _run_cli("train", options)
        return NumeraiModel.load(options["out"])
