"""The periodicity counter inside the pipeline: an `actrep eval` baseline and pseudo-intervals for `actrep cot`.

`BaselineCounter` has the interface of `actrep.evaluate.local.LocalModelCounter` (load, generate,
info, family, prompt_variant, video_settings). Its "completion" is the chain of thought that
`actrep cot` would write for the count and intervals it found, so the parser, metrics, JSONL and
report treat it exactly like a model.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from actrep.errors import ActRepError
from actrep.periodicity.counter import PeriodicityConfig, count_repetitions, count_video
from actrep.periodicity.naive import naive_count
from actrep.periodicity.reader import read_frames

BASELINES = ("periodicity", "naive")


@dataclass
class Clip:
    frames: np.ndarray  # decimated, downscaled frames of the clip
    fps: float  # the file's frame rate (what `actrep eval` records)
    analysed_fps: float  # the frame rate of `frames`
    partial: str | None = None  # the file ends early and only its readable part was read (allow_partial)


class BaselineCounter:
    """A training-free counter with the interface of LocalModelCounter."""

    def __init__(self, kind: str, video, prompt_variant: str = "think", config: PeriodicityConfig | None = None,
                 allow_partial: bool = False):
        if kind not in BASELINES:
            raise ActRepError(f"unknown baseline {kind!r}; choose from {', '.join(BASELINES)}")
        self.kind = kind
        self.path = f"baseline:{kind}"
        self.family = SimpleNamespace(name=f"baseline-{kind}")
        self.prompt_variant = prompt_variant
        self.video_settings = video  # recorded with the run; the counter samples frames itself
        self.config = config or PeriodicityConfig()
        self.settings_source = "baseline"
        self.allow_partial = allow_partial  # count the readable part of a file that ends early (marked partial)

    def info(self) -> dict:
        return {"model": self.path, "family": self.family.name, "settings_source": self.settings_source,
                "prompt_variant": self.prompt_variant, "baseline": self.kind,
                "periodicity_config": dataclasses.asdict(self.config) if self.kind == "periodicity" else None}

    def load(self, sample) -> Clip:
        from actrep.video import probe

        info = probe(sample.video_path, allow_partial=self.allow_partial)
        step = max(1, int(round(info.fps / self.config.max_fps)))
        frames, info, _ = read_frames(sample.video_path, step, self.config.size, sample.clip_start, sample.clip_end, info)
        return Clip(frames, info.fps, info.fps / step, info.partial_note())

    def generate(self, samples, videos) -> list[tuple[str, int, int]]:
        """(chain of thought with the count and intervals found, 0 prompt tokens, 0 completion tokens)."""
        out = []
        for sample, clip in zip(samples, videos):
            if self.kind == "naive":
                result = naive_count(clip.frames, clip.analysed_fps)
            else:
                result = count_repetitions(clip.frames, clip.analysed_fps, self.config)
            out.append((cot_text(sample, result.count, result.intervals, self.prompt_variant), 0, 0))
        return out


def cot_text(sample, count: int, intervals, variant: str = "think") -> str:
    """The completion `actrep cot` writes for `count` repetitions at `intervals` (clip-clock seconds)."""
    from actrep.data.cot import build_cot
    from actrep.data.descriptions import describe, is_synthetic_video

    return build_cot(count, [(float(s), float(e)) for s, e in intervals], sample.action, variant,
                     description=describe(sample.action, is_synthetic_video(sample.video_path)))


# ------------------------------------------------------------------------------- pseudo-intervals


def has_boundaries(sample) -> bool:
    return sample.boundaries is not None or sample.intervals is not None


def pseudo_intervals(config: PeriodicityConfig | None = None):
    """An `actrep.data.cot` interval source for rows with a count but no boundaries: the counter
    constrained to exactly the known count (annotated rows keep their own intervals)."""
    from actrep.data.cot import annotated_intervals

    def source(sample, fps):
        if has_boundaries(sample) or sample.count == 0:
            return annotated_intervals(sample, fps)
        result = count_video(sample.video_path, config, count=sample.count,
                             clip_start=sample.clip_start, clip_end=sample.clip_end)
        return [(round(s, 3), round(e, 3)) for s, e in result.intervals]

    return source


def interval_iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else float(a == b)


def mean_interval_iou(pred, true) -> float:
    """Mean IoU of the k-th predicted with the k-th true interval (same count; extra or missing ones score 0)."""
    n = max(len(pred), len(true))
    return sum(interval_iou(p, t) for p, t in zip(pred, true)) / n if n else 1.0


def pseudo_agreement(samples, config: PeriodicityConfig | None = None, infos: dict | None = None) -> dict:
    """Pseudo-intervals (count given) against the true boundaries of annotated rows: mean IoU per row and overall."""
    rows, started = [], time.perf_counter()
    for sample in samples:
        if not has_boundaries(sample) or sample.count == 0:
            continue
        info = (infos or {}).get(str(sample.video_path))
        true = sample.intervals_seconds(info.fps if info else None)
        pred = count_video(sample.video_path, config, count=sample.count, clip_start=sample.clip_start,
                           clip_end=sample.clip_end).intervals
        rows.append({"video_id": sample.video_id, "count": sample.count, "iou": mean_interval_iou(pred, true)})
    mean = float(np.mean([r["iou"] for r in rows])) if rows else None
    return {"rows": len(rows), "mean_iou": mean, "seconds": round(time.perf_counter() - started, 1), "per_row": rows}
