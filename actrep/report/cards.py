"""One card per video of `actrep report`: a frame strip over the clip, then a timeline of the true
and each run's listed repetition intervals on the clip's clock, the counts and the raw outputs."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from actrep.figures import GT_COLOR, frame_strip
from actrep.report.selection import Run

esc = html.escape


def data_uri(path: Path) -> str:
    kind = "jpeg" if path.suffix == ".jpg" else "png"
    return f"data:image/{kind};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def swatch(color: str) -> str:
    return f'<span class="swatch" style="background:{color}"></span>'


def card_strip(record: dict, path: Path, tiles: int) -> tuple[Path | None, float | None, str]:
    """(strip file, clip duration, '') or (None, None, why the video is unavailable)."""
    if not record.get("video"):
        return None, None, "no video path recorded"
    try:
        duration = frame_strip(path, record["video"], record.get("clip_start"), record.get("clip_end"), tiles)
    except Exception as err:  # noqa: BLE001 - any unreadable video (missing, truncated, odd codec) only costs its card the frames
        return None, None, str(err) or type(err).__name__
    return path, duration, ""


def _tick_step(span: float) -> float:
    for step in (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600):
        if span / step <= 12:
            return step
    return span / 12


def _after_end(intervals: list | None, axis: float) -> int:
    """Listed intervals that start after the clip's end (a model inventing time): counted, not drawn."""
    return sum(min(map(float, pair)) >= axis for pair in intervals or [])


def _track(intervals: list | None, axis: float, color: str, numbered: bool, empty: str) -> str:
    if not intervals:
        return f'<div class="lane-body track"><span class="empty">{esc(empty)}</span></div>'
    boxes = []
    for number, pair in enumerate(intervals, 1):
        start, end = sorted(map(float, pair))
        if start >= axis or end <= 0:
            continue
        left, width = 100 * max(start, 0.0) / axis, 100 * (min(end, axis) - max(start, 0.0)) / axis
        boxes.append(f'<span class="rep" style="left:{left:.2f}%;width:{width:.2f}%;background:{color}" '
                     f'title="{number}: {start:.1f}-{end:.1f} s">{number if numbered else ""}</span>')
    after = _after_end(intervals, axis)
    if after:
        return f'<div class="lane-body track spill" title="{after} listed after the clip end">{"".join(boxes)}</div>'
    return f'<div class="lane-body track">{"".join(boxes)}</div>'


def _lane(label: str, body: str, color: str = "") -> str:
    style = f' style="color:{color}"' if color else ""
    return f'<div class="lane"><div class="lane-label"{style} title="{esc(label)}">{esc(label)}</div>{body}</div>'


def _chip(run: Run, record: dict | None, axis: float) -> str:
    colour = swatch(run.color)
    if record is None:
        return f'<span class="chip none">{colour}{esc(run.name)}: not evaluated</span>'
    pred = record.get("pred")
    if pred is None:
        what = "failed" if record.get("error") else "unparseable"
        return f'<span class="chip none">{colour}{esc(run.name)}: {what}</span>'
    diff = pred - record["count"]
    status = "exact" if diff == 0 else "obo" if abs(diff) <= 1 else "miss"
    listed = record.get("listed_count")
    listed_text = f" · listed {listed}" if listed is not None and listed != pred else ""
    after = _after_end(record.get("intervals"), axis)
    listed_text += f" · {after} after the clip end" if after else ""
    return f'<span class="chip {status}">{colour}{esc(run.name)}: {pred} ({diff:+d}){esc(listed_text)}</span>'


def _raw_outputs(runs: list[Run], records: list[dict | None]) -> str:
    parts = []
    for run, record in zip(runs, records):
        if record is None:
            continue
        tokens = record.get("completion_tokens")
        summary = f"raw output · {run.name}{'' if tokens is None else f' · {tokens} tokens'} · {record.get('time_s') or 0:.2f} s"
        body = f'<p class="error">error: {esc(record["error"])}</p>' if record.get("error") else ""
        if record.get("raw") or not body:
            body += f"<pre>{esc(record.get('raw') or '(empty)')}</pre>"
        parts.append(f"<details><summary>{esc(summary)}</summary>{body}</details>")
    return "".join(parts)


def _clip_text(start: float | None, end: float | None) -> str:
    if start is None and end is None:
        return ""
    to = "the end" if end is None else f"{end:.1f} s"
    return f" · clip {start or 0:.1f} s to {to} of the file"


def card(runs: list[Run], key: str, strip: tuple[Path | None, float | None, str]) -> str:
    records = [run.by_key.get(key) for run in runs]
    present = [r for r in records if r is not None]
    ref = present[0]
    # A failed video's record carries no ground-truth intervals; another run's record may.
    gt = next((r["gt_intervals"] for r in present if r.get("gt_intervals")), None)
    strip_path, duration, why = strip
    clip_start, clip_end = ref.get("clip_start"), ref.get("clip_end")
    if duration is None:  # no video: the axis spans the clip bounds, or else the intervals themselves
        span = clip_end - (clip_start or 0.0) if clip_end is not None else 0.0
        ends = [e for r in present for _, e in r.get("intervals") or []] + [e for _, e in gt or []]
        duration = max([span, 1.0, *ends])
    clip = _clip_text(clip_start, clip_end)
    head = (f'<div class="card-head"><h3>{esc(ref["video_id"])}</h3><span class="sub">{esc(ref["action"])} · '
            f'{esc(ref["split"])}{clip} · ground truth <b>{ref["count"]}</b></span></div>')
    chips = f'<div class="chips">{"".join(_chip(run, rec, duration) for run, rec in zip(runs, records))}</div>'
    if strip_path is not None:
        frames = f'<img class="strip" src="{data_uri(strip_path)}" alt="frames of {esc(ref["video_id"])}">'
    else:
        frames = f'<div class="unavailable">video unavailable: {esc(why)}</div>'
    lanes = [_lane("frames", f'<div class="lane-body">{frames}</div>')]
    lanes.append(_lane(f"ground truth ({ref['count']})",
                       _track(gt, duration, GT_COLOR, True, "no ground-truth intervals"), GT_COLOR))
    for run, rec in zip(runs, records):
        if rec is None:
            continue
        intervals = rec.get("intervals") or []
        # Grouped items ("reps 1-10: ...") are one interval for several reps: numbering them would mislead.
        numbered = rec.get("listed_count") == len(intervals)
        lanes.append(_lane(run.name, _track(intervals, duration, run.color, numbered, "no intervals listed"), run.color))
    step = _tick_step(duration)
    ticks = "".join(f'<span class="tick" style="left:{100 * k * step / duration:.2f}%">{k * step:g} s</span>'
                    for k in range(int(duration / step + 1e-9) + 1))
    lanes.append(_lane("", f'<div class="lane-body axis">{ticks}</div>'))
    return f'<div class="card">{head}{chips}{"".join(lanes)}{_raw_outputs(runs, records)}</div>'
