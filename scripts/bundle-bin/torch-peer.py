#!/usr/bin/env python3
"""PyTorch peer check of a `kernels4j dump` folder: recomputes every dumped op independently and compares.

    torch-peer.py DUMP_DIR [--out DIR] [--backend auto|torch|numpy] [--device cuda|cpu]
    torch-peer.py --cpu-selftest [--out DIR]

DUMP_DIR holds manifest.json and the .npy files written by `kernels4j dump`. Writes peer.json and
peer.md (to --out, default DUMP_DIR): per op pass/fail, the metrics (SPEC-style diff =
1 - 2*sum(x*y)/sum(x*x + y*y), max abs error, NaN count) and where DeepGEMM / FlashMLA semantics
differ from PyTorch's. The torch backend runs on the GPU (TF32 off, FP32 arithmetic); without torch
the numpy backend computes the same in FP64 on the CPU (labelled so). --cpu-selftest needs numpy
only: it writes a synthetic dump whose "kernel outputs" come from this script's own reference, checks
that it passes, then corrupts each op's output and checks that each is caught.
Exit status: 0 every op passed, 1 an op failed, 2 bad usage or unreadable dump.
"""
import argparse
import json
import math
import os
import sys
import tempfile

import numpy as np

GEMM_DIFF_TOL = 1e-5      # kernels4j check's gate against the dequantised inputs
MLA_DIFF_TOL = 1e-5
MLA_LSE_TOL = 1e-4        # |lse - ref| <= tol * max(1, |ref|)
COMBINE_DIFF_TOL = 1e-5
FP8_DISPATCH_DIFF_TOL = 1e-3  # dequantised FP8 rows against the BF16 input (quantisation error only)

NOTES = {
    "gemm": "DeepGEMM semantics: A has 1x128 per-token-group scales (FP32, MN-major [ceil(K/128), alignUp(M,4)]), "
            "B 128x128 per-block scales; each 128-wide K block's FP32 partial is scaled and added to an FP32 "
            "accumulator (fine-grained promotion), output rounded once to BF16. torch._scaled_mm's tensor-wise and "
            "row-wise modes apply one scale per row/column over the whole K, so they cannot express this; the "
            "script reproduces it with one row-wise _scaled_mm per 128-wide K slice accumulated in FP32, and also "
            "tries the block-wise (1x128 x 128x128) mode that recent PyTorch exposes on Hopper. The gate is the FP32 "
            "matmul of the dequantised inputs.",
    "gemm_grouped": "Grouped forms: DeepGEMM leaves padding rows (m_indices = -1) and rows past masked_m untouched "
                    "(undefined); PyTorch's grouped GEMMs have no such rows. Rows kernels4j must not write are checked "
                    "to still hold the poison pattern; the FP32 reference covers the computed rows only.",
    "mla": "FlashMLA semantics: scores over 576 dims (512 NoPE + 64 RoPE), V = the first 512 dims of the same cached "
           "row; causal with sQ > 1 is end-aligned (query i sees keys j < seqlen - (sQ - 1 - i)); lse is natural-log "
           "[b, hQ, sQ]; a query with no visible key gives out = 0 and lse = +inf, where a PyTorch softmax gives NaN "
           "(the script applies FlashMLA's convention). FP8 cache rows are 656 bytes: 512 e4m3, 4 FP32 scales (one per "
           "128 values), 64 BF16 RoPE values; PyTorch has no such format, the script decodes it.",
    "moe": "DeepEP/DeepGEMM layout semantics: rows of an expert follow ascending (token, k) order and each expert's "
           "segment is padded to the alignment (PyTorch's sort-based permute needs a stable sort to match); ids -1 are "
           "not routed; the FP8 dispatch uses 1x128 groups, scale = max(amax, 1e-4) / 448, q = e4m3(x / scale) "
           "with round-to-nearest-even (torch's float8_e4m3fn cast); combine accumulates in FP32 in ascending k order "
           "and rounds once to BF16 (index_add_ order may differ, so bitwise equality is reported, not gated).",
}


# ---------------------------------------------------------------- numeric helpers (numpy)

def bf16_to_f32(u16):
    return (np.asarray(u16).astype(np.uint32) << 16).view(np.float32)


def f32_to_bf16(x):
    """Round to BF16 (RNE), as raw uint16 bits; NaN stays NaN."""
    u = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(np.asarray(x, dtype=np.float32))
    r[nan] = 0x7FC0
    return r


def _e4m3_table():
    t = np.zeros(256, dtype=np.float64)
    for c in range(256):
        s, e, m = c >> 7, (c >> 3) & 0xF, c & 7
        if e == 15 and m == 7:
            v = math.nan
        elif e == 0:
            v = m / 8.0 * 2.0 ** -6
        else:
            v = (1 + m / 8.0) * 2.0 ** (e - 7)
        t[c] = -v if s else v
    return t


E4M3 = _e4m3_table()


def e4m3_to_f32(codes):
    return E4M3[np.asarray(codes, dtype=np.uint8)].astype(np.float32)


def f32_to_e4m3(x):
    """Round-to-nearest-even, saturating at 448 (only for the self-test's synthetic kernel)."""
    pos = E4M3[:127]  # codes 0..126, increasing
    a = np.minimum(np.abs(np.asarray(x, dtype=np.float64)), 448.0)
    hi = np.clip(np.searchsorted(pos, a), 0, 126)
    lo = np.clip(hi - 1, 0, 126)
    dlo, dhi = a - pos[lo], pos[hi] - a
    code = np.where(dlo < dhi, lo, np.where(dhi < dlo, hi, np.where(lo % 2 == 0, lo, hi)))
    return (code | np.where(np.asarray(x) < 0, 0x80, 0)).astype(np.uint8)


def metrics(ref, got):
    """SPEC-style diff, max abs error, relative L2 and NaN count of `got` (both as float64 arrays)."""
    ref = np.asarray(ref, dtype=np.float64).ravel()
    got = np.asarray(got, dtype=np.float64).ravel()
    nan = int(np.isnan(got).sum())
    if ref.size == 0:
        return {"diff": 0.0, "maxAbs": 0.0, "relL2": 0.0, "nan": nan, "n": 0}
    finite = np.where(np.isnan(got), 0.0, got)
    den = float(np.sum(ref * ref + finite * finite))
    diff = 0.0 if den == 0 else 1.0 - 2.0 * float(np.sum(ref * finite)) / den
    rn = float(np.linalg.norm(ref))
    return {"diff": diff, "maxAbs": float(np.max(np.abs(ref - finite))),
            "relL2": float(np.linalg.norm(ref - finite)) / rn if rn > 0 else float(np.linalg.norm(finite)),
            "nan": nan, "n": int(ref.size)}


# ---------------------------------------------------------------- backends

class NumpyBackend:
    name = "numpy (FP64, CPU)"

    def matmul_nt(self, a, b):  # a [m,k] @ b[n,k]^T
        return np.asarray(a, np.float64) @ np.asarray(b, np.float64).T

    def e4m3(self, codes):
        return e4m3_to_f32(codes)

    def bf16(self, u16):
        return bf16_to_f32(u16)

    def scaled_mm_variants(self, *args):
        return {}

    def quantize_1x128(self, x):
        return None


class TorchBackend:
    def __init__(self, device):
        import torch
        self.torch = torch
        self.dev = torch.device(device)
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        self.name = "torch %s (FP32, %s%s)" % (torch.__version__, device,
                                               ", " + torch.cuda.get_device_name(self.dev) if self.dev.type == "cuda" else "")

    def t(self, x, dtype=None):
        t = self.torch.from_numpy(np.ascontiguousarray(x)).to(self.dev)
        return t if dtype is None else t.to(dtype)

    def matmul_nt(self, a, b):
        return (self.t(a, self.torch.float32) @ self.t(b, self.torch.float32).T).cpu().numpy().astype(np.float64)

    def e4m3(self, codes):  # torch's own decoding, independent of the table above
        return self.t(np.asarray(codes, np.uint8)).view(self.torch.float8_e4m3fn).float().cpu().numpy()

    def bf16(self, u16):
        return self.t(np.asarray(u16, np.uint16).view(np.int16)).view(self.torch.bfloat16).float().cpu().numpy()

    def quantize_1x128(self, x):
        """torch's FP8 cast of x [rows, H] with 1x128 groups: (codes, scales [rows, H/128])."""
        torch = self.torch
        xt = self.t(x, torch.float32)
        g = xt.view(xt.shape[0], -1, 128)
        scale = torch.clamp(g.abs().amax(dim=2), min=1e-4) / 448.0
        q = (g / scale.unsqueeze(2)).to(torch.float8_e4m3fn)
        return q.view(torch.uint8).view(xt.shape).cpu().numpy(), scale.cpu().numpy()

    def scaled_mm_variants(self, a, sa_rows, b, sb_blocks):
        """torch._scaled_mm on the FP8 codes. a [m,k] codes, sa_rows [m, kb] FP32, b [n,k] codes, sb_blocks [nb, kb]."""
        torch = self.torch
        m, k = a.shape
        n = b.shape[0]
        kb = sa_rows.shape[1]
        at = self.t(a).view(torch.float8_e4m3fn)
        bt = self.t(b).view(torch.float8_e4m3fn)
        sa = self.t(sa_rows, torch.float32)
        sb = self.t(sb_blocks, torch.float32)
        sb_cols = sb.repeat_interleave(128, dim=0)[:n]  # [n, kb]
        out = {}
        # 1) One row-wise _scaled_mm per 128-wide K slice, FP32 accumulation by the script.
        try:
            acc = torch.zeros(m, n, dtype=torch.float32, device=self.dev)
            mode = None
            for j in range(kb):
                k0, k1 = j * 128, min(k, (j + 1) * 128)
                a_j = at[:, k0:k1].contiguous()
                b_j = bt[:, k0:k1].contiguous()
                s_a = sa[:, j:j + 1].contiguous()
                s_b = sb_cols[:, j].reshape(1, n).contiguous()
                try:
                    r = torch._scaled_mm(a_j, b_j.t(), scale_a=s_a, scale_b=s_b, out_dtype=torch.float32)
                    mode = mode or "row-wise per 128-K slice, FP32 out"
                except RuntimeError:
                    r = torch._scaled_mm(a_j, b_j.t(), scale_a=s_a, scale_b=s_b, out_dtype=torch.bfloat16).float()
                    mode = "row-wise per 128-K slice, BF16 partials (FP32 output refused)"
                acc += r
            out["scaled_mm_sliced"] = {"mode": mode, "value": acc.cpu().numpy().astype(np.float64)}
        except Exception as e:  # noqa: BLE001 (report whatever the library says)
            out["scaled_mm_sliced"] = {"error": "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")}
        # 2) Block-wise scaling in one call (cuBLASLt VEC128 x BLK128x128), where this PyTorch has it.
        errors = []
        for label, s_a, s_b in (
                ("block-wise, scale_a [m,kb] outer-major, scale_b [nb,kb]", sa.t().contiguous().t(), sb),
                ("block-wise, scale_a [m,kb] outer-major, scale_b [kb,nb]^T", sa.t().contiguous().t(), sb.t().contiguous().t())):
            try:
                r = torch._scaled_mm(at, bt.t(), scale_a=s_a, scale_b=s_b, out_dtype=torch.bfloat16)
                out["scaled_mm_blockwise"] = {"mode": label, "value": r.float().cpu().numpy().astype(np.float64)}
                break
            except Exception as e:  # noqa: BLE001
                errors.append("%s: %s" % (label, (str(e).splitlines() or [type(e).__name__])[0][:200]))
        else:
            out["scaled_mm_blockwise"] = {"error": "; ".join(errors)}
        return out


def make_backend(kind, device):
    if kind in ("auto", "torch"):
        try:
            import torch  # noqa: F401
            dev = device or ("cuda" if torch.cuda.is_available() else "cpu")
            if kind == "auto" and dev == "cpu" and device is None:
                return TorchBackend("cpu")
            return TorchBackend(dev)
        except ImportError:
            if kind == "torch":
                raise
    return NumpyBackend()


# ---------------------------------------------------------------- the checks

class Result:
    def __init__(self, name, op):
        self.name, self.op, self.checks, self.info = name, op, [], {}

    def gate(self, label, ok, **m):
        self.checks.append({"check": label, "pass": bool(ok), **m})

    @property
    def passed(self):
        return bool(self.checks) and all(c["pass"] for c in self.checks)


def load(dump, entry, role, name):
    t = entry[role][name]
    a = np.load(os.path.join(dump, t["file"]), allow_pickle=False)
    if list(a.shape) != list(t["shape"]):
        raise ValueError("%s: shape %s, manifest says %s" % (t["file"], a.shape, t["shape"]))
    return a, t["dtype"]


def decode(be, arr, dtype):
    if dtype == "bf16":
        return be.bf16(arr)
    if dtype == "e4m3":
        return be.e4m3(arr)
    return arr


def deq_a(be, a, sa, m, k):
    """A [m,k] codes, MN-major scales [kb, >=m] -> FP32 [m,k]."""
    s = np.repeat(sa[:, :m].T, 128, axis=1)[:, :k]
    return decode(be, a, "e4m3").astype(np.float64) * s


def deq_b(be, b, sb, n, k):
    s = np.repeat(np.repeat(sb, 128, axis=0), 128, axis=1)[:n, :k]
    return decode(be, b, "e4m3").astype(np.float64) * s


def gate_gemm(res, ref, got):
    m = metrics(ref, got)
    res.gate("vs FP32 matmul of the dequantised inputs: diff < %g, no NaN" % GEMM_DIFF_TOL,
             m["diff"] < GEMM_DIFF_TOL and m["nan"] == 0, **m)


def check_gemm_dense(be, dump, e, res):
    p = e["params"]
    m, n, k = p["m"], p["n"], p["k"]
    a, _ = load(dump, e, "inputs", "a")
    sa, _ = load(dump, e, "inputs", "sa")
    b, _ = load(dump, e, "inputs", "b")
    sb, _ = load(dump, e, "inputs", "sb")
    d, dt = load(dump, e, "outputs", "d")
    got = decode(be, d, dt)
    ref = be.matmul_nt(deq_a(be, a, sa, m, k), deq_b(be, b, sb, n, k))
    gate_gemm(res, ref, got)
    for key, v in be.scaled_mm_variants(a, sa[:, :m].T, b, sb).items():
        if "error" in v:
            res.info[key] = {"unsupported": v["error"]}
        else:
            mm = metrics(v["value"], got)
            mr = metrics(ref, v["value"])
            res.info[key] = {"mode": v["mode"], "vsKernels4j": mm, "vsFp32Reference": mr}


def check_gemm_grouped(be, dump, e, res, masked):
    p = e["params"]
    n, k, groups = p["n"], p["k"], p["groups"]
    a, _ = load(dump, e, "inputs", "a")
    sa, _ = load(dump, e, "inputs", "sa")
    b, _ = load(dump, e, "inputs", "b")
    sb, _ = load(dump, e, "inputs", "sb")
    d, dt = load(dump, e, "outputs", "d")
    poison = p["poison"]
    refs, gots, untouched_bad = [], [], 0
    if masked:
        mm, _ = load(dump, e, "inputs", "masked_m")
        max_m = p["maxM"]
        for g in range(groups):
            rows = min(max(int(mm[g]), 0), max_m)
            if rows:
                refs.append(be.matmul_nt(deq_a(be, a[g, :rows], sa[g], rows, k), deq_b(be, b[g], sb[g], n, k)))
                gots.append(decode(be, d[g, :rows], dt))
            untouched_bad += int(np.sum(d[g, rows:] != poison))
    else:
        mi, _ = load(dump, e, "inputs", "m_indices")
        sum_m = mi.shape[0]
        adeq = deq_a(be, a, sa, sum_m, k)
        for g in range(groups):
            rows = np.nonzero(mi == g)[0]
            if rows.size:
                refs.append(be.matmul_nt(adeq[rows], deq_b(be, b[g], sb[g], n, k)))
                gots.append(decode(be, d[rows], dt))
        untouched_bad = int(np.sum(d[mi < 0] != poison))
    ref = np.concatenate([r.ravel() for r in refs]) if refs else np.zeros(0)
    got = np.concatenate([x.ravel() for x in gots]) if gots else np.zeros(0)
    gate_gemm(res, ref, got)
    res.gate("rows DeepGEMM leaves undefined are untouched (poison kept)", untouched_bad == 0, written=untouched_bad)
    res.gate("no device error bits", p.get("deviceErrors", 0) == 0, deviceErrors=p.get("deviceErrors", 0))


def mla_rows(be, cache, dtype):
    """Cache [..., 576] BF16 or [..., 656] FP8 rows -> FP32 [..., 576]."""
    if dtype == "bf16":
        return decode(be, cache, "bf16")
    flat = cache.reshape(-1, cache.shape[-1])
    vals = decode(be, flat[:, :512], "e4m3").reshape(-1, 4, 128)
    scales = np.ascontiguousarray(flat[:, 512:528]).view("<f4").reshape(-1, 4, 1)
    rope = decode(be, np.ascontiguousarray(flat[:, 528:656]).view("<u2"), "bf16")
    out = np.concatenate([(vals * scales).reshape(-1, 512), rope], axis=1)
    return out.reshape(cache.shape[:-1] + (576,))


def mla_reference(be, dump, e):
    """FP32 attention over the gathered pages: (out [b, sQ, hQ, 512], lse [b, hQ, sQ])."""
    p = e["params"]
    b, sq, hq, hkv, page = p["b"], p["sQ"], p["hQ"], p["hKV"], p["pageSize"]
    scale, causal = p["scale"], p["causal"]
    q, _ = load(dump, e, "inputs", "q")
    cache, cdt = load(dump, e, "inputs", "kv_cache")
    table, _ = load(dump, e, "inputs", "block_table")
    seqlens, _ = load(dump, e, "inputs", "seqlens")
    qf = decode(be, q, "bf16").astype(np.float64)
    hper = hq // hkv
    ref_out = np.zeros((b, sq, hq, 512))
    ref_lse = np.full((b, hq, sq), np.inf)
    torch = getattr(be, "torch", None)
    for r in range(b):
        L = int(seqlens[r])
        if L <= 0:
            continue
        pages = table[r, :(L + page - 1) // page]
        rows = mla_rows(be, cache[pages], cdt).reshape(-1, hkv, 576)[:L]  # gathered pages
        for kh in range(hkv):
            kv = rows[:, kh, :]
            qs = qf[r, :, kh * hper:(kh + 1) * hper, :].reshape(sq * hper, 576)
            lim = np.array([max(0, L - (sq - 1 - i)) if causal and sq > 1 else L for i in range(sq)]).repeat(hper)
            mask = np.arange(L)[None, :] < lim[:, None]
            if torch is not None:
                s = be.t(qs, torch.float32) @ be.t(kv, torch.float32).T * scale
                s = s.masked_fill(~be.t(mask), float("-inf"))
                l = torch.logsumexp(s, dim=1)
                pr = torch.softmax(s, dim=1).nan_to_num(0.0)
                o = (pr @ be.t(kv[:, :512], torch.float32)).cpu().numpy().astype(np.float64)
                l = l.cpu().numpy().astype(np.float64)
            else:
                s = qs @ kv.T * scale
                s = np.where(mask, s, -np.inf)
                mx = np.max(s, axis=1, keepdims=True)
                mx = np.where(np.isfinite(mx), mx, 0.0)
                w = np.exp(s - mx)
                den = w.sum(axis=1, keepdims=True)
                o = np.where(den > 0, (w @ kv[:, :512]) / np.where(den > 0, den, 1), 0.0)
                l = np.where(den[:, 0] > 0, mx[:, 0] + np.log(np.where(den[:, 0] > 0, den[:, 0], 1)), np.inf)
            empty = lim == 0
            o[empty] = 0.0  # FlashMLA: no visible key -> out 0, lse +inf
            l = np.where(empty, np.inf, l)
            o = o.reshape(sq, hper, 512)
            l = l.reshape(sq, hper)
            ref_out[r, :, kh * hper:(kh + 1) * hper, :] = o
            ref_lse[r, kh * hper:(kh + 1) * hper, :] = l.T
    return ref_out, ref_lse


def check_mla(be, dump, e, res):
    p = e["params"]
    out, odt = load(dump, e, "outputs", "out")
    lse, _ = load(dump, e, "outputs", "lse")
    ref_out, ref_lse = mla_reference(be, dump, e)
    got = decode(be, out, odt)
    m = metrics(ref_out, got)
    res.gate("out vs FP32 attention over the gathered pages: diff < %g, no NaN" % MLA_DIFF_TOL,
             m["diff"] < MLA_DIFF_TOL and m["nan"] == 0, **m)
    inf_ref = np.isinf(ref_lse)
    inf_ok = bool(np.all(np.isposinf(lse[inf_ref])))
    fin = ~inf_ref
    err = np.abs(lse[fin].astype(np.float64) - ref_lse[fin]) / np.maximum(1.0, np.abs(ref_lse[fin]))
    max_err = float(err.max()) if err.size else 0.0
    res.gate("lse within %g * max(1, |ref|), +inf where no key is visible" % MLA_LSE_TOL,
             inf_ok and max_err <= MLA_LSE_TOL and not np.isnan(lse).any(), lseMaxRelErr=max_err,
             lseInfExpected=int(inf_ref.sum()), lseNan=int(np.isnan(lse).sum()))
    res.gate("no device error bits", p.get("deviceErrors", 0) == 0, deviceErrors=p.get("deviceErrors", 0))


def check_moe(be, dump, e, res):
    p = e["params"]
    T, K, E, H, align, cap = p["numTokens"], p["topK"], p["numExperts"], p["hidden"], p["alignment"], p["capacity"]
    poison = p["poison"]
    topk, _ = load(dump, e, "inputs", "topk_idx")
    w, _ = load(dump, e, "inputs", "topk_weights")
    x, _ = load(dump, e, "inputs", "x")
    y, _ = load(dump, e, "inputs", "y")
    o = {n: load(dump, e, "outputs", n)[0] for n in e["outputs"]}
    # Layout, by a stable sort of the (token, k) pairs by expert.
    flat = topk.ravel()
    valid = (flat >= 0) & (flat < E)
    counts = np.bincount(flat[valid], minlength=E)
    padded = (counts + align - 1) // align * align
    offsets = np.concatenate([[0], np.cumsum(padded)])
    order = np.argsort(np.where(valid, flat, E), kind="stable")
    row_of = np.full(flat.shape, -1, dtype=np.int64)
    rank = np.zeros(E, dtype=np.int64)
    for pair in order[:int(valid.sum())]:
        ex = flat[pair]
        row_of[pair] = offsets[ex] + rank[ex]
        rank[ex] += 1
    row_of = row_of.reshape(T, K)
    res.gate("layout: counts, offsets, total, rowOf equal a stable sort by expert",
             np.array_equal(o["num_tokens_per_expert"], counts) and np.array_equal(o["expert_offsets"], offsets)
             and int(o["total_rows"][0]) == int(offsets[-1]) and np.array_equal(o["row_of"], row_of),
             totalRows=int(offsets[-1]))
    m_idx = np.full(cap, -1)
    for ex in range(E):
        m_idx[offsets[ex]:offsets[ex] + counts[ex]] = ex
    res.gate("m_indices: expert of each real row, -1 for padding", np.array_equal(o["m_indices"], m_idx))
    # Dispatch BF16: gather by index, bitwise.
    tok = np.repeat(np.arange(T), K).reshape(T, K)
    routed = row_of >= 0
    xd = o["x_dispatched"]
    bit_bad = int(np.sum(xd[row_of[routed]] != x[tok[routed]]))
    pad_rows = np.ones(cap, bool)
    pad_rows[row_of[routed]] = False
    pad_written = int(np.sum(xd[pad_rows] != poison))
    res.gate("dispatch BF16: routed rows equal x[token] bitwise; padding untouched", bit_bad == 0 and pad_written == 0,
             mismatches=bit_bad, paddingWritten=pad_written)
    # Dispatch FP8: dequantised rows against x, and torch's own cast where available.
    xq, xs = o["x_dispatched_fp8"], o["x_dispatched_scales"]
    rows = row_of[routed]
    deq = decode(be, xq[rows], "e4m3").reshape(-1, H // 128, 128) * xs[:, rows].T[:, :, None]
    xf = decode(be, x, "bf16")[tok[routed]]
    m = metrics(xf, deq.reshape(-1, H))
    res.gate("dispatch FP8: dequantised rows vs x, diff < %g" % FP8_DISPATCH_DIFF_TOL,
             m["diff"] < FP8_DISPATCH_DIFF_TOL and m["nan"] == 0, **m)
    tq = be.quantize_1x128(xf)
    if tq is not None:
        codes, scales = tq
        res.info["fp8CastVsTorch"] = {"codeMismatches": int(np.sum(codes != xq[rows])),
                                      "scaleMismatches": int(np.sum(scales.astype(np.float32) != xs[:, rows].T)),
                                      "values": int(codes.size)}
    # Combine: FP32 index_add over k.
    yf = decode(be, y, "bf16").astype(np.float64)
    ref = np.zeros((T, H))
    torch = getattr(be, "torch", None)
    if torch is not None:
        acc = torch.zeros(T, H, dtype=torch.float32, device=be.dev)
        src = be.t(yf[row_of[routed]], torch.float32) * be.t(w[routed].astype(np.float32))[:, None]
        acc.index_add_(0, be.t(tok[routed].astype(np.int64)), src)
        ref = acc.cpu().numpy().astype(np.float64)
    else:
        np.add.at(ref, tok[routed], yf[row_of[routed]] * w[routed].astype(np.float64)[:, None])
    got = decode(be, o["combined"], "bf16")
    m = metrics(ref, got)
    res.gate("combine vs FP32 index_add of weighted rows: diff < %g, no NaN" % COMBINE_DIFF_TOL,
             m["diff"] < COMBINE_DIFF_TOL and m["nan"] == 0, **m)
    res.info["combineBitwiseEqualAfterBf16Rounding"] = float(np.mean(f32_to_bf16(ref.astype(np.float32)) == o["combined"]))
    res.gate("no device error bits", p.get("deviceErrors", 0) == 0, deviceErrors=p.get("deviceErrors", 0))


CHECKS = {
    "gemm_dense": (check_gemm_dense, "gemm"),
    "gemm_grouped_contiguous": (lambda be, d, e, r: check_gemm_grouped(be, d, e, r, False), "gemm_grouped"),
    "gemm_grouped_masked": (lambda be, d, e, r: check_gemm_grouped(be, d, e, r, True), "gemm_grouped"),
    "mla_decode_bf16": (check_mla, "mla"),
    "mla_decode_fp8": (check_mla, "mla"),
    "moe_dispatch_combine": (check_moe, "moe"),
}


def run_checks(dump, be):
    with open(os.path.join(dump, "manifest.json")) as f:
        man = json.load(f)
    results = []
    for e in man.get("cases", []):
        r = Result(e["name"], e["op"])
        if not e.get("ok", False):
            r.gate("kernels4j ran the case", False, error=e.get("error", "no outputs"))
        elif e["name"] not in CHECKS:
            r.gate("known case", False, error="no peer check for case " + e["name"])
        else:
            fn, note = CHECKS[e["name"]]
            r.info["semantics"] = NOTES[note]
            try:
                fn(be, dump, e, r)
            except Exception as ex:  # noqa: BLE001 (a broken case must not hide the others)
                r.gate("peer computation ran", False, error="%s: %s" % (type(ex).__name__, ex))
        results.append(r)
    return man, results


def fmt(v):
    if isinstance(v, float):
        return "%.3g" % v
    return str(v)


def write_report(out, dump, man, results, backend):
    os.makedirs(out, exist_ok=True)
    emulated = "emulator" in str(man.get("device", "")).lower()
    doc = {"kind": "torch-peer", "backend": backend, "device": man.get("device"), "emulated": emulated,
           "commit": man.get("commit"), "seed": man.get("seed"), "dump": os.path.abspath(dump),
           "passed": sum(r.passed for r in results), "failed": sum(not r.passed for r in results),
           "ops": [{"name": r.name, "op": r.op, "pass": r.passed, "checks": r.checks, "info": r.info} for r in results]}
    with open(os.path.join(out, "peer.json"), "w") as f:
        json.dump(doc, f, indent=2, default=lambda o: o.item() if hasattr(o, "item") else str(o))
    md = ["# kernels4j vs PyTorch peer check" + (" (EMULATED device)" if emulated else ""), "",
          "- kernels4j device: %s" % man.get("device"), "- peer: %s" % backend,
          "- commit: %s, seed: %s" % (man.get("commit"), man.get("seed")), "",
          "| case | op | result | check | metrics |", "|---|---|---|---|---|"]
    for r in results:
        for i, c in enumerate(r.checks):
            ms = ", ".join("%s=%s" % (k, fmt(v)) for k, v in c.items() if k not in ("check", "pass"))
            md.append("| %s | %s | %s | %s | %s |" % (r.name if i == 0 else "", r.op if i == 0 else "",
                                                     ("pass" if c["pass"] else "**FAIL**"), c["check"], ms.replace("|", "/")))
    md += ["", "%d passed, %d failed" % (doc["passed"], doc["failed"]), "", "## Extra comparisons", ""]
    for r in results:
        for k, v in r.info.items():
            if k != "semantics":
                md.append("- %s / %s: %s" % (r.name, k, json.dumps(v, default=str)))
    md += ["", "## Where DeepGEMM / FlashMLA / DeepEP semantics differ from PyTorch's", ""]
    md += ["- **%s**: %s" % (k, v) for k, v in NOTES.items()]
    with open(os.path.join(out, "peer.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    return doc


# ---------------------------------------------------------------- self-test (numpy only)

def synth_dump(d, rng, corrupt=None):
    """A dump in kernels4j's format whose outputs come from this script's reference (optionally corrupted)."""
    be = NumpyBackend()
    cases = []

    def save(entry, role, name, dtype, arr):
        fn = "%s.%s.npy" % (entry["name"], name)
        np.save(os.path.join(d, fn), arr)
        entry[role][name] = {"file": fn, "dtype": dtype, "shape": list(arr.shape)}

    def case(name, op, params):
        e = {"name": name, "op": op, "ok": True, "params": dict(params, deviceErrors=0), "inputs": {}, "outputs": {}}
        cases.append(e)
        return e

    def codes(*shape):
        c = rng.integers(0, 256, size=shape, dtype=np.uint8)
        c[(c & 0x7F) == 0x7F] = 0x3C  # no NaN codes
        return c

    def bad(name, arr):
        if corrupt == name:
            arr = arr.copy()
            arr.reshape(-1)[:16] ^= 0x8000  # BF16 sign bits: sixteen elements negated
        return arr

    # dense GEMM
    m, n, k = 20, 192, 256
    e = case("gemm_dense", "Fp8Gemm.dense", {"m": m, "n": n, "k": k})
    a, b = codes(m, k), codes(n, k)
    sa = rng.uniform(0.01, 0.1, (k // 128, (m + 3) // 4 * 4)).astype(np.float32)
    sb = rng.uniform(0.01, 0.1, ((n + 127) // 128, k // 128)).astype(np.float32)
    for nm, dt, arr in (("a", "e4m3", a), ("sa", "f32", sa), ("b", "e4m3", b), ("sb", "f32", sb)):
        save(e, "inputs", nm, dt, arr)
    save(e, "outputs", "d", "bf16", bad("gemm_dense", f32_to_bf16(be.matmul_nt(deq_a(be, a, sa, m, k), deq_b(be, b, sb, n, k)))))
    # grouped masked
    g, max_m = 2, 8
    e = case("gemm_grouped_masked", "Fp8Gemm.groupedMasked", {"n": n, "k": k, "groups": g, "maxM": max_m, "expectedM": 8,
                                                              "poison": 0x7FC0})
    a, b = codes(g, max_m, k), codes(g, n, k)
    sa = rng.uniform(0.01, 0.1, (g, k // 128, max_m)).astype(np.float32)
    sb = rng.uniform(0.01, 0.1, (g, (n + 127) // 128, k // 128)).astype(np.float32)
    mm = np.array([3, 8], dtype=np.int32)
    dd = np.full((g, max_m, n), 0x7FC0, dtype=np.uint16)
    for gi in range(g):
        dd[gi, :mm[gi]] = f32_to_bf16(be.matmul_nt(deq_a(be, a[gi, :mm[gi]], sa[gi], mm[gi], k), deq_b(be, b[gi], sb[gi], n, k)))
    for nm, dt, arr in (("a", "e4m3", a), ("sa", "f32", sa), ("b", "e4m3", b), ("sb", "f32", sb), ("masked_m", "i32", mm)):
        save(e, "inputs", nm, dt, arr)
    save(e, "outputs", "d", "bf16", bad("gemm_grouped_masked", dd))
    # MLA, FP8 cache, causal sQ=2, one empty request
    b_, sq, hq, hkv, page = 2, 2, 4, 1, 16
    seqlens = np.array([37, 0], dtype=np.int32)
    nblk = 5
    table = np.array([[3, 0, 4, 1], [-7, 99, 5, 5]], dtype=np.int32)
    rows = np.zeros((nblk, page, hkv, 656), dtype=np.uint8)
    rows[..., :512] = codes(nblk, page, hkv, 512)
    rows[..., 512:528] = np.full((nblk, page, hkv, 4), 2.0 ** -6, dtype="<f4").view(np.uint8)
    rows[..., 528:] = f32_to_bf16(rng.normal(size=(nblk, page, hkv, 64))).view(np.uint8)
    q = f32_to_bf16(rng.normal(size=(b_, sq, hq, 576)))
    e = case("mla_decode_fp8", "MlaDecode.forward", {"b": b_, "sQ": sq, "hQ": hq, "hKV": hkv, "pageSize": page, "causal": True,
                                                     "scale": 0.1352338, "fp8": True})
    for nm, dt, arr in (("q", "bf16", q), ("kv_cache", "u8", rows), ("block_table", "i32", table), ("seqlens", "i32", seqlens)):
        save(e, "inputs", nm, dt, arr)
    # the "kernel": this script's own numpy reference
    ref_out, ref_lse = mla_reference(be, d, e)
    save(e, "outputs", "out", "bf16", bad("mla_decode_fp8", f32_to_bf16(ref_out)))
    save(e, "outputs", "lse", "f32", ref_lse.astype(np.float32))
    # MoE
    T, K, E, H, align = 6, 2, 4, 256, 8
    topk = np.array([[0, 3], [3, -1], [1, 3], [3, 0], [-1, -1], [2, 3]], dtype=np.int32)
    w = rng.uniform(0.05, 1, (T, K)).astype(np.float32)
    x = f32_to_bf16(rng.normal(size=(T, H)))
    cap = T * K + min(T * K, E) * (align - 1)
    y = f32_to_bf16(rng.normal(size=(cap, H)))
    e = case("moe_dispatch_combine", "MoeLayout.compute+MoeDispatch.contiguous+MoeCombine.contiguous",
             {"numTokens": T, "topK": K, "numExperts": E, "hidden": H, "alignment": align, "capacity": cap, "poison": 0x7FC0})
    for nm, dt, arr in (("topk_idx", "i32", topk), ("topk_weights", "f32", w), ("x", "bf16", x), ("y", "bf16", y)):
        save(e, "inputs", nm, dt, arr)
    flat = topk.ravel()
    valid = flat >= 0
    counts = np.bincount(flat[valid], minlength=E).astype(np.int32)
    offs = np.concatenate([[0], np.cumsum((counts + align - 1) // align * align)]).astype(np.int32)
    row_of = np.full(T * K, -1, np.int32)
    nxt = offs[:-1].copy()
    for pidx in range(T * K):
        if valid[pidx]:
            row_of[pidx] = nxt[flat[pidx]]
            nxt[flat[pidx]] += 1
    xd = np.full((cap, H), 0x7FC0, np.uint16)
    xq = np.zeros((cap, H), np.uint8)
    xs = np.zeros((H // 128, (cap + 3) // 4 * 4), np.float32)
    comb = np.zeros((T, H))
    for pidx in range(T * K):
        if row_of[pidx] >= 0:
            r, t = row_of[pidx], pidx // K
            xd[r] = x[t]
            xf = bf16_to_f32(x[t]).reshape(-1, 128)
            s = (np.maximum(np.abs(xf).max(axis=1), np.float32(1e-4)) / np.float32(448)).astype(np.float32)
            xq[r] = f32_to_e4m3((xf / s[:, None]).astype(np.float32)).ravel()
            xs[:, r] = s
            comb[t] += w.ravel()[pidx] * bf16_to_f32(y[r]).astype(np.float64)
    m_idx = np.full(cap, -1, np.int32)
    for ex in range(E):
        m_idx[offs[ex]:offs[ex] + counts[ex]] = ex
    for nm, dt, arr in (("num_tokens_per_expert", "i32", counts), ("expert_offsets", "i32", offs),
                        ("total_rows", "i32", np.array([offs[-1]], np.int32)), ("row_of", "i32", row_of.reshape(T, K)),
                        ("x_dispatched", "bf16", xd), ("x_dispatched_fp8", "e4m3", xq), ("x_dispatched_scales", "f32", xs),
                        ("m_indices", "i32", m_idx), ("combined", "bf16", f32_to_bf16(comb))):
        save(e, "outputs", nm, dt, bad("moe_dispatch_combine", arr) if nm == "combined" else arr)
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump({"kind": "peer-dump", "format": 1, "device": "synthetic (torch-peer.py --cpu-selftest)", "commit": "n/a",
                   "seed": 0, "cases": cases}, f, indent=1)


def selftest(out):
    ok = True
    be = NumpyBackend()
    for corrupt in (None, "gemm_dense", "gemm_grouped_masked", "mla_decode_fp8", "moe_dispatch_combine"):
        d = tempfile.mkdtemp(prefix="torch-peer-selftest-")
        synth_dump(d, np.random.default_rng(1234), corrupt)
        man, results = run_checks(d, be)
        failed = sorted(r.name for r in results if not r.passed)
        want = [] if corrupt is None else [corrupt]
        ok &= failed == want and len(results) == 4
        print("selftest, corrupted: %s -> failed: %s (%s)" % (corrupt, failed, "ok" if failed == want else "WRONG"))
        for r in results:
            for c in r.checks:
                if not c["pass"] and r.name != corrupt:
                    print("   unexpected:", r.name, c)
        if corrupt is None:
            write_report(out or d, d, man, results, be.name + ", synthetic self-test")
    print("selftest: " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dump", nargs="?", help="folder written by `kernels4j dump`")
    ap.add_argument("--out", help="folder for peer.json and peer.md (default: the dump folder)")
    ap.add_argument("--backend", choices=("auto", "torch", "numpy"), default="auto")
    ap.add_argument("--device", choices=("cuda", "cpu"), help="torch device (default: cuda when available)")
    ap.add_argument("--cpu-selftest", action="store_true", help="check this script on synthetic data (numpy only)")
    a = ap.parse_args(argv)
    if a.cpu_selftest:
        return selftest(a.out)
    if not a.dump:
        ap.error("DUMP_DIR is required (or --cpu-selftest)")
    if not os.path.isfile(os.path.join(a.dump, "manifest.json")):
        print("torch-peer: no manifest.json in %s" % a.dump, file=sys.stderr)
        return 2
    try:
        be = make_backend(a.backend, a.device)
    except ImportError:
        print("torch-peer: --backend torch, but torch is not importable", file=sys.stderr)
        return 2
    man, results = run_checks(a.dump, be)
    doc = write_report(a.out or a.dump, a.dump, man, results, be.name)
    for r in results:
        print("%-26s %-4s %s" % (r.name, "PASS" if r.passed else "FAIL",
                                 "; ".join(c["check"] + ": " + ", ".join("%s=%s" % (k, fmt(v)) for k, v in c.items()
                                                                          if k not in ("check", "pass"))
                                           for c in r.checks if not c["pass"])))
    print("peer: %d passed, %d failed (%s); report %s" % (doc["passed"], doc["failed"], be.name,
                                                         os.path.join(a.out or a.dump, "peer.md")))
    return 0 if doc["failed"] == 0 and results else 1


if __name__ == "__main__":
    sys.exit(main())
