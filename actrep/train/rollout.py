"""Rollouts and log-probabilities for video GRPO, with the video in every pass.

The vision encoder runs once per distinct video per step: its output (a per-video list of merged
features, plus Qwen3-VL's deepstack features) is passed to generation and to every log-prob
forward through transformers' own `mm_encoder_outputs` argument, which every supported family
accepts in place of `pixel_values_videos`. Each sequence gets a reference to its video's features
(no copy of pixels, no second vision pass). Rope positions, deepstack injection and everything
else stay the model's own code, so a pass with cached features computes exactly what a pass with
pixels computes (tested).
"""

from __future__ import annotations

import copy

import torch
from transformers import GenerationConfig

from actrep.fast.features import select_features
from actrep.models.generation import without_checkpoint_defaults

TEXT_KEYS = ("input_ids", "attention_mask", "mm_token_type_ids")
VIDEO_KEYS = ("video_grid_thw", "second_per_grid_ts")


def vision_features(model, batch, grad: bool = False, fast: bool = False):
    """Encoder output of the batch's distinct videos (one entry per video, in batch order).

    `fast`: one batched attention call per vision layer and host-precomputed indices (actrep.fast;
    the same features)."""
    if fast:
        from actrep.fast.vision_attention import video_features

        return video_features(model, batch["pixel_values_videos"], batch["video_grid_thw"], grad=grad, fast=True)
    base = getattr(model, "model", model)
    with torch.set_grad_enabled(grad):
        return base.get_video_features(batch["pixel_values_videos"], batch["video_grid_thw"], return_dict=True)


def prompt_rows(batch, index: torch.Tensor) -> dict:
    """Prompt-side tensors for the sequences `index` (rows of the per-video batch)."""
    rows = {key: batch[key][index] for key in TEXT_KEYS + VIDEO_KEYS if key in batch}
    return rows


def generate(model, batch, features, num_generations: int, config: GenerationConfig, fast: bool = False) -> torch.Tensor:
    """G completions per video: [videos x G, new tokens], rows grouped by video (repeat_interleave order).

    `fast`: each prompt prefilled once and the G rollouts decoded by actrep.fast.decode against the
    shared prompt KV (static buffers, CUDA graph on a GPU). Whether the model supports it is decided
    before the run (actrep.train.grpo_fast): an unsupported model raises here instead of falling back."""
    if fast:
        from actrep.fast.decode import SamplingConfig, generate_rollouts

        return generate_rollouts(model, batch, features, num_generations, SamplingConfig.from_generation_config(config))
    inputs = {key: batch[key] for key in TEXT_KEYS + VIDEO_KEYS if key in batch}
    index = list(range(batch["input_ids"].shape[0]))
    config = copy.deepcopy(config)
    config.num_return_sequences = num_generations
    with torch.no_grad(), without_checkpoint_defaults(model):
        output = model.generate(**inputs, mm_encoder_outputs=select_features(features, index), generation_config=config)
    return output[:, batch["input_ids"].shape[1]:]


def completion_logps(model, batch, index: torch.Tensor, completion_ids: torch.Tensor, completion_mask: torch.Tensor,
                     features, temperature: float, with_entropy: bool = False):
    """Per-token log-probabilities (and entropies) of completions under `model`, video included.

    Only the completion positions' logits are materialised (`logits_to_keep`), at the sampling
    temperature (as TRL scores them), and normalised in float32.
    """
    from trl.trainer.utils import entropy_from_logits, selective_log_softmax

    rows = prompt_rows(batch, index)
    length = completion_ids.size(1)
    rows["input_ids"] = torch.cat([rows["input_ids"], completion_ids], dim=1)
    rows["attention_mask"] = torch.cat([rows["attention_mask"], completion_mask.to(rows["attention_mask"].dtype)], dim=1)
    if "mm_token_type_ids" in rows:
        rows["mm_token_type_ids"] = torch.cat([rows["mm_token_type_ids"], torch.zeros_like(completion_ids)], dim=1)
    if features is not None:  # None only for text-only models (the TRL parity test)
        rows["mm_encoder_outputs"] = select_features(features, index)
    output = model(**rows, logits_to_keep=length + 1, use_cache=False)
    # float32 log-softmax in every pass: a model not wrapped by accelerate (the reference) returns bf16
    # logits under autocast, and a bf16 log-softmax is off by ~5e-2 nats (the KL would measure precision).
    logits = output.logits[:, :-1, :].float() / temperature
    logps = selective_log_softmax(logits, completion_ids)
    entropy = None
    if with_entropy:
        with torch.no_grad():
            entropy = entropy_from_logits(logits.detach())
    return logps, entropy
