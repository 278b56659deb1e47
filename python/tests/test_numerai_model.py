"""eraformer.NumeraiModel against the eraformer binary: on the same files and options its
predictions are bit for bit those of `eraformer predict` (read back from its parquet output,
doubles), for a single model, a two-model ensemble and overridden options; frames (dicts of
numpy arrays, and pandas DataFrames when pandas is installed) give the same bits as the files
they were read from; errors carry the C message. The data and models are made with the
binary: `synth` and a few `finetune` steps (NumeraiModel.finetune)."""
import ctypes
import os
import subprocess

import numpy as np
import pytest

import eraformer
from eraformer import numerai as ef_numerai


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    try:
        cli = ef_numerai._cli_binary()
    except FileNotFoundError as e:
        pytest.skip(str(e))
    d = tmp_path_factory.mktemp("numerai")
    subprocess.run([cli, "synth", "--out", str(d), "--eras-train", "30", "--eras-validation", "8",
                    "--rows-per-era", "50", "--features", "16", "-q"], check=True,
                   stdout=subprocess.DEVNULL)
    common = dict(train=d / "train.parquet", validation=d / "validation.parquet",
                  features_json=d / "features.json", context_rows=32, query_rows=16, batch=2,
                  layers=1, d_model=16, heads=2, threads=1, steps=3, eval_every=3)
    eraformer.NumeraiModel.finetune(out=d / "a.st", **common).close()
    eraformer.NumeraiModel.finetune(out=d / "b.st", seed=5, **common).close()
    return cli, d


def cli_predict(cli, d, model, data, extra=()):
    out = d / "cli_out.parquet"
    subprocess.run([cli, "predict", "--model", model, "--data", data, "--context",
                    f"{d}/train.parquet,{d}/validation.parquet", "--out", str(out), *extra],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    got = eraformer.read_parquet(str(out))
    return got["id"], got["prediction"]


def same_bits(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and np.array_equal(a.view(np.uint64), b.view(np.uint64))


@pytest.mark.parametrize("which,data,opts,extra", [
    ("a", "live", {}, []),
    ("a", "validation", {}, []),
    ("ab", "validation", {}, []),
    ("a", "validation", dict(members=2, seed=9, context_rows=20, embargo=3, threads=2),
     ["--ensemble", "2", "--seed", "9", "--context-rows", "20", "--embargo", "3"]),
    ("a", "live", dict(window=4), ["--window", "4"]),
])
def test_bit_for_bit_with_cli(work, which, data, opts, extra):
    cli, d = work
    models = [str(d / f"{m}.st") for m in which]
    ids, want = cli_predict(cli, d, ",".join(models), str(d / f"{data}.parquet"), extra)
    m = eraformer.NumeraiModel.load(models if len(models) > 1 else models[0])
    got = m.predict(str(d / f"{data}.parquet"),
                    context=[d / "train.parquet", d / "validation.parquet"], as_pandas=False, **opts)
    assert list(got["id"]) == list(ids)
    assert same_bits(got["prediction"], want)
    assert len(m.paths) == len(models) and m.features and "target" in m.targets
    m.close()


def test_frames_same_bits_as_files(work):
    cli, d = work
    m = eraformer.NumeraiModel.load(d / "a.st")
    ctx_files = [d / "train.parquet", d / "validation.parquet"]
    want = m.predict(d / "validation.parquet", context=ctx_files, as_pandas=False)
    frames = [eraformer.read_parquet(str(p)) for p in ctx_files]
    live = eraformer.read_parquet(str(d / "validation.parquet"))
    got = m.predict(live, context=frames, as_pandas=False)
    assert list(got["id"]) == list(want["id"]) and same_bits(got["prediction"], want["prediction"])
    try:
        import pandas  # noqa: F401
    except ImportError:
        return
    s = m.predict(eraformer.read_parquet(str(d / "validation.parquet"), as_pandas=True),
                  context=[eraformer.read_parquet(str(p), as_pandas=True) for p in ctx_files])
    assert s.name == "prediction" and s.index.name == "id"
    assert list(s.index) == list(want["id"]) and same_bits(s.to_numpy(), want["prediction"])


def test_errors(work):
    cli, d = work
    with pytest.raises(eraformer.Error) as e:
        eraformer.NumeraiModel.load(d / "nope.st")
    assert "nope.st" in str(e.value) and e.value.status == "EF_ERR_IO"
    m = eraformer.NumeraiModel.load(d / "a.st")
    with pytest.raises(eraformer.Error) as e:   # no eras before the embargo
        m.predict(d / "validation.parquet", context=d / "validation.parquet", as_pandas=False)
    assert "context" in str(e.value) and e.value.status == "EF_ERR_INVALID"
    with pytest.raises(ValueError):
        m.predict(d / "live.parquet", context=d / "train.parquet", members=0)
    with pytest.raises(ValueError):
        m.predict({"era": np.array(["X"])}, context=d / "train.parquet")   # no feature columns
    with pytest.raises(TypeError):
        m.predict(42, context=d / "train.parquet")
    m.close()
    with pytest.raises(ValueError):
        m.predict(d / "live.parquet", context=d / "train.parquet")
    with pytest.raises(eraformer.Error):
        eraformer.NumeraiModel.finetune(out=d / "x.st", train=d / "nope.parquet")


def frame_variant(frame, features, kind):
    """frame with its feature columns re-typed: the values C reads must stay the same."""
    out = dict(frame)
    for i, f in enumerate(features):
        x = np.asarray(frame[f])
        if kind == "float32_unit" or (kind == "mixed" and i % 3 == 1):
            out[f] = (x / 4).astype(np.float32)
        elif kind == "float64_unit" or (kind == "mixed" and i % 3 == 2):
            out[f] = x.astype(np.float64) / 4
        elif kind == "float64_levels":
            out[f] = x.astype(np.float64)
        elif kind == "int64":
            out[f] = x.astype(np.int64)
        elif kind == "uint8":
            out[f] = x.astype(np.uint8)
    return out


@pytest.mark.parametrize("kind", ["float32_unit", "float64_unit", "float64_levels", "int64",
                                  "uint8", "mixed"])
def test_in_memory_dtypes_same_bits(work, kind):
    cli, d = work
    m = eraformer.NumeraiModel.load(d / "a.st")
    ctx_files = [d / "train.parquet", d / "validation.parquet"]
    want = m.predict(d / "validation.parquet", context=ctx_files, as_pandas=False)
    live = frame_variant(eraformer.read_parquet(str(d / "validation.parquet")), m.features, kind)
    ctx = [frame_variant(eraformer.read_parquet(str(p)), m.features, kind) for p in ctx_files]
    for t in m.targets:   # float64 targets round to the same float32
        ctx[0][t] = np.asarray(ctx[0][t], dtype=np.float64)
    got = m.predict(live, context=ctx, as_pandas=False)
    assert list(got["id"]) == list(want["id"]) and same_bits(got["prediction"], want["prediction"])
    mixed = m.predict(live, context=[ctx[0], ctx_files[1]], as_pandas=False)   # frame + path
    assert same_bits(mixed["prediction"], want["prediction"])


def test_in_memory_nan_features_same_bits_as_cli(work):
    """NaN features (missing: level 2) in memory give the CLI's bits on a CSV with blanks."""
    cli, d = work
    m = eraformer.NumeraiModel.load(d / "a.st")
    live = eraformer.read_parquet(str(d / "validation.parquet"))
    rng = np.random.default_rng(3)
    frame = {"id": live["id"], "era": live["era"]}
    for f in m.features:
        x = np.asarray(live[f]).astype(np.float64)
        x[rng.random(len(x)) < 0.2] = np.nan
        frame[f] = x
    path = d / "nan_live.csv"
    with open(path, "w") as fh:
        fh.write(",".join(["id", "era"] + m.features) + "\n")
        for r in range(len(frame["id"])):
            vals = ["" if np.isnan(frame[f][r]) else str(int(frame[f][r])) for f in m.features]
            fh.write(",".join([str(frame["id"][r]), str(frame["era"][r])] + vals) + "\n")
    ids, want = cli_predict(cli, d, str(d / "a.st"), str(path))
    got = m.predict(frame, context=[d / "train.parquet", d / "validation.parquet"],
                    as_pandas=False)
    assert list(got["id"]) == list(ids) and same_bits(got["prediction"], want)


def test_in_memory_errors(work):
    cli, d = work
    m = eraformer.NumeraiModel.load(d / "a.st")
    live = eraformer.read_parquet(str(d / "validation.parquet"))
    ctx = d / "train.parquet"
    bad = dict(live)
    bad[m.features[0]] = np.array(["a"] * len(live["era"]), dtype=object)
    with pytest.raises(TypeError, match=m.features[0]):
        m.predict(bad, context=ctx)
    bad = dict(live)
    bad[m.features[0]] = np.zeros((len(live["era"]), 2))
    with pytest.raises(ValueError):
        m.predict(bad, context=ctx)
    bad = dict(live)
    bad["era"] = np.array(["era_label_far_too_long"] * len(live["era"]))
    with pytest.raises(eraformer.Error) as e:   # C's message
        m.predict(bad, context=ctx)
    assert "eras: row 0" in str(e.value) and e.value.status == "EF_ERR_INVALID"
    ctx_frame = eraformer.read_parquet(str(ctx))
    for t in m.targets:
        del ctx_frame[t]
    with pytest.raises(eraformer.Error) as e:
        m.predict(live, context=ctx_frame)
    assert "target" in str(e.value)
    # the C function itself refuses bad arrays with a message, never crashes
    c = ef_numerai._c()
    ds = ef_numerai._Dataset()
    x = np.zeros(4, dtype=np.int16)
    a = ef_numerai._Arrays()
    a.n_rows, a.n_features = 4, 1
    a.feature_names = ef_numerai._c_strings(["feature_a"])
    a.x_cols = (ctypes.c_void_p * 1)(x.ctypes.data)
    a.x_dtypes = (ctypes.c_int * 1)(7)
    with pytest.raises(eraformer.Error) as e:
        ef_numerai._call(c.ef_dataset_from_arrays, ds.ptr, ctypes.byref(a))
    assert "feature_a" in str(e.value) and "dtype code 7" in str(e.value)
    a.x_dtypes = (ctypes.c_int * 1)(0)
    a.x_cols = (ctypes.c_void_p * 1)(None)
    with pytest.raises(eraformer.Error, match="no data"):
        ef_numerai._call(c.ef_dataset_from_arrays, ds.ptr, ctypes.byref(a))
    a.n_rows = -1
    with pytest.raises(eraformer.Error, match="rows"):
        ef_numerai._call(c.ef_dataset_from_arrays, ds.ptr, ctypes.byref(a))
    ds.close()
    m.close()
