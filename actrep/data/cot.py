"""`actrep cot`: write the structured reasoning (every repetition's interval) for annotated videos.

Format (docs/conventions.md; `actrep.answer` parses it back):

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

Library: `build_cot` (pure text), `cot_sample` (a Sample -> the Sample with fps, intervals and cot;
`intervals=` takes any function that supplies per-rep intervals, e.g. pseudo-labels: `--pseudo_intervals`
uses actrep.periodicity for rows that only have a count, `--pseudo_check` measures its agreement),
`probe_videos` and `write_jsonl` (shared with `actrep rcs`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal, Sequence

from actrep.config import option, parse_config
from actrep.data.descriptions import Description, describe, is_synthetic_video
from actrep.data.manifest import Sample, load_manifest
from actrep.errors import ActRepError
from actrep.prompts import PromptSettings, reasoning_tags

DEFAULT_GROUP_THRESHOLD = 20
DEFAULT_GROUP_SIZE = 10

# A function that supplies per-rep (start, end) seconds on the clip clock for a sample, or None
# when it has none (then the sample gets no CoT). The default reads the annotation.
IntervalSource = Callable[[Sample, float | None], list[tuple[float, float]] | None]


# ------------------------------------------------------------------------------------- the text


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

    `description` defaults to the real-video description of `action` (see actrep.data.descriptions).
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


# ------------------------------------------------------------------------------------- samples


def annotated_intervals(sample: Sample, fps: float | None) -> list[tuple[float, float]] | None:
    """Per-rep clip-clock seconds from the annotation: exact frames when present, else stored seconds."""
    if sample.boundaries is not None and (fps or sample.fps):
        # Frames first: stored seconds are rounded to 1 ms in JSONL, frames are exact.
        return dataclasses.replace(sample, intervals=None).intervals_seconds(fps)
    if sample.intervals is None and sample.boundaries is None and sample.count == 0:
        return []  # a count-0 row has nothing to list
    return sample.intervals_seconds(fps)


def cot_sample(
    sample: Sample,
    info=None,
    variant: str = "think",
    group_threshold: int = DEFAULT_GROUP_THRESHOLD,
    group_size: int = DEFAULT_GROUP_SIZE,
    descriptions: Literal["auto", "synthetic", "real"] = "auto",
    intervals: IntervalSource = annotated_intervals,
) -> Sample | None:
    """A copy of `sample` with fps, clip-clock intervals, `cot` and `extra["prompt_variant"]`; None without intervals.

    `info` (actrep.video.VideoInfo of the file) supplies fps when the sample has none and bounds the
    clip; malformed intervals raise ActRepError naming the sample's file and row.
    """
    fps = sample.fps or (info.fps if info is not None else None)
    try:
        spans = intervals(sample, fps)
        if spans is None:
            return None
        duration = None
        if info is not None:
            from actrep.video import clip_frame_range

            first, last = clip_frame_range(info, sample.clip_start, sample.clip_end)
            duration = (last - first) / info.fps
        check_intervals(sample.count, spans, duration)
        synthetic = descriptions == "synthetic" or (descriptions == "auto" and is_synthetic_video(sample.video_path))
        text = build_cot(sample.count, spans, sample.action, variant, group_threshold, group_size,
                         describe(sample.action, synthetic))
    except ActRepError as err:
        raise ActRepError(f"{sample.where}: {str(err).removeprefix(f'{info.path}: ' if info else '')}") from None
    return dataclasses.replace(sample, fps=fps, intervals=[tuple(s) for s in spans], cot=text,
                               extra={**sample.extra, "prompt_variant": variant})


def probe_videos(samples: Sequence[Sample], workers: int = 4) -> tuple[dict[str, object], dict[str, str]]:
    """Probe each distinct video once (header frame count, fps): ({path: VideoInfo}, {path: why it failed})."""
    from actrep.video import probe

    def one(path):
        try:
            return path, probe(path), None
        except ActRepError as err:
            return path, None, str(err)

    paths = sorted({str(s.video_path) for s in samples if s.video_path is not None})
    infos, failures = {}, {}
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:  # PyAV releases the GIL
        for path, info, failure in pool.map(one, paths):
            if info is not None:
                infos[path] = info
            else:
                failures[path] = failure
    return infos, failures


def write_jsonl(path: str | Path, samples: Sequence[Sample]) -> None:
    """New-schema JSONL; video paths relative to the file's folder (so the folder can move as a whole).

    Load it back with `load_manifest(path)` without `videos=` (relative paths resolve against the
    file's folder). clip_start/clip_end are written as null for whole videos.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for sample in samples:
        row = sample.to_json()
        if sample.video_path is not None:
            try:
                row["video"] = os.path.relpath(Path(sample.video_path).resolve(), path.parent.resolve())
            except ValueError:  # another drive (Windows): no relative path exists
                row["video"] = str(Path(sample.video_path).resolve())
        row.setdefault("clip_start", None)
        row.setdefault("clip_end", None)
        lines.append(json.dumps(row, ensure_ascii=False) + "\n")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(lines), encoding="utf-8")
    tmp.replace(path)


# ------------------------------------------------------------------------------------- CLI


@dataclass
class CotArguments:
    data: str = option(None, help="Dataset: a RepCount-A folder, a .csv or a .jsonl (e.g. the output of `actrep rcs`).")
    videos: str | None = option(None, help="Folder the video ids are resolved against (default: the dataset's folder).")
    output_file: str = option("cot.jsonl", help="Output JSONL (new schema, one row per video or clip, with `cot`).")
    splits: list[str] = option([], help="Only these splits (default: all).")
    group_threshold: int = option(DEFAULT_GROUP_THRESHOLD, help="List reps in groups above this many repetitions.")
    group_size: int = option(DEFAULT_GROUP_SIZE, help="Repetitions per group in the grouped form.")
    descriptions: Literal["auto", "synthetic", "real"] = option(
        "auto", help="Scene/definition set: auto = synthetic for videos rendered by `actrep synth`, real otherwise.")
    workers: int = option(4, help="Videos probed in parallel.")
    pseudo_intervals: bool = option(False, help="Rows with a count but no boundaries get intervals from the training-free "
                                                "periodicity counter, constrained to exactly that count (marked pseudo_labelled).")
    pseudo_check: bool = option(False, help="Report how well such pseudo-intervals agree with the true boundaries of the "
                                            "annotated rows (mean interval IoU, count given).")


def report_skips(console, title: str, skipped: list[tuple[str, str, str]], limit: int = 20) -> None:
    """A table of skipped rows (where, video, why); shared with `actrep rcs`."""
    from rich.table import Table

    if not skipped:
        return
    table = Table(title=f"{len(skipped)} {title}")
    for column in ("where", "video", "why"):
        table.add_column(column, overflow="fold")
    for row in skipped[:limit]:
        table.add_row(*row)
    console.print(table)
    if len(skipped) > limit:
        console.print(f"... and {len(skipped) - limit} more")


def usable_samples(manifest, infos: dict, failures: dict) -> tuple[list[Sample], list[tuple[str, str, str]]]:
    """Rows without loader errors whose video probes; the rest as (where, video, why) skips."""
    bad: dict[tuple, list[str]] = {}
    for p in manifest.errors:
        bad.setdefault((p.source, p.row), []).append(p.message)
    loaded = {(s.source, s.row) for s in manifest.samples}
    skipped = [(f"{k[0]} row {k[1]}", "", "; ".join(v)) for k, v in bad.items() if k not in loaded]
    kept = []
    for s in manifest.samples:
        if (s.source, s.row) in bad:
            skipped.append((s.where, s.video_id, "; ".join(bad[(s.source, s.row)])))
        elif str(s.video_path) in failures:
            skipped.append((s.where, s.video_id, failures[str(s.video_path)]))
        else:
            kept.append(s)
    return kept, skipped


def main(argv: list[str]) -> int:
    from rich.console import Console

    args, prompt = parse_config([CotArguments, PromptSettings], argv, prog="actrep cot", positional=["data"],
                                description="Write chain-of-thought training rows from per-repetition annotations.")
    manifest = load_manifest(args.data, args.videos, args.splits or None)
    infos, failures = probe_videos(manifest.samples, args.workers)
    samples, skipped = usable_samples(manifest, infos, failures)
    source = annotated_intervals
    if args.pseudo_intervals:
        from actrep.periodicity.baseline import pseudo_intervals

        source = pseudo_intervals()
    rows, unannotated = [], 0
    for sample in samples:
        try:
            row = cot_sample(sample, infos.get(str(sample.video_path)), prompt.prompt_variant,
                             args.group_threshold, args.group_size, args.descriptions, intervals=source)
        except ActRepError as err:
            skipped.append((sample.where, sample.video_id, str(err).removeprefix(f"{sample.where}: ")))
            continue
        if row is None:
            unannotated += 1
        else:
            if args.pseudo_intervals and sample.boundaries is None and sample.intervals is None and sample.count > 0:
                row.extra["pseudo_labelled"] = True
            rows.append(row)
    console = Console()
    report_skips(console, "row(s) skipped (errors)", skipped)
    if unannotated:
        console.print(f"[yellow]skipped {unannotated} row(s) without repetition boundaries "
                      "(a CoT needs every repetition's interval)[/yellow]")
    if not rows:
        raise ActRepError(f"{args.data}: no row with usable repetition intervals; nothing written")
    write_jsonl(args.output_file, rows)
    pseudo = sum(1 for r in rows if r.extra.get("pseudo_labelled"))
    console.print(f"wrote {len(rows)} row(s) with {prompt.prompt_variant!r} reasoning to {args.output_file}"
                  + (f" ({pseudo} with pseudo-intervals)" if pseudo else ""))
    if args.pseudo_check:
        from actrep.periodicity.baseline import pseudo_agreement

        check = pseudo_agreement(samples, infos=infos)
        console.print(f"pseudo-intervals vs annotated boundaries on {check['rows']} row(s): mean IoU "
                      + (f"{check['mean_iou']:.3f}" if check["rows"] else "- (no annotated row)"))
    return 0
