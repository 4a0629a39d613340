"""Decoding settings that are ours alone: nothing comes from a checkpoint's generation_config.json.

transformers' `generate` fills every field left None in the GenerationConfig it is given from the
model's own `generation_config` (5.x `_prepare_generation_config`), and every field it is not given
as a keyword the same way. A Qwen2.5-VL-Instruct checkpoint brings repetition_penalty 1.05, top_k 1,
top_p 0.001 and temperature 0.1: greedy evaluation would penalise the repeated "repN: ..." lines a
count is made of, and sampled evaluation would be greedy. GRPO's rollouts, evaluation and `actrep
count` therefore build their config with `generation_config` and generate under
`without_checkpoint_defaults`, so the same flags decode the same way for every checkpoint (the fast
decoder, actrep.fast.decode, reads only the config it is given).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from transformers import GenerationConfig


def generation_config(processor, *, max_new_tokens: int, temperature: float = 1.0, top_p: float = 1.0, top_k: int = 0,
                      do_sample: bool = True) -> GenerationConfig:
    """Every knob that shapes the answer set here; top_k 0 and top_p 1.0 are off. Stops at <|im_end|>."""
    tokenizer = processor.tokenizer
    return GenerationConfig(
        max_new_tokens=max_new_tokens, do_sample=do_sample, temperature=temperature if do_sample else None,
        top_p=top_p if do_sample else None, top_k=top_k if do_sample else None, repetition_penalty=1.0,
        eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"), pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None, use_cache=True,
    )


@contextmanager
def without_checkpoint_defaults(model) -> Iterator[None]:
    """While inside, every module of `model` (wrappers included: PEFT, DeepSpeed, DDP) that carries a
    generation_config carries transformers' plain defaults instead, so `generate` fills what the given
    config leaves open from those, not from the checkpoint. Restored on exit (and so saved as loaded)."""
    swapped = []
    for module in model.modules():
        saved = vars(module).get("generation_config")  # its own, not one a wrapper forwards to
        if isinstance(saved, GenerationConfig):
            module.generation_config = GenerationConfig(bos_token_id=saved.bos_token_id, eos_token_id=saved.eos_token_id,
                                                        pad_token_id=saved.pad_token_id)
            swapped.append((module, saved))
    try:
        yield
    finally:
        for module, saved in swapped:
            module.generation_config = saved
