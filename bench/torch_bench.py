#!/usr/bin/python3
"""PyTorch side of the eraformer-vs-PyTorch training-throughput comparison.

Runs the same transformer as eraformer (the model of tools/gen_golden.py, which the golden
test tests/model/test_golden_model.c checks eraformer against) on the configs of
`eraformer bench` (src/cli/cmd_bench.c), batch 64, random data:

  A: 4 layers, d_model 128, 4 heads, d = 10, k = 20     B: 6 layers, 256, 8 heads, d = 20, k = 40
  C: 12 layers, 256, 8 heads, d = 20, k = 40
  interleaved layout: T = 2k tokens per sequence; rows layout (--layout rows): T = k, n_ctx = k/2.

A training step is what `eraformer bench` times: zero_grad, forward, backward,
clip_grad_norm_(1.0), AdamW step (weight decay 0.1 on the matrices only). Init is
eraformer's scheme (N(0, 0.02), residual projections N(0, 0.02/sqrt(2L)), biases 0, LN 1).
Prints one JSON line per config, the shape of `eraformer bench`'s:
  {"impl":"torch","config":"A","layout":...,"tokens_per_s":...,"gflops":...,"step_ms":...}
with model FLOPs counted as ef_model_forward_flops() in model.c (train = 3x forward).

Threads (read /work/shared/reference/perf.md, "the thread-pool trap"): Debian's torch runs
its own ops on libgomp (torch.set_num_threads) and its GEMMs on OpenBLAS's pthread pool
(OPENBLAS_NUM_THREADS, read when the library loads, so this script sets it before importing
torch). With both pools at 2 threads on 2 vCPUs they fight and steps get 1.5-8x slower, so
the two are set separately and their sum should not exceed the cores:
  --threads N        torch intra-op threads (torch.set_num_threads), default 1
  --blas-threads M   OpenBLAS threads, default 2 (or OPENBLAS_NUM_THREADS if set)
The defaults are the fastest split measured (bench/README.md); `--threads 2 --blas-threads 1`
is the other sane one.

Long-context rows (issue 20 item 3; the PyTorch side of bench/bench_rows_long.c):
  --ctx N --queries M   the shipped numerai model's shape (rows layout, 3 layers, d_model 64,
                        4 heads, d_max 16), tasks of N context and M query rows; the timed
                        step is zero_grad, forward and backward only (no clip, no optimizer),
                        as bench_rows_long times it; the JSON line adds the process's peak RSS
                        (run one pair per process for a per-pair peak). --batch defaults to 1
                        there. PyTorch 1.13's attention is the dense (T,T) softmax.

Usage: /usr/bin/python3 bench/torch_bench.py [--config A,B,C] [--layout interleaved|rows]
         [--steps 10] [--warmup 2] [--batch 64] [--threads 1] [--blas-threads 2]
       /usr/bin/python3 bench/torch_bench.py --ctx 4096 --queries 512 [--steps 3] [--warmup 1]
"""
import argparse
import json
import os
import statistics
import sys
import time


def parse_args():
    ap = argparse.ArgumentParser(description="PyTorch training-step throughput for eraformer's configs")
    ap.add_argument("--config", default="A,B,C", help="comma-separated subset of A,B,C (default all)")
    ap.add_argument("--layout", default="interleaved", choices=["interleaved", "rows"])
    ap.add_argument("--steps", type=int, default=10, help="timed steps (median reported), default 10")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps first, default 2")
    ap.add_argument("--batch", type=int, default=None, help="default 64 (1 with --ctx)")
    ap.add_argument("--ctx", type=int, default=0, help="long-context rows mode: context rows per task")
    ap.add_argument("--queries", type=int, default=0, help="long-context rows mode: query rows per task")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op (OpenMP) threads, default 1")
    ap.add_argument("--blas-threads", type=int, default=int(os.environ.get("OPENBLAS_NUM_THREADS", "2")),
                    help="OpenBLAS threads, default 2")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.batch is None:
        a.batch = 1 if a.ctx else 64
    if (a.ctx > 0) != (a.queries > 0) or a.ctx < 0 or a.queries < 0:
        ap.error("--ctx and --queries go together, both >= 1")
    for c in a.config.split(","):
        if c not in CONFIGS:
            ap.error(f"unknown config '{c}' (expected A, B or C)")
    for name in ("steps", "batch", "threads", "blas_threads"):
        if getattr(a, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be >= 1")
    if a.warmup < 0:
        ap.error("--warmup must be >= 0")
    return a


# (n_layer, d_model, n_head, d, k) as in src/cli/cmd_bench.c
CONFIGS = {"A": (4, 128, 4, 10, 20), "B": (6, 256, 8, 20, 40), "C": (12, 256, 8, 20, 40)}


def main():
    a = parse_args()
    # both pools are sized before torch (and with it OpenBLAS and libgomp) is loaded
    os.environ["OPENBLAS_NUM_THREADS"] = str(a.blas_threads)
    os.environ["OMP_NUM_THREADS"] = str(a.threads)
    import torch
    sys.dont_write_bytecode = True  # no __pycache__ in tools/
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
    import gen_golden as ref

    torch.set_default_dtype(torch.float32)
    torch.set_num_threads(a.threads)
    if a.ctx:
        long_rows(a, torch, ref)
        return
    for cname in a.config.split(","):
        L, C, NH, d, k = CONFIGS[cname]
        cfg = dict(layout=a.layout, n_layer=L, d_model=C, n_head=NH, d_max=d, max_points=k)
        gen = torch.Generator().manual_seed(a.seed)
        stacked = ref.init_gpt2(cfg, gen)
        # per-layer leaves, as a torch model would hold them (nn.Linear per block)
        P = {n: ([t[l].clone() for l in range(L)] if n.startswith("blocks.") else t) for n, t in stacked.items()}
        params = ref.leaves(P)
        for p in params:
            p.requires_grad_(True)
        B = a.batch
        x = torch.randn(B, k, d, generator=gen)
        y = torch.randn(B, k, generator=gen)
        mask = torch.ones(B, k, d, dtype=torch.bool)
        dd = torch.full((B,), d, dtype=torch.int64)
        n_ctx = k // 2 if a.layout == "rows" else 0
        opt = ref.make_optimizer(P, lr=1e-4, weight_decay=0.1)

        def step():
            opt.zero_grad(set_to_none=False)
            _, loss = ref.forward(cfg, P, x, y, mask, dd, n_ctx)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()

        ts, tf = [], []
        for s in range(a.warmup + a.steps):
            t0 = time.perf_counter()
            step()
            if s >= a.warmup:
                ts.append(time.perf_counter() - t0)
        with torch.no_grad():
            for s in range(1 + a.steps):
                t0 = time.perf_counter()
                ref.forward(cfg, P, x, y, mask, dd, n_ctx)
                if s >= 1:
                    tf.append(time.perf_counter() - t0)
        step_s, fwd_s = statistics.median(ts), statistics.median(tf)
        T = 2 * k if a.layout == "interleaved" else k
        fflops = ref.forward_flops(cfg, B, k)
        print(json.dumps({
            "impl": "torch", "config": cname, "layout": a.layout, "threads": a.threads,
            "blas_threads": a.blas_threads, "batch": B, "tokens": T,
            "params": sum(p.numel() for p in params), "step_ms": round(step_s * 1e3, 2),
            "tokens_per_s": round(B * T / step_s, 1), "gflops": round(3 * fflops / step_s / 1e9, 2),
            "fwd_ms": round(fwd_s * 1e3, 2), "fwd_tokens_per_s": round(B * T / fwd_s, 1),
            "fwd_gflops": round(fflops / fwd_s / 1e9, 2), "steps": a.steps,
            "torch": torch.__version__}, separators=(",", ":")), flush=True)


def long_rows(a, torch, ref):
    """One task shape of bench_rows_long: forward + backward, median ms, tokens/s, peak RSS."""
    import resource
    L, C, NH, d = 3, 64, 4, 16
    k = a.ctx + a.queries
    cfg = dict(layout="rows", n_layer=L, d_model=C, n_head=NH, d_max=d, max_points=k)
    gen = torch.Generator().manual_seed(a.seed)
    stacked = ref.init_gpt2(cfg, gen)
    P = {n: ([t[l].clone() for l in range(L)] if n.startswith("blocks.") else t) for n, t in stacked.items()}
    params = ref.leaves(P)
    for p in params:
        p.requires_grad_(True)
    B = a.batch
    x = torch.randn(B, k, d, generator=gen)
    y = torch.randn(B, k, generator=gen)
    mask = torch.ones(B, k, d, dtype=torch.bool)
    dd = torch.full((B,), d, dtype=torch.int64)
    ts, tf = [], []
    for s in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        for p in params:
            p.grad = None
        _, loss = ref.forward(cfg, P, x, y, mask, dd, a.ctx)
        loss.backward()
        if s >= a.warmup:
            ts.append(time.perf_counter() - t0)
    with torch.no_grad():
        for s in range(a.steps):
            t0 = time.perf_counter()
            ref.forward(cfg, P, x, y, mask, dd, a.ctx)
            tf.append(time.perf_counter() - t0)
    step_s, fwd_s = statistics.median(ts), statistics.median(tf)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({
        "impl": "torch", "attention": "dense", "batch": B, "n_ctx": a.ctx, "n_query": a.queries,
        "threads": a.threads, "blas_threads": a.blas_threads, "step_ms": round(step_s * 1e3, 1),
        "tokens_per_s": round(B * k / step_s, 1), "fwd_ms": round(fwd_s * 1e3, 1),
        "peak_rss_mb": round(rss_mb, 1), "steps": a.steps, "torch": torch.__version__},
        separators=(",", ":")), flush=True)


if __name__ == "__main__":
    main()
