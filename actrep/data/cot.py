"""`actrep cot`: write the structured reasoning (every repetition's interval) for annotated videos.

The text itself is written by `actrep.reasoning.build_cot` (the format is described there;
`actrep.answer` parses it back). Library: `cot_sample` (a Sample -> the Sample with fps, intervals
and cot; `intervals=` takes any function that supplies per-rep intervals: the annotation by default,
pseudo-labels of actrep/data/intervals.py with `--pseudo_intervals` for rows that only have a count,
whose agreement `--pseudo_check` measures), `probe_videos` and `write_jsonl` (shared with `actrep rcs`).
"""

from __future__ import annotations

import dataclasses
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence

from actrep.config import option, parse_config
from actrep.data.intervals import IntervalSource, annotated_intervals, pseudo_agreement, pseudo_intervals
from actrep.descriptions import describe, is_synthetic_video
from actrep.errors import ActRepError
from actrep.manifest import Sample, load_manifest
from actrep.prompts import PromptSettings
from actrep.reasoning import DEFAULT_GROUP_SIZE, DEFAULT_GROUP_THRESHOLD, build_cot, check_intervals


# ------------------------------------------------------------------------------------- samples


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
        check = pseudo_agreement(samples, infos=infos)
        console.print(f"pseudo-intervals vs annotated boundaries on {check['rows']} row(s): mean IoU "
                      + (f"{check['mean_iou']:.3f}" if check["rows"] else "- (no annotated row)"))
    return 0
