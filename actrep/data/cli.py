"""`actrep data validate|stats`: check a dataset and look at its count distribution."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from actrep.config import option, parse_config, run_subcommand
from actrep.errors import ActRepError

USAGE = """usage: actrep data <validate|stats> DATA [options]

  validate  check every row and video; print a table of problems; exit 1 if any error
  stats     count histogram per split and per action
"""


@dataclass
class ValidateArguments:
    data: str = option(None, help="Dataset: a RepCount-A folder, a .csv (RepCount-A or simplified) or a .jsonl.")
    videos: str | None = option(None, help="Folder the video ids are resolved against (default: the dataset's folder).")
    splits: list[str] = option([], help="Only these splits (default: all).")
    quick: bool = option(False, help="Trust the frame count in the video header instead of decoding every frame.")
    workers: int = option(4, help="Videos probed in parallel.")
    write_clean: str | None = option(None, help="Write the rows without errors to OUT.jsonl or to a RepCount-A folder OUT.")
    max_rows: int = option(200, help="Show at most this many problems in the table (all are counted).")


@dataclass
class StatsArguments:
    data: str = option(None, help="Dataset: a RepCount-A folder, a .csv or a .jsonl.")
    videos: str | None = option(None, help="Folder the video ids are resolved against.")
    splits: list[str] = option([], help="Only these splits (default: all).")


def _validate(argv: list[str]) -> int:
    from rich.console import Console
    from rich.table import Table

    from actrep.data.validate import split_summary, validate, write_clean

    (args,) = parse_config([ValidateArguments], argv, prog="actrep data validate", positional=["data"],
                           description="Check every row and video of a dataset.")
    console = Console()
    report = validate(args.data, args.videos, args.splits or None, count_frames=not args.quick, workers=args.workers)
    if report.problems:
        table = Table(title=f"{len(report.problems)} problem(s) in {args.data}", show_lines=False)
        for column in ("severity", "where", "video", "problem"):
            table.add_column(column, overflow="fold")
        for p in report.problems[: args.max_rows]:
            style = "red" if p.severity == "error" else "yellow"
            where = f"{p.source} row {p.row}" if p.row is not None else p.source
            table.add_row(f"[{style}]{p.severity}[/{style}]", where, p.video_id or "", p.message)
        console.print(table)
        if len(report.problems) > args.max_rows:
            console.print(f"... and {len(report.problems) - args.max_rows} more (--max_rows)")
    summary = split_summary(report)
    table = Table(title="rows per split")
    for column in ("split", "rows", "usable", "repetitions", "errors", "warnings"):
        table.add_column(column, justify="right" if column != "split" else "left")
    for split, c in summary.items():
        table.add_row(split, *(str(c.get(k, 0)) for k in ("rows", "usable", "reps", "errors", "warnings")))
    console.print(table)
    if args.write_clean:
        written = write_clean(report, args.write_clean)
        console.print(f"wrote {written} clean row(s) to {args.write_clean}")
    n_errors = len(report.errors)
    if n_errors:
        console.print(f"[red]{n_errors} error(s)[/red]")
        return 1
    console.print("[green]no errors[/green]")
    return 0


def _stats(argv: list[str]) -> int:
    from rich.console import Console
    from rich.table import Table

    from actrep.manifest import load_manifest
    from actrep.metrics import DEFAULT_BINS, bin_label, bin_labels

    (args,) = parse_config([StatsArguments], argv, prog="actrep data stats", positional=["data"],
                           description="Count histogram per split and per action.")
    manifest = load_manifest(args.data, args.videos, args.splits or None)
    if not manifest.samples:
        raise ActRepError(f"{args.data}: no usable rows")
    console = Console()
    labels = bin_labels(DEFAULT_BINS)
    splits = sorted({s.split for s in manifest.samples})
    table = Table(title=f"count histogram of {args.data}")
    table.add_column("split")
    for label in labels:
        table.add_column(label, justify="right")
    table.add_column("videos", justify="right")
    table.add_column("mean", justify="right")
    table.add_column("max", justify="right")
    for split in splits:
        counts = [s.count for s in manifest.samples if s.split == split]
        histogram = Counter(bin_label(c, DEFAULT_BINS) for c in counts)
        table.add_row(split, *(str(histogram.get(label, 0)) for label in labels), str(len(counts)),
                      f"{sum(counts) / len(counts):.1f}", str(max(counts)))
    console.print(table)
    actions = Table(title="videos per action and split")
    actions.add_column("action")
    for split in splits:
        actions.add_column(split, justify="right")
    actions.add_column("mean count", justify="right")
    for action in sorted({s.action for s in manifest.samples}):
        rows = [s for s in manifest.samples if s.action == action]
        actions.add_row(action, *(str(sum(s.split == split for s in rows)) for split in splits),
                        f"{sum(s.count for s in rows) / len(rows):.1f}")
    console.print(actions)
    if manifest.problems:
        console.print(f"[yellow]{len(manifest.problems)} row problem(s); run `actrep data validate {args.data}`[/yellow]")
    return 0


def main(argv: list[str]) -> int:
    return run_subcommand(argv, {"validate": _validate, "stats": _stats}, USAGE, "data")
