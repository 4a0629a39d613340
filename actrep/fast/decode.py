"""Fast rollout decoding: prefill once per video, G rollouts against the shared prompt KV, CUDA graphs.

HF `generate` with num_return_sequences=G prefills the prompt G times (4.6K visual tokens each) and
then decodes at ~27 ms/token at batch 8 on an H100 for a 3B model, ~10x the memory floor: every step
is hundreds of small kernels launched from Python, the dynamic cache grows by concatenation, and the
attention reads the G identical prompt copies. This decoder:

  * prefills each distinct prompt once (the model's own forward, video features passed in), and keeps
    its keys/values once per video (`Prefix`);
  * decodes the V x G rows in lock step with a small loop of its own over the model's weights
    (the Qwen2/2.5/3-VL dense decoder layer written out: RMSNorm, q/k/v (+bias, + Qwen3's q/k norm),
    rope, attention, o_proj, SwiGLU MLP; checked against the transformers layers in tests);
  * attention per layer = [the video's prompt keys, read once for its G rows] + [each row's own
    generated keys], one softmax over both (float32 scores and caches);
  * all buffers are static (per shape), so one decode step (embedding -> layers -> LM head ->
    sampling -> next-token feedback) is captured once as a CUDA graph and replayed per token, with
    no host work or sync in between; optionally the per-layer pre/post-attention math is fused
    with torch.compile (one compiled function reused by every layer);
  * sampling is HF's: temperature, top-k, top-p, min_new_tokens (EOS suppressed), EOS -> pad after
    a row ends, greedy when do_sample is off; random draws use the Gumbel-max trick (an exact
    sample of softmax(logits / T), drawn on the device, so it can live inside the graph).

Rope: a generated token at step t gets position `last prompt position + 1 + t` in all three rope
sections, as transformers 5.23's generate() does (it increments the last position id) and as a
plain forward over prompt + completion does, so decoding here gives the tokens HF generate gives
(greedy: identical tokens in float32, tested on a long video with position-sensitive models).

Degraded modes (recorded in `self.mode`, printed by generate_rollouts): compile failure -> eager
per-layer math; CUDA graph capture failure or CPU -> eager steps. Unsupported (NotImplementedError;
`actrep grpo` decides before the run, actrep.train.grpo_fast): MoE text layers, adapter-wrapped
linear layers (LoRA), non-SiLU MLPs.

The per-step math (layer pieces, shared-prefix attention, sampling) is in decode_math.py.
"""

from __future__ import annotations

import inspect

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from actrep.fast.decode_math import SamplingConfig, post_attention, pre_attention, rms_norm, sample_tokens, shared_prefix_attention
from actrep.fast.features import select_features
from actrep.fast.prefix import model_parts
from actrep.fast.vision_attention import _base


@dataclass
class Prefix:
    """The prompts' keys/values (one copy per video) and what the first generated token needs."""

    keys: list[torch.Tensor]  # per layer [V, kv_heads, P, head_dim]
    values: list[torch.Tensor]
    valid: torch.Tensor | None  # [V, P] bool, False on left padding; None when there is none
    next_position: torch.Tensor  # [V] long: rope position of the first generated token
    logits: torch.Tensor  # [V, vocab] float32: next-token logits after the prompt

    @property
    def videos(self) -> int:
        return self.keys[0].shape[0]

    @property
    def length(self) -> int:
        return self.keys[0].shape[2]


PROMPT_KEYS = ("input_ids", "attention_mask", "mm_token_type_ids", "video_grid_thw", "second_per_grid_ts")


def prefill(model, inputs, features=None) -> Prefix:
    """One forward over the (left-padded) prompts with the video; `features` = cached encoder output
    (per-video list, as `get_video_features` returns), else `inputs["pixel_values_videos"]` is used."""
    kwargs = {key: inputs[key] for key in PROMPT_KEYS if inputs.get(key) is not None}
    videos = kwargs["input_ids"].shape[0]
    if features is not None:
        kwargs["mm_encoder_outputs"] = select_features(features, range(videos))
    elif inputs.get("pixel_values_videos") is not None:
        kwargs["pixel_values_videos"] = inputs["pixel_values_videos"]
    with torch.no_grad():
        output = model(**kwargs, use_cache=True, logits_to_keep=1)
    cache = output.past_key_values
    keys = [layer.keys for layer in cache.layers]
    values = [layer.values for layer in cache.layers]
    mask = kwargs.get("attention_mask")
    if mask is None:
        mask = torch.ones_like(kwargs["input_ids"])
    next_position = _last_prompt_position(model, kwargs, mask) + 1
    valid = None if bool(mask.bool().all()) else mask.bool()
    return Prefix(keys, values, valid, next_position, output.logits[:, -1].float())


def _last_prompt_position(model, kwargs, mask) -> torch.Tensor:
    """[V] rope position of each prompt's last token. Generation continues from it (+1 per step):
    transformers 5.23 increments the last position id rather than using max(video positions) + 1,
    and a plain forward over prompt + completion agrees (tests/test_positions.py)."""
    base = _base(model)
    if "video_grid_thw" not in kwargs or not hasattr(base, "get_rope_index"):
        return mask.long().sum(-1) - 1
    rope_kwargs = {k: kwargs[k] for k in ("mm_token_type_ids", "video_grid_thw", "second_per_grid_ts") if k in kwargs}
    if "second_per_grid_ts" in rope_kwargs and "second_per_grid_ts" not in inspect.signature(base.get_rope_index).parameters:
        rope_kwargs.pop("second_per_grid_ts")
    positions, _ = base.get_rope_index(kwargs["input_ids"], attention_mask=mask, **rope_kwargs)
    return positions[0, :, -1]  # left padding: the last column is the last real token; text: equal on all axes


# ------------------------------------------------------------------------------------------ decoder


class _State:
    """Static buffers of one (videos, G, prompt-length bucket, steps) shape, and its captured graph."""

    def __init__(self, decoder: "FastDecoder", videos: int, group: int, length: int, steps: int):
        device, L = decoder.device, len(decoder.layers)
        kv, d = decoder.kv_heads, decoder.head_dim
        rows = videos * group
        self.videos, self.group, self.length, self.steps, self.rows = videos, group, length, steps, rows
        self.keys = [torch.zeros(videos, kv, group, steps, d, device=device) for _ in range(L)]
        self.values = [torch.zeros(videos, kv, group, steps, d, device=device) for _ in range(L)]
        self.prefix_keys = [torch.zeros(videos, kv, length, d, device=device) for _ in range(L)]
        self.prefix_values = [torch.zeros(videos, kv, length, d, device=device) for _ in range(L)]
        self.prefix_bias = torch.zeros(videos, 1, 1, length, device=device)  # 0 / -inf: left padding and the bucket's tail
        self.tokens = torch.zeros(rows, dtype=torch.long, device=device)
        self.position = torch.zeros(rows, dtype=torch.long, device=device)
        self.step = torch.zeros(1, dtype=torch.long, device=device)
        self.finished = torch.zeros(rows, dtype=torch.bool, device=device)
        self.out = torch.zeros(rows, steps, dtype=torch.long, device=device)
        self.arange = torch.arange(steps, device=device)
        self.graph = None
        self.fingerprint = None
        self.ready = False


class FastDecoder:
    """Decode V x G rollouts from a `Prefix` with static buffers and (on CUDA) one CUDA graph per shape.

        decoder = FastDecoder(model, compile=True)
        prefix = prefill(model, batch, features)
        tokens = decoder.generate(prefix, num_generations=8, config=SamplingConfig(256, min_new_tokens=256))
    """

    def __init__(self, model, *, cuda_graph: bool | None = None, compile: bool = False, max_cached_shapes: int = 2,
                 length_bucket: int = 256):
        base = _base(model)
        _, lm, lm_head = model_parts(model)
        self.model, self.lm, self.lm_head = model, lm, lm_head
        self.layers = list(lm.layers)
        config = lm.config
        self.heads, self.kv_heads = config.num_attention_heads, config.num_key_value_heads
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // self.heads
        self.video_token_id = base.config.video_token_id
        self._check_supported(config)
        self.device = lm_head.weight.device
        self.cuda_graph = self.device.type == "cuda" if cuda_graph is None else (cuda_graph and self.device.type == "cuda")
        self.compile_requested = compile
        self.max_cached_shapes = max_cached_shapes
        # Prompt lengths vary by a few tokens between videos (timestamps, frame counts): buffers sized to the next
        # multiple of `length_bucket` (the tail masked) let one captured graph and one compiled kernel serve them
        # all, instead of a capture and a recompile (~2 s at 3B) whenever the length changes.
        self.length_bucket = length_bucket
        self._states: dict[tuple, _State] = {}
        self._cast: dict[int, torch.Tensor] = {}
        self._eager_math()
        self.mode = "eager"
        self.notes: list[str] = []
        self.notes_shown = 0  # generate_rollouts prints each note once
        if compile:
            try:  # one compiled function per role, shared by all layers (weights are arguments, not constants)
                self._pre = torch.compile(pre_attention, dynamic=False, fullgraph=True)
                self._attend = torch.compile(shared_prefix_attention, dynamic=False, fullgraph=True)
                self._post = torch.compile(post_attention, dynamic=False, fullgraph=True)
            except Exception as err:  # noqa: BLE001 - any failure: eager math, noted
                self._eager_math()
                self.notes.append(f"torch.compile unavailable: {err!r}")

    def _eager_math(self) -> None:
        self._pre, self._attend, self._post = pre_attention, shared_prefix_attention, post_attention

    def _check_supported(self, config) -> None:
        if getattr(config, "hidden_act", "silu") != "silu":
            raise NotImplementedError(f"fast decode supports SiLU MLPs, not {config.hidden_act}")
        for layer in self.layers:
            attn, mlp = layer.self_attn, layer.mlp
            linears = [attn.q_proj, attn.k_proj, attn.v_proj, attn.o_proj]
            if not all(hasattr(mlp, name) for name in ("gate_proj", "up_proj", "down_proj")):
                raise NotImplementedError("fast decode supports dense MLP layers (not MoE)")
            linears += [mlp.gate_proj, mlp.up_proj, mlp.down_proj]
            if any(type(m) is not torch.nn.Linear for m in linears):
                raise NotImplementedError("fast decode needs plain nn.Linear layers (merge LoRA adapters first)")

    # -------------------------------------------------------------------- weights in the compute dtype

    def compute_dtype(self) -> torch.dtype:
        dtype = self.lm_head.weight.dtype
        device_type = self.device.type
        if dtype == torch.float32 and torch.is_autocast_enabled(device_type):
            return torch.get_autocast_dtype(device_type)
        return dtype

    def _w(self, tensor):
        if tensor is None:
            return None
        dtype = self._dtype
        if tensor.dtype == dtype:
            return tensor.detach()
        cached = self._cast.get(id(tensor))
        if cached is None or cached.shape != tensor.shape:
            cached = self._cast[id(tensor)] = torch.empty(tensor.shape, dtype=dtype, device=tensor.device)
        return cached.copy_(tensor.detach())

    def _load_weights(self, dtype: torch.dtype) -> tuple:
        """Per-layer weight tuples in `dtype` (parameters themselves when already in it)."""
        self._dtype = dtype
        self._embed = self._w(self.lm.embed_tokens.weight)
        self._norm = (self._w(self.lm.norm.weight), self.lm.norm.variance_epsilon)
        self._head = (self._w(self.lm_head.weight), self._w(getattr(self.lm_head, "bias", None)))
        self._weights = []
        for layer in self.layers:
            attn, mlp = layer.self_attn, layer.mlp
            qn = getattr(attn, "q_norm", None)
            kn = getattr(attn, "k_norm", None)
            self._weights.append(dict(
                ln=self._w(layer.input_layernorm.weight), eps=layer.input_layernorm.variance_epsilon,
                wq=self._w(attn.q_proj.weight), bq=self._w(attn.q_proj.bias), wk=self._w(attn.k_proj.weight),
                bk=self._w(attn.k_proj.bias), wv=self._w(attn.v_proj.weight), bv=self._w(attn.v_proj.bias),
                qn=self._w(qn.weight) if qn is not None else None, kn=self._w(kn.weight) if kn is not None else None,
                qk_eps=qn.variance_epsilon if qn is not None else 1e-6,
                wo=self._w(attn.o_proj.weight), bo=self._w(attn.o_proj.bias),
                ln2=self._w(layer.post_attention_layernorm.weight), eps2=layer.post_attention_layernorm.variance_epsilon,
                wg=self._w(mlp.gate_proj.weight), wu=self._w(mlp.up_proj.weight), wd=self._w(mlp.down_proj.weight),
                scaling=attn.scaling))
        # every weight's address: the captured graph reads them there (DeepSpeed may re-point parameters)
        return (self._dtype, self._embed.data_ptr(), self._head[0].data_ptr(),
                *(t.data_ptr() for w in self._weights for t in w.values() if isinstance(t, torch.Tensor)))

    # -------------------------------------------------------------------- one step

    def _step(self, s: _State, config: SamplingConfig) -> None:
        x = F.embedding(s.tokens, self._embed).unsqueeze(1)  # [rows, 1, hidden]
        position = (s.position + s.step).view(1, s.rows, 1).expand(3, s.rows, 1)
        cos, sin = self.lm.rotary_emb(x, position)
        suffix_bias = torch.where(s.arange <= s.step, 0.0, -math.inf)
        for index, w in enumerate(self._weights):
            q, k, v = self._pre(x, cos, sin, w["ln"], w["eps"], w["wq"], w["bq"], w["wk"], w["bk"], w["wv"], w["bv"],
                                w["qn"], w["kn"], w["qk_eps"], self.heads, self.kv_heads, self.head_dim)
            shape = (s.videos, s.group, self.kv_heads, 1, self.head_dim)
            s.keys[index].index_copy_(3, s.step, k.reshape(shape).permute(0, 2, 1, 3, 4))
            s.values[index].index_copy_(3, s.step, v.reshape(shape).permute(0, 2, 1, 3, 4))
            attended = self._attend(q, s.keys[index], s.values[index], s.prefix_keys[index], s.prefix_values[index],
                                    suffix_bias, s.prefix_bias, w["scaling"])
            x = self._post(x, attended, w["wo"], w["bo"], w["ln2"], w["eps2"], w["wg"], w["wu"], w["wd"])
        x = rms_norm(x, *self._norm)
        logits = F.linear(x[:, 0], *self._head).float()
        tokens = sample_tokens(logits, s.step + 1, config, s.finished)
        s.out.index_copy_(1, s.step + 1, tokens.unsqueeze(1))
        s.tokens.copy_(tokens)
        s.step += 1

    def _same_rng(self):
        """Trial and warm-up steps draw no random numbers that count: a run resumed at step k samples as the
        straight run did, whichever step first built this shape's buffers (graph capture itself draws none)."""
        return torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else [])

    def _capture(self, s: _State, config: SamplingConfig) -> None:
        s.step.zero_()  # warm-up steps write at s.step and s.step + 1: keep them inside the buffers
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream), self._same_rng():
            for _ in range(2):  # warm-up: cuBLAS handles, compiled kernels, allocator
                self._step(s, config)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self._step(s, config)
        s.graph = graph

    def bucketed(self, length: int) -> int:
        return -(-length // self.length_bucket) * self.length_bucket

    def _state(self, prefix: Prefix, group: int, steps: int, config: SamplingConfig, fingerprint) -> _State:
        key = (prefix.videos, group, self.bucketed(prefix.length), steps, config.do_sample, config.temperature,
               config.top_k, config.top_p, config.min_new_tokens, config.eos_token_id, config.pad_token_id)
        state = self._states.pop(key, None)
        if state is None:
            while len(self._states) >= self.max_cached_shapes:
                self._states.pop(next(iter(self._states)))
            state = _State(self, prefix.videos, group, self.bucketed(prefix.length), steps)
        self._states[key] = state  # most recently used last
        if state.ready and (state.graph is None if not self.cuda_graph else state.fingerprint == fingerprint):
            return state
        if steps < 4:  # too short to be worth a graph (and the warm-up steps would run past the buffers)
            state.graph, state.ready = None, True
            return state
        state.graph, state.ready = None, False
        attempts = [True, False] if self._pre is not pre_attention else [False]
        for compiled in attempts:
            if not compiled:
                self._eager_math()
            try:
                if self.cuda_graph:
                    self._capture(state, config)
                    state.fingerprint = fingerprint
                else:
                    state.step.zero_()
                    with self._same_rng():
                        self._step(state, config)  # a trial step (generate resets the state before decoding)
                state.ready = True
                return state
            except Exception as err:  # noqa: BLE001 - fall back, noted in self.notes
                self.notes.append(f"{'compiled' if compiled else 'eager'} {'CUDA graph' if self.cuda_graph else 'step'} failed: {err!r}")
                state.graph = None
        if self.cuda_graph:  # last resort: eager math, no graph
            self.cuda_graph = False
            state.step.zero_()
            with self._same_rng():
                self._step(state, config)
            state.ready = True
            return state
        raise RuntimeError("fast decode failed: " + "; ".join(self.notes))

    def generate(self, prefix: Prefix, num_generations: int, config: SamplingConfig, check_every: int = 32) -> torch.Tensor:
        """[V*G, <= max_new_tokens] tokens, rows grouped by video (repeat_interleave order), pad after EOS;
        stops early (checked every `check_every` steps) once every row has ended."""
        group, steps = num_generations, config.max_new_tokens
        dtype = self.compute_dtype()  # read before autocast is switched off below: float32 masters decode in bf16
        with torch.no_grad(), torch.autocast(self.device.type, enabled=False):
            fingerprint = self._load_weights(dtype)
            state = self._state(prefix, group, steps, config, fingerprint)
            self.mode = ("cuda_graph" if state.graph is not None else "eager") + (
                "+compile" if self._pre is not pre_attention else "")
            length = prefix.length
            for index in range(len(self.layers)):
                for buffer, source in ((state.prefix_keys[index], prefix.keys[index]), (state.prefix_values[index], prefix.values[index])):
                    buffer[:, :, :length].copy_(source)
                    buffer[:, :, length:].zero_()
            valid = torch.zeros(prefix.videos, state.length, dtype=torch.bool, device=self.device)
            valid[:, :length] = True if prefix.valid is None else prefix.valid
            state.prefix_bias.copy_(torch.where(valid, 0.0, -math.inf).view(prefix.videos, 1, 1, -1))
            state.position.copy_(prefix.next_position.repeat_interleave(group))
            state.step.zero_()
            state.finished.zero_()
            state.out.fill_(config.pad_token_id if config.pad_token_id is not None else 0)
            first = sample_tokens(prefix.logits.repeat_interleave(group, dim=0), torch.zeros_like(state.step), config, state.finished)
            state.out[:, 0] = first
            state.tokens.copy_(first)
            done = 1
            while done < steps:
                if state.graph is not None:
                    state.graph.replay()
                else:
                    self._step(state, config)
                done += 1
                if (config.eos_token_id is not None and done % check_every == 0 and done >= config.min_new_tokens
                        and bool(state.finished.all())):
                    break
            out = state.out[:, :done]
            if config.eos_token_id is not None:
                ended = out == config.eos_token_id
                lengths = torch.where(ended.any(1), ended.int().argmax(1) + 1, torch.full_like(ended[:, 0], done, dtype=torch.long))
                out = out[:, : int(lengths.max())]
            return out.clone()

    def reset(self) -> None:
        self._states.clear()
        self._cast.clear()


_DECODER: FastDecoder | None = None  # the last model's decoder (one policy per training run; older models are released)


def decoder_for(model, **kwargs) -> FastDecoder:
    """The FastDecoder of `model`, kept between calls (its buffers, graphs and compiled code are reused)."""
    global _DECODER
    if _DECODER is None or _DECODER.model is not model:
        _DECODER = None
        _DECODER = FastDecoder(model, **kwargs)
    return _DECODER


def generate_rollouts(model, batch, features, num_generations: int, config: SamplingConfig, **decoder_kwargs) -> torch.Tensor:
    """`actrep.train.rollout.generate` with prefill once + the fast decoder: [videos x G, new tokens]."""
    prefix = prefill(model, batch, features)
    on_gpu = prefix.logits.device.type == "cuda"
    decoder_kwargs.setdefault("compile", on_gpu)  # one-time compile cost, falls back to eager math by itself
    decoder = decoder_for(model, **decoder_kwargs)
    tokens = decoder.generate(prefix, num_generations, config)
    for note in decoder.notes[decoder.notes_shown:]:  # a degraded (still exact) decoder is said, not hidden
        print(f"fast decode: {note}; decoding with {decoder.mode}", flush=True)
    decoder.notes_shown = len(decoder.notes)
    return tokens
