"""`actrep data validate`: check every row and every video of a dataset, report all problems at once.

Row checks come from the manifest loader (counts, boundaries, ids); this module adds the checks that
need the video file: exists, non-empty, decodable, at least 2 frames, frame rate, boundaries and
clip ranges inside the video, and duplicate rows. Videos are probed in parallel threads (PyAV
releases the GIL while decoding).
"""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from actrep.manifest import Manifest, Problem, Sample, load_manifest, video_candidates
from actrep.errors import ActRepError


@dataclass
class ValidationReport:
    manifest: Manifest
    problems: list[Problem]
    frame_counts: dict[str, int]  # video path -> frames

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def bad_rows(self) -> set[tuple[str, int | None]]:
        return {(p.source, p.row) for p in self.errors}

    def clean_samples(self) -> list[Sample]:
        bad = self.bad_rows()
        return [s for s in self.manifest.samples if (s.source, s.row) not in bad]


def _probe_video(path: Path, count_frames: bool):
    from actrep.video import probe

    try:
        return probe(path, count_frames=count_frames), None
    except ActRepError as err:
        return None, str(err).removeprefix(f"{path}: ")


def videos_root(manifest: Manifest, videos) -> Path:
    """The folder video ids were resolved against (for messages)."""
    if videos:
        return Path(videos)
    source = Path(manifest.source)
    return source if source.is_dir() else source.parent


def validate(data, videos=None, splits=None, count_frames: bool = True, workers: int = 4, progress: bool = True) -> ValidationReport:
    manifest = load_manifest(data, videos, splits)
    problems = list(manifest.problems)
    seen: dict[tuple, Sample] = {}
    for sample in manifest.samples:
        key = (sample.split, sample.video_id, sample.clip_start, sample.clip_end)
        if key in seen:
            first = seen[key]
            problems.append(Problem("error", sample.source, sample.row, f"duplicate of {first.where} (video id {sample.video_id!r})", sample.video_id))
        else:
            seen[key] = sample

    paths = sorted({s.video_path for s in manifest.samples})
    results = {}
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {path: pool.submit(_probe_video, path, count_frames) for path in paths}
        iterator = futures.items()
        if progress and paths:
            from rich.progress import track

            iterator = track(list(iterator), description=f"checking {len(paths)} videos", transient=True)
        for path, future in iterator:
            results[path] = future.result()

    frame_counts = {}
    for sample in manifest.samples:
        info, failure = results[sample.video_path]
        if not sample.video_path.exists():
            tried = ", ".join(str(c) for c in dict.fromkeys(video_candidates(videos_root(manifest, videos), sample.video_id, sample.split)))
            problems.append(Problem("error", sample.source, sample.row, f"video file not found (looked for {tried})", sample.video_id))
            continue
        if failure:
            problems.append(Problem("error", sample.source, sample.row, f"video {sample.video_path}: {failure}", sample.video_id))
            continue
        frame_counts[str(sample.video_path)] = info.num_frames
        if info.num_frames < 2:
            problems.append(Problem("error", sample.source, sample.row, f"video {sample.video_path} has {info.num_frames} frame(s); a video needs at least 2 frames", sample.video_id))
            continue
        sample.fps = sample.fps or info.fps
        last = info.num_frames - 1
        beyond = [b for pair in (sample.boundaries or []) for b in pair if b > last]
        if beyond:
            problems.append(Problem("error", sample.source, sample.row, f"boundary frame {beyond[0]} is past the last frame ({last}) of {sample.video_path.name}", sample.video_id))
        if sample.clip_start is not None or sample.clip_end is not None:
            first_frame = round((sample.clip_start or 0) * info.fps)
            last_frame = round(sample.clip_end * info.fps) if sample.clip_end is not None else last
            if not 0 <= first_frame < last_frame <= last:
                problems.append(Problem("error", sample.source, sample.row, f"clip {sample.clip_start}-{sample.clip_end} s is not inside the video (0-{last / info.fps:.2f} s)", sample.video_id))
        if sample.count == 0:
            problems.append(Problem("warning", sample.source, sample.row, "count 0: the video has no repetitions", sample.video_id))
    if not manifest.samples and not manifest.problems:
        problems.append(Problem("error", manifest.source, None, "the dataset has no rows"))
    problems.sort(key=lambda p: (p.source, p.row if p.row is not None else -1, p.severity))
    return ValidationReport(manifest, problems, frame_counts)


def split_summary(report: ValidationReport) -> dict[str, dict[str, int]]:
    """Per split: rows, usable rows, repetitions, rows with errors / warnings."""
    bad = report.bad_rows()
    warned = {(p.source, p.row) for p in report.problems if p.severity == "warning"}
    summary: dict[str, Counter] = {}
    for sample in report.manifest.samples:
        c = summary.setdefault(sample.split, Counter())
        key = (sample.source, sample.row)
        c["rows"] += 1
        c["usable"] += key not in bad
        c["reps"] += sample.count if key not in bad else 0
        c["errors"] += key in bad
        c["warnings"] += key in warned and key not in bad
    loaded = {(s.source, s.row) for s in report.manifest.samples}
    unreadable = {(p.source, p.row) for p in report.errors if p.row is not None and (p.source, p.row) not in loaded}
    if unreadable:
        summary["(unreadable rows)"] = Counter(rows=len(unreadable), errors=len(unreadable))
    return {split: dict(c) for split, c in summary.items()}


def write_clean(report: ValidationReport, out: str | Path) -> int:
    """Write the usable rows: `OUT.jsonl` (new JSONL schema, absolute video paths) or a RepCount-A folder."""
    out = Path(out)
    samples = report.clean_samples()
    if out.suffix.lower() == ".jsonl":
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "w", encoding="utf-8") as handle:
            for sample in samples:
                row = sample.to_json()
                row["video"] = str(Path(sample.video_path).resolve())
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        return len(samples)
    import csv

    out.mkdir(parents=True, exist_ok=True)
    by_split: dict[str, list[Sample]] = {}
    for sample in samples:
        by_split.setdefault(sample.split, []).append(sample)
    for split, rows in by_split.items():
        width = max((2 * len(s.boundaries or []) for s in rows), default=0)
        with open(out / f"{split}.csv", "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["type", "name", "count"] + [f"L{i}" for i in range(1, width + 1)])
            for s in rows:
                flat = [b for pair in (s.boundaries or []) for b in pair]
                writer.writerow([s.action, s.video_id, s.count] + flat + [""] * (width - len(flat)))
    return len(samples)
