"""Pictures of `actrep count`: a timeline PNG per video, and an annotated mp4 copy (`--annotate`).

Timeline PNG: the video as a frame strip (`actrep.figures.frame_strip`: tile i shows the
middle frame of the i-th equal slice, so the strip is itself a time axis), the counted repetitions
as numbered bars on the same axis, and for long videos the windows they were counted in.

Annotated mp4: every frame of the source, in order, at the source's frame rate (same frame count),
with a running counter (repetitions completed so far / total) in the top-left corner and a
timeline bar along the bottom (repetitions, the one in progress highlighted, a playhead). Drawn
with OpenCV, encoded with PyAV (H.264, yuv420p: an odd width or height is padded by one pixel).
The audio track is not copied.
"""

from __future__ import annotations

import math
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np

from actrep.count.windows import Rep
from actrep.errors import ActRepError
from actrep.figures import DPI, GT_COLOR, RUN_COLORS, STRIP_TILE, frame_strip

REP_COLORS = (RUN_COLORS[0], RUN_COLORS[1])  # alternate, so back-to-back repetitions stay apart
UNCERTAIN_COLORS = ("#9ca3af", "#6b7280")  # an uncertain count's repetitions: grey, dotted
STRIP_TILES = 10


def completed_at(reps: list[Rep], t: float) -> int:
    """Repetitions finished by time `t` (a group of n counts n * the share of its span elapsed)."""
    done = 0
    for rep in reps:
        if t >= rep.end:
            done += rep.n
        elif rep.n > 1 and t > rep.start:
            done += int(rep.n * (t - rep.start) / max(rep.end - rep.start, 1e-9))
    return done


def _hex_rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))


# ------------------------------------------------------------------------------------- timeline PNG


def _rep_label(index: int, rep: Rep) -> str:
    return str(index) if rep.n == 1 else f"{index}-{index + rep.n - 1}"


def _lanes(windows: list[tuple[float, float]]) -> list[int]:
    """A lane per window so that overlapping windows never share one (the lowest free lane)."""
    ends: list[float] = []
    lanes = []
    for start, end in windows:
        lane = next((j for j, last in enumerate(ends) if last < start), len(ends))
        ends[lane:lane + 1] = [end]
        lanes.append(lane)
    return lanes


def timeline_png(path: Path, video: str, reps: list[Rep], *, title: str, subtitle: str,
                 windows: list[tuple[float, float]] | None = None, cuts: list[float] | None = None,
                 info=None, uncertain: bool = False) -> Path:
    """Write the timeline PNG of one counted video (frame strip + repetitions [+ windows]).

    `info` (the video's probe result): a partial read's unreadable tail, up to the duration the file
    declares, is drawn as a hatched "not readable" span, so the picture shows what was not counted.
    `uncertain`: the repetitions are drawn grey and dotted, labelled "uncertain count"."""
    from matplotlib.figure import Figure
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        strip_path = Path(tmp) / "strip.jpg"
        duration = frame_strip(strip_path, video, None, None, STRIP_TILES, info=info)
        strip = np.asarray(Image.open(strip_path).convert("RGB"))
    windowed = bool(windows) and len(windows) > 1
    lanes = _lanes(windows) if windowed else []
    n_lanes = max(lanes, default=0) + 1
    width = STRIP_TILES * STRIP_TILE[0] / DPI
    heights = [STRIP_TILE[1] / DPI, 0.65] + ([0.22 * n_lanes + 0.1] if windowed else [])
    fig = Figure(figsize=(width, sum(heights) + 1.05))
    axes = fig.subplots(len(heights), 1, sharex=True, gridspec_kw={"height_ratios": heights, "hspace": 0.08})
    ax_strip, ax_reps = axes[0], axes[1]
    ax_strip.imshow(strip, extent=(0, duration, 0, 1), aspect="auto", interpolation="bilinear")
    ax_strip.set_yticks([])
    ax_strip.set_title(title, fontsize=13, loc="left", fontweight="bold")
    ax_strip.text(1.0, 1.04, subtitle, transform=ax_strip.transAxes, ha="right", va="bottom", fontsize=9, color="#4b5563")
    for spine in ax_strip.spines.values():
        spine.set_visible(False)
    seconds_per_px = duration / (0.85 * width * DPI)  # the axes span ~85% of the figure
    numbers = np.cumsum([0] + [rep.n for rep in reps])[:-1] + 1  # first repetition number of each bar

    def fits(rep: Rep, label: str) -> bool:
        return (rep.end - rep.start) / seconds_per_px > 7 * len(label) + 6

    inside = all(fits(rep, _rep_label(int(k), rep)) for k, rep in zip(numbers, reps))
    step = 1  # crowded: number every step-th repetition above the bars instead (1, 5, 10, ... when step is 5)
    if not inside and reps:
        per_rep = (reps[-1].end - reps[0].start) / max(1, int(numbers[-1]) + reps[-1].n - 1) / seconds_per_px
        width_px = 7 * len(str(int(numbers[-1]) + reps[-1].n - 1)) + 8
        step = next(s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 10**9) if s * per_rep >= width_px)
    colors = UNCERTAIN_COLORS if uncertain else REP_COLORS
    for i, (k, rep) in enumerate(zip(numbers, reps)):
        ax_reps.barh(0.4, rep.end - rep.start, left=rep.start, height=0.6, color=colors[i % 2], alpha=0.9,
                     edgecolor="white", linewidth=1, hatch="//" if rep.n > 1 else ".." if uncertain else None)
        label = _rep_label(int(k), rep)
        if inside:
            ax_reps.text(rep.centre, 0.4, label, ha="center", va="center", fontsize=7, color="white", fontweight="bold")
        else:
            shown = [j for j in range(int(k), int(k) + rep.n) if j == 1 or j % step == 0]
            for j in shown[:1] if rep.n > 1 else shown:
                ax_reps.text(rep.centre, 0.78, str(j), ha="center", va="bottom", fontsize=7, color=GT_COLOR)
    if not reps:
        ax_reps.text(duration / 2, 0.4, "no repetition intervals listed", ha="center", va="center", fontsize=9, color="#6b7280")
    if uncertain and reps:
        ax_reps.text(1.0, 1.02, "uncertain count", transform=ax_reps.transAxes, ha="right", va="bottom", fontsize=9,
                     color="#b45309", fontweight="bold")
    ax_reps.set_ylim(0, 1.15)
    ax_reps.set_yticks([0.4], ["repetitions"])
    ax_reps.tick_params(axis="y", length=0)
    for cut in cuts or []:
        ax_reps.axvline(cut, color=GT_COLOR, lw=0.8, ls=":")
    if windowed:
        ax_win = axes[2]
        for i, ((start, end), lane) in enumerate(zip(windows, lanes)):
            y = 1 - (lane + 0.5) / n_lanes
            ax_win.plot([start, end], [y, y], color=GT_COLOR, lw=3, solid_capstyle="butt")
            ax_win.text(start + 0.01 * duration, y + 0.12 / n_lanes, f"window {i + 1}",
                        ha="left", va="bottom", fontsize=7, color=GT_COLOR)
        for cut in cuts or []:
            ax_win.axvline(cut, color=GT_COLOR, lw=0.8, ls=":")
        ax_win.set_ylim(0, 1.05)
        ax_win.set_yticks([0.5], ["windows"])
        ax_win.tick_params(axis="y", length=0)
    for ax in axes[1:]:
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        ax.grid(axis="x", alpha=0.25)
        ax.set_axisbelow(True)
    if info is not None and info.partial:
        for ax in axes:
            ax.axvspan(duration, info.declared_s, color="#9ca3af", alpha=0.35, hatch="xx", lw=0)
        ax_reps.text((duration + info.declared_s) / 2, 0.4, f"not readable\n(file ends at {duration:.1f} s)",
                     ha="center", va="center", fontsize=8, color="#374151")
        duration = info.declared_s
    axes[-1].set_xlim(0, duration)
    axes[-1].set_xlabel("seconds")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight", facecolor="white")
    return path


# ------------------------------------------------------------------------------------- annotated mp4


class _Overlay:
    """Draws the counter and the timeline bar on frames of one size."""

    def __init__(self, width: int, height: int, duration: float, reps: list[Rep], total: int | str | None, action: str):
        self.width, self.height, self.duration, self.reps = width, height, max(duration, 1e-9), reps
        self.total, self.action = total, action
        self.scale = max(0.35, min(width, height) / 480)
        self.bar_h = max(6, int(round(height * 0.05)))
        self.colors = [_hex_rgb(c) for c in REP_COLORS]

    def x(self, t: float) -> int:
        return int(round(min(max(t / self.duration, 0.0), 1.0) * (self.width - 1)))

    def draw(self, frame: np.ndarray, t: float) -> np.ndarray:
        import cv2

        out = frame.copy()
        done = completed_at(self.reps, t)
        total = "?" if self.total is None else str(self.total)
        big, small = f"{done}", f"/ {total}  {self.action}".rstrip()
        font, thick = cv2.FONT_HERSHEY_SIMPLEX, max(1, int(round(2 * self.scale)))
        (bw, bh), _ = cv2.getTextSize(big, font, 1.4 * self.scale, thick + 1)
        (sw, sh), _ = cv2.getTextSize(small, font, 0.6 * self.scale, thick)
        pad = int(round(8 * self.scale))
        box = (0, 0, min(self.width, bw + sw + 3 * pad), bh + 2 * pad)
        shade = out[box[1] : box[3], box[0] : box[2]]
        shade[:] = (shade * 0.35).astype(np.uint8)
        cv2.putText(out, big, (pad, pad + bh), font, 1.4 * self.scale, (255, 255, 255), thick + 1, cv2.LINE_AA)
        cv2.putText(out, small, (2 * pad + bw, pad + bh), font, 0.6 * self.scale, (230, 230, 230), thick, cv2.LINE_AA)
        # Timeline bar: repetitions (in progress: bright), playhead.
        top = self.height - self.bar_h
        band = out[top:, :]
        band[:] = (band * 0.3).astype(np.uint8)
        for i, rep in enumerate(self.reps):
            x0, x1 = self.x(rep.start), max(self.x(rep.start) + 1, self.x(rep.end))
            active = rep.start <= t < rep.end
            color = (255, 255, 255) if active else self.colors[i % 2]
            cv2.rectangle(out, (x0, top + 1), (x1 - 1, self.height - 2), color, -1)
        head = self.x(t)
        cv2.line(out, (head, top - max(2, self.bar_h // 3)), (head, self.height - 1), (255, 64, 64), max(1, thick))
        return out


def annotate_video(source: str | Path, target: str | Path, reps: list[Rep], total: int | str | None, action: str,
                   info=None) -> int:
    """Write `target`: every frame of `source` (a partial read: every readable frame) with the running
    counter; returns the frames written."""
    import av

    from actrep.video import iter_frames, probe

    info = info or probe(source)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.stem + ".part.mp4")
    written = 0
    try:
        rate = Fraction(info.fps).limit_denominator(1001)
        width, height = info.width + info.width % 2, info.height + info.height % 2
        overlay = _Overlay(width, height, info.num_frames / info.fps, reps, total, action)
        with av.open(str(tmp), "w", format="mp4") as output:
            out_stream = output.add_stream("libx264", rate=rate)
            out_stream.width, out_stream.height, out_stream.pix_fmt = width, height, "yuv420p"
            out_stream.options = {"crf": "20", "preset": "veryfast"}
            for _, frame in iter_frames(source, info.num_frames - 1, info):
                image = frame.to_ndarray(format="rgb24")
                if image.shape[:2] != (height, width):
                    image = np.pad(image, ((0, height - image.shape[0]), (0, width - image.shape[1]), (0, 0)), mode="edge")
                out_frame = av.VideoFrame.from_ndarray(overlay.draw(image, written / info.fps), format="rgb24")
                out_frame.pts = written
                output.mux(out_stream.encode(out_frame))
                written += 1
            output.mux(out_stream.encode())
    except av.error.FFmpegError as err:
        tmp.unlink(missing_ok=True)
        raise ActRepError(f"{source}: could not write the annotated copy after {written} frames ({err})") from None
    except ActRepError:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(target)
    return written


def nice_duration(seconds: float) -> str:
    """'42.0 s', '3 min 05 s', '1 h 02 min'."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes = math.floor(seconds / 60)
    if minutes < 60:
        return f"{minutes} min {seconds - 60 * minutes:04.1f} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"
