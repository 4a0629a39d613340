"""Evaluation results on disk: one run directory per evaluated model, resumable line by line.

    OUT/<run name>/
      predictions.jsonl   one JSON object per video, appended (and flushed) as each one finishes
      metrics.json        strict + parsed-only metrics, by count bin and action, with the settings
    OUT/comparison.json   every run's headline metrics side by side (when several were evaluated)

Every evaluator (local checkpoints, API models, training-free baselines) writes `Prediction`
records through `PredictionLog`, so an interrupted run resumes where it stopped, never redoes a
video, never loses one, and the report reads all of them the same way.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from actrep.config import save_json
from actrep.errors import ActRepError

PREDICTIONS = "predictions.jsonl"
METRICS = "metrics.json"
HEADLINE = ("n", "parse_rate", "obo", "exact", "mae", "abs_mae", "rmse")


def sample_key(sample) -> str:
    """Identity of one evaluated item: split, video and clip (RCS clips of one video differ)."""
    clip = "" if sample.clip_start is None and sample.clip_end is None else f"@{sample.clip_start}-{sample.clip_end}"
    return f"{sample.split}/{sample.video_id}{clip}"


@dataclass
class Prediction:
    key: str
    video_id: str
    split: str
    action: str
    count: int  # ground truth
    pred: int | None  # parsed answer (None: unparseable, or the video failed)
    raw: str = ""  # the model's full output
    listed_count: int | None = None  # repetitions listed in the reasoning
    intervals: list = field(default_factory=list)  # listed [start, end] seconds (one per listed item)
    gt_intervals: list | None = None  # ground-truth [start, end] seconds on the clip clock, when known
    video: str = ""
    clip_start: float | None = None
    clip_end: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    time_s: float = 0.0
    error: str | None = None  # why the video produced no answer (unreadable file, API failure, ...)
    partial: str | None = None  # --allow_partial: the file ends early and only its readable part was counted
    extra: dict = field(default_factory=dict)  # evaluator-specific (retries, confidence, ...)

    def to_json(self) -> dict:
        return asdict(self)


def prediction_from_parsed(sample, parsed, *, raw: str, time_s: float, fps: float | None = None, **fields) -> Prediction:
    """A record from a sample and `actrep.answer.parse_completion` output."""
    gt = None
    try:
        gt = sample.intervals_seconds(fps)
    except ActRepError:
        pass
    return Prediction(
        key=sample_key(sample), video_id=sample.video_id, split=sample.split, action=sample.action,
        count=sample.count, pred=parsed.count, raw=raw, listed_count=parsed.listed_count,
        intervals=[[round(s, 2), round(e, 2)] for s, e in parsed.intervals],
        gt_intervals=[[round(s, 2), round(e, 2)] for s, e in gt] if gt else None,
        video=str(sample.video_path or ""), clip_start=sample.clip_start, clip_end=sample.clip_end,
        time_s=round(time_s, 4), **fields,
    )


def failed_prediction(sample, error: str, time_s: float = 0.0) -> Prediction:
    """A record for a video that produced no answer: kept (a miss in strict metrics), never dropped."""
    return Prediction(key=sample_key(sample), video_id=sample.video_id, split=sample.split, action=sample.action,
                      count=sample.count, pred=None, video=str(sample.video_path or ""), clip_start=sample.clip_start,
                      clip_end=sample.clip_end, time_s=round(time_s, 4), error=error)


def read_predictions(path: str | Path) -> list[dict]:
    """Records of a predictions file. A torn last line (a run killed mid-write) is ignored."""
    path = Path(path)
    if not path.exists():
        return []
    records = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if number == len(lines):
                break  # torn final write
            raise ActRepError(f"{path} line {number}: not valid JSON (the file was edited or corrupted)") from None
    return records


class PredictionLog:
    """Append-only predictions file with resume: `done` holds the keys already evaluated."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        raw = self.path.read_text(encoding="utf-8") if self.path.exists() else ""
        records = read_predictions(self.path)
        self.records: dict[str, dict] = {}
        for record in records:
            self.records.setdefault(record["key"], record)
        # A torn last line or duplicates (a killed run): rewrite once so every later append is clean.
        lines = sum(1 for line in raw.splitlines() if line.strip())
        if (raw and not raw.endswith("\n")) or len(self.records) != lines:
            self._rewrite()

    @property
    def done(self) -> set[str]:
        return set(self.records)

    def _rewrite(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            for record in self.records.values():
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        tmp.replace(self.path)

    def append(self, prediction: Prediction | dict) -> None:
        record = prediction.to_json() if isinstance(prediction, Prediction) else dict(prediction)
        if record["key"] in self.records:
            return  # never write a video twice
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.records[record["key"]] = record


def finalize_run(run_dir: str | Path, keys_in_order: list[str], info: dict) -> dict:
    """Compute metrics over the run's predictions for `keys_in_order` and write metrics.json.

    Predictions are rewritten in dataset order (merging rank files is done by the caller). A key
    with no prediction is an error: results must never be silently missing.
    """
    from actrep.metrics import compute_metrics

    run_dir = Path(run_dir)
    records = {r["key"]: r for r in read_predictions(run_dir / PREDICTIONS)}
    missing = [k for k in keys_in_order if k not in records]
    if missing:
        raise ActRepError(f"{run_dir / PREDICTIONS}: {len(missing)} video(s) have no prediction (first: {missing[0]}); rerun to resume")
    ordered = [records[k] for k in keys_in_order]
    tmp = run_dir / (PREDICTIONS + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        for record in ordered:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    tmp.replace(run_dir / PREDICTIONS)
    metrics = {
        **info,
        "strict": compute_metrics(ordered, mode="strict"),
        "parsed_only": compute_metrics(ordered, mode="parsed_only"),
        "failed_videos": sum(1 for r in ordered if r.get("error")),
        "failures": [{"key": r["key"], "video": r.get("video", ""), "error": r["error"]} for r in ordered if r.get("error")],
        "partial_videos": [{"key": r["key"], "partial": r["partial"]} for r in ordered if r.get("partial")],
        "mean_time_s": sum(r.get("time_s") or 0 for r in ordered) / max(1, len(ordered)),
    }
    save_json(run_dir / METRICS, metrics)
    return metrics


def load_run(run_dir: str | Path) -> tuple[dict, list[dict]]:
    """(metrics, predictions) of a finished run directory."""
    run_dir = Path(run_dir)
    if not (run_dir / METRICS).exists():
        raise ActRepError(f"{run_dir}: not a finished evaluation run (no {METRICS})")
    return json.loads((run_dir / METRICS).read_text()), read_predictions(run_dir / PREDICTIONS)


PIPELINE_ORDER = ("base", "stage0", "sft", "grpo")


def pipeline_order(name: str) -> tuple:
    """Sort key of a run name: pipeline stages in order (base, stage0, sft, grpo, with any suffix),
    then other runs, then the training-free baselines; alphabetical within each."""
    stage = next((i for i, s in enumerate(PIPELINE_ORDER) if name == s or name.startswith((f"{s}_", f"{s}-"))), None)
    group = 0 if stage is not None else (2 if name.startswith("baseline") else 1)
    return group, stage or 0, name


def find_runs(paths) -> list[Path]:
    """Run directories named directly (in the order given), or found one level below (an `actrep eval
    --output_dir` folder: in pipeline order, `pipeline_order`)."""
    runs = []
    for path in map(Path, paths):
        if (path / METRICS).exists():
            runs.append(path)
            continue
        found = sorted((p.parent for p in path.glob(f"*/{METRICS}")), key=lambda p: pipeline_order(p.name)) if path.is_dir() else []
        if not found:
            raise ActRepError(f"{path}: no evaluation run found (expected {METRICS} in it or in its subfolders)")
        runs += found
    return runs


def comparison_rows(runs: list[tuple[str, dict]], mode: str = "strict") -> tuple[list[str], list[list[str]]]:
    """Header and rows of the headline metrics of several runs."""
    header = ["run"] + list(HEADLINE)
    rows = []
    for name, metrics in runs:
        m = metrics[mode]
        cells = [name]
        for key in HEADLINE:
            value = m.get(key)
            cells.append("-" if value is None else (str(value) if key == "n" else f"{value:.3f}"))
        rows.append(cells)
    return header, rows


def print_comparison(runs: list[tuple[str, dict]], title: str = "evaluation", mode: str = "strict") -> None:
    from rich.console import Console
    from rich.table import Table

    header, rows = comparison_rows(runs, mode)
    label = "strict: unparseable or failed = miss" if mode == "strict" else "parsed-only (reference-compatible)"
    table = Table(title=f"{title} ({label})")
    for column in header + ["failed"]:
        if column == "run":  # names are never cut ("baseline-periodi…")
            table.add_column(column, no_wrap=True, min_width=max([len(row[0]) for row in rows] + [3]))
        else:  # numbers are never cut short either
            table.add_column(column, justify="right", min_width=5)
    for row, (_, metrics) in zip(rows, runs):
        table.add_row(*row, str(metrics.get("failed_videos", "-")))
    console = Console()
    console.print(table)
    for line in problem_lines(runs):
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def problem_lines(runs: list[tuple[str, dict]]) -> list[str]:
    """The videos under the table: those that could not be read (with why) and those counted partially."""
    lines = []
    failed = [(name, f) for name, m in runs for f in m.get("failures", [])]
    if failed:
        lines.append(f"failed videos ({len(failed)}; each counts as a miss in the strict metrics):")
        lines += [f"  {name}: {f['key']}: {f['error'].removeprefix(f.get('video', '') + ': ')}" for name, f in failed]
    partial = [(name, p) for name, m in runs for p in m.get("partial_videos", [])]
    if partial:
        lines.append(f"partial videos ({len(partial)}; counted on their readable part, --allow_partial):")
        lines += [f"  {name}: {p['key']}: {p['partial']}" for name, p in partial]
    return lines


def write_comparison(out_dir: str | Path, runs: list[tuple[str, dict]]) -> None:
    save_json(Path(out_dir) / "comparison.json",
              {name: {mode: {k: m[mode].get(k) for k in HEADLINE} for mode in ("strict", "parsed_only")} for name, m in runs})
