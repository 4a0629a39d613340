"""Dataset manifests: every supported annotation format loads into one `Sample` record.

Formats (auto-detected):
- RepCount-A: a directory with train.csv / valid.csv / test.csv (or annotation/*.csv), header
  `type,name,count,L1,L2,...`; repetition k runs from frame L(2k-1) to frame L(2k) at the video's
  own frame rate; videos under video/<split>/<name>. A single such CSV is one split (its stem).
- Simplified CSV: `video_id,split,action,count[,L1,L2,...]`.
- JSONL, new schema: {"video_id", "split", "action", "gt_count", "cot"?, ...} (plus the optional fields
  written by `actrep cot` / `actrep rcs`: video, boundaries, intervals, clip_start, clip_end, fps);
  old schema: {"video_id", "ground_truth": {"action", "count"}}.

Loading never raises on a bad row: the row is skipped and a `Problem` naming file and row is
recorded, so `actrep data validate` can report every defect at once. Row numbers count data rows
from 1 (the CSV header is row 0; JSONL lines count from 1).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from actrep.errors import ActRepError

SPLITS = ("train", "valid", "test")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")


@dataclass
class Problem:
    severity: str  # "error" (the row/video is unusable) or "warning" (usable, but suspicious)
    source: str  # file
    row: int | None
    message: str
    video_id: str | None = None

    def __str__(self) -> str:
        where = f"{self.source} row {self.row}" if self.row is not None else self.source
        return f"{where}: {self.message}"


@dataclass
class Sample:
    video_id: str
    action: str
    count: int
    split: str = "test"
    video_path: Path | None = None
    boundaries: list[tuple[int, int]] | None = None  # per repetition (start, end) frame indices in the FILE
    intervals: list[tuple[float, float]] | None = None  # per repetition seconds on the clip's clock
    fps: float | None = None
    clip_start: float | None = None  # seconds in the file; None = from the start
    clip_end: float | None = None  # seconds of the clip's last frame; None = to the end
    cot: str | None = None
    source: str = ""
    row: int | None = None
    extra: dict = field(default_factory=dict)  # e.g. {"pseudo_labelled": True}, RCS provenance

    @property
    def where(self) -> str:
        return f"{self.source} row {self.row}" if self.row is not None else self.source

    def intervals_seconds(self, fps: float | None = None) -> list[tuple[float, float]] | None:
        """Per-repetition (start, end) seconds on the clip's clock (file clock minus clip start)."""
        if self.intervals is not None:
            return list(self.intervals)
        if self.boundaries is None:
            return None
        fps = fps or self.fps
        if not fps:
            raise ActRepError(f"{self.where}: the frame rate of {self.video_id} is needed to convert boundaries to seconds")
        offset = round((self.clip_start or 0.0) * fps)
        return [((s - offset) / fps, (e - offset) / fps) for s, e in self.boundaries]

    def to_json(self) -> dict:
        row = {"video_id": self.video_id, "split": self.split, "action": self.action, "gt_count": self.count}
        if self.video_path is not None:
            row["video"] = str(self.video_path)
        for name in ("fps", "clip_start", "clip_end", "cot"):
            if getattr(self, name) is not None:
                row[name] = getattr(self, name)
        if self.boundaries is not None:
            row["boundaries"] = [list(b) for b in self.boundaries]
        if self.intervals is not None:
            row["intervals"] = [[round(s, 3), round(e, 3)] for s, e in self.intervals]
        row.update(self.extra)
        return row


@dataclass
class Manifest:
    samples: list[Sample]
    problems: list[Problem]
    source: str
    format: str

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def split(self, name: str) -> list[Sample]:
        return [s for s in self.samples if s.split == name]


# ------------------------------------------------------------------------------------- helpers


class _RowError(Exception):
    pass


def _parse_count(value) -> int:
    text = str(value).strip() if value is not None else ""
    try:
        number = float(text) if text else None
    except ValueError:
        number = None
    if number is None or number != int(number):
        raise _RowError(f"count {text!r} is not a whole number")
    if number < 0:
        raise _RowError(f"count {int(number)} is negative")
    return int(number)


def _parse_boundaries(cells: list) -> list[tuple[int, int]] | None:
    values = [str(c).strip() for c in cells if c is not None and str(c).strip() != ""]
    if not values:
        return None
    frames = []
    for v in values:
        try:
            f = float(v)
        except ValueError:
            raise _RowError(f"boundary {v!r} is not a frame number") from None
        if f != int(f) or f < 0:
            raise _RowError(f"boundary {v!r} is not a non-negative whole frame number")
        frames.append(int(f))
    if len(frames) % 2:
        raise _RowError(f"{len(frames)} boundary values (an odd number: every repetition needs a start and an end)")
    return [(frames[i], frames[i + 1]) for i in range(0, len(frames), 2)]


def _check_boundaries(count: int, boundaries: list[tuple[int, int]] | None) -> list[tuple[str, str]]:
    """Structural checks of a row's repetition boundaries -> [(severity, message)]."""
    if boundaries is None:
        return []
    found = []
    if len(boundaries) != count:
        found.append(("error", f"count {count} but {len(boundaries)} boundary pairs"))
    for k, (start, end) in enumerate(boundaries, 1):
        if end <= start:
            found.append(("error", f"rep {k} ends (frame {end}) before or where it starts (frame {start})"))
    for k in range(1, len(boundaries)):
        (s0, e0), (s1, _) = boundaries[k - 1], boundaries[k]
        if s1 < s0:
            found.append(("error", f"rep {k + 1} starts (frame {s1}) before rep {k} (frame {s0}): boundaries not in order"))
        elif s1 < e0:
            found.append(("warning", f"reps {k} and {k + 1} overlap (rep {k} ends at frame {e0}, rep {k + 1} starts at {s1})"))
    return found


def check_video_id(video_id: str) -> str | None:
    """Why a video id is unsafe (absolute, or escapes the video folder with ..), or None."""
    posix = PurePosixPath(video_id.replace("\\", "/"))
    if posix.is_absolute() or (len(video_id) > 1 and video_id[1] == ":"):
        return f"video id {video_id!r} is an absolute path (it must be relative to the video folder)"
    if ".." in posix.parts:
        return f"video id {video_id!r} escapes the video folder (contains '..')"
    return None


def video_candidates(videos_dir: Path, video_id: str, split: str) -> list[Path]:
    """Where a video id may live: DIR/id, DIR/split/id, DIR/video/split/id (each also with .mp4 appended)."""
    names = [video_id] if PurePosixPath(video_id).suffix.lower() in VIDEO_SUFFIXES else [video_id, video_id + ".mp4"]
    return [d / name for name in names for d in (videos_dir, videos_dir / split, videos_dir / "video" / split)]


def resolve_video(videos_dir: Path, video_id: str, split: str) -> Path:
    """The first existing candidate file of a video id, else the first candidate (validation reports it)."""
    candidates = video_candidates(videos_dir, video_id, split)
    return next((c for c in candidates if c.exists()), candidates[0])


# ------------------------------------------------------------------------------------- readers


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    # utf-8-sig drops a BOM; newline="" lets csv handle CRLF line ends.
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
    except UnicodeDecodeError as err:
        raise ActRepError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        return [], []
    return [h.strip().lower() for h in rows[0]], rows[1:]


def _load_repcount_csv(path: Path, split: str, videos_dir: Path, samples: list, problems: list) -> None:
    header, rows = _read_csv(path)
    if header[:3] != ["type", "name", "count"]:
        raise ActRepError(f"{path}: not a RepCount-A CSV (header must start with type,name,count; got {','.join(header[:3])})")
    for row_number, cells in enumerate(rows, 1):
        cells = cells + [""] * (3 - len(cells))
        action, name = cells[0].strip(), cells[1].strip()
        try:
            if not name:
                raise _RowError("empty video name")
            if not action:
                raise _RowError("empty action")
            count = _parse_count(cells[2])
            boundaries = _parse_boundaries(cells[3:])
        except _RowError as err:
            problems.append(Problem("error", str(path), row_number, str(err), name or None))
            continue
        samples.append(Sample(name, action, count, split, None, boundaries, source=str(path), row=row_number))


def _load_simple_csv(path: Path, videos_dir: Path, samples: list, problems: list) -> None:
    header, rows = _read_csv(path)
    for row_number, cells in enumerate(rows, 1):
        cells = cells + [""] * (4 - len(cells))
        video_id, split, action = (c.strip() for c in cells[:3])
        try:
            if not video_id:
                raise _RowError("empty video_id")
            if not action:
                raise _RowError("empty action")
            count = _parse_count(cells[3])
            boundaries = _parse_boundaries(cells[4:])
        except _RowError as err:
            problems.append(Problem("error", str(path), row_number, str(err), video_id or None))
            continue
        samples.append(Sample(video_id, action, count, split or "test", None, boundaries, source=str(path), row=row_number))


def _float_or_none(value, what: str):
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _RowError(f"{what} {value!r} is not a number") from None


def _sample_from_json(obj: dict) -> Sample:
    if "ground_truth" in obj:  # old schema
        truth = obj["ground_truth"] or {}
        action, count = truth.get("action"), truth.get("count")
    else:
        action, count = obj.get("action"), obj.get("gt_count", obj.get("count"))
    video_id = str(obj.get("video_id") or "").strip()
    if not video_id:
        raise _RowError("missing video_id")
    if not action or not str(action).strip():
        raise _RowError("missing action")
    count = _parse_count(count)
    boundaries = obj.get("boundaries")
    if boundaries is not None:
        boundaries = _parse_boundaries([v for pair in boundaries for v in pair])
    intervals = obj.get("intervals")
    if intervals is not None:
        try:
            intervals = [(float(s), float(e)) for s, e in intervals]
        except (TypeError, ValueError):
            raise _RowError("intervals must be a list of [start, end] seconds") from None
    known = {"video_id", "split", "action", "gt_count", "count", "ground_truth", "cot", "video", "boundaries",
             "intervals", "clip_start", "clip_end", "fps"}
    return Sample(
        video_id=video_id,
        action=str(action).strip(),
        count=count,
        split=str(obj.get("split") or "test"),
        video_path=Path(obj["video"]) if obj.get("video") else None,
        boundaries=boundaries,
        intervals=intervals,
        fps=_float_or_none(obj.get("fps"), "fps"),
        clip_start=_float_or_none(obj.get("clip_start"), "clip_start"),
        clip_end=_float_or_none(obj.get("clip_end"), "clip_end"),
        cot=obj.get("cot"),
        extra={k: v for k, v in obj.items() if k not in known},
    )


def _load_jsonl(path: Path, samples: list, problems: list) -> None:
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as err:
        raise ActRepError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    for row_number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise _RowError("not a JSON object")
            sample = _sample_from_json(obj)
        except json.JSONDecodeError as err:
            problems.append(Problem("error", str(path), row_number, f"invalid JSON ({err.msg} at column {err.colno})"))
            continue
        except _RowError as err:
            problems.append(Problem("error", str(path), row_number, str(err), obj.get("video_id") if isinstance(obj, dict) else None))
            continue
        sample.source, sample.row = str(path), row_number
        samples.append(sample)


# ------------------------------------------------------------------------------------- entry point


def load_manifest(data: str | Path, videos: str | Path | None = None, splits: list[str] | None = None) -> Manifest:
    """Load any supported dataset into Samples (bad rows become Problems, never exceptions).

    `videos` is the folder video ids are resolved against (default: the dataset's own folder).
    `splits` keeps only those splits.
    """
    data = Path(data)
    if not data.exists():
        raise ActRepError(f"dataset not found: {data}")
    samples: list[Sample] = []
    problems: list[Problem] = []
    if data.is_dir():
        folders = [data, data / "annotation"]
        found = {s: f / f"{s}.csv" for f in reversed(folders) for s in SPLITS if (f / f"{s}.csv").exists()}
        if not found:
            raise ActRepError(f"{data}: no train.csv / valid.csv / test.csv (or annotation/*.csv) found")
        videos_dir = Path(videos) if videos else data
        for split, csv_path in found.items():
            _load_repcount_csv(csv_path, split, videos_dir, samples, problems)
        fmt = "repcount"
    elif data.suffix.lower() == ".jsonl":
        videos_dir = Path(videos) if videos else data.parent
        _load_jsonl(data, samples, problems)
        fmt = "jsonl"
    elif data.suffix.lower() == ".csv":
        header, _ = _read_csv(data)
        videos_dir = Path(videos) if videos else (data.parent.parent if data.parent.name == "annotation" else data.parent)
        if header[:3] == ["type", "name", "count"]:
            _load_repcount_csv(data, data.stem, videos_dir, samples, problems)
            fmt = "repcount"
        elif header[:4] == ["video_id", "split", "action", "count"]:
            _load_simple_csv(data, videos_dir, samples, problems)
            fmt = "simple_csv"
        elif not header:
            raise ActRepError(f"{data}: the file is empty")
        else:
            raise ActRepError(f"{data}: unknown CSV header {','.join(header[:4])!r} (expected type,name,count,... or video_id,split,action,count,...)")
    else:
        raise ActRepError(f"{data}: unknown dataset format (a RepCount-A folder, .csv or .jsonl)")

    kept = []
    for sample in samples:
        if splits and sample.split not in splits:
            continue
        unsafe = check_video_id(sample.video_id)
        if unsafe:
            problems.append(Problem("error", sample.source, sample.row, unsafe, sample.video_id))
            continue
        for severity, message in _check_boundaries(sample.count, sample.boundaries):
            problems.append(Problem(severity, sample.source, sample.row, message, sample.video_id))
        if sample.video_path is None:
            sample.video_path = resolve_video(videos_dir, sample.video_id, sample.split)
        elif not sample.video_path.is_absolute():
            sample.video_path = videos_dir / sample.video_path
        kept.append(sample)
    return Manifest(kept, problems, str(data), fmt)


def load_samples(data: str | Path, videos: str | Path | None = None, splits: list[str] | None = None) -> list[Sample]:
    """Load for training/eval: rows with errors are left out and reported on stderr (never silently)."""
    import sys

    manifest = load_manifest(data, videos, splits)
    bad_rows = {(p.source, p.row) for p in manifest.errors}
    samples = [s for s in manifest.samples if (s.source, s.row) not in bad_rows]
    if manifest.errors:
        print(f"warning: skipped {len(bad_rows)} row(s) of {data} with errors (run `actrep data validate` for details); first: {manifest.errors[0]}", file=sys.stderr)
    if not samples:
        raise ActRepError(f"{data}: no usable samples" + (f" in split(s) {', '.join(splits)}" if splits else ""))
    return samples
