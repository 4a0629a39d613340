"""Long videos for `actrep count`: overlapping windows within the frame budget, and stitching.

A model sees at most `max_frames` frames. A video longer than `max_frames / fps` seconds would be
sampled more sparsely than `fps` (fast repetitions blur together), so it is counted in windows
that each fit the budget exactly, and the per-window repetition intervals are stitched:

* **Windows** (`plan_windows`): length L = floor(max_frames * native_fps / fps) frames of the file,
  i.e. the longest clip that is still sampled at the full `fps`; consecutive windows overlap by
  `overlap` of their span, O = round(overlap * (L - 1)) frame intervals (default overlap 0.25: 64 s
  windows overlapping by 16 s at the default 4 fps / 256 frames). Windows start every L - 1 - O
  frames; the last one is moved back to end
  on the video's last frame, so every window has the full length (its overlap may be larger).
  With `num_frames` sampling (a fixed frame count, no fps) or a video within budget: one window.
* **Ownership** (`stitch`): every overlap is split at its midpoint m_k; window k owns the time
  [m_(k-1), m_k) (the first from the start, the last to the end). A repetition is kept from the
  window that owns its centre. A repetition no longer than the overlap that straddles a window
  edge lies wholly inside the neighbouring window, and its centre lies in that neighbour's half of
  the overlap, so it is counted exactly once, whether or not the edge window also reports it
  (whole or clipped at its edge). Per-window answers that list every repetition exactly therefore
  stitch to the exact total (tests/test_count.py checks many window, overlap and repetition-length
  combinations, repetitions exactly on the edges included).
* **Near-duplicates**: the same repetition reported by two windows can have slightly different
  times (one-decimal model output, each window on its own clock), which can move its centre just
  across m_k, in one copy or in both. So repetitions whose centre lies up to `tolerance` seconds
  outside their window's range are candidates too (`tolerance` is 0.25 s, at most a tenth of the
  shortest overlap). Candidates are accepted in order (centre inside the owned range first, then by
  distance from it); one that shares at least half of the shorter one's length (`overlap_share` >=
  `same`) with an accepted repetition of another window is a duplicate and dropped. Repetitions of the
  same window are never merged (a repetition listed twice counts twice).
* **Groups** (`reps 11-20: a-b`, written above 20 repetitions) are split evenly into their
  repetitions for ownership; the kept part is a group again.
* **Fallback**: a window whose listed repetitions do not add up to its answer cannot be stitched by
  intervals; it contributes its answer times the share of its length it owns, and the video's
  total is rounded (`method` "proportional"). A window without an answer gives no total (None).
  Repetitions longer than the overlap may be lost or doubled: raise `--overlap` for slow actions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from actrep.errors import ActRepError

DEFAULT_OVERLAP = 0.25
DEFAULT_TOLERANCE = 0.25  # seconds: two decimals of slack on top of the models' 0.1 s resolution
DEFAULT_SAME = 0.5  # overlap_share at or above which two windows' repetitions are one


@dataclass(frozen=True)
class Rep:
    """`n` repetitions (1, or a listed group) from `start` to `end` seconds."""

    start: float
    end: float
    n: int = 1

    @property
    def centre(self) -> float:
        return (self.start + self.end) / 2

    def shifted(self, seconds: float) -> "Rep":
        return Rep(self.start + seconds, self.end + seconds, self.n)

    def split(self) -> list["Rep"]:
        """A group as `n` equal back-to-back repetitions (the text gives no inner boundaries)."""
        if self.n == 1:
            return [self]
        step = (self.end - self.start) / self.n
        return [Rep(self.start + i * step, self.start + (i + 1) * step) for i in range(self.n)]


def total_reps(reps) -> int:
    return sum(r.n for r in reps)


@dataclass(frozen=True)
class Window:
    """Frames `first`..`last` (inclusive) of a file at `fps`; times on the video's clock (frame / fps)."""

    index: int
    first: int
    last: int
    fps: float

    @property
    def start(self) -> float:
        return self.first / self.fps

    @property
    def end(self) -> float:
        return self.last / self.fps

    @property
    def frames(self) -> int:
        return self.last - self.first + 1


def needs_windows(num_frames: int, native_fps: float, settings) -> bool:
    """True when sampling the whole video at `settings.fps` would exceed `settings.max_frames`.

    Same arithmetic as the processors' fps rule: int(frames / native_fps * fps) frames are wanted.
    """
    if settings.num_frames:
        return False
    return int(num_frames / native_fps * settings.fps) > settings.max_frames


def window_frames(native_fps: float, settings) -> int:
    """Longest clip (in file frames) that is still sampled at the full `settings.fps`."""
    return max(2, int(math.floor(settings.max_frames * native_fps / settings.fps + 1e-9)))


def plan_windows(num_frames: int, native_fps: float, settings, overlap: float = DEFAULT_OVERLAP) -> list[Window]:
    """The windows a video is counted in (one window when it fits the budget); module doc."""
    if not 0 < overlap <= 0.5:
        raise ActRepError(f"--overlap must be in (0, 0.5] (a share of the window length), got {overlap}")
    if num_frames < 2:
        raise ActRepError(f"{num_frames} frame(s); a video needs at least 2 frames")
    if not needs_windows(num_frames, native_fps, settings):
        return [Window(0, 0, num_frames - 1, native_fps)]
    return plan_frames(num_frames, window_frames(native_fps, settings), overlap, native_fps)


def plan_frames(num_frames: int, length: int, overlap: float, fps: float) -> list[Window]:
    """Windows of `length` frames covering `num_frames`; consecutive windows overlap by
    round(overlap * (length - 1)) frame intervals (at least 1), i.e. `overlap` of a window's span."""
    if length >= num_frames:
        return [Window(0, 0, num_frames - 1, fps)]
    steps = min(length - 2, max(1, int(round(overlap * (length - 1)))))
    stride = max(1, length - 1 - steps)
    starts = list(range(0, num_frames - length, stride)) + [num_frames - length]
    return [Window(i, s, s + length - 1, fps) for i, s in enumerate(starts)]


def owned_ranges(windows: list[Window]) -> list[tuple[float, float]]:
    """[m_(k-1), m_k) per window on the video clock: overlaps split at their midpoints."""
    cuts = [(windows[k + 1].start + windows[k].end) / 2 for k in range(len(windows) - 1)]
    lows = [-math.inf] + cuts
    highs = cuts + [math.inf]
    return list(zip(lows, highs))


@dataclass
class WindowAnswer:
    """One window's answer: the count and the listed repetitions, on the WINDOW's clock."""

    count: int | None
    reps: list[Rep]

    @property
    def consistent(self) -> bool:
        return self.count is not None and total_reps(self.reps) == self.count


@dataclass
class Stitched:
    count: int | None
    reps: list[Rep]  # video clock, sorted by start
    method: str  # "single", "intervals" or "proportional"
    kept: list[float] = field(default_factory=list)  # per window: repetitions it contributed (fraction if proportional)


def _outside(centre: float, low: float, high: float) -> float | None:
    """None inside [low, high); else how far outside (0.0 exactly on `high`)."""
    if low <= centre < high:
        return None
    return max(low - centre, centre - high)


def overlap_share(a: Rep, b: Rep) -> float:
    """Shared time over the SHORTER repetition's length: 1 when one lies inside the other.

    Not IoU: a window that sees only the end of a repetition reports a short clipped copy, whose IoU
    with the whole repetition is small although it is the same repetition.
    """
    inter = min(a.end, b.end) - max(a.start, b.start)
    shorter = min(a.end - a.start, b.end - b.start)
    if shorter <= 0:  # a zero-length report: the same repetition if it lies inside the other
        return 1.0 if inter >= 0 else 0.0
    return max(0.0, inter) / shorter


def stitch(windows: list[Window], answers: list[WindowAnswer], *, tolerance: float = DEFAULT_TOLERANCE,
           same: float = DEFAULT_SAME) -> Stitched:
    """Combine per-window answers into the video's count and repetitions (module doc)."""
    if len(windows) != len(answers):
        raise ValueError("one answer per window")
    if len(windows) == 1:
        reps = sorted((r.shifted(windows[0].start) for r in answers[0].reps), key=lambda r: (r.start, r.end))
        return Stitched(answers[0].count, reps, "single", [float(answers[0].count or 0)])
    ranges = owned_ranges(windows)
    shortest = min(windows[k].end - windows[k + 1].start for k in range(len(windows) - 1))
    tolerance = min(tolerance, 0.1 * shortest)
    # Candidates: (outside its owned range?, how far, window, item, repetition) on the video clock.
    candidates = []
    for k, (window, answer) in enumerate(zip(windows, answers)):
        low, high = ranges[k]
        for g, item in enumerate(answer.reps):
            for rep in item.shifted(window.start).split():
                away = _outside(rep.centre, low, high)
                if away is None or away <= tolerance:
                    candidates.append((away is not None, away or 0.0, k, g, rep))
    candidates.sort(key=lambda c: (c[0], c[1], c[4].start, c[2]))
    accepted: list[tuple[int, int, Rep]] = []
    cell = max(shortest / 2, 1e-3)  # accepted repetitions by time cell: compare only with those nearby
    grid: dict[int, list[tuple[int, Rep]]] = {}

    def cells(rep: Rep) -> range:
        return range(math.floor(min(rep.start, rep.end) / cell), math.floor(max(rep.start, rep.end) / cell) + 1)

    for _, _, k, g, rep in candidates:
        near = (other for c in cells(rep) for other in grid.get(c, ()))
        if any(other_k != k and overlap_share(rep, other) >= same for other_k, other in near):
            continue  # another window's copy of this repetition is already kept
        accepted.append((k, g, rep))
        for c in cells(rep):
            grid.setdefault(c, []).append((k, rep))
    accepted.sort(key=lambda a: (a[2].start, a[0]))
    # Re-join the kept parts of each listed group (consecutive, same window and item).
    reps: list[Rep] = []
    owners: list[tuple[int, int]] = []
    for k, g, rep in accepted:
        item = answers[k].reps[g]
        if item.n > 1 and owners and owners[-1] == (k, g):
            last = reps[-1]
            reps[-1] = Rep(last.start, rep.end, last.n + 1)
        else:
            reps.append(rep)
            owners.append((k, g))
    per_window = [0.0] * len(windows)
    for k, _, _ in accepted:
        per_window[k] += 1
    if any(a.count is None for a in answers):
        return Stitched(None, reps, "intervals", per_window)
    if all(a.consistent for a in answers):
        return Stitched(total_reps(reps), reps, "intervals", per_window)
    total = 0.0
    for k, (window, answer) in enumerate(zip(windows, answers)):
        if not answer.consistent:
            low, high = ranges[k]
            owned = min(high, window.end) - max(low, window.start)
            per_window[k] = answer.count * owned / max(window.end - window.start, 1e-9)
        total += per_window[k]
    return Stitched(int(math.floor(total + 0.5)), reps, "proportional", per_window)
