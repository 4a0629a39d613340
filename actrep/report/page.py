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

import html
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from actrep.config import option, parse_config
from actrep.errors import ActRepError
from actrep.report.cards import card, card_strip, data_uri, swatch
from actrep.report.plots import plot_by_action, plot_by_bin, plot_scatter
from actrep.report.selection import MODE_BLOCKS, Run, load_runs, select_cards
from actrep.runs import comparison_rows

esc = html.escape
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


def _plots(runs: list[Run], files: Path) -> dict[str, Path]:
    names, colors = [r.name for r in runs], [r.color for r in runs]
    series = [(r.name, r.color, [(p["count"], p.get("pred")) for p in r.predictions]) for r in runs]
    return {
        "scatter": plot_scatter(files / "scatter.png", series),
        "by_bin": plot_by_bin(files / "by_bin.png", names, colors, [r.metrics["strict"].get("by_bin", {}) for r in runs]),
        "by_action": plot_by_action(files / "by_action.png", names, colors, [r.metrics["strict"].get("by_action", {}) for r in runs]),
    }


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
        cells = [f"<td>{swatch(run.color)}{esc(row[0])}</td>"]
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
    head = "<tr><th>setting</th>" + "".join(f"<th>{swatch(r.color)}{esc(r.name)}</th>" for r in runs) + "</tr>"

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


def render_html(runs: list[Run], title: str, plots: dict[str, Path], cards: list[str], selection: str) -> str:
    sources = ", ".join(f"{swatch(r.color)}<b>{esc(r.name)}</b> <span class='sub'>({esc(str(r.path))})</span>" for r in runs)
    images = {name: data_uri(path) for name, path in plots.items()}
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
        strips = list(pool.map(lambda i: card_strip(refs[i], files / "cards" / f"card_{i + 1:02d}.jpg", frames), range(len(keys))))
    cards = [card(runs, key, strip) for key, strip in zip(keys, strips)]
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
