"""Evaluation throughput: `actrep eval`-style generation per video vs batched, plain vs fast decoding.

  loop         one video per HF generate call (what a per-video evaluation loop does), stock vision
  batched_hf   `actrep eval --batch_size V`: one HF generate over V left-padded videos, stock vision
  batched_fast V videos: vision once (batched attention), one prefill, our decoder (CUDA graph) for V rows

Greedy decoding, exactly `new_tokens` tokens per video (EOS suppressed), so every variant does the
same work; throughput is videos per second.
"""

from __future__ import annotations

import torch

from actrep.fast.decode import FastDecoder, SamplingConfig, prefill
from actrep.fast.vision_attention import video_features
from bench import measure
from bench.models import IM_END, PAD, stack_videos, synthetic_inputs


def _hf_config(new_tokens: int):
    from transformers import GenerationConfig

    return GenerationConfig(max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False, temperature=None, top_p=None,
                            top_k=None, eos_token_id=IM_END, pad_token_id=PAD, bos_token_id=None, use_cache=True)


def _hf_generate(model, batch, new_tokens):
    with torch.no_grad():
        out = model.generate(**batch, generation_config=_hf_config(new_tokens))
    return out[:, batch["input_ids"].shape[1]:]


def _timed(device, fn):
    timer = measure.PhaseTimer(device)
    with timer.phase("t"):
        result = fn()
    return timer.seconds()["t"], result


def eval_benchmark(model, arch, frames: int, size: int, device, videos: int = 8, new_tokens: int = 128, loop_videos: int = 2,
                   repeats: int = 2, decoder: FastDecoder | None = None) -> dict:
    inputs = [synthetic_inputs(arch, frames, size, device, seed=100 + i) for i in range(videos)]
    batch = stack_videos(inputs)
    out = {"videos": videos, "new_tokens": new_tokens, "frames": frames, "size": size, "variants": {}}

    # per-video loop (plain HF generate, pixels in, stock vision attention)
    _hf_generate(model, inputs[0], 4)  # warm-up
    seconds, loop_tokens = 0.0, []
    for x in inputs[:loop_videos]:
        t, tokens = _timed(device, lambda x=x: _hf_generate(model, x, new_tokens))
        seconds += t
        loop_tokens.append(tokens)
    out["variants"]["loop"] = {"videos_measured": loop_videos, "seconds": seconds, "videos_per_s": loop_videos / seconds}

    # actrep eval today: one batched HF generate
    t, batched_tokens = _timed(device, lambda: _hf_generate(model, batch, new_tokens))
    out["variants"]["batched_hf"] = {"seconds": t, "videos_per_s": videos / t}

    # batched + vision once (batched attention) + prefill once + fast decoder
    decoder = decoder or FastDecoder(model, compile=True)
    config = SamplingConfig(new_tokens, do_sample=False, min_new_tokens=new_tokens, eos_token_id=IM_END, pad_token_id=PAD)

    def fast():
        with torch.no_grad():
            features = video_features(model, batch["pixel_values_videos"], batch["video_grid_thw"], fast=True)
            prefix = prefill(model, batch, features)
            return decoder.generate(prefix, 1, config)

    fast()  # warm-up (graph capture for this shape)
    runs = [_timed(device, fast) for _ in range(repeats)]
    fast_tokens = runs[-1][1]
    t = measure.median([r[0] for r in runs])
    out["variants"]["batched_fast"] = {"seconds": t, "videos_per_s": videos / t, "decode_mode": decoder.mode}
    loop_rate = out["variants"]["loop"]["videos_per_s"]
    out["speedup_batched_hf_vs_loop"] = out["variants"]["batched_hf"]["videos_per_s"] / loop_rate
    out["speedup_batched_fast_vs_loop"] = out["variants"]["batched_fast"]["videos_per_s"] / loop_rate

    # agreement of greedy tokens (bf16 ties can diverge on a random model): first token and common prefix
    def common(a, b):
        same = (a == b).int().cumprod(dim=-1)
        return same.sum(dim=-1).float()

    n = min(batched_tokens.shape[1], fast_tokens.shape[1])
    out["greedy_agreement"] = {
        "first_token_equal_share": float((batched_tokens[:, 0] == fast_tokens[:, 0]).float().mean()),
        "mean_common_prefix_tokens": float(common(batched_tokens[:, :n], fast_tokens[:, :n]).mean()),
        "loop_vs_batched_hf_first_token_equal_share": float(
            (torch.cat([t[:, :1] for t in loop_tokens]) == batched_tokens[:loop_videos, :1]).float().mean()),
    }
    return out
