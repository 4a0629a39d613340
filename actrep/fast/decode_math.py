"""The decoder's per-step math, written out over the model's weights (actrep/fast/decode.py runs it).

One dense Qwen-VL decoder layer split around its attention (`pre_attention`: RMSNorm, q/k/v, rope;
`post_attention`: o_proj, residual, SwiGLU MLP), the attention of G rows against their video's
shared prompt keys plus their own (`shared_prefix_attention`), and HF's sampling rules on the device
(`sample_tokens`). Plain tensor functions, so torch.compile can fuse each one and a CUDA graph can
capture a whole step; tests check them against the transformers layers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class SamplingConfig:
    max_new_tokens: int
    do_sample: bool = True
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    min_new_tokens: int = 0  # EOS is suppressed for the first min_new_tokens tokens (= max: forced length)
    eos_token_id: int | None = None
    pad_token_id: int | None = None

    @classmethod
    def from_generation_config(cls, config, max_new_tokens: int | None = None) -> "SamplingConfig":
        eos = config.eos_token_id
        eos = eos[0] if isinstance(eos, (list, tuple)) else eos
        return cls(max_new_tokens=max_new_tokens or config.max_new_tokens, do_sample=bool(config.do_sample),
                   temperature=config.temperature or 1.0, top_k=config.top_k or 0,
                   top_p=config.top_p if config.top_p is not None else 1.0, min_new_tokens=config.min_new_tokens or 0,
                   eos_token_id=eos, pad_token_id=config.pad_token_id)


def rms_norm(x, weight, eps: float):
    dtype = x.dtype
    xf = x.float()
    xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)
    return weight * xf.to(dtype)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def pre_attention(x, cos, sin, ln, eps: float, wq, bq, wk, bk, wv, bv, qn, kn, qk_eps: float, heads: int, kv_heads: int,
                   head_dim: int):
    """Input norm, q/k/v projections (+ Qwen3's per-head q/k norm), rope. q in the model dtype, k/v float32."""
    rows = x.shape[0]
    h = rms_norm(x, ln, eps)
    q = F.linear(h, wq, bq).view(rows, 1, heads, head_dim)
    k = F.linear(h, wk, bk).view(rows, 1, kv_heads, head_dim)
    v = F.linear(h, wv, bv).view(rows, 1, kv_heads, head_dim)
    if qn is not None:
        q, k = rms_norm(q, qn, qk_eps), rms_norm(k, kn, qk_eps)
    q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
    q = q * cos + rotate_half(q) * sin
    k = k * cos + rotate_half(k) * sin
    return q, k.float(), v.float()


def post_attention(x, attended, wo, bo, ln, eps: float, wg, wu, wd):
    """o_proj + residual, post-attention norm, SwiGLU MLP + residual."""
    x = x + F.linear(attended, wo, bo)
    h = rms_norm(x, ln, eps)
    return x + F.linear(F.silu(F.linear(h, wg)) * F.linear(h, wu), wd)


def shared_prefix_attention(q, keys, values, prefix_keys, prefix_values, suffix_bias, prefix_bias, scaling: float):
    """One query per row against [its video's prompt keys + its own generated keys].

    q [V*G, H, 1, D]; keys/values (own) [V, Hkv, G, N, D]; prefix_keys/values [V, Hkv, P, D];
    suffix_bias [N] (0 / -inf: generated so far); prefix_bias [V, 1, 1, P] or None (left padding).
    Query head h uses key head h // (H / Hkv), as repeat_kv does. Returns [V*G, 1, H*D] in q's dtype.
    """
    videos, kv_heads, group, steps, head_dim = keys.shape
    rows, heads = q.shape[0], q.shape[1]
    per_kv = heads // kv_heads
    qv = q.float().reshape(videos, group, kv_heads, per_kv, head_dim).permute(0, 2, 1, 3, 4)  # [V, Hkv, G, g, D]
    prefix_scores = torch.matmul(qv.reshape(videos, kv_heads, group * per_kv, head_dim), prefix_keys.transpose(-1, -2))
    if prefix_bias is not None:
        prefix_scores = prefix_scores + prefix_bias
    own_scores = torch.matmul(qv, keys.transpose(-1, -2)) + suffix_bias  # [V, Hkv, G, g, N]
    scores = torch.cat([prefix_scores, own_scores.reshape(videos, kv_heads, group * per_kv, steps)], dim=-1) * scaling
    probs = scores.softmax(dim=-1)
    length = prefix_keys.shape[2]
    out = _split_k_matmul(probs[..., :length], prefix_values).reshape(videos, kv_heads, group, per_kv, head_dim)
    out = out + torch.matmul(probs[..., length:].reshape(videos, kv_heads, group, per_kv, steps), values)
    return out.permute(0, 2, 1, 3, 4).reshape(rows, 1, heads * head_dim).to(q.dtype)


PREFIX_CHUNK = 256  # FastDecoder sizes prompt buffers to multiples of this (its length_bucket)


def _split_k_matmul(probs, values):
    """probs [B.., M, P] @ values [B.., P, D] with the P-long sum cut into 256-key chunks, each chunk a
    batch entry, and the partial products added up.

    Why by hand: for a decode step M is small (G x query heads per key head = 64) and P long (a
    64-frame prompt: ~4.8k keys), and cuBLAS's float32 kernel for that shape gives one thread block per
    32 x 32 output tile, each looping over all P keys: 32 blocks on a 132-SM H100, 176 us per layer
    and 49% of the decode step's kernel time (ncu, bench/results/2026-12-05-decode-profile-h100.md). Chunks
    make (P / 256) times as many blocks; the result differs only in the order of float32 additions."""
    length = probs.shape[-1]
    if length % PREFIX_CHUNK or length < 4 * PREFIX_CHUNK:
        return torch.matmul(probs, values)
    chunks = length // PREFIX_CHUNK
    *batch, rows, _ = probs.shape
    parts = torch.matmul(probs.reshape(*batch, rows, chunks, PREFIX_CHUNK).transpose(-3, -2),  # [B.., chunks, M, 256]
                         values.reshape(*batch, chunks, PREFIX_CHUNK, values.shape[-1]))  # [B.., chunks, 256, D]
    return parts.sum(-3)


def sample_tokens(logits, k_index, config: SamplingConfig, finished):
    """Next tokens [rows] from float32 logits [rows, vocab], on the device (no host sync).

    `k_index` is a 1-element long tensor: the index of the token being drawn (for min_new_tokens);
    `finished` [rows] bool is updated in place (rows that emitted EOS keep producing pad).
    """
    eos, pad = config.eos_token_id, config.pad_token_id
    if eos is not None and config.min_new_tokens > 0:
        suppress = k_index < config.min_new_tokens
        logits[:, eos] = torch.where(suppress, torch.full_like(logits[:, eos], -math.inf), logits[:, eos])
    if not config.do_sample:
        tokens = logits.argmax(dim=-1)
    else:
        if config.temperature != 1.0:
            logits = logits / config.temperature
        if config.top_k and config.top_k < logits.shape[-1]:
            kth = torch.topk(logits, config.top_k, dim=-1).values[:, -1:]
            logits = logits.masked_fill(logits < kth, -math.inf)
        if config.top_p < 1.0:
            ordered, order = torch.sort(logits, descending=False)
            remove = ordered.softmax(dim=-1).cumsum(dim=-1) <= (1 - config.top_p)
            remove[:, -1] = False
            logits = logits.masked_fill(remove.scatter(1, order, remove), -math.inf)
        uniform = torch.rand_like(logits).clamp_(min=1e-20, max=1.0 - 1e-7)
        tokens = (logits - torch.log(-torch.log(uniform))).argmax(dim=-1)
    if eos is not None:
        if pad is not None:
            tokens = torch.where(finished, torch.full_like(tokens, pad), tokens)
        finished |= tokens == eos
    return tokens
