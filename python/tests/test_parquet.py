"""read_parquet against the shared parquet fixtures. Each NAME.parquet (written by DuckDB,
arrow-rs, hyparquet or parquetjs) has a NAME.csv holding its exact content, checked with other
readers: that is the independent reference here (pyarrow is not in Debian 12)."""
import csv
import glob
import os
import shutil

import numpy as np
import pytest

import eraformer as ef
from conftest import SHARED_DIR

try:
    import pandas as pd
except ImportError:
    pd = None

FIXTURES = os.path.join(SHARED_DIR, "fixtures", "parquet")
FILES = sorted(glob.glob(os.path.join(FIXTURES, "*.parquet")))
STRING_COLUMNS = {"id", "era", "data_type"}


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    return header, {name: [r[j] for r in body] for j, name in enumerate(header)}


def check_column(name, got, expected_text):
    assert len(got) == len(expected_text), name
    if name in STRING_COLUMNS:
        assert got.dtype == object
        assert list(got) == expected_text, name
        return
    expect = np.array([float(v) if v != "" else np.nan for v in expected_text])
    assert got.dtype.kind in "iuf", (name, got.dtype)
    if got.dtype.kind in "iu":
        assert "" not in expected_text
    np.testing.assert_array_equal(got.astype(np.float64), expect, err_msg=name)


def test_fixtures_exist():
    assert len(FILES) >= 20, FIXTURES


@pytest.mark.parametrize("path", FILES, ids=[os.path.basename(f) for f in FILES])
def test_fixture_matches_its_csv(path):
    header, expected = read_csv(path[:-len(".parquet")] + ".csv")
    data = ef.read_parquet(path)
    assert list(data) == header                       # every column, in the file's order
    for name in header:
        check_column(name, data[name], expected[name])


def test_types_of_numerai_columns():
    data = ef.read_parquet(os.path.join(FIXTURES, "duckdb_snappy_dict_pagev1_int8.parquet"))
    feats = [c for c in data if c.startswith("feature_")]
    assert feats and all(data[c].dtype == np.int8 for c in feats)   # INT32 annotated INT_8
    assert data["target"].dtype == np.float32
    assert isinstance(data["era"][0], str) and data["era"][0] == "0001"
    wide = ef.read_parquet(os.path.join(FIXTURES, "pqwasm_zstd_dict_pagev1_required_wide.parquet"),
                           columns=["target"])
    assert wide["target"].dtype == np.float64                        # DOUBLE targets


def test_columns_subset_in_the_requested_order():
    path = os.path.join(FIXTURES, "hyparquet_snappy_dict_pagev2_int8.parquet")
    header, expected = read_csv(path[:-len(".parquet")] + ".csv")
    want = ["target", "era", header[3]]
    data = ef.read_parquet(path, columns=want)
    assert list(data) == want
    for name in want:
        check_column(name, data[name], expected[name])
    assert ef.read_parquet(path, columns=[]) == {}


@pytest.mark.skipif(pd is None, reason="pandas is not installed")
def test_as_pandas():
    path = os.path.join(FIXTURES, "duckdb_snappy_dict_pagev1_nan.parquet")
    header, expected = read_csv(path[:-len(".parquet")] + ".csv")
    df = ef.read_parquet(path, as_pandas=True)
    assert isinstance(df, pd.DataFrame)
    # the footer's pandas metadata names "id" as the index, as pandas.read_parquet would use it
    assert df.index.name == "id" and list(df.index) == expected["id"]
    assert list(df.columns) == [c for c in header if c != "id"]
    for name in df.columns:
        check_column(name, df[name].to_numpy(), expected[name])
    sub = ef.read_parquet(path, columns=["target"], as_pandas=True)
    assert list(sub.columns) == ["target"] and sub.index.name == "id"
    plain = ef.read_parquet(os.path.join(FIXTURES, "duckdb_snappy_dict_pagev1_int8.parquet"),
                            columns=["era", "target"], as_pandas=True)
    assert list(plain.columns) == ["era", "target"] and isinstance(plain.index, pd.RangeIndex)


def test_scores_on_a_fixture_agree_with_the_oracle():
    """End to end: read a fixture, score per era (rows with a target), compare with the oracle."""
    from test_metrics import o_numerai_corr
    data = ef.read_parquet(os.path.join(FIXTURES, "duckdb_zstd_dict_pagev1_float.parquet"))
    feats = [c for c in data if c.startswith("feature_")]
    pred = np.mean([data[c] for c in feats[:5]], axis=0).astype(np.float64)
    t, era = data["target"].astype(np.float64), data["era"]
    has = ~np.isnan(t)
    corr = ef.numerai_corr(pred[has], t[has], era=era[has])
    for i, lab in enumerate(np.unique(era[has])):
        r = has & (era == lab)
        assert corr[i] == pytest.approx(o_numerai_corr(pred[r], t[r]), abs=1e-12)


# ---- errors ------------------------------------------------------------------------------------

def test_missing_file_names_the_path(tmp_path):
    missing = tmp_path / "no_such_file.parquet"
    with pytest.raises(ef.Error) as ei:
        ef.read_parquet(missing)
    assert str(missing) in str(ei.value) and ei.value.status == "EF_ERR_IO"


def test_unknown_column_is_named():
    with pytest.raises(ef.Error, match="feature_does_not_exist"):
        ef.read_parquet(FILES[0], columns=["era", "feature_does_not_exist"])


def test_bad_columns_argument():
    with pytest.raises(TypeError):
        ef.read_parquet(FILES[0], columns="era")
    with pytest.raises(TypeError):
        ef.read_parquet(FILES[0], columns=[1, 2])


def test_not_a_parquet_file(tmp_path):
    p = tmp_path / "text.parquet"
    p.write_text("id,era\nn1,0001\n")
    with pytest.raises(ef.Error) as ei:
        ef.read_parquet(p)
    assert str(p) in str(ei.value)
    with pytest.raises(ef.Error):
        ef.read_parquet(tmp_path)                  # a folder


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.999])
def test_truncated_file(tmp_path, keep):
    src = os.path.join(FIXTURES, "pqwasm_zstd_nodict_pagev2_int8.parquet")
    blob = open(src, "rb").read()
    p = tmp_path / "truncated.parquet"
    p.write_bytes(blob[:int(len(blob) * keep)])
    with pytest.raises(ef.Error):
        ef.read_parquet(p)


def test_corrupt_pages(tmp_path):
    """Bytes flipped inside the column data: an error or (for a value that stays valid) data,
    never a crash."""
    src = os.path.join(FIXTURES, "duckdb_snappy_dict_pagev1_int8.parquet")
    blob = bytearray(open(src, "rb").read())
    rng = np.random.default_rng(7)
    for trial in range(20):
        b = bytearray(blob)
        for pos in rng.integers(4, len(b) - 8, size=8):
            b[pos] ^= 0xFF
        p = tmp_path / f"corrupt{trial}.parquet"
        p.write_bytes(bytes(b))
        try:
            ef.read_parquet(p)
        except ef.Error:
            pass
    shutil.rmtree(tmp_path, ignore_errors=True)
