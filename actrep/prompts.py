"""The prompts: the only copy of the system prompt and question template.

SFT, GRPO, local evaluation, API evaluation and `actrep count` all build their text here, so the
same sample always produces byte-identical prompts everywhere. The reasoning-tag variant is an
explicit setting (saved next to every checkpoint), never guessed from a model name or path:
most Qwen-VL checkpoints use ``<think>``; some community fine-tunes were trained with ``<thinking>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from actrep.config import option
from actrep.errors import ActRepError

PromptVariant = Literal["think", "thinking"]
VARIANTS: tuple[str, ...] = ("think", "thinking")


@dataclass
class PromptSettings:
    prompt_variant: PromptVariant = option(
        "think", help="Reasoning tag the model writes: 'think' -> <think>...</think>, 'thinking' -> <thinking>...</thinking>."
    )


def reasoning_tags(variant: str) -> tuple[str, str]:
    """The opening and closing reasoning tags of a variant, e.g. ('<think>', '</think>')."""
    if variant not in VARIANTS:
        raise ActRepError(f"unknown prompt variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    return f"<{variant}>", f"</{variant}>"


def action_text(action: str) -> str:
    """Human-readable action name: 'push_up' -> 'push up' (underscores and runs of spaces collapsed)."""
    text = re.sub(r"[_\s]+", " ", str(action)).strip()
    if not text:
        raise ActRepError("empty action name")
    return text


def system_prompt(variant: str = "think") -> str:
    open_tag, close_tag = reasoning_tags(variant)
    return (
        "You are an expert at counting repeated actions in videos. "
        f"First think inside {open_tag} {close_tag}: say what the video shows and what one repetition "
        "of the action is, then track every repetition with its start and end time in seconds "
        "(rep1: a-b, rep2: c-d, ...), check the list, and state the total count. "
        "Then give only the final count as an integer inside <answer> </answer>."
    )


def question(action: str, variant: str = "think") -> str:
    open_tag, close_tag = reasoning_tags(variant)
    return (
        f"How many times is the action '{action_text(action)}' repeated in this video? "
        f"List each repetition's time interval in {open_tag} {close_tag} before you answer, "
        "and put the final count in <answer> </answer>."
    )


def build_messages(action: str, variant: str = "think", completion: str | None = None) -> list[dict]:
    """Chat messages for the Qwen-VL chat template: system, user (video + question), optional assistant.

    Built fresh in code from plain columns every time (never stored in a `datasets.Dataset`: Arrow
    merges the content dicts and the template then renders text parts as videos; DESIGN.md).
    """
    messages = [
        {"role": "system", "content": [{"type": "text", "text": system_prompt(variant)}]},
        {
            "role": "user",
            "content": [{"type": "video"}, {"type": "text", "text": question(action, variant)}],
        },
    ]
    if completion is not None:
        messages.append({"role": "assistant", "content": [{"type": "text", "text": completion}]})
    return messages


def render_prompt(processor, action: str, variant: str = "think") -> str:
    """The prompt text up to and including the assistant header (video placeholder not yet expanded)."""
    return processor.apply_chat_template(build_messages(action, variant), tokenize=False, add_generation_prompt=True)
