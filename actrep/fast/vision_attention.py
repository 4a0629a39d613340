"""Batched window/frame attention for the Qwen-VL vision towers, and host-precomputed index tensors.

Without flash-attn, transformers' vision attention (Qwen2-VL, Qwen2.5-VL, Qwen3-VL) splits the packed
patch sequence at `cu_seqlens` and calls sdpa once per segment in a Python loop: once per 8x8-patch
window in Qwen2.5-VL's windowed layers (288 calls per layer for 64 frames at 336x336) and once per
frame in full-attention layers, after a `.tolist()` host sync per layer. When all segments have the
same length L (always the case for frames of one video, and for Qwen2.5-VL windows whenever the
merged grid is a multiple of the window, e.g. 336x336 and 448x448), the packed sequence is exactly
a batch of n = seq/L independent segments: one sdpa call on [n, heads, L, head_dim] computes the same
numbers (each segment's softmax only sees its own keys either way). Otherwise the stock loop runs.

Host syncs: the segment length is decided once per `cu_seqlens` tensor (cached on the tensor, so
the 32 layers of one forward share one decision), and `video_features` computes every index tensor
(positions, windows, cu_seqlens, Qwen3-VL's interpolation taps) with transformers' own helpers on a
CPU copy of the grid and ships them to the device in one non-blocking copy each, so the tower runs
without per-layer `.tolist()` calls. The helpers are the stock ones, so the indices are identical.

Use:
    with fast_vision_attention(model): ...                  # patch the attention modules
    features = video_features(model, pixels, grid, fast=True)   # what get_video_features returns
"""

from __future__ import annotations

import contextlib
import sys
import types

import torch
import torch.nn.functional as F

_ATTENTION_CLASSES = ("VisionAttention", "Qwen2_5_VLVisionAttention", "Qwen3VLVisionAttention", "Qwen3VLMoeVisionAttention")
_UNIFORM_ATTR = "_actrep_segment_length"  # set on cu_seqlens tensors: int (uniform) or 0 (not uniform)


def _segment_length(cu_seqlens: torch.Tensor) -> int:
    """The common length of all segments, or 0 when they differ (one host sync per tensor, then cached)."""
    cached = getattr(cu_seqlens, _UNIFORM_ATTR, None)
    if cached is not None:
        return cached
    lengths = (cu_seqlens[1:] - cu_seqlens[:-1]).tolist()
    lengths = [n for n in lengths if n > 0]
    value = lengths[0] if lengths and all(n == lengths[0] for n in lengths) else 0
    setattr(cu_seqlens, _UNIFORM_ATTR, value)
    return value


def mark_segments(cu_seqlens: torch.Tensor, lengths: list[int]) -> torch.Tensor:
    """Record on `cu_seqlens` (built from host-known `lengths`) whether its segments are equal-sized."""
    lengths = [n for n in lengths if n > 0]
    setattr(cu_seqlens, _UNIFORM_ATTR, lengths[0] if lengths and all(n == lengths[0] for n in lengths) else 0)
    return cu_seqlens


def batched_attention_forward(self, hidden_states, cu_seqlens, position_embeddings=None, max_seqlen=None, **kwargs):
    """Drop-in forward of the vision attention modules: one sdpa call over equal-sized segments."""
    from transformers.utils.generic import is_flash_attention_requested

    seq_length = hidden_states.shape[0]
    segment = 0 if is_flash_attention_requested(self.config) else _segment_length(cu_seqlens)
    if segment <= 0 or seq_length % segment or kwargs.get("output_attentions"):
        return type(self).forward(self, hidden_states, cu_seqlens, position_embeddings, max_seqlen, **kwargs)
    apply_rotary = sys.modules[type(self).__module__].apply_rotary_pos_emb_vision
    q, k, v = self.qkv(hidden_states).reshape(seq_length, 3, self.num_heads, -1).permute(1, 0, 2, 3).unbind(0)
    cos, sin = position_embeddings
    q, k = apply_rotary(q, k, cos, sin)
    n = seq_length // segment
    q, k, v = (t.reshape(n, segment, self.num_heads, -1).transpose(1, 2) for t in (q, k, v))  # [n, heads, L, d]
    dropout = self.attention_dropout if self.training else 0.0
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, scale=self.scaling)
    out = out.transpose(1, 2).reshape(seq_length, -1)
    return self.proj(out)


def attention_modules(model):
    return [m for m in model.modules() if type(m).__name__ in _ATTENTION_CLASSES]


def enable(model) -> int:
    """Give every vision attention module of `model` the batched forward; returns how many were patched."""
    modules = attention_modules(model)
    for module in modules:
        module.forward = types.MethodType(batched_attention_forward, module)
    return len(modules)


def disable(model) -> None:
    for module in attention_modules(model):
        module.__dict__.pop("forward", None)


def is_enabled(model) -> bool:
    modules = attention_modules(model)
    return bool(modules) and all("forward" in m.__dict__ for m in modules)


@contextlib.contextmanager
def fast_vision_attention(model, enabled: bool = True):
    """Batched vision attention inside the block (restores the previous state after)."""
    if not enabled:
        yield model
        return
    was = is_enabled(model)
    enable(model)
    try:
        yield model
    finally:
        if not was:
            disable(model)


def _base(model):
    """The `Qwen*VLModel` inside a ForConditionalGeneration / PEFT / DDP wrapper."""
    for _ in range(6):
        if hasattr(model, "visual") and hasattr(model, "language_model"):
            return model
        if hasattr(model, "module") and not hasattr(model, "model"):
            model = model.module
        elif hasattr(model, "get_base_model") and callable(model.get_base_model) and model.get_base_model() is not model:
            model = model.get_base_model()
        else:
            model = model.model
    raise TypeError(f"no Qwen-VL vision tower found in {type(model).__name__}")


def _to_device(tensor: torch.Tensor, device) -> torch.Tensor:
    if torch.device(device).type == "cuda":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)


def precompute_tower_inputs(visual, grid_thw) -> dict:
    """Every index tensor the vision tower derives from `grid_thw`, computed on the host (stock helpers)."""
    from transformers import vision_utils as vu

    grid = torch.as_tensor(grid_thw).detach().to("cpu", torch.long)
    device = next(visual.parameters()).device
    merge = visual.spatial_merge_size
    out = {"position_ids": _to_device(vu.get_vision_position_ids(grid, merge), device)}
    frame_lengths = [int(h * w) for t, h, w in grid.tolist() for _ in range(int(t))]
    out["cu_seqlens"] = mark_segments(_to_device(vu.get_vision_cu_seqlens(grid), device), frame_lengths)
    if getattr(visual, "window_size", None) is not None and hasattr(visual, "fullatt_block_indexes"):  # Qwen2.5-VL
        window_index, cu_window = vu.get_vision_window_index(grid, merge, visual.window_size, visual.patch_size)
        cu_list = cu_window.tolist()
        out["window_index"] = _to_device(window_index, device)
        out["cu_window_seqlens"] = mark_segments(_to_device(cu_window, device), [b - a for a, b in zip(cu_list, cu_list[1:])])
    if hasattr(visual, "pos_embed"):  # Qwen3-VL: learned position grid resampled per video
        indices, weights = vu.get_vision_interpolation_indices_and_weights(
            grid, num_grid_per_side=visual.num_grid_per_side, mode=visual.interpolation_mode,
            align_corners=visual.interpolation_align_corners, spatial_merge_size=visual.config.spatial_merge_size)
        out["interp_indices"], out["interp_weights"] = _to_device(indices, device), _to_device(weights, device)
    return out


def video_features(model, pixel_values_videos, video_grid_thw, grad: bool = False, fast: bool = True):
    """The same object as `model.get_video_features(..., return_dict=True)` (per-video `pooler_output`
    list, Qwen3-VL's per-layer `deepstack_features` lists), optionally with batched attention and
    host-precomputed indices (`fast`)."""
    base = _base(model)
    if not fast:
        with torch.set_grad_enabled(grad):
            return base.get_video_features(pixel_values_videos, video_grid_thw, return_dict=True)
    visual = base.visual
    grid = torch.as_tensor(video_grid_thw).detach().to("cpu", torch.long)
    sizes = [int(t * h * w) // visual.spatial_merge_size**2 for t, h, w in grid.tolist()]
    kwargs = precompute_tower_inputs(visual, grid)
    with torch.set_grad_enabled(grad), fast_vision_attention(visual):
        output = visual(pixel_values_videos.type(visual.dtype), grid_thw=video_grid_thw, return_dict=True, **kwargs)
    output.pooler_output = torch.split(output.pooler_output, sizes)
    if getattr(output, "deepstack_features", None) is not None:
        output.deepstack_features = [torch.split(feature, sizes) for feature in output.deepstack_features]
    return output
