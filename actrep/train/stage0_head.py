"""Stage 0's head and the vision side it trains.

`Stage0Head` reads (cos, sin, active, start, end) off each frame pair's pooled visual tokens
(`pool_pairs`); `stage0_loss` weighs its errors. `video_features` runs the vision tower and merger
(what the LM receives); the rest freezes, groups and rescales the vision side's parameters.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from actrep.errors import ActRepError
from actrep.fast.vision_attention import video_features as tower
from actrep.train.common import vision_parts
from actrep.train.stage0_data import TARGET_NAMES
from actrep.video import normalize_pixels


class Stage0Head(torch.nn.Module):
    """Pooled frame-pair features [P, D] -> (cos, sin, active logit, start logit, end logit) [P, 5]."""

    def __init__(self, dim: int, hidden: int = 0):
        super().__init__()
        outputs = len(TARGET_NAMES)
        if hidden > 0:
            self.net = torch.nn.Sequential(torch.nn.Linear(dim, hidden), torch.nn.GELU(), torch.nn.Linear(hidden, outputs))
        else:
            self.net = torch.nn.Sequential(torch.nn.Linear(dim, outputs))
        self.dim, self.hidden = dim, hidden

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.net(pooled)


def pool_pairs(features: torch.Tensor, grid_thw: torch.Tensor, merge: int = 2) -> torch.Tensor:
    """Mean of the merged visual tokens of each temporal patch: [sum tokens, D] -> [sum pairs, D].

    Merged tokens come out in the processor's order (temporal patch, then rows, then columns), the
    order in which they replace the video placeholder in the LM sequence.
    """
    grid = grid_thw.tolist()
    tokens_per_pair = torch.tensor([h * w // (merge * merge) for t, h, w in grid for _ in range(t)], device=features.device)
    pair_id = torch.arange(len(tokens_per_pair), device=features.device).repeat_interleave(tokens_per_pair)
    if pair_id.numel() != features.shape[0]:
        raise ActRepError(f"stage 0: {features.shape[0]} visual tokens but the grids describe {pair_id.numel()}")
    summed = torch.zeros(len(tokens_per_pair), features.shape[1], device=features.device, dtype=torch.float32)
    summed.index_add_(0, pair_id, features.float())
    return summed / tokens_per_pair.unsqueeze(1).float()


def stage0_loss(pred: torch.Tensor, targets: torch.Tensor, args) -> tuple[torch.Tensor, dict]:
    """The weighted phase + active + boundary loss (`args`: Stage0Arguments' *_weight)."""
    pred = pred.float()
    phase = F.mse_loss(pred[:, :2], targets[:, :2])
    active = F.binary_cross_entropy_with_logits(pred[:, 2], targets[:, 2])
    boundary = 0.5 * (F.binary_cross_entropy_with_logits(pred[:, 3], targets[:, 3])
                      + F.binary_cross_entropy_with_logits(pred[:, 4], targets[:, 4]))
    loss = args.phase_weight * phase + args.active_weight * active + args.boundary_weight * boundary
    return loss, {"loss": loss.detach(), "loss/phase": phase.detach(), "loss/active": active.detach(), "loss/boundary": boundary.detach()}


def video_features(model, batch, device, fast: bool = True):
    """Merged visual tokens [sum tokens, D] of a batch: what the LM receives in place of the video placeholders.

    `fast`: transformers' own vision tower with one batched attention call per layer over the equal-sized
    frame pairs / windows and host-precomputed indices (`actrep.fast.vision_attention`, same numbers);
    otherwise the stock `get_video_features` (one sdpa call per frame pair and layer).
    """
    pixels = batch["pixel_values_videos"].to(device, non_blocking=True)
    if pixels.dtype == torch.uint8:  # Stage0Collator's raw pixels: the processor's normalisation, on the device
        pixels = normalize_pixels(pixels, batch["pixel_mean"].to(device), batch["pixel_std"].to(device))
    grid = batch["video_grid_thw"]
    output = tower(model, pixels, grid.to(device), grad=torch.is_grad_enabled(), fast=fast)
    return torch.cat(list(output.pooler_output), dim=0), grid


def merge_size(model) -> int:
    return int(getattr(model.config.vision_config, "spatial_merge_size", 2))


def freeze_for_stage0(model, train_vision: bool) -> list:
    model.requires_grad_(False)
    visual, mergers = vision_parts(model)
    for param in visual.parameters():
        param.requires_grad = train_vision
    for merger in mergers:
        for param in merger.parameters():
            param.requires_grad = True
    return [p for p in model.parameters() if p.requires_grad]


def param_groups(named, lr: float, weight_decay: float) -> list[dict]:
    decay, no_decay = [], []
    for _, param in named:
        (decay if param.dim() >= 2 else no_decay).append(param)
    return [{"params": decay, "lr": lr, "weight_decay": weight_decay, "base_lr": lr},
            {"params": no_decay, "lr": lr, "weight_decay": 0.0, "base_lr": lr}]


def text_embedding_rms(model) -> float:
    return float(model.get_input_embeddings().weight.detach().float().pow(2).mean().sqrt())


@torch.no_grad()
def visual_token_rms(model, loader, device, autocast, batches: int = 2) -> float:
    total, n = 0.0, 0
    for i, batch in enumerate(loader):
        if i >= batches:
            break
        with autocast():
            features, _ = video_features(model, batch, device)
        total += float(features.float().pow(2).sum())
        n += features.numel()
    return math.sqrt(total / max(1, n))


@torch.no_grad()
def rescale_merger_output(model, head: Stage0Head, factor: float) -> None:
    """Multiply the visual tokens by `factor` (merger's last linear layer) and undo it in the head's first layer."""
    _, mergers = vision_parts(model)
    last = [m for m in mergers[0].modules() if isinstance(m, torch.nn.Linear)][-1]
    last.weight.mul_(factor)
    if last.bias is not None:
        last.bias.mul_(factor)
    head.net[0].weight.div_(factor)
