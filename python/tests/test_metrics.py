"""The scoring wrappers against numerai-tools' golden values and independent numpy oracles
(written here from the formulas in shared/reference/numerai.md, section 2, without the C
library: average ranks by sorting, Phi^-1 from statistics.NormalDist, lstsq for neutralize)."""
import json
import os
from statistics import NormalDist

import numpy as np
import pytest

import eraformer as ef

try:
    import pandas as pd
except ImportError:
    pd = None

needs_pandas = pytest.mark.skipif(pd is None, reason="pandas is not installed")

# ---- oracles ---------------------------------------------------------------------------------

_INV = np.vectorize(NormalDist().inv_cdf)


def rank_average(x):
    """1-based ranks, ties get the average of their positions (pandas method='average')."""
    x = np.asarray(x, dtype=float)
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    ranks = np.empty(len(x))
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and xs[j + 1] == xs[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def gauss_rank(x):
    return _INV((rank_average(x) - 0.5) / len(x))


def pow15(x):
    return np.sign(x) * np.abs(x) ** 1.5


def o_numerai_corr(p, t, target_pow15=True):
    p, t = np.asarray(p, float), np.asarray(t, float)
    t = t - np.nanmean(t)
    keep = ~np.isnan(p) & ~np.isnan(t)
    pp = pow15(gauss_rank(p[keep]))
    tt = pow15(t[keep]) if target_pow15 else t[keep]
    return np.corrcoef(tt, pp)[0, 1]


def o_mmc(p, m, t):
    p, m, t = (np.asarray(a, float) for a in (p, m, t))
    keep = ~np.isnan(p) & ~np.isnan(m) & ~np.isnan(t)
    p, m, t = p[keep], m[keep], t[keep]
    gp, gm = gauss_rank(p), gauss_rank(m)
    q = gp - gm * (gp @ gm) / (gm @ gm)
    if ((t >= 0) & (t <= 1)).all():
        t = 4 * t
    t = t - t.mean()
    return t @ q / len(t)


def o_neutralize(s, F, proportion=1.0):
    s = np.asarray(s, float)
    X = np.c_[np.asarray(F, float).reshape(len(s), -1), np.ones(len(s))]
    B = np.linalg.lstsq(X, s, rcond=1e-6)[0]
    return s - proportion * X @ B


def o_fnc(p, F, t):
    n = o_neutralize(gauss_rank(p), F)
    return o_numerai_corr(n / n.std(), t)


# ---- data ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def golden(shared_dir):
    with open(os.path.join(shared_dir, "golden", "numerai_single_era.json")) as f:
        return json.load(f)


def make_eras(seed=0, sizes=(40, 57, 33, 81, 25), nf=4):
    """Eras of different sizes, rows shuffled (eras not contiguous), ties in the predictions,
    Numerai-like 5-level targets with a few NaN."""
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    era = np.repeat(np.array([f"{i + 1:04d}" for i in range(len(sizes))]), sizes)
    perm = rng.permutation(n)
    era = era[perm]
    F = rng.integers(0, 5, size=(n, nf)).astype(float)
    signal = F @ rng.normal(size=nf) + rng.normal(size=n)
    pred = np.round(signal + rng.normal(size=n), 1)           # rounded: ties
    target = np.clip(np.round((signal - signal.mean()) / signal.std() + 2), 0, 4) / 4
    target[rng.choice(n, size=n // 30, replace=False)] = np.nan
    meta = signal + rng.normal(size=n)
    return era, pred, target, meta, F


# ---- the golden single-era case (numerai-tools 0.6.0) -----------------------------------------

TOL = 1e-12


def test_golden_numerai_corr(golden):
    e = golden["expected"]
    p, t = golden["prediction"], golden["target"]
    assert ef.numerai_corr(p, t) == pytest.approx(e["numerai_corr"], abs=TOL)
    assert ef.numerai_corr(p, t, target_pow15=False) == pytest.approx(
        e["numerai_corr_target_pow15_false"], abs=TOL)
    assert ef.numerai_corr(p, t, top_bottom=3) == pytest.approx(
        e["numerai_corr_top_bottom_3"], abs=TOL)


def test_golden_mmc_fnc_neutralize(golden):
    e = golden["expected"]
    p, t, m = golden["prediction"], golden["target"], golden["meta_model"]
    F = np.array([golden["f1"], golden["f2"], golden["f3"]]).T
    assert ef.correlation_contribution(p, m, t) == pytest.approx(e["mmc"], abs=TOL)
    assert ef.feature_neutral_corr(p, F, t) == pytest.approx(e["feature_neutral_corr"], abs=TOL)
    np.testing.assert_allclose(ef.neutralize(p, F), e["neutralize_prop1"], rtol=0, atol=TOL)
    np.testing.assert_allclose(ef.neutralize(p, F, 0.5), e["neutralize_prop0.5"], rtol=0,
                               atol=TOL)
    # float32 features take the C library's float path: same values (features are small ints)
    np.testing.assert_allclose(ef.neutralize(p, F.astype(np.float32)), e["neutralize_prop1"],
                               rtol=0, atol=TOL)


def test_oracles_reproduce_golden(golden):
    """The oracles themselves are right (else the comparisons below prove nothing)."""
    e = golden["expected"]
    p, t, m = golden["prediction"], golden["target"], golden["meta_model"]
    F = np.array([golden["f1"], golden["f2"], golden["f3"]]).T
    assert o_numerai_corr(p, t) == pytest.approx(e["numerai_corr"], abs=1e-12)
    assert o_mmc(p, m, t) == pytest.approx(e["mmc"], abs=1e-12)
    assert o_fnc(p, F, t) == pytest.approx(e["feature_neutral_corr"], abs=1e-12)
    np.testing.assert_allclose(o_neutralize(p, F), e["neutralize_prop1"], atol=1e-12)


# ---- per era against the oracles ----------------------------------------------------------------

def test_per_era_numpy_against_oracles():
    era, pred, target, meta, F = make_eras()
    labels = np.unique(era)
    corr = ef.numerai_corr(pred, target, era=era)
    corr_raw = ef.numerai_corr(pred, target, era=era, target_pow15=False)
    mmc = ef.correlation_contribution(pred, meta, target, era=era)
    fnc = ef.feature_neutral_corr(pred, F, target, era=era)
    for arr in (corr, corr_raw, mmc, fnc):
        assert isinstance(arr, np.ndarray) and arr.shape == (len(labels),)
    for i, lab in enumerate(labels):
        r = era == lab
        assert corr[i] == pytest.approx(o_numerai_corr(pred[r], target[r]), abs=1e-12)
        assert corr_raw[i] == pytest.approx(o_numerai_corr(pred[r], target[r], False), abs=1e-12)
        assert mmc[i] == pytest.approx(o_mmc(pred[r], meta[r], target[r]), abs=1e-12)
        assert fnc[i] == pytest.approx(o_fnc(pred[r], F[r], target[r]), abs=1e-10)


def test_neutralize_per_era_keeps_row_order():
    era, pred, _, _, F = make_eras(seed=1)
    out = ef.neutralize(pred, F, proportion=0.75, era=era)
    assert out.shape == pred.shape
    for lab in np.unique(era):
        r = era == lab
        np.testing.assert_allclose(out[r], o_neutralize(pred[r], F[r], 0.75), atol=1e-10)
    # whole-sample neutralization is one era
    np.testing.assert_allclose(ef.neutralize(pred, F), o_neutralize(pred, F), atol=1e-10)


def test_whole_sample_scores():
    _, pred, target, meta, F = make_eras(seed=2)
    assert ef.numerai_corr(pred, target) == pytest.approx(o_numerai_corr(pred, target), abs=1e-12)
    assert ef.correlation_contribution(pred, meta, target) == pytest.approx(
        o_mmc(pred, meta, target), abs=1e-12)


def test_two_dimensional_predictions_are_scored_per_column():
    era, pred, target, meta, F = make_eras(seed=3)
    P = np.c_[pred, meta, -pred]
    whole = ef.numerai_corr(P, target)
    assert whole.shape == (3,)
    assert whole[0] == pytest.approx(o_numerai_corr(pred, target), abs=1e-12)
    assert whole[2] == pytest.approx(-whole[0], abs=1e-12)
    table = ef.numerai_corr(P, target, era=era)
    assert table.shape == (len(np.unique(era)), 3)
    np.testing.assert_allclose(table[:, 0], ef.numerai_corr(pred, target, era=era), atol=0)
    N = ef.neutralize(P, F)
    assert N.shape == P.shape
    np.testing.assert_allclose(N[:, 1], o_neutralize(meta, F), atol=1e-10)


def test_input_kinds_are_converted():
    era, pred, target, meta, F = make_eras(seed=4)
    ref = ef.numerai_corr(pred, target)
    assert ef.numerai_corr(list(pred), list(target)) == pytest.approx(ref, abs=1e-15)
    assert ef.numerai_corr(pred.astype(np.float32), target) == pytest.approx(
        o_numerai_corr(pred.astype(np.float32), target), abs=1e-12)
    ints = np.arange(len(pred))[::-1]
    assert ef.numerai_corr(ints, target) == pytest.approx(o_numerai_corr(ints, target), abs=1e-12)
    # non-contiguous views
    view = np.c_[pred, meta][:, 0]                 # a column of a C-ordered matrix: stride 16
    assert not view.flags.c_contiguous
    assert ef.numerai_corr(view, target) == pytest.approx(ref, abs=1e-15)
    strided = np.repeat(pred, 2)[::2]
    assert ef.numerai_corr(strided, target) == pytest.approx(ref, abs=1e-15)
    # integer features, float32 features, a single feature as 1-D
    Fi = F.astype(np.int64)
    np.testing.assert_allclose(ef.neutralize(pred, Fi), ef.neutralize(pred, F), atol=0)
    np.testing.assert_allclose(ef.neutralize(pred, F[:, 0]),
                               o_neutralize(pred, F[:, :1]), atol=1e-10)
    # a (n, 1) target is accepted as a column
    assert ef.numerai_corr(pred, target[:, None]) == pytest.approx(ref, abs=1e-15)


def test_constant_prediction_neutralizes_to_nan():
    out = ef.neutralize(np.ones(20), np.arange(40.0).reshape(20, 2))
    assert np.isnan(out).all()


def test_no_features_only_centres():
    x = np.array([1.0, 2.0, 4.0, 7.0])
    np.testing.assert_allclose(ef.neutralize(x, np.zeros((4, 0))), x - x.mean(), atol=1e-12)
    np.testing.assert_allclose(ef.neutralize(x, np.zeros((4, 0)), 0.5), x - 0.5 * x.mean(),
                               atol=1e-12)


def test_per_era_unscorable_era_is_nan():
    era, pred, target, meta, F = make_eras(seed=5)
    labels = np.unique(era)
    target = target.copy()
    target[era == labels[1]] = np.nan           # e.g. live rows: no target
    corr = ef.numerai_corr(pred, target, era=era)
    assert np.isnan(corr[1]) and np.isfinite(np.delete(corr, 1)).all()
    mmc = ef.correlation_contribution(pred, meta, target, era=era)
    assert np.isnan(mmc[1]) and np.isfinite(np.delete(mmc, 1)).all()
    # top_bottom larger than a small era's rows: that era is NaN, the others are scored
    tb = ef.numerai_corr(pred, target, era=era, top_bottom=15)
    sizes = np.array([np.sum((era == lab) & ~np.isnan(target)) for lab in labels])
    assert (np.isnan(tb) == (sizes < 30)).all()


# ---- pandas in, pandas out ----------------------------------------------------------------------

@needs_pandas
def test_pandas_inputs_give_pandas_results():
    era, pred, target, meta, F = make_eras(seed=6)
    ids = [f"n{i:05d}" for i in range(len(pred))]
    df = pd.DataFrame({"era": era, "prediction": pred, "target": target, "meta": meta},
                      index=pd.Index(ids, name="id"))
    feats = pd.DataFrame(F, index=df.index, columns=[f"feature_{j}" for j in range(F.shape[1])])

    # oracle: pandas groupby over eras (independent of the wrapper's grouping)
    expect = df.groupby("era").apply(lambda d: o_numerai_corr(d["prediction"], d["target"]))
    got = ef.numerai_corr(df["prediction"], df["target"], era=df["era"])
    assert isinstance(got, pd.Series) and got.index.name == "era"
    assert list(got.index) == list(expect.index)
    np.testing.assert_allclose(got.to_numpy(), expect.to_numpy(), atol=1e-12)

    whole = ef.numerai_corr(df["prediction"], df["target"])
    assert isinstance(whole, float)

    by_col = ef.numerai_corr(df[["prediction", "meta"]], df["target"])
    assert isinstance(by_col, pd.Series) and list(by_col.index) == ["prediction", "meta"]
    table = ef.numerai_corr(df[["prediction", "meta"]], df["target"], era=df["era"])
    assert isinstance(table, pd.DataFrame) and list(table.columns) == ["prediction", "meta"]
    np.testing.assert_allclose(table["prediction"].to_numpy(), got.to_numpy(), atol=0)

    mmc = ef.correlation_contribution(df["prediction"], df["meta"], df["target"], era=df["era"])
    expect = df.groupby("era").apply(
        lambda d: o_mmc(d["prediction"], d["meta"], d["target"]))
    np.testing.assert_allclose(mmc.to_numpy(), expect.to_numpy(), atol=1e-12)

    fnc = ef.feature_neutral_corr(df["prediction"], feats, df["target"], era=df["era"])
    assert isinstance(fnc, pd.Series) and len(fnc) == df["era"].nunique()

    neut = ef.neutralize(df["prediction"], feats, era=df["era"])
    assert isinstance(neut, pd.Series) and neut.index.equals(df.index)
    assert neut.name == "prediction"
    for e_, d in df.groupby("era"):
        np.testing.assert_allclose(neut.loc[d.index].to_numpy(),
                                   o_neutralize(d["prediction"], feats.loc[d.index]), atol=1e-10)
    neut2 = ef.neutralize(df[["prediction", "meta"]], feats)
    assert isinstance(neut2, pd.DataFrame) and list(neut2.columns) == ["prediction", "meta"]


@needs_pandas
def test_pandas_misaligned_indexes_are_refused():
    a = pd.Series([0.1, 0.2, 0.3, 0.4], index=["a", "b", "c", "d"])
    b = pd.Series([0.1, 0.2, 0.3, 0.4], index=["d", "c", "b", "a"])
    with pytest.raises(ValueError, match="index"):
        ef.numerai_corr(a, b)


def test_string_eras_with_and_without_pandas(monkeypatch):
    """Era labels as Python strings (what read_parquet and pandas give): the same groups in the
    same order through the pandas factorize path and the pure-numpy one."""
    era, pred, target, meta, F = make_eras(seed=7)
    as_obj = era.astype(object)
    ref = ef.numerai_corr(pred, target, era=era)          # numpy unicode labels
    np.testing.assert_array_equal(ef.numerai_corr(pred, target, era=as_obj), ref)
    monkeypatch.setattr(ef.metrics, "_pd", None)
    got = ef.numerai_corr(pred, target, era=as_obj)
    assert isinstance(got, np.ndarray)
    np.testing.assert_array_equal(got, ref)
    with pytest.raises(ValueError):
        ef.numerai_corr(pred, target, era=np.where(np.arange(len(era)) == 3, None, as_obj))
    with pytest.raises(TypeError):
        ef.numerai_corr(pred, target, era=np.where(np.arange(len(era)) == 3, 7, as_obj))


@needs_pandas
def test_pandas_nullable_dtypes():
    _, pred, target, _, F = make_eras(seed=8)
    ref = ef.numerai_corr(pred, target)
    t_na = pd.Series(target, dtype="Float64")          # NaN -> pd.NA
    assert t_na.isna().sum() == np.isnan(target).sum()
    assert ef.numerai_corr(pd.Series(pred), t_na) == pytest.approx(ref, abs=1e-15)
    feats = pd.DataFrame(F.astype(np.int64)).astype("Int64")
    np.testing.assert_allclose(ef.neutralize(pred, feats), ef.neutralize(pred, F), atol=0)
