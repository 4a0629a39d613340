"""`actrep report RUN [RUN...] [--output_file report.html]`: one self-contained HTML page from evaluation runs.

The page loads nothing from anywhere: CSS is inline, there is no script, and every picture is
embedded as a base64 data URI, so it can be mailed, archived or opened offline as one file. The same
pictures are also written beside it, to `<out stem>_files/`, for slides and READMEs.

What it shows (several runs = a comparison, one colour per run throughout):
- the headline metrics, strict (the default: an unparseable answer or failed video is a miss) and,
  clearly labelled below, parsed-only (reference-compatible), with the parse rate in both; the
  settings each run recorded in its metrics.json, rows that differ between runs highlighted;
- predicted vs true count, OBO and MAE per count bin, OBO per action (strict);
- per-video cards: a frame strip over the clip, a timeline of ground-truth vs listed repetition
  intervals per run, the counts, and each run's raw output (collapsed). Which videos get a card is
  stated on the page: the largest errors first, then a few of the best-predicted.
"""

from __future__ import annotations

import base64
import html
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from actrep.config import option, parse_config
from actrep.errors import ActRepError
from actrep.evaluate.results import METRICS, PREDICTIONS, comparison_rows, find_runs, load_run
from actrep.report_plots import GT_COLOR, frame_strip, plot_by_action, plot_by_bin, plot_scatter, run_color

esc = html.escape
MODE_BLOCKS = ("strict", "parsed_only")
# metrics.json keys shown in the metrics table rather than among the settings.
TABLE_KEYS = (*MODE_BLOCKS, "failed_videos", "mean_time_s")
HIGHER_IS_BETTER = {"parse_rate": True, "obo": True, "exact": True, "mae": False, "abs_mae": False, "rmse": False}
COLUMN_TITLES = {"n": "n", "parse_rate": "parse rate", "obo": "OBO ↑", "exact": "exact ↑", "mae": "MAE ↓",
                 "abs_mae": "abs MAE ↓", "rmse": "RMSE ↓"}


@dataclass
class ReportArguments:
    runs: list[str] = option([], help="Run directories (each with metrics.json), or folders whose subfolders are runs. Several runs are compared.")
    output_file: str = option("", help="HTML file to write (default: report.html inside the first RUNS folder); its pictures also go to <stem>_files/ beside it.")
    max_videos: int = option(24, help="Videos that get a card: the largest errors first, then a few of the best-predicted (0: no cards).")
    title: str = option("ActRep evaluation report", help="Page title.")
    frames: int = option(8, help="Frames in each card's strip (spread evenly over the clip).")


@dataclass
class Run:
    name: str
    path: Path
    metrics: dict
    predictions: list[dict]
    color: str

    def __post_init__(self):
        self.by_key = {record["key"]: record for record in self.predictions}


# ------------------------------------------------------------------------------------------ loading


def load_runs(paths) -> list[Run]:
    """The runs named or found under `paths`, in order; a bad metrics.json is a one-line ActRepError."""
    if not paths:
        raise ActRepError("actrep report: name at least one run directory (or a folder of runs)")
    dirs = list(dict.fromkeys(p.resolve() for p in find_runs(paths)))
    names = [d.name for d in dirs]
    # Two runs called the same (e.g. out_a/qwen and out_b/qwen) are told apart by their parent folder.
    names = [f"{d.parent.name}/{d.name}" if names.count(d.name) > 1 else d.name for d in dirs]
    runs = []
    for index, (name, run_dir) in enumerate(zip(names, dirs)):
        try:
            metrics, predictions = load_run(run_dir)
        except ValueError as err:  # JSONDecodeError, UnicodeDecodeError
            raise ActRepError(f"{run_dir / METRICS}: not valid JSON ({err})") from None
        if not isinstance(metrics, dict) or not all(isinstance(metrics.get(mode), dict) for mode in MODE_BLOCKS):
            raise ActRepError(f"{run_dir / METRICS}: no 'strict' and 'parsed_only' metrics blocks (not written by actrep eval?)")
        for line, record in enumerate(predictions, 1):
            if not isinstance(record, dict) or not isinstance(record.get("key"), str) or not isinstance(record.get("count"), int):
                raise ActRepError(f"{run_dir / PREDICTIONS} line {line}: not a prediction record (needs 'key' and an integer 'count')")
        runs.append(Run(name, run_dir, metrics, predictions, run_color(index)))
    return runs


# ------------------------------------------------------------------------------------ card selection


def count_error(record: dict) -> int:
    """Strict absolute error: an unparseable answer or a failed video scores as a prediction of 0 (metrics.py)."""
    return abs((record.get("pred") or 0) - record["count"])


def select_cards(runs: list[Run], max_videos: int) -> tuple[list[str], list[str], str]:
    """Keys of the videos that get a card (largest errors, best-predicted) and the sentence telling how.

    Ranked by the largest strict count error over the runs (ties: more runs unparsed first, then
    dataset order). Beyond `max_videos`, a sixth of the cards go to the best-predicted videos, so
    the page also shows what success looks like.
    """
    keys = list(dict.fromkeys(r["key"] for run in runs for r in run.predictions))
    if not keys or max_videos <= 0:
        return [], [], "No video cards (--max_videos 0)." if keys else "No predictions to show."

    def badness(key):
        records = [run.by_key[key] for run in runs if key in run.by_key]
        return max(map(count_error, records)), sum(r.get("pred") is None for r in records)

    ranked = sorted(keys, key=badness, reverse=True)
    rule = "largest count error over the runs (strict: an unparseable answer or failed video counts as a prediction of 0)"
    if len(ranked) <= max_videos:
        return ranked, [], f"All {len(ranked)} videos, by {rule}."
    n_best = max_videos // 6
    worst, best = ranked[: max_videos - n_best], ranked[len(ranked) - n_best:]
    then = f", then the {n_best} best-predicted" if n_best else ""
    return worst, best, f"{max_videos} of {len(ranked)} videos: the {len(worst)} with the {rule}{then}."


# ------------------------------------------------------------------------------------------ pictures


def _data_uri(path: Path) -> str:
    kind = "jpeg" if path.suffix == ".jpg" else "png"
    return f"data:image/{kind};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _plots(runs: list[Run], files: Path) -> dict[str, Path]:
    names, colors = [r.name for r in runs], [r.color for r in runs]
    series = [(r.name, r.color, [(p["count"], p.get("pred")) for p in r.predictions]) for r in runs]
    return {
        "scatter": plot_scatter(files / "scatter.png", series),
        "by_bin": plot_by_bin(files / "by_bin.png", names, colors, [r.metrics["strict"].get("by_bin", {}) for r in runs]),
        "by_action": plot_by_action(files / "by_action.png", names, colors, [r.metrics["strict"].get("by_action", {}) for r in runs]),
    }


def _strip(record: dict, path: Path, tiles: int) -> tuple[Path | None, float | None, str]:
    """(strip file, clip duration, '') or (None, None, why the video is unavailable)."""
    if not record.get("video"):
        return None, None, "no video path recorded"
    try:
        duration = frame_strip(path, record["video"], record.get("clip_start"), record.get("clip_end"), tiles)
    except Exception as err:  # noqa: BLE001 - any unreadable video (missing, truncated, odd codec) only costs its card the frames
        return None, None, str(err) or type(err).__name__
    return path, duration, ""


# -------------------------------------------------------------------------------------------- HTML

CSS = """
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #111827;
       background: #f3f4f6; margin: 0; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 32px 0 10px; }
h3 { font-size: 15px; margin: 0; }
.sub, .note { color: #4b5563; } .note { font-size: 13px; margin: 6px 0 10px; }
.panel { background: white; border-radius: 10px; padding: 16px 18px; box-shadow: 0 1px 3px rgb(0 0 0 / 8%); }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 5px 10px; border-bottom: 1px solid #e5e7eb; text-align: right; vertical-align: top; }
th { font-weight: 600; color: #374151; background: #f9fafb; }
th:first-child, td:first-child { text-align: left; }
td.best { font-weight: 700; }
table.settings td, table.settings th { text-align: left; font-family: ui-monospace, "DejaVu Sans Mono", monospace;
       font-size: 12px; word-break: break-all; }
table.settings tr.differs td { background: #fef9c3; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 3px; margin-right: 6px; vertical-align: -1px; }
.mode { font-weight: 600; margin: 16px 0 4px; } .mode:first-child { margin-top: 0; }
.plots { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; align-items: start; }
.plots img { width: 100%; display: block; } .plots .wide { grid-column: 1 / -1; }
.card { background: white; border-radius: 10px; padding: 14px 18px; margin: 14px 0;
        box-shadow: 0 1px 3px rgb(0 0 0 / 8%); }
.card-head { display: flex; flex-wrap: wrap; gap: 6px 14px; align-items: baseline; margin-bottom: 10px; }
.chips { display: flex; flex-wrap: wrap; gap: 6px; margin-bottom: 10px; }
.chip { border-radius: 999px; padding: 2px 10px; font-size: 13px; border: 1px solid #e5e7eb; background: #f9fafb; }
.chip.exact { background: #dcfce7; border-color: #86efac; } .chip.obo { background: #fef9c3; border-color: #fde047; }
.chip.miss { background: #fee2e2; border-color: #fca5a5; } .chip.none { background: #e5e7eb; border-color: #9ca3af; }
.lane { display: grid; grid-template-columns: 150px 1fr; align-items: center; column-gap: 10px; }
.lane-label { font-size: 12px; text-align: right; color: #374151; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.lane-body { position: relative; }
.strip { width: 100%; display: block; border-radius: 4px; }
.unavailable { height: 72px; display: flex; align-items: center; justify-content: center; background: #f3f4f6;
               color: #6b7280; border: 1px dashed #d1d5db; border-radius: 4px; font-size: 13px; padding: 0 12px; }
.track { height: 20px; margin-top: 4px; background: #f3f4f6; border-radius: 3px; }
.rep { position: absolute; top: 0; height: 100%; min-width: 2px; border-left: 1px solid white; border-right: 1px solid white;
       color: white; font-size: 10px; line-height: 20px; text-align: center; overflow: hidden; opacity: .9; }
.track .empty { position: absolute; left: 8px; line-height: 20px; font-size: 11px; color: #9ca3af; }
.track.spill { box-shadow: inset -4px 0 0 #b91c1c; }  /* intervals listed after the clip end */
h3.group { font-size: 14px; color: #4b5563; margin: 22px 0 0; font-weight: 600; }
.axis { height: 18px; margin-top: 2px; border-top: 1px solid #9ca3af; }
.tick { position: absolute; top: 0; font-size: 10px; color: #6b7280; transform: translateX(-50%); padding-top: 2px;
        white-space: nowrap; }
.tick::before { content: ""; position: absolute; left: 50%; top: -1px; height: 4px; border-left: 1px solid #9ca3af; }
details { margin-top: 6px; } summary { cursor: pointer; font-size: 13px; color: #374151; }
pre { white-space: pre-wrap; word-break: break-word; background: #f9fafb; border: 1px solid #e5e7eb; border-radius: 6px;
      padding: 8px 10px; font-size: 12px; max-height: 22em; overflow: auto; margin: 6px 0 0; }
.error { color: #b91c1c; }
"""


def _fmt(value, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _swatch(color: str) -> str:
    return f'<span class="swatch" style="background:{color}"></span>'


def _metrics_table(runs: list[Run], mode: str) -> str:
    header, rows = comparison_rows([(r.name, r.metrics) for r in runs], mode)
    keys = header[1:]
    best = {}
    if len(runs) > 1:  # bold the best value of each column when comparing
        for key, higher in HIGHER_IS_BETTER.items():
            values = [r.metrics[mode].get(key) for r in runs]
            known = [v for v in values if v is not None]
            if known:
                best[key] = max(known) if higher else min(known)
    extra = mode == "strict"  # failures and speed belong to the run, shown once
    head = "".join(f"<th>{esc(COLUMN_TITLES.get(k, k))}</th>" for k in keys)
    head = f"<tr><th>run</th>{head}{'<th>failed videos</th><th>s / video</th>' if extra else ''}</tr>"
    body = []
    for run, row in zip(runs, rows):
        cells = [f"<td>{_swatch(run.color)}{esc(row[0])}</td>"]
        for key, text in zip(keys, row[1:]):
            is_best = key in best and run.metrics[mode].get(key) == best[key]
            cells.append(f'<td{" class=best" if is_best else ""}>{esc(text)}</td>')
        if extra:
            cells.append(f"<td>{esc(str(run.metrics.get('failed_videos', '-')))}</td>")
            cells.append(f"<td>{_fmt(run.metrics.get('mean_time_s'), 2)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table>{head}{''.join(body)}</table>"


def _flatten(data: dict, prefix: str = "") -> dict[str, str]:
    out = {}
    for key, value in data.items():
        if not prefix and key in TABLE_KEYS:
            continue
        if isinstance(value, dict) and value:
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return out


def _settings_table(runs: list[Run]) -> str:
    """Settings several runs recorded (highlighted where they differ), then, folded away, the settings
    only one run has (a baseline counter's own parameters would otherwise bury the ones that matter)."""
    flat = [_flatten(r.metrics) for r in runs]
    keys = list(dict.fromkeys(k for f in flat for k in f))
    if not keys:
        return '<p class="note">The runs recorded no settings.</p>'
    head = "<tr><th>setting</th>" + "".join(f"<th>{_swatch(r.color)}{esc(r.name)}</th>" for r in runs) + "</tr>"

    def rows(selected: list[str], highlight: bool) -> str:
        out = []
        for key in selected:
            values = [f.get(key, "") for f in flat]
            differs = highlight and len(set(values)) > 1
            cells = "".join(f"<td>{esc(v)}</td>" for v in values)
            out.append(f'<tr{" class=differs" if differs else ""}><td>{esc(key)}</td>{cells}</tr>')
        return "".join(out)

    shared = [k for k in keys if len(runs) == 1 or sum(k in f for f in flat) > 1]
    own = [k for k in keys if k not in shared]
    note = ' <span class="note">(highlighted: differs between runs)</span>' if len(runs) > 1 else ""
    page = f'<p class="mode">Settings recorded by each run{note}</p><table class="settings">{head}{rows(shared, len(runs) > 1)}</table>'
    if own:
        page += (f'<details><summary>{len(own)} setting(s) recorded by one run only</summary>'
                 f'<table class="settings">{head}{rows(own, False)}</table></details>')
    return page


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
    swatch = _swatch(run.color)
    if record is None:
        return f'<span class="chip none">{swatch}{esc(run.name)}: not evaluated</span>'
    pred = record.get("pred")
    if pred is None:
        what = "failed" if record.get("error") else "unparseable"
        return f'<span class="chip none">{swatch}{esc(run.name)}: {what}</span>'
    diff = pred - record["count"]
    status = "exact" if diff == 0 else "obo" if abs(diff) <= 1 else "miss"
    listed = record.get("listed_count")
    listed_text = f" · listed {listed}" if listed is not None and listed != pred else ""
    after = _after_end(record.get("intervals"), axis)
    listed_text += f" · {after} after the clip end" if after else ""
    return f'<span class="chip {status}">{swatch}{esc(run.name)}: {pred} ({diff:+d}){esc(listed_text)}</span>'


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


def _card(runs: list[Run], key: str, strip: tuple[Path | None, float | None, str]) -> str:
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
        frames = f'<img class="strip" src="{_data_uri(strip_path)}" alt="frames of {esc(ref["video_id"])}">'
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


def render_html(runs: list[Run], title: str, plots: dict[str, Path], cards: list[str], selection: str) -> str:
    sources = ", ".join(f"{_swatch(r.color)}<b>{esc(r.name)}</b> <span class='sub'>({esc(str(r.path))})</span>" for r in runs)
    images = {name: _data_uri(path) for name, path in plots.items()}
    metrics = f"""
<div class="panel">
  <p class="mode">Strict (default): every video counts; an unparseable answer or a failed video is a miss.</p>
  {_metrics_table(runs, "strict")}
  <p class="mode">Parsed-only (reference-compatible): unparseable answers dropped from the denominators.</p>
  <p class="note">The reference implementation's convention. It reads higher than strict whenever the parse rate is
  below 1; quote it only together with the parse rate, never in place of the strict numbers.</p>
  {_metrics_table(runs, "parsed_only")}
  <p class="note">MAE = mean |pred − true| / (true + 0.1); OBO = share with |pred − true| ≤ 1; RMSE on raw counts.
  {"Bold: best value of the column." if len(runs) > 1 else ""}</p>
  {_settings_table(runs)}
</div>"""
    plots_html = f"""
<div class="panel plots">
  <img src="{images['scatter']}" alt="predicted vs true count">
  <img src="{images['by_action']}" alt="OBO per action">
  <img class="wide" src="{images['by_bin']}" alt="OBO and MAE per count bin">
</div>"""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title><style>{CSS}</style></head>
<body><main>
<h1>{esc(title)}</h1>
<p class="sub">{len(runs)} run{"s" if len(runs) > 1 else ""}: {sources} · generated {datetime.now():%Y-%m-%d %H:%M}</p>
<h2>Metrics</h2>{metrics}
<h2>Plots <span class="sub" style="font-size:13px;font-weight:400">(strict)</span></h2>{plots_html}
<h2>Videos</h2>
<p class="note">{esc(selection)} Each strip shows frames spread evenly over the clip; below it, repetition intervals
on the clip's clock: ground truth, then the intervals each run listed in its reasoning.</p>
{"".join(cards)}
</main></body></html>
"""


def build_report(paths, out: str | Path, *, max_videos: int = 24, title: str = "ActRep evaluation report",
                 frames: int = 8) -> Path:
    """Write the HTML report of the runs at `paths` to `out` (pictures also to `<stem>_files/`); return its path."""
    if max_videos < 0:
        raise ActRepError(f"--max_videos must be >= 0 (got {max_videos})")
    if not 1 <= frames <= 32:
        raise ActRepError(f"--frames must be between 1 and 32 (got {frames})")
    runs = load_runs(paths)
    out = Path(out)
    files = out.with_name(f"{out.stem}_files")
    (files / "cards").mkdir(parents=True, exist_ok=True)
    for stale in (files / "cards").glob("card_*.jpg"):  # strips of an earlier, longer report
        stale.unlink()
    plots = _plots(runs, files)
    worst, best, selection = select_cards(runs, max_videos)
    keys = worst + best
    # The record whose video path the strip is decoded from: any run's, preferably one that has a path.
    refs = [max((run.by_key[k] for run in runs if k in run.by_key), key=lambda r: bool(r.get("video"))) for k in keys]
    # Decoding dominates the run time and PyAV releases the GIL while it decodes.
    with ThreadPoolExecutor(max_workers=4) as pool:
        strips = list(pool.map(lambda i: _strip(refs[i], files / "cards" / f"card_{i + 1:02d}.jpg", frames), range(len(keys))))
    cards = [_card(runs, key, strip) for key, strip in zip(keys, strips)]
    if best:  # say where the largest errors end and the best-predicted begin
        cards.insert(0, '<h3 class="group">Largest errors</h3>')
        cards.insert(len(worst) + 1, '<h3 class="group">Best-predicted</h3>')
    out.write_text(render_html(runs, title, plots, cards, selection), encoding="utf-8")
    return out


def main(argv: list[str]) -> int:
    (args,) = parse_config([ReportArguments], argv, prog="actrep report", positional=["runs"],
                           description="Self-contained HTML report (metrics, plots, per-video timelines) of evaluation runs.")
    out = build_report(args.runs, args.output_file or Path(args.runs[0]) / "report.html", max_videos=args.max_videos, title=args.title, frames=args.frames)
    print(f"wrote {out} (pictures in {out.with_name(out.stem + '_files')})")
    return 0
