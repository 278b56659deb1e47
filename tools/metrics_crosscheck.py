#!/usr/bin/env python3
"""Independent cross-check of `eraformer evaluate`: recomputes per-era CORR (numerai_corr) and,
with --meta, MMC (correlation_contribution) in pure Python (stdlib only: NormalDist.inv_cdf
for the gaussian), following numerai-tools 0.6.0, and compares with evaluate's per_era.csv.

  tools/metrics_crosscheck.py --predictions P.csv --data D.csv --per-era OUT/per_era.csv \
      [--column prediction] [--target target] [--meta M.csv --meta-column C] [--eras 5]

CSV inputs only; rows without a prediction or target are filtered like numerai-tools.
Exit 0 when every checked era agrees to 1e-10 relative."""
import argparse, csv, math, sys
from statistics import NormalDist

ND = NormalDist()


def tie_kept_rank(x):
    n = len(x)
    order = sorted(range(n), key=lambda i: x[i])
    r = [0.0] * n
    i = 0
    while i < n:
        j = i
        while j + 1 < n and x[order[j + 1]] == x[order[i]]:
            j += 1
        avg = ((i + 1) + (j + 1)) / 2
        for k in range(i, j + 1):
            r[order[k]] = (avg - 0.5) / n
        i = j + 1
    return r


def gauss(x):
    return [ND.inv_cdf(v) for v in tie_kept_rank(x)]


def pw(v):
    return math.copysign(abs(v) ** 1.5, v)


def pearson(a, b):
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    sab = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    saa = sum((x - ma) ** 2 for x in a)
    sbb = sum((y - mb) ** 2 for y in b)
    return sab / math.sqrt(saa * sbb) if saa > 0 and sbb > 0 else float("nan")


def numerai_corr(p, t):
    tv = [v for v in t if not math.isnan(v)]
    if not tv:
        return float("nan")
    m = sum(tv) / len(tv)
    keep = [i for i in range(len(p)) if not math.isnan(p[i]) and not math.isnan(t[i])]
    if len(keep) / len(p) < 0.8:
        return float("nan")
    g = gauss([p[i] for i in keep])
    return pearson([pw(t[i] - m) for i in keep], [pw(v) for v in g])


def mmc(p, mm, t):
    keep = [i for i in range(len(p)) if not (math.isnan(p[i]) or math.isnan(mm[i]) or math.isnan(t[i]))]
    if len(keep) / len(p) < 0.8:
        return float("nan")
    gp, gm = gauss([p[i] for i in keep]), gauss([mm[i] for i in keep])
    beta = sum(a * b for a, b in zip(gp, gm)) / sum(b * b for b in gm)
    q = [a - b * beta for a, b in zip(gp, gm)]
    tt = [t[i] for i in keep]
    if all(0 <= v <= 1 for v in tt):
        tt = [4 * v for v in tt]
    mt = sum(tt) / len(tt)
    return sum((a - mt) * b for a, b in zip(tt, q)) / len(tt)


def read_col(path, col):
    with open(path, newline="") as f:
        r = csv.DictReader(f)
        return {row["id"]: float(row[col]) if row[col] not in ("", "nan", "NaN") else float("nan") for row in r}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--predictions", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--per-era", required=True)
    ap.add_argument("--column", default="prediction")
    ap.add_argument("--target", default="target")
    ap.add_argument("--meta")
    ap.add_argument("--meta-column", default="numerai_meta_model")
    ap.add_argument("--eras", type=int, default=5, help="how many eras to check (0 = all)")
    a = ap.parse_args()
    preds = read_col(a.predictions, a.column)
    meta = read_col(a.meta, a.meta_column) if a.meta else None
    eras = {}
    with open(a.data, newline="") as f:
        for row in csv.DictReader(f):
            if row["id"] in preds:
                t = row[a.target]
                eras.setdefault(row["era"], []).append((row["id"], float(t) if t else float("nan")))
    got = {}
    with open(a.per_era, newline="") as f:
        for row in csv.DictReader(f):
            got[row["era"]] = row
    bad = checked = 0
    for era in list(got)[: a.eras or None]:
        rows = sorted(eras[era])
        p = [preds[i] for i, _ in rows]
        t = [v for _, v in rows]
        checks = [("corr", numerai_corr(p, t))]
        if meta is not None:
            checks.append(("mmc", mmc(p, [meta.get(i, float("nan")) for i, _ in rows], t)))
        for name, want in checks:
            cell = got[era][name]
            have = float(cell) if cell else float("nan")
            ok = (math.isnan(want) and math.isnan(have)) or abs(have - want) <= 1e-10 * max(1e-300, abs(want)) + 1e-15
            bad += not ok
            checked += 1
            print(f"era {era} {name}: eraformer {have!r} python {want!r} {'ok' if ok else 'MISMATCH'}")
    print(f"{checked} values checked, {bad} mismatches")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
