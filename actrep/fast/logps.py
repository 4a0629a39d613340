"""Memory-lean log-probabilities: the LM head applied to completion positions only, in chunks.

A full forward keeps [sequences, prompt + completion, vocab] logits (151,936 columns: 1.5 GB in bf16
for one 4.9K-token sequence) and its backward materialises a gradient of the same size. Here the
hidden states of the positions that predict completion tokens go through the LM head a chunk of rows
at a time, each chunk's log-softmax is taken in float32 and only the selected token's log-probability
(and, if asked, the entropy) is kept. Under autograd each chunk is checkpointed, so its [rows, vocab]
logits are recomputed in backward instead of stored: peak extra memory is one chunk of logits.
Values are those of `log_softmax(logits / temperature)` in float32 (TRL's selective_log_softmax on
the same logits gives the same numbers; tested).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

DEFAULT_CHUNK = 512


def _chunk_logps(hidden: torch.Tensor, weight: torch.Tensor, bias, targets: torch.Tensor, temperature: float,
                 with_entropy: bool):
    logits = F.linear(hidden, weight, bias).float()
    if temperature != 1.0:
        logits = logits / temperature
    logps_all = torch.log_softmax(logits, dim=-1)
    logps = logps_all.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    if not with_entropy:
        return logps, None
    with torch.no_grad():
        entropy = -(logps_all.exp() * logps_all).sum(-1)
    return logps, entropy


def token_logps(hidden: torch.Tensor, lm_head, targets: torch.Tensor, temperature: float = 1.0,
                with_entropy: bool = False, chunk_size: int = DEFAULT_CHUNK):
    """log p(targets) from `hidden` [..., H] (the positions that predict `targets` [...]) through `lm_head`.

    Returns (logps, entropy-or-None), both float32 with the shape of `targets`.
    """
    shape = targets.shape
    flat_hidden = hidden.reshape(-1, hidden.shape[-1])
    flat_targets = targets.reshape(-1)
    weight, bias = lm_head.weight, getattr(lm_head, "bias", None)
    use_checkpoint = torch.is_grad_enabled() and (flat_hidden.requires_grad or weight.requires_grad)
    logps, entropies = [], []
    for start in range(0, flat_targets.numel(), chunk_size):
        rows = slice(start, start + chunk_size)
        if use_checkpoint:
            lp, ent = checkpoint(_chunk_logps, flat_hidden[rows], weight, bias, flat_targets[rows], temperature, with_entropy,
                                 use_reentrant=False)
        else:
            lp, ent = _chunk_logps(flat_hidden[rows], weight, bias, flat_targets[rows], temperature, with_entropy)
        logps.append(lp)
        entropies.append(ent)
    logps = torch.cat(logps).reshape(shape) if logps else flat_hidden.new_zeros(shape, dtype=torch.float32)
    entropy = torch.cat(entropies).reshape(shape).detach() if with_entropy and entropies else None
    return logps, entropy


def selective_log_softmax(logits: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """TRL's selective_log_softmax (its fused kernel on a GPU) when trl imports, else the same per-row computation."""
    try:
        from trl.trainer.utils import selective_log_softmax as trl_version
    except Exception:  # noqa: BLE001 - trl missing or one of its dependencies is
        return torch.stack([torch.log_softmax(row.float(), dim=-1).gather(-1, ids.unsqueeze(-1)).squeeze(-1)
                            for row, ids in zip(logits, index)]).to(logits.dtype)
    return trl_version(logits, index)
