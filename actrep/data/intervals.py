"""Where a row's repetition intervals come from: its annotation, or the periodicity counter.

`annotated_intervals` reads the annotation (the default source of `actrep cot`). `pseudo_intervals()`
is the source for rows with a count but no boundaries (`actrep cot --pseudo_intervals`): the
training-free counter constrained to exactly the known count. `pseudo_agreement` measures how well
such pseudo-intervals match the true boundaries of annotated rows (`--pseudo_check`).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable

import numpy as np

from actrep.manifest import Sample
from actrep.metrics import mean_interval_iou
from actrep.periodicity import PeriodicityConfig, count_video

# A function that supplies per-rep (start, end) seconds on the clip clock for a sample, or None
# when it has none (then the sample gets no CoT). The default reads the annotation.
IntervalSource = Callable[[Sample, float | None], list[tuple[float, float]] | None]


def annotated_intervals(sample: Sample, fps: float | None) -> list[tuple[float, float]] | None:
    """Per-rep clip-clock seconds from the annotation: exact frames when present, else stored seconds."""
    if sample.boundaries is not None and (fps or sample.fps):
        # Frames first: stored seconds are rounded to 1 ms in JSONL, frames are exact.
        return dataclasses.replace(sample, intervals=None).intervals_seconds(fps)
    if sample.intervals is None and sample.boundaries is None and sample.count == 0:
        return []  # a count-0 row has nothing to list
    return sample.intervals_seconds(fps)



def has_boundaries(sample) -> bool:
    return sample.boundaries is not None or sample.intervals is not None


def pseudo_intervals(config: PeriodicityConfig | None = None):
    """An `actrep.data.cot` interval source for rows with a count but no boundaries: the counter
    constrained to exactly the known count (annotated rows keep their own intervals)."""
    def source(sample, fps):
        if has_boundaries(sample) or sample.count == 0:
            return annotated_intervals(sample, fps)
        result = count_video(sample.video_path, config, count=sample.count,
                             clip_start=sample.clip_start, clip_end=sample.clip_end)
        return [(round(s, 3), round(e, 3)) for s, e in result.intervals]

    return source


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
