"""actrep.fast: every speed-up computes what the plain path computes (tiny models of the real families, float32)."""

import functools
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import FAMILIES

ROOT = Path(__file__).resolve().parents[1]


@functools.lru_cache(maxsize=None)
def tiny_model(family: str, seed: int = 0):
    import transformers

    from actrep.models.registry import get_family
    from actrep.models.tiny import TinyModelArguments, build_config

    config = build_config(TinyModelArguments(family=family, layers=2, hidden=64, heads=4, kv_heads=2, vision_depth=2))
    config._attn_implementation = "sdpa"
    torch.manual_seed(seed)
    return getattr(transformers, get_family(family).model_class)(config).float().eval()


@functools.lru_cache(maxsize=None)
def two_video_batch(family: str):
    """Two prompts of different lengths (left padding) with videos of different lengths, from the real processor."""
    from actrep.models.registry import get_family
    from actrep.models.tiny import build_processor
    from actrep.prompts import render_prompt
    from actrep.video import SampledVideo, VideoSettings, encode

    processor = build_processor(get_family(family))
    rng = np.random.default_rng(0)
    videos = [SampledVideo(frames=rng.integers(0, 255, (n, 112, 112, 3), dtype=np.uint8), indices=np.arange(n), clip_frames=n,
                           clip_offset=0, fps=4.0) for n in (8, 10)]
    settings = VideoSettings(fps=4, max_frames=16, min_pixels=112 * 112, max_pixels=112 * 112, min_total_pixels=112 * 112 * 4,
                             max_total_pixels=112 * 112 * 16)
    prompts = [render_prompt(processor, "jumping jack"), render_prompt(processor, "push up, counted from the first full one")]
    return encode(processor, prompts, videos, settings)


def _count_sdpa(monkeypatch):
    calls = []
    real = torch.nn.functional.scaled_dot_product_attention

    def counting(*args, **kwargs):
        calls.append(args[0].shape)
        return real(*args, **kwargs)

    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", counting)
    return calls


# ---------------------------------------------------------------------------------------------- vision


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("side", [224, 196])  # 224: 4 equal windows per frame (batched); 196: 4/3-merged windows (fallback)
def test_batched_vision_attention_equals_stock(family, side, monkeypatch):
    from actrep.fast.vision_attention import video_features

    model = tiny_model(family)
    patch = model.config.vision_config.patch_size
    side = side // (2 * patch) * (2 * patch)
    grid = torch.tensor([[2, side // patch, side // patch], [3, side // patch, side // patch]])
    channels = 3 * 2 * patch * patch
    pixels = torch.randn(int(grid.prod(-1).sum()), channels, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        stock = model.model.get_video_features(pixels, grid, return_dict=True)
        calls = _count_sdpa(monkeypatch)
        fast = video_features(model, pixels, grid, fast=True)
    for a, b in zip(stock.pooler_output, fast.pooler_output):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)
    for layer_a, layer_b in zip(getattr(stock, "deepstack_features", None) or [], getattr(fast, "deepstack_features", None) or []):
        for a, b in zip(layer_a, layer_b):
            torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)
    depth = model.config.vision_config.depth
    windows_equal = family != "qwen2_5_vl" or (side // patch // 2) % 4 == 0
    if windows_equal:
        assert len(calls) == depth  # one batched call per layer
    else:
        assert len(calls) > depth  # the windowed layer fell back to the per-window loop
    assert "forward" not in next(m for m in model.modules() if "VisionAttention" in type(m).__name__).__dict__  # patch undone


def test_cached_vision_features_equal_recomputed():
    """The features computed once per video equal what the model computes from pixels inside its forward."""
    from actrep.fast.vision_attention import video_features
    from actrep.fast.features import select_features

    model, batch = tiny_model("qwen2_5_vl"), two_video_batch("qwen2_5_vl")
    keys = ("input_ids", "attention_mask", "mm_token_type_ids", "video_grid_thw", "second_per_grid_ts")
    with torch.no_grad():
        plain = model(**{k: batch[k] for k in keys}, pixel_values_videos=batch["pixel_values_videos"]).logits
        features = video_features(model, batch["pixel_values_videos"], batch["video_grid_thw"], fast=True)
        cached = model(**{k: batch[k] for k in keys}, mm_encoder_outputs=select_features(features, [0, 1])).logits
    torch.testing.assert_close(cached, plain, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------------------------- log-probs


def test_chunked_logps_equal_full_logps_and_gradients():
    from trl.trainer.utils import entropy_from_logits, selective_log_softmax

    from actrep.fast.logps import token_logps

    g = torch.Generator().manual_seed(0)
    head = torch.nn.Linear(16, 300, bias=False)
    hidden = torch.randn(3, 7, 16, generator=g, requires_grad=True)
    targets = torch.randint(0, 300, (3, 7), generator=g)
    logits = head(hidden) / 0.7
    full = selective_log_softmax(logits, targets)
    full.sum().backward()
    grads = hidden.grad.clone(), head.weight.grad.clone()
    hidden.grad, head.weight.grad = None, None
    lean, entropy = token_logps(hidden, head, targets, temperature=0.7, with_entropy=True, chunk_size=4)
    lean.sum().backward()
    torch.testing.assert_close(lean, full, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(entropy, entropy_from_logits(logits.detach()), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(hidden.grad, grads[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(head.weight.grad, grads[1], rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------- shared prefix


def _completions(batch, rows_per_video=3, length=5):
    g = torch.Generator().manual_seed(3)
    index = torch.arange(batch["input_ids"].shape[0]).repeat_interleave(rows_per_video)
    completions = torch.randint(0, 5000, (len(index), length), generator=g)
    mask = torch.ones_like(completions, dtype=torch.int)
    mask[1, 3:] = 0  # a row that ended early (EOS): its later positions are masked in the plain path's attention
    return index, completions, mask


@pytest.mark.parametrize("family", ["qwen2_5_vl", "qwen3_vl"])  # Qwen2-VL's text stack is Qwen2.5-VL's (rollout test below)
def test_shared_prefix_logps_and_gradients_equal_plain(family):
    from actrep.fast.prefix import grouped_completion_logps
    from actrep.fast.vision_attention import video_features
    from actrep.train.rollout import completion_logps

    model, batch = tiny_model(family), two_video_batch(family)
    index, completions, mask = _completions(batch)
    features = video_features(model, batch["pixel_values_videos"], batch["video_grid_thw"])
    model.train()
    if family == "qwen2_5_vl":  # the GPU default; the shared-prefix forward checkpoints layers itself
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    results = []
    try:
        for fn in (completion_logps, grouped_completion_logps):
            model.zero_grad()
            logps, entropy = fn(model, batch, index, completions, mask, features, 0.9, with_entropy=True)
            (logps * mask * torch.linspace(0.5, 1.5, logps.numel()).view_as(logps)).sum().backward()
            grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
            results.append((logps.detach(), entropy, grads))
    finally:
        model.zero_grad()
        model.gradient_checkpointing_disable()
        model.eval()
    (plain, plain_entropy, plain_grads), (shared, shared_entropy, shared_grads) = results
    valid = mask.bool()
    torch.testing.assert_close(shared[valid], plain[valid], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(shared_entropy[valid], plain_entropy[valid], rtol=1e-5, atol=1e-5)
    assert shared_grads.keys() == plain_grads.keys() and len(plain_grads) > 10
    for name, grad in plain_grads.items():
        torch.testing.assert_close(shared_grads[name], grad, rtol=1e-4, atol=1e-6, msg=name)


# ---------------------------------------------------------------------------------------------- decoding


def _hf_greedy(model, batch, features, rows_per_video, new_tokens, eos):
    from actrep.fast.features import select_features

    index = torch.arange(batch["input_ids"].shape[0]).repeat_interleave(rows_per_video)
    keys = ("input_ids", "attention_mask", "mm_token_type_ids", "video_grid_thw", "second_per_grid_ts")
    with torch.no_grad():
        out = model.generate(**{k: batch[k][index] for k in keys if k in batch}, mm_encoder_outputs=select_features(features, index),
                             max_new_tokens=new_tokens, do_sample=False, eos_token_id=eos, pad_token_id=151643)
    return out[:, batch["input_ids"].shape[1]:]


@pytest.mark.parametrize("family", ["qwen2_5_vl", "qwen3_vl"])  # Qwen2-VL: test_grpo_fast_decode_runs...
def test_prefill_once_decoding_gives_hf_greedy_tokens(family):
    from actrep.fast.decode import FastDecoder, SamplingConfig, prefill
    from actrep.fast.vision_attention import video_features

    model, batch = tiny_model(family), two_video_batch(family)
    features = video_features(model, batch["pixel_values_videos"], batch["video_grid_thw"])
    prefix = prefill(model, batch, features)
    assert prefix.valid is not None and prefix.keys[0].shape[0] == 2  # two prompts, one KV copy each, padded
    decoder = FastDecoder(model)
    forced = SamplingConfig(10, do_sample=False, min_new_tokens=10, eos_token_id=151645, pad_token_id=151643)
    ours = decoder.generate(prefix, 2, forced)
    reference = _hf_greedy(model, batch, features, 2, 10, 151645)
    assert torch.equal(ours, reference)
    # EOS handling: make a token the first row emits at step 3 the EOS; rows stop and pad as HF's do
    eos = int(reference[0, 3])
    stopping = SamplingConfig(10, do_sample=False, eos_token_id=eos, pad_token_id=151643)
    assert torch.equal(decoder.generate(prefix, 2, stopping), _hf_greedy(model, batch, features, 2, 10, eos))


def _one_video(batch, i):
    """Row i of a left-padded batch as a batch of its own, padding dropped (its own prompt length)."""
    keep = batch["attention_mask"][i].bool()
    one = {key: batch[key][i:i + 1][:, keep] for key in ("input_ids", "attention_mask", "mm_token_type_ids") if key in batch}
    one.update({key: batch[key][i:i + 1] for key in ("video_grid_thw", "second_per_grid_ts") if key in batch})
    return one


def test_prompt_lengths_in_one_bucket_share_one_decoder_state():
    """Prompts a few tokens apart reuse one set of buffers (one CUDA graph, one compile) and still decode HF's tokens."""
    from actrep.fast.decode import FastDecoder, SamplingConfig, prefill
    from actrep.fast.features import select_features
    from actrep.fast.vision_attention import video_features

    model, batch = tiny_model("qwen2_5_vl"), two_video_batch("qwen2_5_vl")
    features = video_features(model, batch["pixel_values_videos"], batch["video_grid_thw"])
    decoder = FastDecoder(model, length_bucket=1024)  # 4 chunks of 256 prompt keys in the attention
    forced = SamplingConfig(10, do_sample=False, min_new_tokens=10, eos_token_id=151645, pad_token_id=151643)
    lengths = []
    for i in range(2):
        one, own = _one_video(batch, i), select_features(features, [i])["video"]
        prefix = prefill(model, one, own)
        assert prefix.valid is None  # no left padding: only the bucket's tail is masked
        lengths.append(prefix.length)
        assert torch.equal(decoder.generate(prefix, 2, forced), _hf_greedy(model, one, own, 2, 10, 151645))
    assert lengths[0] != lengths[1] and decoder.bucketed(lengths[0]) == decoder.bucketed(lengths[1])
    assert len(decoder._states) == 1


@pytest.mark.parametrize("length", [768, 1024, 1280])  # 768: one matmul; 1024, 1280: 4 and 5 chunks of 256 keys
def test_shared_prefix_attention_equals_plain_attention(length):
    """The decode step's attention (the prompt's keys cut into chunks once long enough) against plain
    softmax attention over [prompt keys, own keys] in float64, with left padding and unwritten steps masked."""
    from actrep.fast.decode_math import shared_prefix_attention

    g = torch.Generator().manual_seed(length)
    V, Hkv, G, per_kv, N, D = 2, 2, 3, 4, 5, 16
    q = torch.randn(V * G, Hkv * per_kv, 1, D, generator=g)
    keys, values = torch.randn(V, Hkv, G, N, D, generator=g), torch.randn(V, Hkv, G, N, D, generator=g)
    prefix_keys, prefix_values = torch.randn(V, Hkv, length, D, generator=g), torch.randn(V, Hkv, length, D, generator=g)
    prefix_bias = torch.zeros(V, 1, 1, length)
    prefix_bias[0, ..., :37] = -math.inf  # video 0 left-padded
    prefix_bias[..., length - 100:] = -math.inf  # the bucket's tail
    suffix_bias = torch.tensor([0.0, 0.0, 0.0, -math.inf, -math.inf])  # 3 tokens generated so far
    out = shared_prefix_attention(q, keys, values, prefix_keys, prefix_values, suffix_bias, prefix_bias, 0.25)
    expected = torch.empty(V * G, Hkv * per_kv, D, dtype=torch.float64)
    for row in range(V * G):
        video, member = divmod(row, G)
        for head in range(Hkv * per_kv):
            kv = head // per_kv
            k = torch.cat([prefix_keys[video, kv], keys[video, kv, member]]).double()
            v = torch.cat([prefix_values[video, kv], values[video, kv, member]]).double()
            bias = torch.cat([prefix_bias[video, 0, 0], suffix_bias]).double()
            weights = ((k @ q[row, head, 0].double()) * 0.25 + bias).softmax(0)
            expected[row, head] = weights @ v
    torch.testing.assert_close(out.reshape(V * G, Hkv * per_kv, D).double(), expected, rtol=1e-5, atol=1e-6)


def test_float32_weights_decode_in_the_autocast_dtype():
    """A run with float32 master weights under bf16 autocast decodes with bf16 copies (as HF generate under
    autocast computes), not in float32 at twice the weight traffic: the dtype is read before autocast is switched off."""
    from actrep.fast.decode import FastDecoder, SamplingConfig, prefill
    from actrep.fast.vision_attention import video_features

    model, batch = tiny_model("qwen2_5_vl"), two_video_batch("qwen2_5_vl")
    assert model.lm_head.weight.dtype == torch.float32
    decoder = FastDecoder(model)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        features = video_features(model, batch["pixel_values_videos"], batch["video_grid_thw"])
        prefix = prefill(model, batch, features)
        tokens = decoder.generate(prefix, 2, SamplingConfig(6, do_sample=False, min_new_tokens=6, pad_token_id=151643))
    assert tokens.shape == (4, 6)
    assert decoder._dtype == torch.bfloat16 and decoder._weights[0]["wq"].dtype == torch.bfloat16
    decoder.generate(prefill(model, batch, features), 2, SamplingConfig(6, do_sample=False, min_new_tokens=6, pad_token_id=151643))
    assert decoder._dtype == torch.float32  # no autocast: the weights' own dtype


def test_sampling_follows_the_distribution_and_filters():
    from actrep.fast.decode_math import SamplingConfig, sample_tokens

    torch.manual_seed(0)
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]])).repeat(20000, 1)
    finished = torch.zeros(20000, dtype=torch.bool)
    k = torch.zeros(1, dtype=torch.long)
    draws = sample_tokens(logits.clone(), k, SamplingConfig(1, temperature=1.0), finished)
    frequencies = torch.bincount(draws, minlength=4).float() / len(draws)
    torch.testing.assert_close(frequencies, torch.tensor([0.5, 0.3, 0.15, 0.05]), atol=0.015, rtol=0)
    assert set(sample_tokens(logits.clone(), k, SamplingConfig(1, top_k=2), finished).tolist()) == {0, 1}
    assert set(sample_tokens(logits.clone(), k, SamplingConfig(1, top_p=0.7), finished).tolist()) == {0, 1}  # 0.5 + 0.3 covers 0.7
    suppressed = sample_tokens(logits.clone(), k, SamplingConfig(1, do_sample=False, min_new_tokens=1, eos_token_id=0), finished.clone())
    assert (suppressed == 1).all()  # EOS (token 0) suppressed before min_new_tokens: the argmax moves on


# ---------------------------------------------------------------------------------------------- GRPO flags


def _grpo_run(checkpoint, data, out, *extra):
    from actrep.config import parse_config
    from actrep.models.registry import ModelArguments
    from actrep.prompts import PromptSettings
    from actrep.train import grpo_loop
    from actrep.train.common import TuningArguments
    from actrep.train.data import DataArguments
    from actrep.train.grpo import GRPOArguments, grpo_defaults
    from actrep.video import VideoSettings

    argv = ["--model_name_or_path", str(checkpoint), "--train_data", str(data), "--output_dir", str(out), "--num_generations", "3",
            "--videos_per_step", "2", "--max_completion_length", "5", "--report_to", "none", "--learning_rate", "1e-3",
            "--save_steps", "1000", "--dataloader_num_workers", "1", "--max_steps", "1", "--beta", "0", "--num_iterations", "2",
            "--micro_batch_size", "2", "--fps", "4", "--max_frames", "8", "--min_pixels", "784", "--max_pixels", "3136", *extra]
    parsed = parse_config([GRPOArguments, DataArguments, TuningArguments, ModelArguments, VideoSettings, PromptSettings], argv,
                          prog="test", defaults=grpo_defaults())

    def spread(completions, **columns):  # rewards with variance inside every group
        return [float(len(c)) for c in completions]

    return grpo_loop.train(*parsed, reward_funcs=[("spread", spread, 1.0)])


def test_grpo_defaults_give_the_stock_update(tiny_checkpoints, cot_data, tmp_path, monkeypatch, capsys):
    """The default (auto) path against the stock path on the same rollouts (both decode with the fast decoder,
    same seed; its tokens are checked against HF's below; micro-batches of 2 completions there, of whole groups of 3
    here): same loss terms, same update, compared as SGD weight
    deltas (AdamW's per-element normalisation would turn float-rounding differences of ~0 gradients into +-lr steps)."""
    from safetensors.torch import load_file

    monkeypatch.setattr(torch.optim, "AdamW", lambda params, lr, weight_decay: torch.optim.SGD(params, lr=lr))
    checkpoint = tiny_checkpoints["qwen2_5_vl"]
    plain = _grpo_run(checkpoint, cot_data, tmp_path / "plain", "--fast_path", "false", "--fast_decode", "true")
    assert "fast path: vision features once per video, decode fast (prefill once, eager steps: no CUDA graphs on a CPU); " \
           "off: vision attention (--fast_path false); shared-prefix log-probs (--fast_path false)" in capsys.readouterr().out
    fast = _grpo_run(checkpoint, cot_data, tmp_path / "fast")
    assert "fast path: vision features once per video, vision attention batched, decode fast (prefill once, eager steps: " \
           "no CUDA graphs on a CPU), log-probs shared prefix (lean LM head, 3 completions per micro-batch)\n" in capsys.readouterr().out
    for key in ("reward/mean", "clip_ratio/region", "entropy"):  # old-policy pass included (num_iterations 2)
        assert fast[key] == pytest.approx(plain[key], rel=1e-4, abs=1e-6), key
    start = load_file(checkpoint / "model.safetensors")
    a, b = load_file(tmp_path / "plain" / "model.safetensors"), load_file(tmp_path / "fast" / "model.safetensors")
    moved = 0
    for name in a:
        delta_plain, delta_fast = a[name] - start[name], b[name] - start[name]
        moved += int(delta_plain.abs().max() > 0)
        difference = float((delta_fast - delta_plain).norm())
        # a tensor that barely moved differs by the float32 rounding of its stored weights (CI saw 2e-9 on a
        # 3e-6 update of w ~ 0.02): below that floor the relative error measures rounding, not the paths
        rounding = 4 * torch.finfo(torch.float32).eps * float(start[name].float().norm())
        assert difference <= 1e-4 * float(delta_plain.norm()) + rounding, (name, difference, float(delta_plain.norm()))
    assert moved > 10


def _launch(**changes):
    from actrep.train.grpo_fast import Launch

    return Launch(**{**dict(processes=1, zero_stage=None, cuda=True, attn_implementation="sdpa", lora=False, moe=False), **changes})


def _args(**changes):
    from types import SimpleNamespace

    return SimpleNamespace(**{**dict(fast_path=True, fast_vision_attention="auto", fast_decode="auto", shared_prefix="auto",
                                     micro_batch_size=4, num_generations=8, loss_type="dapo"), **changes})


def test_shared_prefix_micro_batches_hold_whole_groups():
    from actrep.train.grpo_fast import micro_batch_rows

    assert [micro_batch_rows(m, 8, True, "dapo") for m in (1, 4, 8, 9, 16)] == [8, 8, 8, 16, 16]
    assert micro_batch_rows(4, 8, False, "dapo") == 4  # per-sequence forwards: as given
    assert micro_batch_rows(4, 8, True, "bnpo") == 4  # normalised per micro-batch: the chunking is part of the loss


@pytest.mark.parametrize("launch, on, off", [
    ({}, ("fast_vision_attention", "fast_decode", "shared_prefix"), {}),
    ({"processes": 2}, ("fast_vision_attention", "fast_decode"), {"shared-prefix log-probs": "DDP, 2 processes"}),
    ({"processes": 2, "zero_stage": 2}, ("fast_vision_attention", "fast_decode"), {"shared-prefix log-probs": "DeepSpeed ZeRO-2"}),
    ({"zero_stage": 3}, ("fast_vision_attention",), {"decode": "ZeRO-3", "shared-prefix log-probs": "DeepSpeed ZeRO-3"}),
    ({"lora": True}, ("fast_vision_attention", "shared_prefix"), {"decode": "LoRA adapters"}),
    ({"moe": True}, ("fast_vision_attention", "shared_prefix"), {"decode": "MoE text layers"}),
    ({"attn_implementation": "flash_attention_2"}, ("fast_decode",),
     {"vision attention": "flash_attention_2 already runs", "shared-prefix log-probs": "sdpa or eager only"}),
    ({"attn_implementation": "eager"}, ("fast_decode", "shared_prefix"), {"vision attention": "the batched call is sdpa"}),
    ({"cuda": False}, ("fast_vision_attention", "fast_decode", "shared_prefix"), {}),
])
def test_fast_path_auto_resolution(launch, on, off):
    from actrep.train.grpo_fast import resolve_fast_path

    fast = resolve_fast_path(_args(), _launch(**launch))
    chosen = {"fast_vision_attention": fast.vision_attention, "fast_decode": fast.decode, "shared_prefix": fast.shared_prefix}
    assert {name for name, value in chosen.items() if value} == set(on)
    assert fast.off.keys() == off.keys() and all(part in fast.off[piece] for piece, part in off.items())
    header = fast.header()
    assert header.startswith("fast path: vision features once per video") and "\n" not in header
    assert ("prefill once, CUDA graphs)" in header) == (launch.get("cuda", True) and "fast_decode" in on)
    for piece, part in off.items():
        assert f"{piece} ({fast.off[piece]})" in header


def test_fast_path_requests_stock_and_refusals():
    from actrep.errors import ActRepError
    from actrep.train.grpo_fast import resolve_fast_path

    stock = resolve_fast_path(_args(fast_path=False), _launch())
    assert not (stock.vision_attention or stock.decode or stock.shared_prefix) and set(stock.off.values()) == {"--fast_path false"}
    explicit = resolve_fast_path(_args(fast_path=False, fast_decode=True, shared_prefix="false"), _launch())  # YAML gives booleans
    assert explicit.decode and not explicit.shared_prefix and explicit.off["shared-prefix log-probs"] == "--shared_prefix false"
    for name, launch, message in [("fast_decode", {"lora": True}, "LoRA adapters"), ("shared_prefix", {"processes": 2}, "DDP"),
                                  ("fast_vision_attention", {"attn_implementation": "eager"}, "the batched call is sdpa")]:
        with pytest.raises(ActRepError, match=f"--{name} true cannot apply: .*{message}"):
            resolve_fast_path(_args(**{name: "true"}), _launch(**launch))
    with pytest.raises(ActRepError, match="--fast_decode takes auto, true or false"):
        resolve_fast_path(_args(fast_decode="fast"), _launch())


def test_grpo_fast_decode_runs_and_rollouts_match_hf_greedy(tiny_checkpoints, cot_data, tmp_path):
    from actrep.fast import decode
    from actrep.train.rollout import generate
    from transformers import GenerationConfig

    metrics = _grpo_run(tiny_checkpoints["qwen3_vl"], cot_data, tmp_path, "--fast_decode", "--shared_prefix", "--num_iterations", "1")
    assert metrics["completion/length_mean"] > 0
    assert decode._DECODER is not None and decode._DECODER.model.config.model_type == "qwen3_vl"  # our decoder made the rollouts
    model, batch = tiny_model("qwen2_vl"), two_video_batch("qwen2_vl")
    from actrep.fast.vision_attention import video_features

    features = video_features(model, batch["pixel_values_videos"], batch["video_grid_thw"])
    config = GenerationConfig(max_new_tokens=6, do_sample=False, eos_token_id=151645, pad_token_id=151643)
    fast = generate(model, batch, features, 1, config, fast=True)
    assert torch.equal(fast, generate(model, batch, features, 1, config))


# ---------------------------------------------------------------------------------------------- the benchmark


@pytest.mark.parametrize("family", ["qwen2_5_vl", "qwen3_vl"])
def test_bench_prompts_have_the_processors_layout(family):
    """bench/ builds prompts without a tokenizer (none on the GPU machines): same special-token layout as the processor's."""
    sys.path.insert(0, str(ROOT))
    from bench.models import ARCHS, synthetic_inputs

    real = two_video_batch(family)
    valid = real["attention_mask"][0].bool()
    arch = ARCHS[f"tiny_{family}"]
    ours = synthetic_inputs(arch, frames=8, size=112, device="cpu")
    assert ours["video_grid_thw"].tolist() == real["video_grid_thw"][:1].tolist()
    special = {151644, 151645, 151652, 151653, 151656}

    def skeleton(ids):
        runs = []
        for token in ids.tolist():
            key = token if token in special else "text"
            if runs and runs[-1][0] == key:
                runs[-1][1] += 1
            else:
                runs.append([key, 1])
        return runs

    real_runs, our_runs = skeleton(real["input_ids"][0][valid]), skeleton(ours["input_ids"][0])
    assert [k for k, _ in our_runs] == [k for k, _ in real_runs]
    assert [n for k, n in our_runs if k != "text"] == [n for k, n in real_runs if k != "text"]
    torch.testing.assert_close(ours["mm_token_type_ids"][0], (ours["input_ids"][0] == 151656).int() * 2)
    assert ours["pixel_values_videos"].shape == real["pixel_values_videos"][: ours["pixel_values_videos"].shape[0]].shape


@pytest.mark.slow
def test_bench_tiny_suite_runs(tmp_path):
    sys.path.insert(0, str(ROOT))
    from bench.run import main

    assert main(["--tiny", "--models", "tiny_qwen2_5_vl", "--only", "grpo,correctness,decode", "--out", str(tmp_path)]) == 0
    import json

    result = json.loads(next(tmp_path.glob("*.json")).read_text())
    model = result["models"]["tiny_qwen2_5_vl"]
    assert model["grpo"]["step_speedup"] > 0 and model["correctness"]["pass"] and not model["errors"]


@pytest.mark.slow
def test_bench_correctness_compares_each_path_with_a_float32_truth(tmp_path):
    """bf16 weights on the CPU: ours within bf16 accuracy of the float32 baseline, and closer to it than the
    bf16 baseline (whose bf16 log-softmax is the larger error; a bf16-vs-bf16 comparison could not tell)."""
    sys.path.insert(0, str(ROOT))
    from bench.run import main

    assert main(["--tiny", "--models", "tiny_qwen2_5_vl", "--only", "correctness", "--dtype", "bfloat16", "--out", str(tmp_path)]) == 0
    import json

    check = json.loads(next(tmp_path.glob("*.json")).read_text())["models"]["tiny_qwen2_5_vl"]["correctness"]
    assert check["truth"] == "the baseline in float32" and check["dtype"] == "bfloat16" and check["pass"]
    ours, baseline = check["ours"], check["baseline"]
    assert 0 < ours["grad_rel_err_max"] < baseline["grad_rel_err_max"] and ours["logps_rel_err"] < baseline["logps_rel_err"]
    assert ours["grad_cosine_min"] > 0.999


@pytest.mark.slow
def test_bench_e2e_tiny_runs_the_cli_both_ways(bench_e2e_work, tmp_path, forked_python):
    """`python -m bench.e2e --tiny`: checkpoint, synthetic videos, `actrep grpo` with the shipped recipe, stock and defaults."""
    sys.path.insert(0, str(ROOT))
    from bench.e2e import main

    assert main(["--tiny", "--max_completion_length", "4", "--frames", "4", "--size", "56", "--work", str(bench_e2e_work), "--out", str(tmp_path / "results"),
                 "--python", str(forked_python.shim(tmp_path / "python"))]) == 0
    import json

    result = json.loads(next((tmp_path / "results").glob("*-e2e-*.json")).read_text())
    stock, defaults = result["runs"]["stock"], result["runs"]["defaults"]
    assert result["speedup"] == pytest.approx(stock["s_per_step"] / defaults["s_per_step"]) and result["speedup"] > 0
    assert defaults["header"].startswith("fast path: vision features once per video, vision attention batched, decode fast")
    assert "off: vision attention (--fast_path false)" in stock["header"]
    assert stock["timed_steps"] == defaults["timed_steps"] == 1 and defaults["completion_tokens_per_step"] == 2 * 8 * 4
    assert set(defaults["phases_s"]) >= {"vision", "decode", "logps", "optimisation"}
