"""eraformer.NumeraiModel against the eraformer binary: on the same files and options its
predictions are bit for bit those of `eraformer predict` (read back from its parquet output,
doubles), for a single model, a two-model ensemble and overridden options; frames (dicts of
numpy arrays, and pandas DataFrames when pandas is installed) give the same bits as the files
they were read from; errors carry the C message. The data and models are made with the
binary: `synth` and a few `finetune` steps (NumeraiModel.finetune)."""
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
