"""Mean test R² of eraformer.TabularRegressor against ridge (alpha by CV), kNN (k by CV) and
XGBoost (defaults) on small real regression tables shipped by Debian packages (python3-sklearn's
diabetes, python3-statsmodels' datasets), over repeated random 75/25 splits; then one fit+predict
timing of 512 x 30 -> 1,000 rows. docs/icl_regressor.md has a run.

    ERAFORMER_LIBRARY=build/liberaformer.so PYTHONPATH=python python3 bench/icl_regressor.py [SPLITS]
"""
import os
import sys
import time

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from eraformer import TabularRegressor

MODELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models")


def datasets():
    X, y = load_diabetes(return_X_y=True)
    yield "diabetes (sklearn)", X, y
    import statsmodels.api as sm
    d = sm.datasets.star98.load_pandas().data
    yield "star98 (statsmodels)", d.drop(columns=["NABOVE", "NBELOW"]).values, \
        (d.NABOVE / (d.NABOVE + d.NBELOW)).values
    d = sm.datasets.grunfeld.load_pandas().data
    yield "grunfeld (statsmodels)", d[["value", "capital", "year"]].values.astype(float), d.invest.values
    d = sm.datasets.statecrime.load_pandas().data
    yield "statecrime (statsmodels)", d.drop(columns=["murder"]).values, d.murder.values
    d = sm.datasets.engel.load_pandas().data
    yield "engel (statsmodels)", d[["income"]].values, d.foodexp.values
    d = sm.datasets.fair.load_pandas().data.sample(1500, random_state=0)
    yield "fair, 1,500 rows (statsmodels)", d.drop(columns=["affairs"]).values, d.affairs.values


def estimators():
    yield "eraformer (mixture-numerai, 16 members)", lambda: TabularRegressor()
    yield "eraformer (linear-d10, 16 members)", \
        lambda: TabularRegressor(model=os.path.join(MODELS, "linear-d10.st"))
    yield "eraformer (mixture-numerai, 64 members)", lambda: TabularRegressor(n_ensemble=64)
    yield "ridge (alpha by CV)", lambda: make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13)))
    yield "kNN (k by CV)", lambda: make_pipeline(StandardScaler(), GridSearchCV(
        KNeighborsRegressor(), {"n_neighbors": [1, 2, 3, 5, 8, 12, 20, 30]}, cv=5))
    try:
        from xgboost import XGBRegressor
        yield "XGBoost (defaults)", lambda: XGBRegressor(n_jobs=2)
    except ImportError:
        pass


def r2(p, y):
    return 1 - ((y - p) ** 2).sum() / ((y - y.mean()) ** 2).sum()


def main():
    splits = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    names = [n for n, _ in estimators()]
    rows = []
    for dname, X, y in datasets():
        scores = {n: [] for n in names}
        for s in range(splits):
            Xa, Xb, ya, yb = train_test_split(X, y, test_size=0.25, random_state=s)
            for n, make in estimators():
                scores[n].append(r2(make().fit(Xa, ya).predict(Xb), yb))
        rows.append((dname, X.shape, {n: np.mean(v) for n, v in scores.items()}))
        print(dname, X.shape, {n: round(float(np.mean(v)), 3) for n, v in scores.items()}, flush=True)
    print("\n| dataset | rows x features | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for dname, shape, m in rows:
        best = max(m.values())
        cells = [f"**{m[n]:.3f}**" if m[n] == best else f"{m[n]:.3f}" for n in names]
        print(f"| {dname} | {shape[0]} x {shape[1]} | " + " | ".join(cells) + " |")
    means = {n: np.mean([m[n] for _, _, m in rows]) for n in names}
    print("| **mean** | | " + " | ".join(f"{means[n]:.3f}" for n in names) + " |")
    rng = np.random.default_rng(0)
    X, Xt = rng.normal(size=(512, 30)), rng.normal(size=(1000, 30))
    y = X[:, :5].sum(1) + rng.normal(size=512)
    for threads in (1, 2):
        t0 = time.perf_counter()
        TabularRegressor(n_jobs=threads).fit(X, y).predict(Xt)
        print(f"fit+predict 512 x 30 -> 1,000 rows, 16 members, {threads} thread(s): "
              f"{time.perf_counter() - t0:.3f} s")


if __name__ == "__main__":
    main()
