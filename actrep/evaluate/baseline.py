"""The training-free counters as `actrep eval` baselines (`--baseline periodicity naive`).

`BaselineCounter` has the interface of `actrep.inference.local.LocalModelCounter` (load, generate,
info, family, prompt_variant, video_settings). Its "completion" is the chain of thought that
`actrep cot` would write for the count and intervals it found, so the parser, metrics, JSONL and
report treat it exactly like a model.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from actrep.descriptions import describe, is_alternating, is_synthetic_video
from actrep.errors import ActRepError
from actrep.periodicity.counter import PeriodicityConfig, count_repetitions
from actrep.periodicity.naive import naive_count
from actrep.periodicity.reader import read_frames
from actrep.reasoning import build_cot
from actrep.video import probe

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
            else:  # an action whose repetitions mirror each other (there, then back) is counted per one-way move
                result = count_repetitions(clip.frames, clip.analysed_fps, self.config,
                                           alternating=is_alternating(sample.action, sample.video_path))
            out.append((cot_text(sample, result.count, result.intervals, self.prompt_variant), 0, 0))
        return out


def cot_text(sample, count: int, intervals, variant: str = "think") -> str:
    """The completion `actrep cot` writes for `count` repetitions at `intervals` (clip-clock seconds)."""
    return build_cot(count, [(float(s), float(e)) for s, e in intervals], sample.action, variant,
                     description=describe(sample.action, is_synthetic_video(sample.video_path)))
