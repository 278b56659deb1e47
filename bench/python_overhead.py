"""The Python call against the CLI on the same table (issue 18's target: the Python call of a
512 x 30 -> 1,000 fit+predict costs less than 5% more than the CLI's):

    eraformer icl-predict --train train.csv --test test.csv --target y --out preds.csv --threads T
    eraformer.TabularRegressor(n_jobs=T).fit(X, y).predict(Xt)

Each repetition runs both, alternated (which goes first flips every repetition), after one
warm-up each; the CLI is timed as a whole process (start, CSV parsing, model load, output), the
Python call in a warm interpreter (sklearn's validation, the model load in fit, predict); both
in wall time and in CPU time (user + system of all threads: the child's rusage for the CLI,
the process's rusage delta for Python), which a machine shared with other work disturbs less.
Both predict the same values (checked to the CSV's printed precision).

On a busy machine the two 2-second jobs vary more than 5% from run to run, so the script also
measures the Python part alone: the call's wall time minus the time inside its three C calls
(ef_icl_regressor_open, _fit, _predict, timed by wrapping the ctypes functions). The CLI runs
the same three calls (cmd_icl_predict.c) plus its process start and CSV input/output, so
python / cli <= 1 + (Python part) / (C calls). Run without nice, on an idle machine if there
is one:

    ERAFORMER_LIBRARY=build/liberaformer.so PYTHONPATH=python python3 bench/python_overhead.py [REPS] [THREADS]
"""
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import eraformer
from eraformer import TabularRegressor
from eraformer import _lib


def cli_binary():
    env = os.environ.get("ERAFORMER_CLI")
    if env:
        return env
    return os.path.join(os.path.dirname(os.path.abspath(_lib.library_path())), "eraformer")


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else os.cpu_count()
    load = os.getloadavg()[0]
    rng = np.random.default_rng(0)
    n, m, d = 512, 1000, 30
    w = rng.normal(size=d)
    X, Xt = rng.normal(size=(n, d)), rng.normal(size=(m, d))
    y = X @ w + 0.3 * rng.normal(size=n)
    cli = cli_binary()
    with tempfile.TemporaryDirectory(prefix="ef-overhead-") as tmp:
        train, test, out = (os.path.join(tmp, f) for f in ("train.csv", "test.csv", "preds.csv"))
        cols = ",".join(f"x{j}" for j in range(d))
        np.savetxt(train, np.column_stack([X, y]), delimiter=",", header=cols + ",y", comments="", fmt="%.17g")
        np.savetxt(test, Xt, delimiter=",", header=cols, comments="", fmt="%.17g")
        cmd = [cli, "icl-predict", "--train", train, "--test", test, "--target", "y", "--out", out,
               "--threads", str(threads)]
        # the Python side reads the same values the CLI parses
        Xf = np.loadtxt(train, delimiter=",", skiprows=1)
        Xp, yp, Xtp = Xf[:, :d], Xf[:, d], np.loadtxt(test, delimiter=",", skiprows=1)

        def run_cli():
            t0 = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _, status, ru = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - t0
            proc.returncode = os.waitstatus_to_exitcode(status)
            if proc.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}")
            return wall, ru.ru_utime + ru.ru_stime

        def cpu_self():
            ru = resource.getrusage(resource.RUSAGE_SELF)
            return ru.ru_utime + ru.ru_stime

        def run_py():
            t0, c0 = time.perf_counter(), cpu_self()
            p = TabularRegressor(n_jobs=threads).fit(Xp, yp).predict(Xtp)
            return (time.perf_counter() - t0, cpu_self() - c0), p

        run_cli()
        _, p = run_py()
        got = np.loadtxt(out, delimiter=",", skiprows=1, usecols=-1)
        diff = float(np.max(np.abs(got - p)))
        tc, tp = [], []
        for r in range(reps):
            if r % 2 == 0:
                tc.append(run_cli())
                tp.append(run_py()[0])
            else:
                tp.append(run_py()[0])
                tc.append(run_cli())
        # the Python part: the call minus its C calls
        lib = _lib.lib()
        inside = [0.0]

        def timed(fn):
            def call(*args):
                t0 = time.perf_counter()
                try:
                    return fn(*args)
                finally:
                    inside[0] += time.perf_counter() - t0
            return call

        names = ("ef_icl_regressor_open", "ef_icl_regressor_fit", "ef_icl_regressor_predict")
        orig = {k: getattr(lib, k) for k in names}
        for k in names:
            setattr(lib, k, timed(orig[k]))
        py_part, c_part = [], []
        try:
            for r in range(reps):
                inside[0] = 0.0
                (wall, _), _ = run_py()
                py_part.append(wall - inside[0])
                c_part.append(inside[0])
        finally:
            for k in names:
                setattr(lib, k, orig[k])
    (wc, cc), (wp, cp) = zip(*tc), zip(*tp)
    cpu = "unknown"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                cpu = line.split(":", 1)[1].strip()
    except OSError:
        pass
    print(f"cpu: {cpu}; threads {threads}; {reps} repetitions each, alternated; eraformer {eraformer.version()}; "
          f"load average before: {load:.2f}")
    for what, c, p in (("wall", wc, wp), ("cpu ", cc, cp)):
        mc, mp = statistics.median(c), statistics.median(p)
        print(f"{what}: cli median {mc * 1e3:.0f} ms (min {min(c) * 1e3:.0f}), python median {mp * 1e3:.0f} ms "
              f"(min {min(p) * 1e3:.0f}); python/cli: median {mp / mc:.3f}, min {min(p) / min(c):.3f}")
    mpy, mcc = statistics.median(py_part), statistics.median(c_part)
    print(f"python part (the call minus its C calls): median {mpy * 1e3:.2f} ms, max {max(py_part) * 1e3:.2f} ms, "
          f"= {100 * mpy / mcc:.2f}% of the C calls (median {mcc * 1e3:.0f} ms): python/cli <= {1 + mpy / mcc:.4f}")
    print(f"max |prediction difference| {diff:.2g} (the CLI prints 9 digits)")


if __name__ == "__main__":
    main()
