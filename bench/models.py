"""Model architectures (real config sizes, random weights built directly on the device) and inputs.

The inputs are built without a tokenizer or video processor (the lent GPU machines have neither the
tokenizer package nor network): the token layout is the one the real processors produce for our
prompt (system prompt, user turn with the video, question, assistant header; checked against the
processors in tests/test_fast.py), with random text token ids and random normalised pixel patches.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

PAD, IM_START, IM_END = 151643, 151644, 151645
VISION_START, VISION_END, VIDEO_PAD = 151652, 151653, 151656
PLACEHOLDERS = (151655, VIDEO_PAD)  # <|image_pad|>, <|video_pad|>
NEWLINE = 198
SYSTEM_TOKENS, QUESTION_TOKENS, TIMESTAMP_TOKENS = 88, 41, 6  # measured on actrep's prompt with the real tokenizer


@dataclass(frozen=True)
class Arch:
    name: str
    family: str  # qwen2_5_vl | qwen3_vl
    text: dict
    vision: dict
    note: str = ""


ARCHS = {
    "qwen2_5_vl_3b": Arch(
        "qwen2_5_vl_3b", "qwen2_5_vl",
        text=dict(hidden_size=2048, num_hidden_layers=36, num_attention_heads=16, num_key_value_heads=2, intermediate_size=11008,
                  rope_theta=1_000_000.0, mrope_section=[16, 24, 24], max_position_embeddings=128000, rms_norm_eps=1e-6),
        vision=dict(depth=32, hidden_size=1280, num_heads=16, intermediate_size=3420, out_hidden_size=2048, window_size=112,
                    fullatt_block_indexes=[7, 15, 23, 31], tokens_per_second=2, patch_size=14, hidden_act="silu"),
        note="Qwen/Qwen2.5-VL-3B-Instruct sizes"),
    "qwen2_5_vl_7b": Arch(
        "qwen2_5_vl_7b", "qwen2_5_vl",
        text=dict(hidden_size=3584, num_hidden_layers=28, num_attention_heads=28, num_key_value_heads=4, intermediate_size=18944,
                  rope_theta=1_000_000.0, mrope_section=[16, 24, 24], max_position_embeddings=128000, rms_norm_eps=1e-6,
                  tie_word_embeddings=False),
        vision=dict(depth=32, hidden_size=1280, num_heads=16, intermediate_size=3420, out_hidden_size=3584, window_size=112,
                    fullatt_block_indexes=[7, 15, 23, 31], tokens_per_second=2, patch_size=14, hidden_act="silu"),
        note="Qwen/Qwen2.5-VL-7B-Instruct sizes (untied embeddings, unlike the 3B)"),
    "qwen3_vl_4b": Arch(
        "qwen3_vl_4b", "qwen3_vl",
        text=dict(hidden_size=2560, num_hidden_layers=36, num_attention_heads=32, num_key_value_heads=8, head_dim=128,
                  intermediate_size=9728, rope_theta=5_000_000.0, mrope_section=[24, 20, 20], max_position_embeddings=262144,
                  rms_norm_eps=1e-6),
        vision=dict(depth=24, hidden_size=1024, num_heads=16, intermediate_size=4096, out_hidden_size=2560,
                    deepstack_visual_indexes=[5, 11, 17], num_position_embeddings=2304, patch_size=16,
                    hidden_act="gelu_pytorch_tanh"),
        note="Qwen/Qwen3-VL-4B-Instruct sizes"),
    # --tiny: the same families at toy sizes (CPU smoke test of the whole suite)
    "tiny_qwen2_5_vl": Arch(
        "tiny_qwen2_5_vl", "qwen2_5_vl",
        text=dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=128,
                  rope_theta=1_000_000.0, mrope_section=[2, 3, 3], max_position_embeddings=32768, rms_norm_eps=1e-6),
        vision=dict(depth=2, hidden_size=32, num_heads=2, intermediate_size=64, out_hidden_size=64, window_size=112,
                    fullatt_block_indexes=[1], tokens_per_second=2, patch_size=14, hidden_act="silu")),
    "tiny_qwen3_vl": Arch(
        "tiny_qwen3_vl", "qwen3_vl",
        text=dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                  intermediate_size=128, rope_theta=5_000_000.0, mrope_section=[4, 2, 2], max_position_embeddings=32768,
                  rms_norm_eps=1e-6),
        vision=dict(depth=2, hidden_size=32, num_heads=2, intermediate_size=64, out_hidden_size=64, deepstack_visual_indexes=[0],
                    num_position_embeddings=2304, patch_size=16, hidden_act="gelu_pytorch_tanh")),
}


def build_config(arch: Arch, attn_implementation: str = "sdpa"):
    import transformers

    text = dict(arch.text)
    rope = {"rope_type": "default", "rope_theta": text.pop("rope_theta"), "mrope_section": text.pop("mrope_section")}
    tie = text.pop("tie_word_embeddings", True)
    if arch.family == "qwen3_vl":
        rope["mrope_interleaved"] = True
    text.update(vocab_size=151936, rope_parameters=rope, tie_word_embeddings=tie, bos_token_id=PAD, eos_token_id=IM_END,
                pad_token_id=PAD, hidden_act="silu")
    if arch.family == "qwen2_5_vl":
        text.setdefault("head_dim", text["hidden_size"] // text["num_attention_heads"])
    vision = dict(arch.vision, spatial_merge_size=2, temporal_patch_size=2, in_channels=3)
    config_class = transformers.Qwen2_5_VLConfig if arch.family == "qwen2_5_vl" else transformers.Qwen3VLConfig
    config = config_class(text_config=text, vision_config=vision, image_token_id=151655, video_token_id=VIDEO_PAD,
                          vision_start_token_id=VISION_START, vision_end_token_id=VISION_END, tie_word_embeddings=tie)
    config._attn_implementation = attn_implementation
    for sub in (config, config.text_config, config.vision_config):
        sub._attn_implementation = attn_implementation
    return config


def build_model(arch: Arch, device, dtype=torch.bfloat16, seed: int = 0):
    """Random-init model created directly on `device` in `dtype` (no slow CPU init of billions of weights)."""
    import transformers

    config = build_config(arch)
    cls = transformers.Qwen2_5_VLForConditionalGeneration if arch.family == "qwen2_5_vl" else transformers.Qwen3VLForConditionalGeneration
    torch.manual_seed(seed)
    with torch.device(device):
        model = cls._from_config(config, dtype=dtype, attn_implementation="sdpa")
    model.to(device)  # buffers created outside the default-device context (if any)
    model.generation_config.pad_token_id, model.generation_config.eos_token_id = PAD, IM_END
    model.generation_config.bos_token_id = None
    model.eval()
    return model


def parameter_counts(model) -> dict:
    seen, counts = set(), {"total": 0, "vision": 0, "text": 0, "embedding": 0}
    for name, p in model.named_parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        counts["total"] += p.numel()
        if ".visual." in f".{name}":
            counts["vision"] += p.numel()
        elif "embed_tokens" in name or "lm_head" in name:
            counts["embedding"] += p.numel()
        else:
            counts["text"] += p.numel()
    return counts


def video_grid(arch: Arch, frames: int, size: int) -> tuple[int, int, int]:
    """(T, H, W) patch grid the processor gives `frames` frames of `size` x `size` (its resize rule)."""
    patch = arch.vision["patch_size"]
    factor = patch * 2
    side = max(factor, round(size / factor) * factor)
    return frames // 2, side // patch, side // patch


def synthetic_inputs(arch: Arch, frames: int, size: int, device, seed: int = 0, fps: float = 4.0) -> dict:
    """One prompt with one video, as the processor lays it out for `arch`'s family, batch 1."""
    g = torch.Generator().manual_seed(seed)
    t, h, w = video_grid(arch, frames, size)
    per_group = (h // 2) * (w // 2)

    def text(n):
        return torch.randint(1000, 100000, (n,), generator=g).tolist()

    ids = [IM_START] + text(SYSTEM_TOKENS) + [IM_END, NEWLINE, IM_START] + text(2)
    if arch.family == "qwen3_vl":  # "<t seconds>" before every frame pair, each pair wrapped in vision start/end
        ids += [VISION_START]
        for _ in range(t):
            ids += text(TIMESTAMP_TOKENS) + [VISION_START] + [VIDEO_PAD] * per_group + [VISION_END]
        ids += [VISION_END]
    else:
        ids += [VISION_START] + [VIDEO_PAD] * (t * per_group) + [VISION_END]
    ids += text(QUESTION_TOKENS) + [IM_END, NEWLINE, IM_START] + text(2)
    input_ids = torch.tensor([ids])
    channels = 3 * 2 * arch.vision["patch_size"] ** 2
    inputs = {
        "input_ids": input_ids,
        "attention_mask": torch.ones_like(input_ids),
        "mm_token_type_ids": (input_ids == VIDEO_PAD).int() * 2,
        "pixel_values_videos": torch.randn(t * h * w, channels, generator=g),
        "video_grid_thw": torch.tensor([[t, h, w]]),
    }
    if arch.family == "qwen2_5_vl":
        inputs["second_per_grid_ts"] = torch.tensor([2.0 / fps])
    return {k: v.to(device) for k, v in inputs.items()}


def stack_videos(inputs: list[dict]) -> dict:
    """Several single-video inputs (equal prompt lengths) as one batch of videos."""
    out = {}
    for key in inputs[0]:
        out[key] = torch.cat([x[key] for x in inputs], dim=0)
    return out


def replicate(inputs: dict, copies: int) -> dict:
    """The reference's layout: the prompt row AND the video's pixels repeated once per completion."""
    out = {k: v.repeat_interleave(copies, dim=0) for k, v in inputs.items() if k != "pixel_values_videos"}
    out["pixel_values_videos"] = inputs["pixel_values_videos"].repeat(copies, 1) if inputs["video_grid_thw"].shape[0] == 1 else \
        torch.cat([p for p in inputs["pixel_values_videos"].split(_patches(inputs["video_grid_thw"])) for _ in range(copies)])
    return out


def _patches(grid) -> list[int]:
    return [int(t * h * w) for t, h, w in grid.tolist()]
