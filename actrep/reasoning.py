"""The chain-of-thought text: `build_cot`, the one writer of the reasoning a model learns to give.

Format (docs/conventions.md; `actrep.answer` parses it back, `actrep cot` writes it for datasets):

    <think>
    The video shows <scene>. One repetition of <action> is <definition>.
    Tracking each repetition: rep1: 1.0s-5.0s, rep2: 5.0s-8.8s, rep3: 8.8s-11.8s
    Check: 3 repetitions listed between 1.0s and 11.8s.
    Total count: 3.
    </think>
    <answer>
    3
    </answer>

Clock: seconds on the clip's clock, (frame - first frame of the clip) / fps, the clock every family's
processor uses for the frames it samples (actrep.video). Rounding: each boundary time is rounded to
0.1 s half-up, as a function of the time alone. Equal times print equally, so back-to-back reps that
share a boundary frame print the same time; the rounding is monotonic, so a start never prints after
its end. A rep shorter than 0.1 s may print start == end.

Count 0: no scene sentence (the scenes say the action is being done), the definition, then
"Tracking each repetition: none; no complete repetition of <action> is seen.", "Check: 0 repetitions
listed." and "Total count: 0.": RepCount has such a video and it is a valid negative example.

Above `group_threshold` repetitions the list is grouped (`reps 1-10: a-b, ...`) so a 100-rep video
does not give a 2,000-token reasoning.
"""

from __future__ import annotations

import math
from typing import Sequence

from actrep.descriptions import Description, describe
from actrep.errors import ActRepError
from actrep.prompts import reasoning_tags

DEFAULT_GROUP_THRESHOLD = 20
DEFAULT_GROUP_SIZE = 10


def format_time(seconds: float) -> str:
    """Seconds at 0.1 s, rounded half-up (`1.25` -> `1.3`), monotonic in the time."""
    # round(.., 6) first so that float noise such as 3.6999999999 (from frame / fps) is 3.7.
    tenths = math.floor(round(seconds * 10, 6) + 0.5)
    return f"{tenths // 10}.{tenths % 10}"


def check_intervals(count: int, intervals: Sequence[tuple[float, float]], duration: float | None = None) -> None:
    """Raise ActRepError (no location; callers prefix it) unless the intervals fit the count and each other."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ActRepError(f"count {count!r} is not a non-negative integer")
    if len(intervals) != count:
        raise ActRepError(f"count {count} but {len(intervals)} intervals")
    for k, (start, end) in enumerate(intervals, 1):
        if not (math.isfinite(start) and math.isfinite(end)):
            raise ActRepError(f"rep {k} has a non-finite time ({start}, {end})")
        if start < 0:
            raise ActRepError(f"rep {k} starts at {start:g} s, before the clip starts")
        if end <= start:
            raise ActRepError(f"rep {k} ends ({end:g} s) before or where it starts ({start:g} s)")
        if duration is not None and end > duration + 1e-3:  # stored seconds carry 1 ms
            raise ActRepError(f"rep {k} ends at {end:g} s, after the clip ends ({duration:g} s)")
        if k > 1 and start < intervals[k - 2][0]:
            raise ActRepError(f"rep {k} starts ({start:g} s) before rep {k - 1} ({intervals[k - 2][0]:g} s): intervals not in order")


def _listing(times: list[tuple[str, str]], group_threshold: int, group_size: int) -> str:
    if len(times) <= group_threshold:
        return ", ".join(f"rep{i}: {a}s-{b}s" for i, (a, b) in enumerate(times, 1))
    items = []
    for first in range(0, len(times), group_size):
        last = min(len(times), first + group_size)  # exclusive
        span = f"{times[first][0]}s-{times[last - 1][1]}s"
        items.append(f"rep{first + 1}: {span}" if last - first == 1 else f"reps {first + 1}-{last}: {span}")
    return ", ".join(items)


def build_cot(
    count: int,
    intervals_s: Sequence[tuple[float, float]],
    action: str,
    variant: str = "think",
    group_threshold: int = DEFAULT_GROUP_THRESHOLD,
    group_size: int = DEFAULT_GROUP_SIZE,
    description: Description | None = None,
) -> str:
    """The full completion (reasoning + answer block) for `count` reps at `intervals_s` (clip-clock seconds).

    `description` defaults to the real-video description of `action` (see actrep.descriptions).
    """
    open_tag, close_tag = reasoning_tags(variant)
    if group_threshold < 1 or group_size < 2:
        raise ActRepError(f"cot: need group_threshold >= 1 and group_size >= 2 (got {group_threshold}, {group_size})")
    check_intervals(count, intervals_s)
    d = description or describe(action)
    if count == 0:
        lines = [
            f"One repetition of {d.name} is {d.definition}.",
            f"Tracking each repetition: none; no complete repetition of {d.name} is seen.",
            "Check: 0 repetitions listed.",
        ]
    else:
        times = [(format_time(s), format_time(e)) for s, e in intervals_s]
        first = format_time(min(s for s, _ in intervals_s))
        last = format_time(max(e for _, e in intervals_s))
        lines = [
            d.sentence(),
            "Tracking each repetition: " + _listing(times, group_threshold, group_size),
            f"Check: {count} repetition{'s' if count != 1 else ''} listed between {first}s and {last}s.",
        ]
    lines.append(f"Total count: {count}.")
    return f"{open_tag}\n" + "\n".join(lines) + f"\n{close_tag}\n<answer>\n{count}\n</answer>"
