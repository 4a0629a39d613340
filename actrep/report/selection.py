"""The runs a report compares, and which videos get a card.

`load_runs` reads each run's metrics.json and predictions.jsonl (written by `actrep eval`, read through
actrep.runs) and gives each run its colour; `select_cards` picks the videos shown: the largest
strict errors first, then a few of the best-predicted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from actrep.errors import ActRepError
from actrep.figures import run_color
from actrep.runs import METRICS, PREDICTIONS, find_runs, load_run

MODE_BLOCKS = ("strict", "parsed_only")


@dataclass
class Run:
    name: str
    path: Path
    metrics: dict
    predictions: list[dict]
    color: str

    def __post_init__(self):
        self.by_key = {record["key"]: record for record in self.predictions}


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
