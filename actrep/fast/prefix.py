"""Shared-prefix log-probabilities: the prompt (video included) computed once for the G completions.

GRPO scores G completions of the same prompt. The plain path runs G full forwards over
[prompt + completion]; with 4.6K visual tokens the prompt is ~95% of every sequence, so ~95% of the
work and activation memory is the same prompt computed G times. Here (the "Prefix Grouper" idea):

  1. prompt pass: the prompt runs once (batch 1), with gradients; every decoder layer's attention
     hands its keys/values to a recorder instead of a cache;
  2. completion pass: the G completions run as a batch of G; in every layer their queries attend to
     [the prompt's keys/values, expanded to G rows (a view), + their own causal keys/values]. The
     concatenation happens inside a read-only cache object's `update`, so the model's own attention
     modules, rope and sdpa kernels do all the math;
  3. the logits that predict completion token j are those of prompt position P-1 (j = 0) and
     completion position j-1 (j > 0); they go through the memory-lean LM head (actrep.fast.logps).

Why this is exact: causal attention means a prompt position never sees completion tokens, so the
prompt's hidden states and keys/values are the same in all G full forwards; a completion position
sees exactly [prompt, its own earlier tokens], which is what the completion pass gives it. Autograd
does the rest: the expand sums the G completions' gradients into the prompt's keys/values, and the
prompt's gradient flows back through one copy of the prompt instead of G. So losses and gradients
equal the plain path's up to floating-point summation order (tests check float32 agreement).

Why not FlexAttention: a block mask over a packed [prompt, c1..cG] sequence needs a compiled kernel
per shape and a custom rope layout; two passes through the stock modules need neither, work on
CPU, with sdpa or eager attention, with LoRA adapters and with gradient checkpointing.

Rope positions (Qwen-VL 3D rope): positions come from the model's own `get_rope_index` over
[prompt + completion] for one row, i.e. exactly the positions a plain forward gives a valid
completion token (text continuing after the prompt's last text token, which is also what
transformers 5.23's generate() does: tests/test_positions.py). Qwen3-VL's deepstack features
are added to the prompt's visual positions in the first layers, as the model does.

Gradient checkpointing: layers are checkpointed here (non-reentrant) when the model has it enabled,
calling the layer's un-wrapped forward so transformers' wrapper does not drop the cache object; the
recorder and the shared-prefix cache are safe to replay (the completion pass holds the prompt's
original tensors).

Limits: one process (DDP/DeepSpeed expect the wrapped forward), sdpa or eager attention (flash
attention takes no arbitrary mask), dense or MoE text layers of the Qwen2/2.5/3-VL families.
"""

from __future__ import annotations

import functools
import inspect

import torch
from torch.utils.checkpoint import checkpoint

from actrep.fast.logps import token_logps
from actrep.fast.vision_attention import _base


def model_parts(model):
    """(base Qwen*VLModel, its text model, the LM head) of a ForConditionalGeneration (PEFT/DDP unwrapped)."""
    base = _base(model)
    top = model
    for _ in range(6):
        if hasattr(top, "lm_head"):
            break
        top = top.module if hasattr(top, "module") and not hasattr(top, "model") else (
            top.get_base_model() if hasattr(top, "get_base_model") else top.model)
    return base, base.language_model, top.lm_head


class _Recorder:
    """Stands in for a cache in the prompt pass: keeps each layer's keys/values (with their autograd history)."""

    def __init__(self):
        self.keys: dict[int, torch.Tensor] = {}
        self.values: dict[int, torch.Tensor] = {}

    def update(self, key_states, value_states, layer_idx, *args, **kwargs):
        self.keys[layer_idx], self.values[layer_idx] = key_states, value_states
        return key_states, value_states


class _SharedPrefix:
    """Stands in for a cache in the completion pass: [prompt K/V expanded to the batch, the rows' own K/V]."""

    def __init__(self, recorder: _Recorder):
        self.keys, self.values = dict(recorder.keys), dict(recorder.values)  # the originals, whatever replays do

    def update(self, key_states, value_states, layer_idx, *args, **kwargs):
        rows = key_states.shape[0]
        prefix_k = self.keys[layer_idx].expand(rows, -1, -1, -1)
        prefix_v = self.values[layer_idx].expand(rows, -1, -1, -1)
        return torch.cat([prefix_k, key_states], dim=2), torch.cat([prefix_v, value_states], dim=2)


def _layer_function(layer):
    """The decoder layer's forward without transformers' checkpointing wrapper (which drops caches)."""
    inner = getattr(type(layer).forward, "__wrapped__", None)
    return functools.partial(inner, layer) if inner is not None else layer


def _run_layers(lm, hidden, position_embeddings, mask, cache, deepstack=None, visual_mask=None):
    for index, layer in enumerate(lm.layers):
        call = functools.partial(_layer_function(layer), attention_mask=mask, position_ids=None, past_key_values=cache,
                                 use_cache=False, position_embeddings=position_embeddings)
        if getattr(layer, "gradient_checkpointing", False) and layer.training and torch.is_grad_enabled():
            out = checkpoint(call, hidden, use_reentrant=False)
        else:
            out = call(hidden)
        hidden = out[0] if isinstance(out, tuple) else out
        if deepstack is not None and index < len(deepstack):
            hidden = lm._deepstack_process(hidden, visual_mask, deepstack[index])
    return lm.norm(hidden)


def _completion_mask(config, prompt_length: int, length: int, dtype, device):
    """[1, 1, T, P + T]: every completion position sees the whole prompt and its own earlier tokens."""
    causal = torch.ones(length, length, dtype=torch.bool, device=device).tril()
    allowed = torch.cat([torch.ones(length, prompt_length, dtype=torch.bool, device=device), causal], dim=1)[None, None]
    implementation = getattr(config, "_attn_implementation", "sdpa") or "sdpa"
    if implementation == "sdpa":
        return allowed
    if implementation == "eager":
        return torch.zeros(allowed.shape, dtype=dtype, device=device).masked_fill(~allowed, torch.finfo(dtype).min)
    raise NotImplementedError(f"shared-prefix forward needs sdpa or eager attention, not {implementation}")


def _rope_positions(base, ids: torch.Tensor, types: torch.Tensor, grid, seconds) -> torch.Tensor:
    kwargs = {"mm_token_type_ids": types[None], "video_grid_thw": grid, "attention_mask": None}
    if seconds is not None and "second_per_grid_ts" in inspect.signature(base.get_rope_index).parameters:
        kwargs["second_per_grid_ts"] = seconds
    positions, _ = base.get_rope_index(ids[None], **kwargs)
    return positions  # [3, 1, P + T]


def shared_prefix_logps(model, prompt_ids: torch.Tensor, prompt_types: torch.Tensor, video_grid_thw, second_per_grid_ts,
                        video_embeds: torch.Tensor, deepstack_embeds, completion_ids: torch.Tensor, temperature: float,
                        with_entropy: bool = False, lean: bool = True):
    """Per-token log-probs [G, T] of G completions of ONE prompt (no padding), prompt computed once.

    `video_embeds` is this video's merged features [n_video_tokens, hidden]; `deepstack_embeds` its
    Qwen3-VL deepstack features (one tensor per layer) or None.
    """
    base, lm, lm_head = model_parts(model)
    rows, length = completion_ids.shape
    prompt_length = prompt_ids.shape[0]
    device = prompt_ids.device
    full_ids = torch.cat([prompt_ids, completion_ids[0]])
    full_types = torch.cat([prompt_types, torch.zeros_like(completion_ids[0], dtype=prompt_types.dtype)])
    positions = _rope_positions(base, full_ids, full_types, video_grid_thw, second_per_grid_ts)

    embed = base.get_input_embeddings()
    prompt_embeds = embed(prompt_ids[None])
    visual_mask = prompt_ids[None] == base.config.video_token_id
    prompt_embeds = prompt_embeds.masked_scatter(visual_mask.unsqueeze(-1).expand_as(prompt_embeds),
                                                 video_embeds.to(prompt_embeds.device, prompt_embeds.dtype))
    prompt_rope = lm.rotary_emb(prompt_embeds, positions[:, :, :prompt_length])
    recorder = _Recorder()
    prompt_hidden = _run_layers(lm, prompt_embeds, prompt_rope, None, recorder, deepstack_embeds,
                                visual_mask if deepstack_embeds is not None else None)

    completion_embeds = embed(completion_ids)
    completion_positions = positions[:, :, prompt_length:].expand(-1, rows, -1)
    completion_rope = lm.rotary_emb(completion_embeds, completion_positions)
    mask = _completion_mask(lm.config, prompt_length, length, completion_embeds.dtype, device)
    completion_hidden = _run_layers(lm, completion_embeds, completion_rope, mask, _SharedPrefix(recorder))

    predicting = torch.cat([prompt_hidden[:, -1:].expand(rows, -1, -1), completion_hidden[:, :-1]], dim=1)  # [G, T, H]
    if lean:
        return token_logps(predicting, lm_head, completion_ids, temperature, with_entropy=with_entropy)
    return _full_logits_logps(lm_head, prompt_hidden, completion_hidden, completion_ids, temperature, with_entropy)


def _full_logits_logps(lm_head, prompt_hidden, completion_hidden, completion_ids, temperature, with_entropy):
    """The memory-hungry reference behaviour: full-vocab logits for every computed position, then selection."""
    from actrep.fast.logps import selective_log_softmax

    rows = completion_ids.shape[0]
    prompt_logits = lm_head(prompt_hidden)
    completion_logits = lm_head(completion_hidden)
    logits = torch.cat([prompt_logits[:, -1:].expand(rows, -1, -1), completion_logits[:, :-1]], dim=1).float() / temperature
    logps = selective_log_softmax(logits, completion_ids)
    entropy = None
    if with_entropy:
        with torch.no_grad():
            logps_all = torch.log_softmax(logits.detach().float(), dim=-1)
            entropy = -(logps_all.exp() * logps_all).sum(-1)
    return logps, entropy


def grouped_completion_logps(model, batch, index: torch.Tensor, completion_ids: torch.Tensor, completion_mask: torch.Tensor,
                             features, temperature: float, with_entropy: bool = False, lean: bool = True):
    """Drop-in for `actrep.train.rollout.completion_logps`: same arguments and results (at valid
    completion positions), each distinct video's prompt computed once for all of its rows."""
    if features is None:
        raise ValueError("the shared-prefix forward needs the video features (text-only models: use completion_logps)")
    video_of_row = [int(i) for i in index.tolist()]
    groups: dict[int, list[int]] = {}
    for row, video in enumerate(video_of_row):
        groups.setdefault(video, []).append(row)
    pieces, entropies, order = [], [], []
    for video, rows in groups.items():
        valid = batch["attention_mask"][video].bool()
        ids = batch["input_ids"][video][valid]
        types = batch["mm_token_type_ids"][video][valid] if "mm_token_type_ids" in batch else (ids == _base(model).config.video_token_id).int() * 2
        grid = batch["video_grid_thw"][video : video + 1]
        seconds = batch["second_per_grid_ts"][video : video + 1] if batch.get("second_per_grid_ts") is not None else None
        deepstack = None
        if getattr(features, "deepstack_features", None) is not None:
            deepstack = [layer[video] for layer in features.deepstack_features]
        rows_tensor = torch.tensor(rows, device=completion_ids.device)
        logps, entropy = shared_prefix_logps(model, ids, types, grid, seconds, features.pooler_output[video], deepstack,
                                             completion_ids[rows_tensor], temperature, with_entropy=with_entropy, lean=lean)
        pieces.append(logps)
        entropies.append(entropy)
        order.extend(rows)
    inverse = torch.empty(len(order), dtype=torch.long)
    inverse[torch.tensor(order)] = torch.arange(len(order))
    inverse = inverse.to(completion_ids.device)
    logps = torch.cat(pieces)[inverse]
    entropy = torch.cat(entropies)[inverse] if with_entropy else None
    return logps, entropy
