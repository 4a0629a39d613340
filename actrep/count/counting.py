"""Count one video: plan windows, ask the backend per window, stitch, and describe the result.

`count_one(path, backend, action)` -> (VideoResult, windows, Stitched); `render` writes its timeline
PNG (and annotated mp4); `format_text` / `VideoResult.to_json` are what `actrep count` prints.
`expand_inputs` turns files, folders and glob patterns into the list of videos.
"""

from __future__ import annotations

import glob
import time
from dataclasses import dataclass, field
from pathlib import Path

from actrep.config import option
from actrep.count.backends import backend_label
from actrep.count.windows import DEFAULT_OVERLAP, Rep, Stitched, WindowAnswer, owned_ranges, plan_windows, stitch, total_reps
from actrep.errors import ActRepError
from actrep.inference.api import PROVIDERS, FatalApiError
from actrep.prompts import action_text
from actrep.video import IncompleteVideoError


@dataclass
class CountArguments:
    videos: list[str] = option([], help="Video files, folders (every video file directly inside, sorted) or glob patterns.")
    action: str = option("", help="The action to count, e.g. 'push up' (required with --model).")
    model_name_or_path: str | None = option(None, help="A local checkpoint directory or hub id; with --provider, the API model name.")
    provider: str | None = option(None, help=f"Count with an API model: {', '.join(PROVIDERS)}. Neither --model nor --provider: the training-free periodicity counter.")
    base_url: str | None = option(None, help="API base URL (required for openai-compatible, e.g. http://localhost:8000/v1).")
    output_dir: str = option("runs/count", help="Folder for the timeline PNGs and annotated videos.")
    json: bool = option(False, help="Print one JSON object per video (one line each) and nothing else on stdout.")
    hide_reasoning: bool = option(False, help="Do not print the model's reasoning (and leave it out of the JSON).")
    timeline: bool = option(True, help="Write a timeline PNG per video (--no_timeline: skip it).")
    annotate: bool = option(False, help="Also write an mp4 copy of each video with a running repetition counter.")
    allow_partial: bool = option(False, help="Count the readable part of a video that ends before its declared length (cut or damaged); "
                                             "the result is marked partial. Without it such a video is an error.")
    overlap: float = option(DEFAULT_OVERLAP, help="Long videos: share of each window that overlaps the next one (0-0.5]; must exceed the longest repetition.")
    sampling_family: str = option("qwen2_5_vl", help="API models: whose frame-sampling rule picks the frames (as eval-api).")
    max_new_tokens: int = option(1024, help="Local models: most tokens generated per window.")
    family: str | None = option(None, help="Local models: model family (default: from the checkpoint's config).")
    dtype: str = option("auto", help="Local models: auto (bf16 on a capable GPU, else float32), bfloat16, float16, float32.")
    attn_implementation: str = option("sdpa", help="Local models: sdpa, eager or flash_attention_2.")
    trust_remote_code: bool = option(False, help="Local models: allow custom code from the checkpoint.")
    ignore_saved_settings: bool = option(False, help="Local models: use the video/prompt flags even if the checkpoint saved its own.")
    quiet: bool = option(False, help="No progress bar.")


# --------------------------------------------------------------------------------------------- inputs


def expand_inputs(items: list[str]) -> list[tuple[str, str | None]]:
    """(path, error) per video: folders give the video files directly inside them (sorted), glob
    patterns their matches (sorted); a folder or pattern without videos is one error entry."""
    from actrep.manifest import VIDEO_SUFFIXES

    def videos_in(folder: Path) -> list[str]:
        return sorted(str(f) for f in folder.iterdir() if f.is_file() and f.suffix.lower() in VIDEO_SUFFIXES)

    found: list[tuple[str, str | None]] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            files = videos_in(path)
            found += [(f, None) for f in files] or [(item, f"{item}: no video files ({', '.join(VIDEO_SUFFIXES)}) in this folder")]
        elif not path.exists() and glob.has_magic(item):
            matches = sorted(glob.glob(item, recursive=True))
            files = [f for m in matches for f in (videos_in(Path(m)) if Path(m).is_dir() else [m])]
            found += [(f, None) for f in files] or [(item, f"{item}: no file matches this pattern")]
        else:
            found.append((item, None if path.exists() else f"{item}: file or folder not found"))
    seen, unique = set(), []
    for path, error in found:
        key = str(Path(path).resolve()) if error is None else path
        if key not in seen:
            seen.add(key)
            unique.append((path, error))
    return unique


class OutputNames:
    """`<stem>.timeline.png` / `<stem>.annotated.mp4` in the output folder, unique within a run."""

    def __init__(self, out: str):
        self.out, self.used = Path(out), set()

    def stem(self, video: str) -> str:
        base = Path(video).stem or "video"
        stem, n = base, 2
        while stem in self.used:
            stem, n = f"{base}-{n}", n + 1
        self.used.add(stem)
        return stem


# --------------------------------------------------------------------------------------------- counting


@dataclass
class VideoResult:
    video: str
    action: str
    count: int | None = None
    reps: list[Rep] = field(default_factory=list)
    reasoning: str | None = None
    raw: str = ""
    time_s: float = 0.0
    duration_s: float | None = None
    fps: float | None = None
    frames: int | None = None
    windows: list[dict] = field(default_factory=list)
    stitch: str | None = None
    timeline: str | None = None
    annotated: str | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    partial: dict | None = None  # --allow_partial on a file that ends early: what was read of what it declares
    uncertain: bool = False  # the counter's confidence is below its level in some window: shown as "~7?"
    info: object = field(default=None, repr=False)  # the video's actrep.video.probe result (not in the JSON)

    @property
    def status(self) -> str:
        """failed | no count | uncertain | ok."""
        return ("failed" if self.error else "no count" if self.count is None else "uncertain" if self.uncertain else "ok")

    def shown_count(self) -> str:
        """'7', or '~7?' for an uncertain count."""
        return f"~{self.count}?" if self.uncertain else str(self.count)

    def to_json(self, backend: dict, hide_reasoning: bool) -> dict:
        return {
            "video": self.video, "action": self.action, **backend, "count": self.count, "status": self.status,
            "listed_count": total_reps(self.reps),
            "intervals": [[round(r.start, 2), round(r.end, 2)] for r in self.reps],
            "interval_reps": [r.n for r in self.reps],
            "reasoning": None if hide_reasoning else self.reasoning, "raw": None if hide_reasoning else self.raw,
            "time_s": round(self.time_s, 3), "duration_s": self.duration_s, "fps": self.fps, "frames": self.frames,
            "stitch": self.stitch, "windows": self.windows, "timeline": self.timeline, "annotated": self.annotated,
            "partial": self.partial, "error": self.error, "warnings": self.warnings,
        }


def count_one(path: str, backend, action: str, overlap: float = DEFAULT_OVERLAP,
              allow_partial: bool = False) -> tuple[VideoResult, list, Stitched]:
    """Count one video with a backend, in windows when it is longer than the frame budget.

    A video that ends before its declared length is an error (actrep.video.probe) unless
    `allow_partial`: then its readable part is counted and `result.partial` says what that was."""
    from actrep.video import probe

    started = time.perf_counter()
    info = probe(path, allow_partial=allow_partial)
    result = VideoResult(video=path, action=action, info=info)
    result.fps, result.frames, result.duration_s = round(info.fps, 4), info.num_frames, round(info.duration, 3)
    if info.partial:
        result.partial = {"readable_s": round(info.duration, 3), "declared_s": round(info.declared_s, 3),
                          "readable_frames": info.num_frames, "declared_frames": info.declared_frames,
                          "note": info.partial_note()}
    windows = plan_windows(info.num_frames, info.fps, backend.video_settings, overlap)
    answers = []
    for window in windows:
        clip_started = time.perf_counter()
        clip = None if len(windows) == 1 else (window.start, window.end)
        answer = backend.count_clip(path, info, clip, action)
        answer.seconds = time.perf_counter() - clip_started
        answers.append(answer)
    stitched = stitch(windows, [WindowAnswer(a.count, a.reps) for a in answers])
    result.count, result.reps, result.stitch = stitched.count, stitched.reps, stitched.method
    result.uncertain = any(a.extra.get("uncertain") for a in answers)
    result.time_s = time.perf_counter() - started
    several = len(windows) > 1
    result.reasoning = _joined([a.reasoning for a in answers], windows) if any(a.reasoning for a in answers) else None
    result.raw = _joined([a.text for a in answers], windows) if several else answers[0].text
    for window, answer, kept in zip(windows, answers, stitched.kept):
        result.windows.append({"start": round(window.start, 3), "end": round(window.end, 3), "count": answer.count,
                               "listed_count": total_reps(answer.reps), "kept": round(kept, 3),
                               "time_s": round(answer.seconds, 3), **answer.extra,
                               **({"raw": answer.text} if several else {})})
    if any(a.count is None for a in answers):
        bad = [i + 1 for i, a in enumerate(answers) if a.count is None]
        result.warnings.append("no parseable count in the answer" if not several else
                               f"no parseable count in window(s) {', '.join(map(str, bad))}: no total")
    elif stitched.method == "proportional":
        result.warnings.append("a window's listed repetitions do not add up to its count: windows were combined "
                               "by their share of the video (approximate total)")
    return result, windows, stitched


def count_file(path: str, backend, args: CountArguments, names: OutputNames, error: str | None = None) -> VideoResult:
    """One input of `actrep count` counted and rendered: what the CLI and `actrep app` both call.

    A video that cannot be read or counted comes back as a result with `error` set (so one bad file
    never stops the others); only a fatal API error (a wrong key) is raised, as it would fail every video."""
    if error is not None:
        return VideoResult(video=path, action=args.action, error=error)
    try:
        result, windows, _ = count_one(path, backend, args.action, args.overlap, args.allow_partial)
        render(result, windows, backend, args, names)
        return result
    except FatalApiError:
        raise
    except ActRepError as err:
        message = str(err) if str(err).startswith(path) else f"{path}: {err}"
        if isinstance(err, IncompleteVideoError):
            message += "; --allow_partial counts the readable part (marked partial)"
        return VideoResult(video=path, action=args.action, error=message)


def _joined(texts: list[str | None], windows) -> str:
    if len(windows) == 1:
        return texts[0] or ""
    return "\n\n".join(f"[window {w.index + 1}: {w.start:.1f}-{w.end:.1f} s]\n{(t or '').strip() or '(empty)'}"
                       for w, t in zip(windows, texts))


def render(result: VideoResult, windows, backend, args: CountArguments, names: OutputNames) -> None:
    """Timeline PNG (and annotated mp4) of a counted video; a failure here is a warning, not a lost count."""
    from actrep.count.timeline import annotate_video, nice_duration, timeline_png

    stem = names.stem(result.video)
    action = action_text(result.action) if result.action else "repetitions"
    if args.timeline:
        label = ("no count" if result.count is None else f"{result.shown_count()} × {action}" if result.action
                 else f"{result.shown_count()} repetition{'s' * (result.count != 1)}")
        if result.uncertain:
            label += " (uncertain)"
        if result.partial:
            label += f" in the first {result.partial['readable_s']:.1f} s (partial)"
        subtitle = f"{backend_label(backend)}  ·  counted in {nice_duration(result.time_s)}"
        if len(windows) > 1:
            subtitle += f"  ·  {len(windows)} windows, stitched by {result.stitch}"
        try:
            path = timeline_png(Path(args.output_dir) / f"{stem}.timeline.png", result.video, result.reps,
                                title=f"{Path(result.video).name}: {label}", subtitle=subtitle,
                                windows=[(w.start, w.end) for w in windows],
                                cuts=[low for low, _ in owned_ranges(windows)[1:]], info=result.info,
                                uncertain=result.uncertain)
            result.timeline = str(path)
        except ActRepError as err:
            result.warnings.append(f"timeline not written: {err}")
    if args.annotate:
        try:
            target = Path(args.output_dir) / f"{stem}.annotated.mp4"
            total = None if result.count is None else result.shown_count()
            annotate_video(result.video, target, result.reps, total, action, info=result.info)
            result.annotated = str(target)
        except ActRepError as err:
            result.warnings.append(f"annotated video not written: {err}")


# --------------------------------------------------------------------------------------------- output


def rep_items(reps: list[Rep]) -> list[str]:
    """The project's CoT notation per item: 'rep1: 0.5s-1.7s', 'reps 2-11: 1.7s-14.0s'."""
    parts, number = [], 1
    for rep in reps:
        name = f"rep{number}" if rep.n == 1 else f"reps {number}-{number + rep.n - 1}"
        parts.append(f"{name}: {rep.start:.1f}s-{rep.end:.1f}s")
        number += rep.n
    return parts


def format_reps(reps: list[Rep]) -> str:
    return ", ".join(rep_items(reps))


def _wrap_items(items: list[str], width: int = 100, indent: str = "    ") -> str:
    """Join items with ', ', breaking lines only between items."""
    lines, line = [], ""
    for i, item in enumerate(items):
        piece = item + ("," if i < len(items) - 1 else "")
        if line and len(line) + 1 + len(piece) > width:
            lines.append(line)
            line = indent + piece
        else:
            line = f"{line} {piece}" if line else piece
    lines.append(line)
    return "\n".join(lines)


def format_text(result: VideoResult, show_reasoning: bool) -> str:
    name = result.video
    if result.error:
        return f"{name}: FAILED: {result.error}"
    count = "no count" if result.count is None else f"{result.shown_count()} repetition{'s' * (result.count != 1)}"
    lines = [f"{name}: {count}  ({result.time_s:.1f} s)" + ("  UNCERTAIN" if result.uncertain else "")
             + ("  PARTIAL" if result.partial else "")]
    if result.uncertain:
        lowest = min((w["confidence"] for w in result.windows if "confidence" in w), default=None)
        lines.append("  uncertain: the counter is not sure of this count" +
                     (f" (confidence {lowest:.2f})" if lowest is not None else "") + "; check it on the timeline")
    if result.partial:
        lines.append(f"  partial: {result.partial['note']}; the count covers that part only")
    if len(result.windows) > 1:
        first = result.windows[0]
        lines.append(f"  counted in {len(result.windows)} overlapping windows of {first['end'] - first['start']:.1f} s, "
                     f"stitched by {result.stitch}")
    listed = total_reps(result.reps)
    intervals = _wrap_items(rep_items(result.reps)) if result.reps else "none listed"
    if result.reps and listed != result.count:
        intervals += f"  ({listed} listed)"
    lines.append("  intervals: " + intervals)
    if show_reasoning:
        text = result.reasoning if result.reasoning is not None else result.raw
        label = "reasoning" if result.reasoning is not None else "output"
        body = text.strip() or "(empty)"
        lines.append(f"  {label}:")
        lines += ["    " + line for line in body.splitlines()]
    for warning in result.warnings:
        lines.append(f"  note: {warning}")
    for key, label in (("timeline", "timeline"), ("annotated", "annotated")):
        if getattr(result, key):
            lines.append(f"  {label}: {getattr(result, key)}")
    return "\n".join(lines)
