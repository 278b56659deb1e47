#!/usr/bin/python3
"""PyTorch reference for eraformer's transformer, and the golden-file generator.

Re-implements, independently of eraformer's C code, exactly the model of
include/eraformer/model.h in both token layouts:

  interleaved  tokens x1, y1, x2, y2, ... (T = 2k); the x token's input u (F = 2*d_max) is
               the d active features scaled by sqrt(d_max/d) (missing ones 0) followed by the
               missing indicators (1 where a feature j < d is missing); the y token is
               (y, 0, ..., 0). enc = W_in u + b_in + wpe[t]; causal mask; the prediction for
               y_i is read at x_i's position; loss = MSE over all B*k points.
  rows         one token per row (T = k); enc = W_in u + b_in + (y w_y + e_ctx) for the first
               n_ctx rows, + e_query for the others; row t < n_ctx attends 0..n_ctx-1, a
               query row attends 0..n_ctx-1 and itself; loss = MSE over the query rows.

Blocks are GPT-2 pre-LN: x += proj(attn(ln1(x))); x += fcproj(gelu_tanh(fc(ln2(x)))), then
ln_f and a 1-wide head. LayerNorm eps 1e-5, attention scale 1/sqrt(hs), qkv weight (3C, C)
with q | k | v blocks and heads contiguous within each block. Parameters are stacked over
layers with the names and shapes of the parameter table in src/model/model.c.

Running this file writes, for each layout, into tests/model/golden/:
  <layout>_params.safetensors  the initial parameters in eraformer's checkpoint format
                               (ef_model_load reads it);
  <layout>_grads.safetensors   inputs (x, y, mask as 0/1, d, n_ctx as floats), predictions,
                               loss and the gradient of every parameter tensor ("grad.<name>");
  <layout>_steps.safetensors   loss and pre-clip gradient norm of 5 AdamW steps on the same
                               batch, and the parameters after them ("final.<name>").
The optimiser is torch.optim.AdamW (lr 1e-3, betas (0.9, 0.95), eps 1e-8, weight decay 0.1
on the matrices of optim.c's decays() only) after torch.nn.utils.clip_grad_norm_(1.0).

bench/torch_bench.py imports the model from here, so the benchmarked torch model is the
one the golden test checks eraformer against.

Usage: /usr/bin/python3 tools/gen_golden.py [--out tests/model/golden]
Needs only python3-torch (1.13) and numpy. Deterministic (fixed torch seed, 1 thread).
"""
import argparse
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn.functional as Fn

# ---- parameter table (src/model/model.c fill_param_table, in block order) ---------------

# matrices that take weight decay (src/model/optim.c decays())
DECAY = {"embed.w_in", "embed.wpe", "blocks.attn.qkv.weight", "blocks.attn.proj.weight",
         "blocks.mlp.fc.weight", "blocks.mlp.proj.weight", "head.weight"}


def param_table(cfg):
    """[(name, shape)] in eraformer's block order; tensors of size 0 are left out (as in
    eraformer's checkpoints)."""
    C, L, F = cfg["d_model"], cfg["n_layer"], 2 * cfg["d_max"]
    il = cfg["layout"] == "interleaved"
    max_T = 2 * cfg["max_points"] if il else cfg["max_points"]
    t = [("embed.w_in", (C, F)), ("embed.b_in", (C,)),
         ("embed.wpe", (max_T if il else 0, C)),
         ("embed.w_y", (0 if il else C,)), ("embed.e_ctx", (0 if il else C,)),
         ("embed.e_query", (0 if il else C,)),
         ("blocks.ln1.weight", (L, C)), ("blocks.ln1.bias", (L, C)),
         ("blocks.attn.qkv.weight", (L, 3 * C, C)), ("blocks.attn.qkv.bias", (L, 3 * C)),
         ("blocks.attn.proj.weight", (L, C, C)), ("blocks.attn.proj.bias", (L, C)),
         ("blocks.ln2.weight", (L, C)), ("blocks.ln2.bias", (L, C)),
         ("blocks.mlp.fc.weight", (L, 4 * C, C)), ("blocks.mlp.fc.bias", (L, 4 * C)),
         ("blocks.mlp.proj.weight", (L, C, 4 * C)), ("blocks.mlp.proj.bias", (L, C)),
         ("ln_f.weight", (C,)), ("ln_f.bias", (C,)),
         ("head.weight", (1, C)), ("head.bias", (1,))]
    return [(n, s) for n, s in t if math.prod(s) > 0]


def init_gpt2(cfg, gen):
    """eraformer's init scheme (ef_model_create): N(0, 0.02) matrices and embeddings,
    N(0, 0.02/sqrt(2L)) residual projections, biases 0, LayerNorm weights 1 (drawn from
    torch's RNG, so the values differ from eraformer's; the distribution is the same)."""
    L = cfg["n_layer"]
    P = {}
    for name, shape in param_table(cfg):
        if name.endswith(".bias") or name == "embed.b_in":
            P[name] = torch.zeros(shape)
        elif name.startswith(("blocks.ln", "ln_f")):
            P[name] = torch.ones(shape)
        else:
            std = 0.02 / math.sqrt(2 * L) if name in ("blocks.attn.proj.weight", "blocks.mlp.proj.weight") else 0.02
            P[name] = torch.randn(shape, generator=gen) * std
    return P


def init_golden(cfg, gen):
    """Parameters for the golden test: every tensor random and O(1)-scaled (1/sqrt(fan_in)
    matrices, non-zero biases, LayerNorm weights around 1), so attention is far from uniform
    and every parameter, scale and mask shows in the outputs. Not eraformer's init."""
    P = {}
    for name, shape in param_table(cfg):
        r = torch.randn(shape, generator=gen)
        if name.startswith(("blocks.ln", "ln_f")) and name.endswith("weight"):
            P[name] = 1.0 + 0.2 * r
        elif name in DECAY and name != "embed.wpe":
            P[name] = r / math.sqrt(shape[-1])
        else:
            P[name] = 0.3 * r
    return P


# ---- model --------------------------------------------------------------------------------

def build_inputs(cfg, x, y, mask, d):
    """x (B,k,D), y (B,k), mask (B,k,D) bool (True = observed), d (B) int -> u (B,T,F),
    as build_inputs() in model.c."""
    B, k, D = x.shape
    sc = torch.sqrt(torch.full((B,), float(D)) / d.to(torch.float32))   # sqrtf((float)D/(float)d)
    active = torch.arange(D)[None, None, :] < d[:, None, None]
    obs = mask & active
    feat = torch.cat([torch.where(obs, x * sc[:, None, None], torch.zeros(())),
                      (active & ~mask).to(x.dtype)], dim=-1)                # (B,k,F)
    if cfg["layout"] == "rows":
        return feat
    u = torch.zeros(B, 2 * k, 2 * D)
    u[:, 0::2] = feat
    u[:, 1::2, 0] = y
    return u


def attn_mask(cfg, T, n_ctx):
    """(T,T) bool, True = row t may attend key s."""
    t = torch.arange(T)[:, None]
    s = torch.arange(T)[None, :]
    if cfg["layout"] == "interleaved":
        return s <= t
    return (s < n_ctx) | (s == t)


def forward(cfg, P, x, y, mask, d, n_ctx):
    """P: name -> tensor with the table's shape; a blocks.* entry may instead be a list of
    L per-layer tensors (the benchmark's form: no stacked-gradient scatter per layer).
    -> (pred (B,k), loss). y of query rows is used by the loss only."""
    C, NH, L = cfg["d_model"], cfg["n_head"], cfg["n_layer"]
    hs = C // NH
    il = cfg["layout"] == "interleaved"
    B, k, _ = x.shape
    u = build_inputs(cfg, x, y, mask, d)
    T = u.shape[1]
    h = u @ P["embed.w_in"].t() + P["embed.b_in"]
    if il:
        h = h + P["embed.wpe"][:T]
    else:
        is_ctx = (torch.arange(T) < n_ctx)[None, :, None]
        h = h + torch.where(is_ctx, y[:, :, None] * P["embed.w_y"] + P["embed.e_ctx"], P["embed.e_query"])
    allowed = attn_mask(cfg, T, n_ctx)
    for l in range(L):
        a = Fn.layer_norm(h, (C,), P["blocks.ln1.weight"][l], P["blocks.ln1.bias"][l], eps=1e-5)
        qkv = a @ P["blocks.attn.qkv.weight"][l].t() + P["blocks.attn.qkv.bias"][l]
        q, kk, v = qkv.split(C, dim=-1)
        q = q.view(B, T, NH, hs).transpose(1, 2)
        kk = kk.view(B, T, NH, hs).transpose(1, 2)
        v = v.view(B, T, NH, hs).transpose(1, 2)
        s = (q @ kk.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
        s = s.masked_fill(~allowed, float("-inf"))
        o = (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(B, T, C)
        h = h + (o @ P["blocks.attn.proj.weight"][l].t() + P["blocks.attn.proj.bias"][l])
        a = Fn.layer_norm(h, (C,), P["blocks.ln2.weight"][l], P["blocks.ln2.bias"][l], eps=1e-5)
        f = Fn.gelu(a @ P["blocks.mlp.fc.weight"][l].t() + P["blocks.mlp.fc.bias"][l], approximate="tanh")
        h = h + (f @ P["blocks.mlp.proj.weight"][l].t() + P["blocks.mlp.proj.bias"][l])
    h = Fn.layer_norm(h, (C,), P["ln_f.weight"], P["ln_f.bias"], eps=1e-5)
    out = (h @ P["head.weight"].t() + P["head.bias"])[..., 0]               # (B,T)
    if il:
        pred = out[:, 0::2]
        loss = ((pred - y) ** 2).mean()
    else:
        pred = out
        loss = ((pred[:, n_ctx:] - y[:, n_ctx:]) ** 2).mean()
    return pred, loss


def leaves(P, names=None):
    """The tensors of P (a blocks.* entry may be a list of per-layer tensors)."""
    out = []
    for n, p in P.items():
        if names is None or n in names:
            out += list(p) if isinstance(p, (list, tuple)) else [p]
    return out


def make_optimizer(P, lr=1e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1):
    """torch.optim.AdamW with weight decay on the DECAY matrices only."""
    dec = leaves(P, DECAY)
    nodec = leaves(P, set(P) - DECAY)
    return torch.optim.AdamW([{"params": dec, "weight_decay": weight_decay},
                              {"params": nodec, "weight_decay": 0.0}],
                             lr=lr, betas=betas, eps=eps, foreach=False)


def forward_flops(cfg, B, k):
    """ef_model_forward_flops() in model.c: matmuls and attention, 2 per multiply-add."""
    T = 2 * k if cfg["layout"] == "interleaved" else k
    N, C, L, F = B * T, cfg["d_model"], cfg["n_layer"], 2 * cfg["d_max"]
    per_layer = 2.0 * N * C * (3 * C + C + 4 * C + 4 * C) + 2.0 * 2.0 * B * T * T * C
    return L * per_layer + 2.0 * N * F * C + 2.0 * N * C


def config_json(cfg):
    """The config string eraformer writes into __metadata__ (checkpoint.c config_json)."""
    return ('{"layout":"%s","n_layer":%d,"d_model":%d,"n_head":%d,"d_max":%d,"max_points":%d}'
            % (cfg["layout"], cfg["n_layer"], cfg["d_model"], cfg["n_head"], cfg["d_max"], cfg["max_points"]))


# ---- safetensors --------------------------------------------------------------------------

def save_safetensors(path, tensors, metadata):
    """tensors: [(name, array)] written in order as little-endian F32."""
    header = {"__metadata__": metadata}
    blobs, off = [], 0
    for name, t in tensors:
        a = np.ascontiguousarray(np.asarray(t, dtype="<f4"))
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    js = json.dumps(header, separators=(",", ":")).encode()
    js += b" " * ((8 - len(js) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(js)))
        f.write(js)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


# ---- golden cases -------------------------------------------------------------------------

CASES = {
    # k < max_points: positions beyond 2k must get zero gradient (and only weight decay)
    "interleaved": dict(layout="interleaved", n_layer=2, d_model=32, n_head=2, d_max=5, max_points=10),
    "rows": dict(layout="rows", n_layer=2, d_model=32, n_head=2, d_max=5, max_points=8),
}
B, K, N_CTX = 3, 8, 5
D_ACTIVE = [5, 3, 4]
LR, BETAS, EPS, WD, CLIP, STEPS = 1e-3, (0.9, 0.95), 1e-8, 0.1, 1.0, 5


def make_batch(gen, d_max):
    """x ~ N(0,1) on the active features (0 beyond d), y = x·w + noise, ~25% of the active
    features missing (row 0 of every sequence fully observed)."""
    x = torch.randn(B, K, d_max, generator=gen)
    d = torch.tensor(D_ACTIVE, dtype=torch.int64)
    active = torch.arange(d_max)[None, None, :] < d[:, None, None]
    x = torch.where(active, x, torch.zeros(()))
    w = torch.randn(B, d_max, generator=gen)
    y = (x * w[:, None, :]).sum(-1) / torch.sqrt(d.to(torch.float32))[:, None] \
        + 0.1 * torch.randn(B, K, generator=gen)
    mask = torch.rand(B, K, d_max, generator=gen) >= 0.25
    mask[:, 0, :] = True
    return x, y, mask, d


def run_case(name, cfg, out_dir):
    gen = torch.Generator().manual_seed(20261125 + (0 if name == "interleaved" else 1))
    P = init_golden(cfg, gen)
    x, y, mask, d = make_batch(gen, cfg["d_max"])
    n_ctx = N_CTX if cfg["layout"] == "rows" else 0
    table = param_table(cfg)
    meta = {"format": "eraformer", "version": "1", "config": config_json(cfg)}
    save_safetensors(os.path.join(out_dir, f"{name}_params.safetensors"),
                     [(n, P[n].numpy()) for n, _ in table], meta)

    for p in leaves(P):
        p.requires_grad_(True)
    pred, loss = forward(cfg, P, x, y, mask, d, n_ctx)
    loss.backward()
    inputs = [("x", x), ("y", y), ("mask", mask.float()), ("d", d.float()),
              ("n_ctx", torch.tensor([float(n_ctx)]))]
    out = [(n, t.detach().numpy()) for n, t in inputs]
    out += [("pred", pred.detach().numpy()), ("loss", np.array([loss.item()]))]
    out += [("grad." + n, P[n].grad.numpy()) for n, _ in table]
    save_safetensors(os.path.join(out_dir, f"{name}_grads.safetensors"), out,
                     {"config": config_json(cfg), "generator": "tools/gen_golden.py",
                      "what": "one forward + backward from <layout>_params.safetensors"})

    opt = make_optimizer(P, LR, BETAS, EPS, WD)
    losses, norms = [], []
    for _ in range(STEPS):
        opt.zero_grad(set_to_none=False)
        _, loss = forward(cfg, P, x, y, mask, d, n_ctx)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(leaves(P), CLIP)
        opt.step()
        losses.append(loss.item())
        norms.append(norm.item())
    out = [("losses", np.array(losses)), ("grad_norms", np.array(norms))]
    out += [("final." + n, P[n].detach().numpy()) for n, _ in table]
    save_safetensors(os.path.join(out_dir, f"{name}_steps.safetensors"), out,
                     {"config": config_json(cfg), "generator": "tools/gen_golden.py",
                      "optimizer": json.dumps({"lr": LR, "betas": BETAS, "eps": EPS, "weight_decay": WD,
                                               "decay": sorted(DECAY), "clip_grad_norm": CLIP,
                                               "steps": STEPS})})
    print(f"{name}: loss {losses[0]:.6f} -> {losses[-1]:.6f}, grad norms "
          + " ".join(f"{v:.3f}" for v in norms))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "..", "tests", "model", "golden"))
    args = ap.parse_args()
    torch.set_default_dtype(torch.float32)
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    for name, cfg in CASES.items():
        run_case(name, cfg, args.out)


if __name__ == "__main__":
    main()
