"""Rollout decoding at G = 8: ms per token of each decoder variant against the HBM floor.

The floor of one decode step is reading the language model's weights once (plus the KV the step
attends to: the shared prompt once, each row's own tokens) at the measured copy bandwidth. HF
generate's number comes from the baseline step (replicated prompts, dynamic cache); ours from a
FastDecoder on the same prefix: eager steps, CUDA graph, CUDA graph + compiled per-layer math.
"""

from __future__ import annotations

import torch

from actrep.fast.decode import FastDecoder, SamplingConfig, prefill
from actrep.fast.vision_attention import video_features
from bench import measure
from bench.models import IM_END, PAD


def time_decode(decoder: FastDecoder, prefix, group: int, config: SamplingConfig, repeats: int, device) -> list[float]:
    decoder.generate(prefix, group, config)  # warm-up: buffers, graph capture, compilation
    times = []
    for _ in range(repeats):
        timer = measure.PhaseTimer(device)
        with timer.phase("decode"):
            decoder.generate(prefix, group, config)
        times.append(timer.seconds()["decode"])
    return times


def decode_benchmark(model, inputs, cost, group: int, new_tokens: int, device, bandwidth: float | None, repeats: int = 3,
                     existing: FastDecoder | None = None, variants=("cuda_graph+compile", "cuda_graph", "eager")) -> dict:
    with torch.no_grad():
        features = video_features(model, inputs["pixel_values_videos"], inputs["video_grid_thw"], fast=True)
        prefix = prefill(model, inputs, features)
    config = SamplingConfig(new_tokens, do_sample=True, min_new_tokens=new_tokens, eos_token_id=IM_END, pad_token_id=PAD)
    steps = max(1, new_tokens - 1)
    floor_bytes = cost.decode_step_bytes(1, group, new_tokens, shared_prefix=True)
    out = {"group": group, "new_tokens": new_tokens, "floor_bytes_per_step": floor_bytes,
           "floor_ms_per_token": 1000 * floor_bytes / bandwidth if bandwidth else None, "variants": {}}
    cuda = torch.device(device).type == "cuda"
    for variant in variants:
        if not cuda and variant != "eager":
            continue
        compiled, graph = "compile" in variant, variant.startswith("cuda_graph")
        decoder = existing if (existing is not None and compiled and existing.compile_requested) else \
            FastDecoder(model, compile=compiled, cuda_graph=graph)
        try:
            times = time_decode(decoder, prefix, group, config, 1 if variant == "eager" and cuda else repeats, device)
        except Exception as err:  # noqa: BLE001 - record and go on
            out["variants"][variant] = {"error": repr(err)}
            continue
        ms = 1000 * measure.median(times) / steps
        out["variants"][variant] = {"ms_per_token": ms, "mode": decoder.mode, "notes": decoder.notes,
                                    "x_floor": ms / out["floor_ms_per_token"] if out["floor_ms_per_token"] else None,
                                    "tokens_per_s": group / (ms / 1000)}
        if decoder is not existing:
            decoder.reset()
    return out
