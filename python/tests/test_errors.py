"""Bad inputs raise Python exceptions (never crash the interpreter); C errors carry C's message."""
import numpy as np
import pytest

import eraformer as ef
from test_metrics import o_numerai_corr

P = np.linspace(0, 1, 10)
T = np.array([0, 0.25, 0.5, 0.75, 1, 0, 0.25, 0.5, 0.75, 1])
F = np.arange(20.0).reshape(10, 2) % 3


def test_error_carries_the_c_message_and_status():
    with pytest.raises(ef.Error) as ei:
        ef.numerai_corr(P, np.full(10, np.nan))
    e = ei.value
    assert e.status == "EF_ERR_INVALID" and e.code == 4
    assert "numerai_corr" in str(e) and "NaN" in str(e) and e.message == str(e)


def test_too_many_nan_is_the_overlap_rule():
    t = T.copy()
    t[:3] = np.nan                                   # 70% left < 80%
    with pytest.raises(ef.Error, match="80%"):
        ef.numerai_corr(P, t)
    t = T.copy()
    t[:2] = np.nan                                   # 80% left: fine
    assert np.isfinite(ef.numerai_corr(P, t))


def test_too_few_rows_is_an_error():
    with pytest.raises(ef.Error):
        ef.numerai_corr([0.5], [0.5])
    with pytest.raises(ef.Error):
        ef.numerai_corr([], [])
    with pytest.raises(ef.Error):
        ef.correlation_contribution([], [], [])
    with pytest.raises(ef.Error):
        ef.feature_neutral_corr([0.5], [[1.0]], [0.5])


@pytest.mark.parametrize("call", [
    lambda: ef.numerai_corr(P, T[:-1]),
    lambda: ef.numerai_corr(P[:, None, None], T),
    lambda: ef.numerai_corr(P, np.c_[T, T]),
    lambda: ef.correlation_contribution(P, P[:5], T),
    lambda: ef.neutralize(P, F[:5]),
    lambda: ef.neutralize(P, np.zeros((10, 2, 2))),
    lambda: ef.feature_neutral_corr(P, F, T[:3]),
    lambda: ef.numerai_corr(P, T, era=np.zeros(3)),
    lambda: ef.numerai_corr(P, T, era=np.zeros((10, 2))),
    lambda: ef.numerai_corr([[1, 2], [3]], T),
])
def test_wrong_shapes_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


@pytest.mark.parametrize("call", [
    lambda: ef.numerai_corr(np.array(["a"] * 10), T),
    lambda: ef.numerai_corr(np.array([object()] * 10), T),
    lambda: ef.neutralize(P, np.array([["x", "y"]] * 10)),
    lambda: ef.numerai_corr(np.arange(10).astype("datetime64[D]"), T),
    lambda: ef.neutralize(P, F, proportion="half"),
])
def test_wrong_dtypes_raise_type_error(call):
    with pytest.raises(TypeError):
        call()


@pytest.mark.parametrize("call", [
    lambda: ef.neutralize(np.where(np.arange(10) == 3, np.nan, P), F),
    lambda: ef.neutralize(P, np.where(F == 1, np.nan, F)),
    lambda: ef.neutralize(P, np.where(F == 1, np.inf, F)),
    lambda: ef.neutralize(P, F, proportion=np.nan),
    lambda: ef.feature_neutral_corr(np.where(np.arange(10) == 3, np.nan, P), F, T),
    lambda: ef.feature_neutral_corr(P, np.where(F == 1, np.nan, F), T),
    lambda: ef.numerai_corr(np.where(np.arange(10) == 3, np.inf, P), T),
    lambda: ef.numerai_corr(P, T, era=np.where(np.arange(10) == 3, np.nan, 1.0)),
    lambda: ef.numerai_corr(P, T, era=np.array(["a"] * 5 + [None] * 5, dtype=object)),
    lambda: ef.numerai_corr(P, T, top_bottom=0),
    lambda: ef.numerai_corr(P, T, top_bottom=-2),
    lambda: ef.numerai_corr(P, T, top_bottom=2.5),
    lambda: ef.numerai_corr(P, T, max_filtered_ratio=1.5),
    lambda: ef.numerai_corr(P, T, top_bottom=6),     # 12 rows needed, 10 there
])
def test_nan_inf_and_bad_options_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_nan_predictions_are_filtered_like_numerai_tools():
    p = P.copy()
    p[4] = np.nan
    keep = ~np.isnan(p)
    # numerai-tools centres the target over all its values, then drops the NaN-prediction rows
    assert ef.numerai_corr(p, T) == pytest.approx(o_numerai_corr(p, T), abs=1e-12)
    assert ef.numerai_corr(p, T) != pytest.approx(ef.numerai_corr(p[keep], T[keep]), abs=1e-6)


def test_top_bottom_boundary_and_larger_than_rows_for_mmc():
    assert np.isfinite(ef.numerai_corr(P, T, top_bottom=5))   # exactly 2m rows
    # correlation_contribution keeps min(m, rows) from each end: no buffer issue
    assert np.isfinite(ef.correlation_contribution(P, T + 0.1 * P, T, top_bottom=50))


def test_many_calls_with_bad_inputs_leave_the_library_usable():
    for _ in range(200):
        with pytest.raises(ef.Error):
            ef.numerai_corr(P, np.full(10, np.nan))
    assert np.isfinite(ef.numerai_corr(P, T))
