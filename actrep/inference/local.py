"""A local checkpoint as a counter: load it with its saved settings, then answer batches of videos.

`LocalModelCounter` is what `actrep eval` evaluates and what `actrep count --model` asks; it has the
interface of every counter (load, generate, info, family, prompt_variant, video_settings). `args`
carries the loading and decoding options under the names `actrep eval` gives them (its
EvalArguments, or `GenerationOptions` with the same fields and defaults).
"""

from __future__ import annotations

from dataclasses import dataclass

from actrep.prompts import PromptSettings
from actrep.video import VideoSettings


@dataclass
class GenerationOptions:
    """The options of `actrep eval` that LocalModelCounter reads, for callers without EvalArguments."""

    family: str | None = None
    dtype: str = "auto"
    attn_implementation: str = "sdpa"
    trust_remote_code: bool = False
    ignore_saved_settings: bool = False
    allow_partial: bool = False
    max_new_tokens: int = 1024
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    batch_size: int = 1


class LocalModelCounter:
    """Generates answers for batches of samples with one checkpoint."""

    def __init__(self, path: str, args, video: VideoSettings, prompt: PromptSettings, device):
        from actrep.models.registry import ModelArguments, load_model
        from actrep.settings import resolve_settings

        self.path = path
        self.args = args
        self.model, self.processor, self.family = load_model(
            ModelArguments(path, args.family, args.dtype, args.attn_implementation, args.trust_remote_code))
        self.model.to(device).eval()
        self.device = device
        self.video_settings, self.prompt_variant, self.settings_source = resolve_settings(
            path, video, prompt.prompt_variant, args.ignore_saved_settings)

    def info(self) -> dict:
        generation = {k: getattr(self.args, k) for k in ("max_new_tokens", "do_sample", "temperature", "top_p", "top_k", "batch_size")}
        if self.args.do_sample:  # a sampled run is reproducible only with its seed (eval sets it per checkpoint)
            generation["seed"] = getattr(self.args, "seed", None)
        return {"model": self.path, "family": self.family.name, "settings_source": self.settings_source,
                "prompt_variant": self.prompt_variant, "video_settings": vars(self.video_settings),
                "dtype": str(self.model.dtype).removeprefix("torch."), "device": str(self.device), "generation": generation}

    def load(self, sample):
        from actrep.video import load_video

        return load_video(sample.video_path, self.family, self.video_settings, sample.clip_start, sample.clip_end,
                          allow_partial=self.args.allow_partial)

    def generate(self, samples, videos) -> list[tuple[str, int, int]]:
        """(completion text, prompt tokens, completion tokens) per sample."""
        import torch

        from actrep.models.generation import generation_config, without_checkpoint_defaults
        from actrep.prompts import render_prompt
        from actrep.video import encode

        prompts = [render_prompt(self.processor, s.action, self.prompt_variant) for s in samples]
        batch = encode(self.processor, prompts, videos, self.video_settings).to(self.device)
        tokenizer = self.processor.tokenizer
        # the decoder GRPO's rollouts use, nothing from the checkpoint's generation_config.json (greedy unless
        # --do_sample; a Qwen-VL-Instruct checkpoint would bring repetition_penalty 1.05 and top_k 1)
        config = generation_config(self.processor, max_new_tokens=self.args.max_new_tokens, do_sample=self.args.do_sample,
                                   temperature=self.args.temperature, top_p=self.args.top_p, top_k=self.args.top_k)
        with torch.inference_mode(), without_checkpoint_defaults(self.model):
            output = self.model.generate(**batch, generation_config=config)
        prompt_length = batch["input_ids"].shape[1]
        results = []
        for row, mask in zip(output[:, prompt_length:], batch["attention_mask"]):
            ended = (row == config.eos_token_id) | (row == tokenizer.pad_token_id)
            n_tokens = int(ended.int().argmax()) + 1 if ended.any() else int(row.numel())
            text = tokenizer.decode(row[:n_tokens], skip_special_tokens=True)
            results.append((text, int(mask.sum()), n_tokens))
        return results
