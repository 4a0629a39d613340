"""Options, difficulty presets, count distributions, timing and the per-video spec.

A ``VideoSpec`` holds every randomised knob of one video and its exact repetition intervals; it is
drawn from ``numpy.random.default_rng([seed, index])`` alone, so a video never depends on how many
workers rendered the set or on the other videos.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from typing import Literal, Optional

import numpy as np

from actrep.config import option
from actrep.errors import ActRepError
from actrep.synth import scene as scene_mod
from actrep.synth.families import ACTIONS, FAMILIES
from actrep.synth.prims import uni

SPLIT_NAMES = ("train", "valid", "test")
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")

# Ranges each video's knobs are drawn from. Units: seconds; pan/shake/sway in frame heights;
# zoom relative; noise in 8-bit levels (std); blur sigma in pixels; sizes in subject units.
PRESETS: dict[str, dict] = {
    "easy": dict(period_s=(0.8, 2.0), tempo_jitter=(0.0, 0.05), pause_prob=(0.0, 0.1), pause_periods=(0.2, 0.6),
                 lead_in_s=(0.0, 0.6), lead_out_s=(0.0, 0.6), amp_jitter=(0.0, 0.03),
                 backgrounds=("gradient", "texture"), clutter=(0, 0), scale=(0.85, 1.0), sway=(0.0, 0.004),
                 pan=(0.0, 0.0), zoom=(0.0, 0.0), shake=(0.0, 0.0),
                 noise=(0.0, 1.5), blur=(0.0, 0.0), flicker=(0.0, 0.0), white_balance=0.03,
                 occluder_prob=0.0, occluder_size=(0.1, 0.2), distractor_prob=0.0),
    "medium": dict(period_s=(0.6, 2.2), tempo_jitter=(0.03, 0.15), pause_prob=(0.0, 0.3), pause_periods=(0.2, 1.0),
                   lead_in_s=(0.0, 1.5), lead_out_s=(0.0, 1.5), amp_jitter=(0.0, 0.08),
                   backgrounds=("gradient", "texture", "tiles", "clutter"), clutter=(2, 6), scale=(0.7, 1.0),
                   sway=(0.0, 0.01), pan=(0.0, 0.05), zoom=(0.0, 0.08), shake=(0.0, 0.004),
                   noise=(1.0, 5.0), blur=(0.0, 0.6), flicker=(0.0, 0.03), white_balance=0.06,
                   occluder_prob=0.3, occluder_size=(0.06, 0.12), distractor_prob=0.5),
    "hard": dict(period_s=(0.5, 2.5), tempo_jitter=(0.1, 0.3), pause_prob=(0.1, 0.5), pause_periods=(0.3, 1.5),
                 lead_in_s=(0.5, 3.0), lead_out_s=(0.5, 3.0), amp_jitter=(0.05, 0.15),
                 backgrounds=("texture", "tiles", "clutter"), clutter=(4, 10), scale=(0.55, 1.0),
                 sway=(0.005, 0.02), pan=(0.03, 0.1), zoom=(0.05, 0.18), shake=(0.004, 0.012),
                 noise=(4.0, 10.0), blur=(0.3, 1.0), flicker=(0.02, 0.06), white_balance=0.1,
                 occluder_prob=0.8, occluder_size=(0.08, 0.16), distractor_prob=0.9),
}


@dataclass
class SynthConfig:
    output_dir: str = option("", help="Output dataset directory (in --preview mode: the PNG path, default PREVIEW/preview.png).")
    n: int = option(100, help="Number of videos.")
    seed: int = option(0, help="Dataset seed; video i is drawn from (seed, i) alone.")
    fps: float = option(8.0, help="Frame rate of the videos.")
    size: str = option("112", help="Frame size: N (square) or WxH; even numbers >= 32 (yuv420p).")
    min_count: int = option(1, help="Smallest repetition count.")
    max_count: int = option(20, help="Largest repetition count.")
    count_dist: Literal["uniform", "longtail"] = option(
        "uniform", help="Counts: uniform over [min,max], or longtail P(c) ~ c^-alpha (many small counts, a tail).")
    longtail_alpha: float = option(1.0, help="Exponent of the longtail count distribution.")
    duration: Optional[float] = option(
        None, help="Fixed clip length in seconds (repetitions are fitted into it); default: derived from count and tempo.")
    max_duration: float = option(60.0, help="Cap on derived clip lengths in seconds (faster tempo beyond it).")
    min_rep_frames: int = option(4, help="Every repetition spans at least this many frames.")
    preset: Literal["easy", "medium", "hard"] = option("medium", help="Difficulty: ranges of the realism knobs.")
    families: list[str] = option([], help=f"Actions to draw from (default all; spaces or commas between them): {' '.join(ACTIONS)}.")
    splits: str = option("train=0.8,valid=0.1,test=0.1", help="Split shares, e.g. 'test=1' for a held-out set.")
    workers: int = option(0, help="Worker processes (0 = one per CPU core, 1 = in this process).")
    crf: int = option(20, help="libx264 constant rate factor (0-51, lower = better).")
    x264_preset: str = option("veryfast", help="libx264 speed preset.")
    overwrite: bool = option(False, help="Replace an existing dataset in OUT (its CSVs, meta and video/<split>/*.mp4).")
    quiet: bool = option(False, help="No progress bar.")


def parse_size(size) -> tuple[int, int]:
    text = str(size).strip().lower()
    m = re.fullmatch(r"(\d+)(?:x(\d+))?", text)
    if not m:
        raise ActRepError(f"synth: --size {size!r} is not N or WxH")
    w = int(m.group(1))
    h = int(m.group(2)) if m.group(2) else w
    if w % 2 or h % 2:
        raise ActRepError(f"synth: --size {w}x{h} must have even width and height (yuv420p)")
    if min(w, h) < 32 or max(w, h) > 4096:
        raise ActRepError(f"synth: --size {w}x{h} must be between 32 and 4096 pixels per side")
    return w, h


def parse_splits(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in str(text).replace(" ", "").split(","):
        name, eq, value = part.partition("=")
        if not eq or name not in SPLIT_NAMES or name in out:
            raise ActRepError(f"synth: --splits {text!r}: use NAME=SHARE pairs with NAME in {', '.join(SPLIT_NAMES)}, each once")
        try:
            share = float(value)
        except ValueError:
            raise ActRepError(f"synth: --splits {text!r}: {value!r} is not a number") from None
        if not share >= 0 or math.isinf(share):
            raise ActRepError(f"synth: --splits {text!r}: shares must be >= 0")
        out[name] = share
    if sum(out.values()) <= 0:
        raise ActRepError(f"synth: --splits {text!r}: shares sum to 0")
    return {k: out[k] for k in SPLIT_NAMES if k in out}


def split_sizes(n: int, splits: dict[str, float]) -> dict[str, int]:
    """Largest-remainder allocation of n videos to the splits, in train/valid/test order."""
    return dict(zip(splits, allocate(n, list(splits.values()))))


def families_of(cfg: SynthConfig) -> tuple[str, ...]:
    # "squat,push_up" and "squat push_up" both name two families
    fams = tuple(dict.fromkeys(f for entry in cfg.families for f in entry.split(",") if f)) or ACTIONS
    unknown = [f for f in fams if f not in FAMILIES]
    if unknown:
        raise ActRepError(f"synth: unknown family {unknown[0]!r}; choose from {', '.join(ACTIONS)}")
    return fams


def frame_budget(cfg: SynthConfig) -> int:
    """Most frames a clip may have: the fixed duration, or the cap on derived durations."""
    return max(1, int(round((cfg.duration if cfg.duration is not None else cfg.max_duration) * cfg.fps)))


def validate(cfg: SynthConfig) -> None:
    """Raise ActRepError (one line) for any bad option or impossible combination."""
    parse_size(cfg.size)
    parse_splits(cfg.splits)
    families_of(cfg)
    if cfg.n < 1:
        raise ActRepError(f"synth: --n {cfg.n} must be >= 1")
    if cfg.seed < 0:
        raise ActRepError(f"synth: --seed {cfg.seed} must be >= 0")
    if not (cfg.fps > 0 and cfg.fps <= 240):
        raise ActRepError(f"synth: --fps {cfg.fps} must be in (0, 240]")
    if cfg.min_count < 1:
        raise ActRepError(f"synth: --min-count {cfg.min_count} must be >= 1")
    if cfg.min_count > cfg.max_count:
        raise ActRepError(f"synth: --min-count {cfg.min_count} is larger than --max-count {cfg.max_count}")
    if cfg.count_dist not in ("uniform", "longtail"):
        raise ActRepError(f"synth: unknown --count-dist {cfg.count_dist!r}; choose uniform or longtail")
    if cfg.longtail_alpha <= 0:
        raise ActRepError(f"synth: --longtail-alpha {cfg.longtail_alpha} must be > 0")
    if cfg.preset not in PRESETS:
        raise ActRepError(f"synth: unknown --preset {cfg.preset!r}; choose from {', '.join(PRESETS)}")
    if cfg.min_rep_frames < 2:
        raise ActRepError(f"synth: --min-rep-frames {cfg.min_rep_frames} must be >= 2")
    if cfg.duration is not None and not cfg.duration > 0:
        raise ActRepError(f"synth: --duration {cfg.duration} must be > 0 seconds")
    if not cfg.max_duration > 0:
        raise ActRepError(f"synth: --max-duration {cfg.max_duration} must be > 0 seconds")
    if not 0 <= cfg.crf <= 51:
        raise ActRepError(f"synth: --crf {cfg.crf} must be in 0..51")
    if cfg.x264_preset not in X264_PRESETS:
        raise ActRepError(f"synth: unknown --x264-preset {cfg.x264_preset!r}; choose from {', '.join(X264_PRESETS)}")
    if cfg.workers < 0:
        raise ActRepError(f"synth: --workers {cfg.workers} must be >= 0")
    need = cfg.max_count * cfg.min_rep_frames + 1
    have = frame_budget(cfg)
    if need > have:
        flag = "--duration" if cfg.duration is not None else "--max-duration"
        raise ActRepError(
            f"synth: --max-count {cfg.max_count} needs at least {need} frames ({need / cfg.fps:.1f} s at {cfg.fps:g} fps, "
            f"{cfg.min_rep_frames} frames per repetition) but {flag} allows {have}; lower --max-count or raise {flag}")


# ---- counts -----------------------------------------------------------------------------------------
def count_probabilities(cfg: SynthConfig) -> tuple[np.ndarray, np.ndarray]:
    """(counts, probabilities) of the configured count distribution."""
    counts = np.arange(cfg.min_count, cfg.max_count + 1)
    if cfg.count_dist == "uniform":
        w = np.ones(len(counts))
    else:
        w = counts.astype(np.float64) ** -cfg.longtail_alpha
    return counts, w / w.sum()


def allocate(total: int, weights, minimum: int = 0) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` (each >= minimum), summing exactly."""
    w = np.asarray(weights, dtype=np.float64)
    n = len(w)
    if n == 0:
        return []
    if total < n * minimum:
        raise ValueError(f"cannot allocate {total} into {n} parts of at least {minimum}")
    if w.sum() <= 0:
        w = np.ones(n)
    fixed = np.zeros(n, bool)
    while True:
        free = total - minimum * fixed.sum()
        wsum = w[~fixed].sum()
        ideal = np.where(fixed, float(minimum), w * free / wsum if wsum > 0 else free / max(1, (~fixed).sum()))
        low = ~fixed & (ideal < minimum)
        if not low.any():
            break
        fixed |= low
    base = np.floor(ideal + 1e-9).astype(np.int64)
    rest = int(total - base.sum())
    order = np.argsort(-(ideal - base), kind="stable")
    base[order[:rest]] += 1
    return [int(x) for x in base]


# ---- the spec ---------------------------------------------------------------------------------------
@dataclass
class VideoSpec:
    """One video: identity, size, exact repetition intervals (frames, inclusive ends) and every knob."""

    name: str
    split: str
    index: int
    seed: int
    render_seed: int
    action: str
    count: int
    fps: float
    width: int
    height: int
    frames: int
    preset: str
    intervals: list[list[int]]  # [[start, end], ...]; back-to-back reps share the boundary frame
    knobs: dict = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return self.frames / self.fps

    @property
    def boundaries(self) -> list[int]:
        """RepCount-A L1..L(2*count): start and end frame of each repetition."""
        return [b for iv in self.intervals for b in iv]

    @property
    def intervals_s(self) -> list[list[float]]:
        return [[round(s / self.fps, 6), round(e / self.fps, 6)] for s, e in self.intervals]

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["family"] = self.action
        d["category"] = FAMILIES[self.action].category
        d["duration_s"] = round(self.duration_s, 6)
        d["intervals_s"] = self.intervals_s
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "VideoSpec":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def _timing(rng: np.random.Generator, count: int, cfg: SynthConfig, R: dict) -> tuple[list[list[int]], int, dict]:
    """Repetition intervals and the clip length in frames.

    Natural lengths come from a per-video tempo (period), per-rep jitter, pauses and idle lead-in/out.
    Every rep gets >= min_rep_frames. With --duration (or past --max-duration) the frame budget is
    fixed: idle time shrinks first, then the reps (never below min_rep_frames); spare frames become
    lead-in/lead-out.
    """
    fps, m = cfg.fps, cfg.min_rep_frames
    period = uni(rng, *R["period_s"])
    jitter = uni(rng, *R["tempo_jitter"])
    pause_prob = uni(rng, *R["pause_prob"])
    z = rng.standard_normal(count)
    reps = np.maximum(m, period * fps * np.exp(jitter * z))
    pz = rng.random(max(0, count - 1))
    pl = rng.uniform(*R["pause_periods"], size=max(0, count - 1))
    pauses = np.where(pz < pause_prob, pl * period * fps, 0.0)
    lead_in, lead_out = uni(rng, *R["lead_in_s"]) * fps, uni(rng, *R["lead_out_s"]) * fps
    split = rng.random()
    idle = np.concatenate([[lead_in], pauses, [lead_out]])
    natural = float(reps.sum() + idle.sum())
    limit = frame_budget(cfg) - 1  # the boundary span: frames - 1
    span = limit if cfg.duration is not None else min(limit, max(int(round(natural)), count * m))
    rep_frames = allocate(min(span, max(count * m, int(round(reps.sum())))), reps, m)
    idle_budget = span - sum(rep_frames)
    if idle.sum() >= idle_budget:
        idle_frames = allocate(idle_budget, idle)
    else:
        idle_frames = allocate(int(round(idle.sum())), idle) if idle.sum() > 0 else [0] * len(idle)
        extra = idle_budget - sum(idle_frames)
        idle_frames[0] += int(round(extra * split))
        idle_frames[-1] += extra - int(round(extra * split))
    t, intervals = idle_frames[0], []
    for k, r in enumerate(rep_frames):
        intervals.append([t, t + r])
        t += r + (idle_frames[k + 1] if k < count - 1 else 0)
    frames = span + 1
    assert t + idle_frames[-1] == span, (t, idle_frames, span)
    knobs = {"period_s": period, "tempo_jitter": jitter, "pause_prob": pause_prob,
             "mean_period_s": round(sum(rep_frames) / count / fps, 4),
             "rep_frames": rep_frames, "pause_frames": idle_frames[1:-1],
             "lead_in_s": round(idle_frames[0] / fps, 4), "lead_out_s": round(idle_frames[-1] / fps, 4)}
    return intervals, frames, knobs


def sample_count(rng: np.random.Generator, cfg: SynthConfig) -> int:
    counts, p = count_probabilities(cfg)
    return int(counts[min(len(counts) - 1, int(np.searchsorted(np.cumsum(p), rng.random(), side="right")))])


def sample_spec(seed: int, cfg: SynthConfig, index: int = 0, split: str = "train", action: str | None = None) -> VideoSpec:
    """All knobs and the exact intervals of video ``index`` of a dataset with seed ``seed``.

    ``action`` defaults to round-robin over the configured families (balanced sets).
    """
    fams = families_of(cfg)
    w, h = parse_size(cfg.size)
    action = action or fams[index % len(fams)]
    if action not in FAMILIES:
        raise ActRepError(f"synth: unknown family {action!r}; choose from {', '.join(ACTIONS)}")
    rng = np.random.default_rng([int(seed), int(index)])
    R = PRESETS[cfg.preset]
    render_seed = int(rng.integers(2**31))
    count = sample_count(rng, cfg)
    intervals, frames, timing = _timing(rng, count, cfg, R)
    motion = FAMILIES[action].sample(rng)
    lo, hi = R["amp_jitter"]
    motion["rep_amplitudes"] = [round(1.0 - float(a), 4) for a in rng.uniform(lo, hi, size=count)]
    knobs = {"timing": timing, "motion": motion}
    knobs.update(scene_mod.sample_scene(rng, R, timing["mean_period_s"], cfg.fps))
    return VideoSpec(name=f"{action}_{index:05d}.mp4", split=split, index=int(index), seed=int(seed),
                     render_seed=render_seed, action=action, count=count, fps=float(cfg.fps), width=w, height=h,
                     frames=frames, preset=cfg.preset, intervals=intervals, knobs=knobs)
