"""GRPO advantages and policy losses, with the same definitions as TRL's GRPOTrainer (1.16).

Pure tensor functions, so they can be checked against TRL on a text-only setup (tests/test_grpo.py)
and reused by any loop. Notation: N sequences = prompts x G completions, T completion positions,
`mask` [N, T] marks real completion tokens.

Loss aggregation (TRL's loss types):
    grpo     mean over sequences of (sum over tokens / tokens in the sequence), then / accumulation
    bnpo     sum over all tokens / tokens in the micro-batch, then / accumulation
    dr_grpo  sum over all tokens / (sequences x max_completion_length), then / accumulation
    dapo     sum over all tokens / (completion tokens in the whole generation batch over all
             processes / processes)
PPO clipping: ratio r = exp(logp - old_logp) per token, loss = -min(r A, clip(r, 1-eps_low, 1+eps_high) A);
with one optimisation step per generation batch r == 1 and clipping never acts (num_iterations > 1
makes it act). KL: k3 estimator exp(ref - logp) - (ref - logp) - 1, weighted by beta, and (TRL's
default `use_bias_correction_kl`) multiplied by r, the importance weight of off-policy tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

LOSS_TYPES = ("grpo", "dapo", "dr_grpo", "bnpo")
SCALE_REWARDS = ("group", "batch", "none")


def nanstd(values: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """Standard deviation ignoring NaNs, with Bessel's correction (TRL's nanstd)."""
    mean = torch.nanmean(values, dim=dim, keepdim=True)
    variance = torch.nanmean((values - mean) ** 2, dim=dim, keepdim=True)
    count = torch.sum(~torch.isnan(values), dim=dim, keepdim=True)
    variance = variance * torch.where(count > 1, count / (count - 1), torch.full_like(count, float("nan"), dtype=variance.dtype))
    std = variance.sqrt()
    return std.squeeze() if dim is None else std.squeeze(dim)


def group_advantages(rewards: torch.Tensor, num_generations: int, scale: str = "group") -> tuple[torch.Tensor, torch.Tensor]:
    """(advantages, std used) for rewards [N] grouped by consecutive blocks of `num_generations`.

    NaN rewards (unscorable completions) are left out of their group's mean/std and get advantage 0.
    """
    if scale not in SCALE_REWARDS:
        raise ValueError(f"scale_rewards must be one of {SCALE_REWARDS}, got {scale!r}")
    grouped = rewards.view(-1, num_generations)
    mean = torch.nanmean(grouped, dim=1).repeat_interleave(num_generations)
    if scale == "batch":
        std = nanstd(rewards).expand_as(rewards) if rewards.numel() > 1 else torch.zeros_like(rewards)
    elif num_generations > 1:
        std = nanstd(grouped, dim=1).repeat_interleave(num_generations)
    else:
        std = torch.zeros_like(rewards)
    advantages = rewards - mean
    if scale != "none":
        advantages = advantages / (std + 1e-4)
    return torch.nan_to_num(advantages, nan=0.0), std


@dataclass
class LossConfig:
    loss_type: str = "dapo"
    epsilon_low: float = 0.2
    epsilon_high: float = 0.2
    beta: float = 0.0
    max_completion_length: int = 256
    kl_bias_correction: bool = True  # TRL's use_bias_correction_kl (on by default in 1.16)


def policy_loss(
    logps: torch.Tensor,
    old_logps: torch.Tensor | None,
    ref_logps: torch.Tensor | None,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    config: LossConfig,
    *,
    accumulation_steps: int = 1,
    tokens_in_generation_batch: float | None = None,
    num_processes: int = 1,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The GRPO-family loss of one micro-batch, ready for backward, and detached statistics."""
    if config.loss_type not in LOSS_TYPES:
        raise ValueError(f"loss_type must be one of {LOSS_TYPES}, got {config.loss_type!r}")
    mask = mask.to(logps.dtype)
    old_logps = logps.detach() if old_logps is None else old_logps
    advantages = advantages.unsqueeze(1) if advantages.dim() == 1 else advantages
    ratio = torch.exp(logps - old_logps)
    clipped = torch.clamp(ratio, 1 - config.epsilon_low, 1 + config.epsilon_high)
    per_token = -torch.min(ratio * advantages, clipped * advantages)
    kl = None
    if config.beta != 0.0:
        delta = ref_logps - logps
        kl = torch.exp(delta) - delta - 1
        per_token = per_token + config.beta * (kl * ratio if config.kl_bias_correction else kl)

    tokens = mask.sum().clamp(min=1.0)
    if config.loss_type == "grpo":
        loss = ((per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean() / accumulation_steps
    elif config.loss_type == "bnpo":
        loss = (per_token * mask).sum() / tokens / accumulation_steps
    elif config.loss_type == "dr_grpo":
        loss = (per_token * mask).sum() / (per_token.size(0) * config.max_completion_length) / accumulation_steps
    else:  # dapo: normalised by the generation batch's token count (all processes), per process
        if tokens_in_generation_batch is None:
            raise ValueError("dapo needs tokens_in_generation_batch")
        loss = (per_token * mask).sum() / (max(float(tokens_in_generation_batch), 1.0) / num_processes)

    with torch.no_grad():
        low = ((ratio < 1 - config.epsilon_low) & (advantages < 0)).to(mask.dtype)
        high = ((ratio > 1 + config.epsilon_high) & (advantages > 0)).to(mask.dtype)
        stats = {
            "clip_ratio/low": (low * mask).sum() / tokens,
            "clip_ratio/high": (high * mask).sum() / tokens,
            "clip_ratio/region": ((low + high) * mask).sum() / tokens,
        }
        if kl is not None:
            stats["kl"] = (kl * mask).sum() / tokens
    return loss, stats


def completion_mask(completion_ids: torch.Tensor, eos_id: int, stop_ids=()) -> torch.Tensor:
    """1 up to and including the first EOS of each row (all ones for a row without EOS: truncated).

    A token in `stop_ids` ends the row BEFORE it: a sampled vision placeholder (<|video_pad|>) would
    otherwise be taken for a video slot by every later forward over the completion.
    """
    positions = torch.arange(completion_ids.size(1), device=completion_ids.device).expand_as(completion_ids)
    none = torch.full_like(completion_ids[:, 0], completion_ids.size(1), dtype=torch.long)
    is_eos = completion_ids == eos_id
    last = torch.where(is_eos.any(dim=1), is_eos.int().argmax(dim=1), none)
    if len(stop_ids):
        is_stop = torch.isin(completion_ids, torch.tensor(list(stop_ids), device=completion_ids.device))
        last = torch.minimum(last, torch.where(is_stop.any(dim=1), is_stop.int().argmax(dim=1) - 1, none))
    return (positions <= last.unsqueeze(1)).int()
