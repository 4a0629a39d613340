"""The reference-like baseline: what the original implementation does per GRPO group.

  * the video's tensors are copied once per completion (G rows, each with its own pixels), so the
    vision encoder runs G times in generation and G times again in every log-prob pass;
  * plain HF `generate` over the G replicated rows (prefill at batch G, dynamic cache, ~300 small
    kernels per token launched from Python);
  * full per-sequence forwards over [prompt + completion] for the reference and the policy passes, in
    micro-batches, with full-vocabulary logits for every position (then sliced to the completion);
  * TRL's selective_log_softmax on those logits, TRL's dapo loss with the k3 KL term.

`bench.grpo_step.BASELINE` (every optimisation flag off) runs exactly these functions.
"""

from __future__ import annotations

import torch

from bench import measure


def hf_generate(model, rows: dict, features, config, timer) -> torch.Tensor:
    """HF generate on `rows` (pixels excluded: `features` is the encoder output), timed as prefill/decode."""
    kwargs = {k: v for k, v in rows.items() if k != "pixel_values_videos"}
    with torch.no_grad(), measure.GenerateSplit(model, timer).measure():
        output = model.generate(**kwargs, mm_encoder_outputs=features, generation_config=config)
    return output[:, rows["input_ids"].shape[1]:]


def sequence_rows(inputs: dict, completions: torch.Tensor, features) -> dict:
    """Model inputs for [prompt + completion] x rows, the prompt repeated per row."""
    rows = completions.shape[0]
    x = {k: v.repeat_interleave(rows, dim=0) for k, v in inputs.items() if k != "pixel_values_videos"}
    x["input_ids"] = torch.cat([x["input_ids"], completions], dim=1)
    x["attention_mask"] = torch.ones_like(x["input_ids"])
    x["mm_token_type_ids"] = torch.cat([x["mm_token_type_ids"], torch.zeros_like(completions, dtype=x["mm_token_type_ids"].dtype)], 1)
    x["mm_encoder_outputs"] = {"video": features}
    return x


def full_logits_logps(model, inputs: dict, features, completions: torch.Tensor, temperature: float) -> torch.Tensor:
    """The reference's log-probs: full-vocab logits for every position, sliced, TRL's selective_log_softmax."""
    from actrep.fast.logps import selective_log_softmax

    length = completions.shape[1]
    logits = model(**sequence_rows(inputs, completions, features), use_cache=False).logits
    return selective_log_softmax(logits[:, -length - 1 : -1] / temperature, completions)
