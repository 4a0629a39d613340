"""The only answer parser: final count, listed repetitions, reasoning text and exact-format check.

Rewards, local evaluation, API evaluation and ``actrep count`` all read model output through this
module, so a completion is judged the same way everywhere. Every regex lives here.

Output format (docs/conventions.md)::

    <think>
    ... Tracking each repetition: rep1: 1.0s-5.0s, rep2: 5.0s-8.8s, rep3: 8.8s-11.8s
    Total count: 3.
    </think>
    <answer>
    3
    </answer>

Parsing rules (decided here, tested in tests/test_answer.py):

* **Answer block**: the LAST complete ``<answer>...</answer>`` block (innermost if blocks nest).
  Tags are matched exactly and case-sensitively: ``<ANSWER>``, ``<Answer>`` or ``< answer >`` are
  not answer tags. A truncated block (``<answer>3`` with no closing tag) is no block.
* **Count**: the last number inside that block. A pure integer block (``" 3\\n"``) is the common
  case; prose such as ``"There are 7 reps"`` gives 7 and ``"7 (not 8)"`` gives 8 (the last number
  wins). Thousands separators are understood only in the strict ``1,000`` / ``12,345,678`` form;
  ``"1,2,3"`` is a list whose last number is 3. ``"7.0"`` (fractional part all zeros) gives 7; a
  genuinely fractional count such as ``"7.5"`` gives ``None`` (not rounded: rounding would reward
  hedging between two counts). A ``-`` is a sign only where it cannot be a range dash (``"-3"`` and
  ``"count: -3"`` are negative, ``"3-5"`` is the range whose last number is 5). Negative counts,
  counts above ``max_count``, number words (``"seven"``) and blocks without a digit give ``None``.
  Only ASCII digits count.
* **Listed repetitions**: items ``repK: a.as-b.bs`` and groups ``reps A-B: a.as-b.bs`` anywhere in
  the reasoning, i.e. the text before the last ``<answer>`` (the whole text if there is none).
  Tolerated: ``rep``/``reps`` in any case, spaces around the numbers, ``:`` and dash, an optional
  ``s`` after each time, ``-``, en dash, em dash or ``to`` as the dash. Items whose last rep is before
  their first (``reps 9-3``), or whose numbers do not fit (more than 9 digits, non-finite time), are
  skipped. Items are kept as written otherwise: a rep listed twice counts twice.
* **Exact format** (``count_format``): the whole output, modulo leading/trailing whitespace, is
  ``<think>...</think>``, optional whitespace, ``<answer>...</answer>`` and nothing else, where
  neither block's content contains any reasoning tag (of either variant) or answer tag. A second
  or nested ``<think>`` block, text before/after/between the blocks, or upper-case tags fail. The
  check is structural only: an empty reasoning or an unparseable answer still has the exact format
  (the count rewards score the answer).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from actrep.errors import ActRepError
from actrep.prompts import VARIANTS, reasoning_tags

DEFAULT_MAX_COUNT = 10_000

# --- all regexes of the project's output parsing --------------------------------------------------

# Last complete answer block: the content may not contain another opening tag (innermost block).
_ANSWER_BLOCK = re.compile(r"<answer>((?:(?!<answer>).)*?)</answer>", re.DOTALL)
_ANSWER_OPEN = "<answer>"

# A number inside the answer: optional sign (only where it cannot be a range dash), integer part
# either in strict thousands form (1,000 / 12,345,678) or plain digits, optional fractional part.
_NUMBER = re.compile(
    r"(?<![0-9.])"
    r"(?P<sign>(?<![0-9A-Za-z.,)\]])-)?"
    r"(?P<int>[0-9]{1,3}(?:,[0-9]{3}(?![0-9]))+|[0-9]+)"
    r"(?:\.(?P<frac>[0-9]+))?",
    re.ASCII,
)

_TIME = r"[0-9]+(?:\.[0-9]+)?"
_DASH = r"(?:-|\u2013|\u2014|to)"
# `rep3: 8.8s-11.8s` or `reps 11-20: 12.3s-25.0s` (spaces, case, optional `s`, dash kinds tolerated).
_LISTED = re.compile(
    rf"\breps?\s*(?P<first>[0-9]+)(?:\s*{_DASH}\s*(?P<last>[0-9]+))?\s*:\s*"
    rf"(?P<start>{_TIME})\s*s?\s*{_DASH}\s*(?P<end>{_TIME})",
    re.IGNORECASE | re.ASCII,
)

# Every tag the exact-format check forbids inside a block's content.
_ANY_TAG = re.compile("|".join(re.escape(t) for v in VARIANTS for t in reasoning_tags(v)) + r"|</?answer>")


def _format_regex(variant: str) -> re.Pattern[str]:
    open_tag, close_tag = reasoning_tags(variant)
    return re.compile(
        rf"\s*{re.escape(open_tag)}(?P<reasoning>.*?){re.escape(close_tag)}\s*<answer>(?P<answer>.*?)</answer>\s*",
        re.DOTALL,
    )


_FORMAT = {v: _format_regex(v) for v in VARIANTS}
_REASONING = {
    v: re.compile(rf"{re.escape(reasoning_tags(v)[0])}(.*?){re.escape(reasoning_tags(v)[1])}", re.DOTALL)
    for v in VARIANTS
}

_MAX_ITEM_DIGITS = 9  # rep numbers longer than this are nonsense; never build huge ints from them


# --- completions in both TRL shapes --------------------------------------------------------------


def completion_text(c) -> str:
    """The text of one completion: a plain string, or a TRL conversational completion.

    Conversational: a list of message dicts (or one dict) ``{"role": "assistant", "content": ...}``
    where content is a string or a list of parts ``{"type": "text", "text": ...}`` (non-text parts
    ignored). The contents of all assistant messages (and messages without a role) are concatenated
    in order; other roles are ignored. ``None`` is the empty string. A message whose reasoning was
    split out by a response parser (non-empty ``reasoning_content`` / ``thinking`` key) raises
    ActRepError: the rewards need the raw text, and silently dropping the reasoning would score it 0.
    """
    if c is None:
        return ""
    if isinstance(c, str):
        return c
    if isinstance(c, dict):
        c = [c]
    if not isinstance(c, (list, tuple)):
        raise ActRepError(f"completion must be a string or a list of chat messages, got {type(c).__name__}")
    parts: list[str] = []
    for message in c:
        if isinstance(message, str):
            parts.append(message)
            continue
        if not isinstance(message, dict):
            raise ActRepError(f"chat message must be a dict, got {type(message).__name__}")
        if message.get("role", "assistant") != "assistant":
            continue
        for key in ("reasoning_content", "thinking"):
            if isinstance(message.get(key), str) and message[key].strip():
                raise ActRepError(
                    f"completion message carries its reasoning in {key!r}, split out by a response parser; "
                    "pass the raw generated text (reasoning tags included) to the parser"
                )
        parts.append(_content_text(message.get("content")))
    return "".join(parts)


def _content_text(content) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, (list, tuple)):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and part.get("type", "text") == "text":
                texts.append(str(part.get("text") or ""))
        return "".join(texts)
    raise ActRepError(f"chat message content must be a string or a list of parts, got {type(content).__name__}")


# --- the final count -----------------------------------------------------------------------------


def answer_text(text) -> str | None:
    """Raw content of the last complete ``<answer>...</answer>`` block, or None if there is none."""
    text = completion_text(text)
    last = None
    for m in _ANSWER_BLOCK.finditer(text):
        last = m
    return None if last is None else last.group(1)


def parse_count(text, *, max_count: int = DEFAULT_MAX_COUNT) -> int | None:
    """The count in the last ``<answer>`` block (last number in it), or None; rules in the module doc.

    None when: no complete block, no number, a fractional number (``7.5``; ``7.0`` is 7), a negative
    number, or a number above ``max_count``.
    """
    content = answer_text(text)
    if content is None:
        return None
    last = None
    for m in _NUMBER.finditer(content):
        last = m
    if last is None:
        return None
    if last.group("frac") and last.group("frac").strip("0"):
        return None  # genuinely fractional count
    digits = last.group("int").replace(",", "").lstrip("0") or "0"
    if len(digits) > len(str(max(max_count, 0))):
        return None  # beyond max_count; never convert absurdly long digit strings
    value = int(digits)
    if last.group("sign") and value != 0:
        return None
    if value > max_count:
        return None
    return value


# --- listed repetitions --------------------------------------------------------------------------


@dataclass(frozen=True)
class ListedReps:
    """One listed item: reps ``first..last`` (equal for a single ``repK:``) spanning ``start``-``end`` s."""

    first: int
    last: int
    start: float
    end: float

    @property
    def n(self) -> int:
        return self.last - self.first + 1


def reasoning_region(text) -> str:
    """The text the listed reps are read from: everything before the last ``<answer>`` (all if none)."""
    text = completion_text(text)
    cut = text.rfind(_ANSWER_OPEN)
    return text if cut < 0 else text[:cut]


def parse_listed_reps(text) -> list[ListedReps]:
    """Every ``repK: a-b`` / ``reps A-B: a-b`` item in the reasoning, in order of appearance."""
    items: list[ListedReps] = []
    for m in _LISTED.finditer(reasoning_region(text)):
        first_s = m.group("first")
        last_s = m.group("last") or first_s
        if len(first_s.lstrip("0")) > _MAX_ITEM_DIGITS or len(last_s.lstrip("0")) > _MAX_ITEM_DIGITS:
            continue
        first, last = int(first_s), int(last_s)
        start, end = float(m.group("start")), float(m.group("end"))
        if last < first or not (math.isfinite(start) and math.isfinite(end)):
            continue
        items.append(ListedReps(first, last, start, end))
    return items


def count_listed(items: Iterable[ListedReps]) -> int:
    """Number of repetitions the items list: sum of ``last - first + 1``."""
    return sum(it.last - it.first + 1 for it in items)


def intervals_of(items: Iterable[ListedReps]) -> list[tuple[float, float]]:
    """One ``(start, end)`` per item: a single rep's own interval, a group's whole span (once).

    Per-rep boundaries inside a group are not written in the text, so they are not invented here.
    """
    return [(it.start, it.end) for it in items]


# --- everything at once --------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedCompletion:
    """One completion parsed with the rules above."""

    text: str
    count: int | None  # parse_count
    answer: str | None  # raw content of the last answer block
    items: tuple[ListedReps, ...]  # parse_listed_reps
    listed_count: int  # count_listed(items); 0 when nothing is listed
    reasoning: str | None  # content of the first complete reasoning block of the variant, if any
    format_ok: bool  # format_exact(text, variant)

    @property
    def intervals(self) -> list[tuple[float, float]]:
        return intervals_of(self.items)


def reasoning_text(text, variant: str = "think") -> str | None:
    """Content of the first complete ``<think>...</think>`` (or ``<thinking>``) block, or None."""
    reasoning_tags(variant)  # validates the variant
    m = _REASONING[variant].search(completion_text(text))
    return None if m is None else m.group(1)


def format_exact(text, variant: str = "think") -> bool:
    """True iff the output is exactly ``<think>...</think>`` + optional whitespace + ``<answer>...</answer>``.

    Leading/trailing whitespace is allowed; no other text, no second or nested block, no stray tag
    (of either reasoning variant, or an answer tag) inside either block.
    """
    reasoning_tags(variant)  # validates the variant
    m = _FORMAT[variant].fullmatch(completion_text(text))
    if m is None:
        return False
    return not (_ANY_TAG.search(m.group("reasoning")) or _ANY_TAG.search(m.group("answer")))


def parse_completion(text, variant: str = "think", *, max_count: int = DEFAULT_MAX_COUNT) -> ParsedCompletion:
    """Parse one completion (string or conversational) into a ParsedCompletion."""
    text = completion_text(text)
    items = tuple(parse_listed_reps(text))
    return ParsedCompletion(
        text=text,
        count=parse_count(text, max_count=max_count),
        answer=answer_text(text),
        items=items,
        listed_count=count_listed(items),
        reasoning=reasoning_text(text, variant),
        format_ok=format_exact(text, variant),
    )


__all__ = [
    "DEFAULT_MAX_COUNT",
    "ListedReps",
    "ParsedCompletion",
    "answer_text",
    "completion_text",
    "count_listed",
    "format_exact",
    "intervals_of",
    "parse_completion",
    "parse_count",
    "parse_listed_reps",
    "reasoning_region",
    "reasoning_text",
]
