"""One GRPO step (rollouts -> reference log-probs -> policy forward/backward) with every optimisation a flag.

All flags off is the reference-like baseline (bench/baseline.py describes it); all on is ours.

    vision_once       vision features computed once per video and reused by generation, reference and policy
                      (off: the video's pixels are replicated per completion and encoded in every pass)
    fast_vision_attn  batched window/frame attention in the vision tower + host-precomputed indices
    prefill_once      the prompt prefilled once per video, its KV shared by the G rollouts (needs fast_decode;
                      HF generate always prefills every returned sequence)
    fast_decode       our decoder (static buffers, CUDA graph, compiled per-layer math) instead of HF generate
    shared_prefix     reference/policy forwards compute the prompt once for the G completions
                      (off: full per-sequence forwards in micro-batches)
    lean_logps        chunked LM head over completion positions, logits recomputed in backward
                      (off: full-vocabulary logits for every position, as the reference does)

The step is what one GRPO update costs per video: G rollouts of exactly `new_tokens` tokens (EOS
suppressed so every variant decodes the same number), the reference pass (beta > 0), and one policy
forward+backward (num_iterations = 1: no old-policy pass; the loss is TRL's dapo with k3 KL). Rewards
are CPU work outside the comparison; advantages are drawn at random. No optimizer step (the same for
every variant). Vision tower frozen, gradient checkpointing on (the GRPO defaults on a GPU).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields, replace

import torch

from actrep.fast.decode import FastDecoder, SamplingConfig, prefill
from actrep.fast.logps import token_logps
from actrep.fast.prefix import shared_prefix_logps
from actrep.fast.vision_attention import video_features
from actrep.train.grpo_loss import LossConfig, policy_loss
from bench import baseline, measure
from bench.models import IM_END, PAD, PLACEHOLDERS, replicate


@dataclass(frozen=True)
class Flags:
    vision_once: bool = True
    fast_vision_attn: bool = True
    prefill_once: bool = True
    fast_decode: bool = True
    shared_prefix: bool = True
    lean_logps: bool = True

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def without(self, name: str) -> "Flags":
        flags = replace(self, **{name: False})
        if name == "fast_decode":  # HF generate cannot share one prefill between returned sequences
            flags = replace(flags, prefill_once=False)
        return flags

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.names()}


OURS = Flags()
BASELINE = Flags(False, False, False, False, False, False)


@dataclass
class StepSettings:
    group: int = 8
    new_tokens: int = 256
    micro_batch: int = 4  # sequences per forward on the per-sequence path (the shared-prefix path takes the group)
    temperature: float = 1.0
    beta: float = 0.04
    loss_type: str = "dapo"
    decode_compile: bool = True
    cuda_graph: bool = True
    seed: int = 0


def _repeat_features(features, copies: int):
    from actrep.fast.features import select_features

    return select_features(features, [0] * copies)["video"]


class GRPOStepBench:
    def __init__(self, model, inputs: dict, settings: StepSettings):
        self.model, self.inputs, self.settings = model, inputs, settings
        self.device = inputs["input_ids"].device
        self.base = model.model
        self.decoder = None
        self.loss_config = LossConfig(settings.loss_type, 0.2, 0.2, settings.beta, settings.new_tokens, True)
        self.last_completions = None
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.model.visual.requires_grad_(False)

    def decoder_for(self) -> FastDecoder:
        if self.decoder is None:
            self.decoder = FastDecoder(self.model, compile=self.settings.decode_compile, cuda_graph=self.settings.cuda_graph)
        return self.decoder

    # ------------------------------------------------------------------------------ pieces

    def _vision(self, flags: Flags, copies: int, timer):
        """Features of `copies` copies of the video (the reference encodes every replicated copy)."""
        px, grid = self.inputs["pixel_values_videos"], self.inputs["video_grid_thw"]
        if copies > 1:
            px, grid = px.repeat(copies, 1), grid.repeat(copies, 1)
        with timer.phase("vision"):
            return video_features(self.model, px, grid, fast=flags.fast_vision_attn)

    def _features(self, flags: Flags, cached, copies: int, timer):
        if flags.vision_once:
            return _repeat_features(cached, copies) if copies > 1 else cached
        return self._vision(flags, copies, timer)

    def generate(self, flags: Flags, cached, timer, new_tokens: int) -> torch.Tensor:
        s, G = self.settings, self.settings.group
        if flags.fast_decode:
            videos = 1 if flags.prefill_once else G
            rows = self.inputs if videos == 1 else replicate(self.inputs, G)
            features = self._features(flags, cached, videos, timer)
            with timer.phase("prefill"):
                prefix = prefill(self.model, rows, features)
            config = SamplingConfig(new_tokens, do_sample=True, temperature=s.temperature, min_new_tokens=new_tokens,
                                    eos_token_id=IM_END, pad_token_id=PAD)
            with timer.phase("decode"):
                return self.decoder_for().generate(prefix, G // videos, config)
        from transformers import GenerationConfig

        from actrep.fast.features import select_features

        config = GenerationConfig(max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=True, temperature=s.temperature,
                                  top_k=0, top_p=1.0, eos_token_id=IM_END, pad_token_id=PAD, bos_token_id=None, use_cache=True)
        if flags.vision_once:  # actrep's loop today: one row, features expanded by generate
            rows, features, config.num_return_sequences = self.inputs, select_features(cached, [0]), G
        else:  # the reference: G replicated rows, each with its own copy of the video
            rows = replicate(self.inputs, G)
            features = {"video": self._vision(flags, G, timer)}
        return baseline.hf_generate(self.model, rows, features, config, timer)

    def _per_sequence_logps(self, flags: Flags, features, completions: torch.Tensor, lean: bool):
        if not lean:
            return baseline.full_logits_logps(self.model, self.inputs, features, completions, self.settings.temperature)
        length = completions.shape[1]
        hidden = self.model.model(**baseline.sequence_rows(self.inputs, completions, features), use_cache=False).last_hidden_state
        logps, _ = token_logps(hidden[:, -length - 1 : -1], self.model.lm_head, completions, self.settings.temperature)
        return logps

    def _shared_prefix_logps(self, features, completions: torch.Tensor, lean: bool):
        valid = self.inputs["attention_mask"][0].bool()
        deepstack = None
        if getattr(features, "deepstack_features", None) is not None:
            deepstack = [layer[0] for layer in features.deepstack_features]
        logps, _ = shared_prefix_logps(self.model, self.inputs["input_ids"][0][valid], self.inputs["mm_token_type_ids"][0][valid],
                                       self.inputs["video_grid_thw"][:1], self.inputs.get("second_per_grid_ts"),
                                       features.pooler_output[0], deepstack, completions, self.settings.temperature, lean=lean)
        return logps

    def logps_pass(self, flags: Flags, cached, completions, timer, phase: str, loss_fn=None):
        """Reference pass (loss_fn None, no grad) or policy pass (loss per micro-batch, backward)."""
        G = completions.shape[0]
        chunks = [slice(0, G)] if flags.shared_prefix else [slice(i, i + self.settings.micro_batch)
                                                            for i in range(0, G, self.settings.micro_batch)]
        out, total = [], 0.0
        for rows in chunks:
            n = rows.stop - rows.start if rows.stop <= G else G - rows.start
            features = self._features(flags, cached, 1 if flags.shared_prefix else n, timer)
            with timer.phase(phase), torch.set_grad_enabled(loss_fn is not None):
                if flags.shared_prefix:
                    logps = self._shared_prefix_logps(features, completions[rows], flags.lean_logps)
                else:
                    logps = self._per_sequence_logps(flags, features, completions[rows], flags.lean_logps)
                if loss_fn is not None:
                    loss = loss_fn(logps, rows)
                    loss.backward()
                    total = total + loss.detach()  # read after the step: no host sync inside the timing
                    logps = logps.detach()
            out.append(logps)
        return torch.cat(out), total

    # ------------------------------------------------------------------------------ the step

    def step(self, flags: Flags, new_tokens: int | None = None, fixed: dict | None = None, keep_grads: list[str] | None = None) -> dict:
        """Run one step; returns the step time (synchronised wall clock, start to end), its split into phases
        (CUDA events), peak memory, loss (and chosen gradients)."""
        s, model, device = self.settings, self.model, self.device
        new_tokens = new_tokens or s.new_tokens
        model.zero_grad(set_to_none=True)
        if not flags.fast_decode and self.decoder is not None:
            self.decoder.reset()  # its static buffers and graphs belong to ours' memory, not to other variants'
        measure.sync(device)
        measure.reset_memory(device)
        timer = measure.PhaseTimer(device)
        wall = time.perf_counter()
        model.eval()
        cached = None
        if flags.vision_once:
            with torch.no_grad():
                cached = self._vision(flags, 1, timer)
        if fixed is not None:
            completions, mask = fixed["completions"], fixed["mask"]
        else:
            with torch.no_grad():
                completions = self.generate(flags, cached, timer, new_tokens)
            # A random model can sample a vision placeholder, which a full forward would take for a video
            # slot; the bench forces full-length completions, so swap such tokens for an ordinary one.
            completions = completions.masked_fill(torch.isin(completions, torch.tensor(PLACEHOLDERS, device=completions.device)), 15)
            mask = torch.ones_like(completions, dtype=torch.int)
            self.last_completions = completions
        G = completions.shape[0]
        gen = torch.Generator().manual_seed(s.seed)
        advantages = (fixed["advantages"] if fixed is not None else torch.randn(G, generator=gen)).to(device)
        with torch.no_grad():
            ref_logps, _ = self.logps_pass(flags, cached, completions, timer, "ref")
        own_ref_logps, old_logps = ref_logps, None
        if fixed is not None and "ref_logps" in fixed:  # correctness: the same off-policy old and reference log-probs for
            old_logps, ref_logps = fixed["old_logps"], fixed["ref_logps"]  # every variant, so every loss term matters
        tokens = float(mask.sum())

        def loss_fn(logps, rows):
            return policy_loss(logps, None if old_logps is None else old_logps[rows], ref_logps[rows], advantages[rows],
                               mask[rows], self.loss_config, tokens_in_generation_batch=tokens)[0]

        model.train()
        model.model.visual.eval()
        policy_logps, loss = self.logps_pass(flags, cached, completions, timer, "train", loss_fn)
        model.eval()
        phases = timer.seconds()
        wall = time.perf_counter() - wall
        loss = float(loss)
        result = {"flags": flags.as_dict(), "new_tokens": int(completions.shape[1]), "phases_s": phases,
                  "step_s": wall, "phases_sum_s": sum(phases.values()), "peak_memory_gb": measure.peak_memory_gb(device),
                  "loss": loss, "decode_mode": self.decoder.mode if (flags.fast_decode and self.decoder) else "hf_generate"}
        if keep_grads is not None:
            params = dict(model.named_parameters())
            result["grads"] = {name: params[name].grad.detach().float().clone() for name in keep_grads if params[name].grad is not None}
            result["policy_logps"] = policy_logps.detach().float()
            result["ref_logps"] = own_ref_logps.detach().float()
        model.zero_grad(set_to_none=True)
        return result

    def measure(self, flags: Flags, repeats: int, warmup: int = 1, warmup_tokens: int | None = None) -> dict:
        """Warm-up run(s), then `repeats` timed steps: medians of every phase and of the totals."""
        for _ in range(warmup):
            self.step(flags, new_tokens=warmup_tokens)
        runs = [self.step(flags) for _ in range(repeats)]
        phases = sorted({p for r in runs for p in r["phases_s"]})
        return {
            "flags": flags.as_dict(),
            "repeats": repeats,
            "step_s": measure.median([r["step_s"] for r in runs]),
            "step_s_all": [round(r["step_s"], 4) for r in runs],
            "phases_sum_s": measure.median([r["phases_sum_s"] for r in runs]),
            "phases_s": {p: measure.median([r["phases_s"].get(p, 0.0) for r in runs]) for p in phases},
            "peak_memory_gb": max((r["peak_memory_gb"] for r in runs if r["peak_memory_gb"] is not None), default=None),
            "new_tokens": runs[0]["new_tokens"],
            "decode_mode": runs[-1]["decode_mode"],
            "decoder_notes": list(self.decoder.notes) if (flags.fast_decode and self.decoder) else [],
        }


def correctness(bench: GRPOStepBench, grad_names: list[str], seed: int = 1) -> dict:
    """Each path against the truth: the baseline's maths in float32, on the same completions and inputs.

    Loss, per-token log-probs and the chosen gradients of the baseline and of ours (both in the model's
    dtype, bf16 on a GPU) are compared with one float32 run of the baseline: relative error, cosine and
    norm ratio. An earlier check compared ours with the bf16 baseline and took the baseline against
    itself at another micro-batch size as a "noise floor"; that floor shares the baseline's bf16
    arithmetic (its bf16 log-softmax included), so it could not tell whose error it was measuring.
    """
    G, N = bench.settings.group, bench.settings.new_tokens
    g = torch.Generator().manual_seed(seed)
    completions = bench.last_completions
    if completions is None or completions.shape != (G, N):
        completions = torch.randint(1000, 100000, (G, N), generator=g).to(bench.device)
    lengths = torch.randint(N // 2, N + 1, (G,), generator=g)
    mask = (torch.arange(N)[None] < lengths[:, None]).int().to(bench.device)
    # mostly-positive advantages keep the loss away from 0, so its relative error is meaningful
    fixed = {"completions": completions, "mask": mask, "advantages": 1.0 + 0.5 * torch.randn(G, generator=g)}
    with torch.no_grad():  # old/reference log-probs near the policy's (clipping and KL both act), shared by every run
        bench.model.eval()
        reference, _ = bench.logps_pass(OURS, video_features(bench.model, bench.inputs["pixel_values_videos"],
                                                             bench.inputs["video_grid_thw"]), completions,
                                        measure.PhaseTimer(bench.device), "ref")
    fixed["old_logps"] = reference.float() + 0.1 * torch.randn(G, N, generator=g).to(bench.device)
    fixed["ref_logps"] = reference.float() + 0.1 * torch.randn(G, N, generator=g).to(bench.device)
    runs = {"baseline": bench.step(BASELINE, fixed=fixed, keep_grads=grad_names),
            "ours": bench.step(OURS, fixed=fixed, keep_grads=grad_names)}
    dtype = next(bench.model.parameters()).dtype
    bench.model.float()  # bf16 -> float32 -> bf16 is exact, so the model is unchanged afterwards
    try:
        truth = bench.step(BASELINE, fixed=fixed, keep_grads=grad_names)
    finally:
        bench.model.to(dtype)
    valid = mask.bool()
    out = {"truth": "the baseline in float32", "dtype": str(dtype).replace("torch.", ""), "loss_truth": truth["loss"]}
    for path, run in runs.items():
        grads = {name: _agreement(run["grads"][name], truth["grads"][name]) for name in truth["grads"] if name in run["grads"]}
        out[path] = {
            "loss": run["loss"], "loss_rel_err": abs(run["loss"] - truth["loss"]) / max(abs(truth["loss"]), 1e-30),
            "logps_rel_err": _agreement(run["policy_logps"][valid], truth["policy_logps"][valid])["rel_err"],
            "logps_max_abs_diff": float((run["policy_logps"] - truth["policy_logps"])[valid].abs().max()),
            "grads": grads,
            "grad_rel_err_max": max((v["rel_err"] for v in grads.values()), default=None),
            "grad_cosine_min": min((v["cosine"] for v in grads.values()), default=None),
        }
    return out


def _agreement(value: torch.Tensor, truth: torch.Tensor) -> dict:
    value, truth = value.double().flatten(), truth.double().flatten()
    return {"rel_err": float((value - truth).norm() / truth.norm().clamp_min(1e-30)),
            "cosine": float(torch.nn.functional.cosine_similarity(value, truth, dim=0)),
            "norm_ratio": float(value.norm() / truth.norm().clamp_min(1e-30))}
