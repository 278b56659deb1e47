"""TabularRegressor (eraformer/sklearn.py): a scikit-learn estimator over the C in-context
regressor. It passes scikit-learn's estimator checks, learns a noisy linear table nearly as well
as ridge, takes NaN, refuses bad inputs with Python exceptions and reports C errors as
eraformer.Error with the C message."""
import os
import pickle

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.linear_model import RidgeCV  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import eraformer as ef  # noqa: E402
from eraformer import TabularRegressor  # noqa: E402
from conftest import SOURCE_DIR  # noqa: E402

MODELS = os.path.join(SOURCE_DIR, "models")
os.environ.setdefault("ERAFORMER_MODELS_DIR", MODELS)


def linear_table(n, m, d, noise, seed):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=d)
    scale, shift = np.exp(rng.normal(size=d)), 10 * rng.normal(size=d)
    Z = rng.normal(size=(n + m, d))
    y = Z @ w + noise * rng.normal(size=n + m)
    X = Z * scale + shift
    return X[:n], y[:n], X[n:], y[n:]


def r2(p, y):
    return 1 - ((y - p) ** 2).sum() / ((y - y.mean()) ** 2).sum()


@parametrize_with_checks([TabularRegressor(n_ensemble=4)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_params_and_clone():
    reg = TabularRegressor(n_ensemble=3, scaling="rankgauss", random_state=5)
    assert reg.get_params()["n_ensemble"] == 3
    c = clone(reg)
    assert c.get_params() == reg.get_params() and c is not reg
    c.set_params(n_ensemble=7)
    assert c.n_ensemble == 7 and reg.n_ensemble == 3


def test_learns_linear_near_ridge():
    X, y, Xt, yt = linear_table(300, 300, 5, 0.7, 1)
    ours = r2(TabularRegressor().fit(X, y).predict(Xt), yt)
    default = r2(TabularRegressor(model=os.path.join(MODELS, "mixture-numerai.st")).fit(X, y).predict(Xt), yt)
    ridge = r2(RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(X, y).predict(Xt), yt)
    assert ours > 0.6 and ours > ridge - 0.1, (ours, ridge)
    assert default > 0.5, default


def test_wide_narrow_nan_and_determinism():
    X, y, Xt, yt = linear_table(200, 100, 40, 0.5, 2)     # wider than every shipped model
    X[::7, 3] = np.nan
    Xt[::5, 1] = np.nan
    a = TabularRegressor(n_jobs=1).fit(X, y).predict(Xt)
    b = TabularRegressor(n_jobs=2).fit(X, y).predict(Xt)
    assert np.all(np.isfinite(a)) and np.array_equal(a, b)
    p = TabularRegressor(wide="project").fit(X, y).predict(Xt)
    assert np.all(np.isfinite(p)) and not np.array_equal(a, p)
    X1, y1, Xt1, yt1 = linear_table(100, 50, 1, 0.1, 3)  # one column
    assert r2(TabularRegressor().fit(X1, y1).predict(Xt1), yt1) > 0.5
    numerai = os.path.join(MODELS, "mixture-numerai.st")  # pretrained at d = 16 only: weak here
    assert np.all(np.isfinite(TabularRegressor(model=numerai).fit(X1, y1).predict(Xt1)))


def test_pickle_round_trip_and_dtypes():
    X, y, Xt, _ = linear_table(80, 20, 3, 0.2, 4)
    reg = TabularRegressor(n_ensemble=4).fit(X, y)
    again = pickle.loads(pickle.dumps(reg))
    assert np.array_equal(reg.predict(Xt), again.predict(Xt))
    # float32, Fortran order, lists and ints give the float32 table's predictions
    p = reg.predict(Xt.astype(np.float32))
    assert np.array_equal(p, reg.predict(np.asfortranarray(Xt.astype(np.float32))))
    assert np.array_equal(p, reg.predict(Xt.astype(np.float32).tolist()))
    assert np.all(np.isfinite(TabularRegressor().fit(X.astype(int), y).predict(Xt.astype(int))))


def test_bad_inputs_raise_python_errors():
    X, y, Xt, _ = linear_table(30, 5, 3, 0.2, 5)
    reg = TabularRegressor(n_ensemble=2)
    with pytest.raises(ValueError):
        reg.fit(X, y[:-1])
    with pytest.raises(ValueError):
        reg.fit(X.reshape(30, 3, 1), y)
    with pytest.raises(ValueError):
        reg.fit(np.where(X > 0, np.inf, X), y)
    with pytest.raises(ValueError):
        reg.fit(X, np.where(y > 0, np.nan, y))
    with pytest.raises(ValueError):
        reg.fit([["a", "b", "c"]] * 30, y)
    with pytest.raises(ValueError):
        TabularRegressor(scaling="minmax").fit(X, y)
    reg.fit(X, y)
    with pytest.raises(ValueError):
        reg.predict(Xt[:, :2])
    with pytest.raises(TypeError):
        TabularRegressor(random_state="x").fit(X, y)


def test_c_errors_raise_eraformer_error():
    X, y, _, _ = linear_table(30, 5, 3, 0.2, 6)
    with pytest.raises(ef.Error) as ei:
        TabularRegressor(model="no/such/model.st").fit(X, y)
    assert ei.value.status == "EF_ERR_IO" and "no/such/model.st" in str(ei.value)
    with pytest.raises(ef.Error, match="n_ensemble"):
        TabularRegressor(n_ensemble=0).fit(X, y)
    with pytest.raises(ef.Error, match="row positions"):
        TabularRegressor(model=os.path.join(MODELS, "mixture-d10.st")).fit(X, y)
