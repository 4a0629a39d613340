"""Counting metrics: MAE (TransRAC), absolute MAE, RMSE, OBO, exact, parse rate; by count bin and action.

A record is a mapping with ``count`` (ground-truth int >= 0), ``pred`` (parsed int, or None when the
output could not be parsed) and optionally ``action``. Per record, with p the prediction and g the
ground truth:

    mae      mean |p - g| / (g + 0.1)        (TransRAC convention; RepCount papers report this)
    abs_mae  mean |p - g|
    rmse     sqrt(mean (p - g)^2)
    obo      share with |p - g| <= 1
    exact    share with p == g
    parse_rate  n_parsed / n

Modes:
* ``"strict"`` (default): every record counts. An unparseable prediction is a miss: it is never
  OBO or exact (not even when g <= 1), and its error terms use p = 0 (absolute error g).
* ``"parsed_only"``: the reference implementation's convention, reported as
  ``"parsed_only (reference-compatible)"``: unparseable records are dropped from the denominators of
  the error/accuracy metrics (they still count in ``n`` and ``parse_rate``). If nothing parsed, the
  error/accuracy metrics are None.

An empty record list raises ActRepError (there is nothing to report, and a silent all-None result
would be easy to mistake for a run).

Breakdowns ``by_bin`` (ground-truth count bins; bins without records omitted) and ``by_action``
(sorted by action name; records without an action are grouped under ``"(none)"``) carry the same
metric fields.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence

from actrep.errors import ActRepError

# Lower edges of the count bins: 0, 1-5, 6-10, 11-20, 21+ (each bin runs to the next edge - 1).
DEFAULT_BINS: tuple[int, ...] = (0, 1, 6, 11, 21)
MODES: dict[str, str] = {"strict": "strict", "parsed_only": "parsed_only (reference-compatible)"}
NO_ACTION = "(none)"
MAE_EPS = 0.1


def _check_bins(bins: Sequence[int]) -> tuple[int, ...]:
    edges = tuple(bins)
    if not edges:
        raise ActRepError("count bins: need at least one lower edge")
    for e in edges:
        if not isinstance(e, numbers.Integral) or isinstance(e, bool) or e < 0:
            raise ActRepError(f"count bins: edge {e!r} is not a non-negative integer")
    if any(b <= a for a, b in zip(edges, edges[1:])):
        raise ActRepError(f"count bins: edges {list(edges)} must be strictly increasing")
    return edges


def _label(lo: int, hi: int | None) -> str:
    if hi is None:
        return f"{lo}+"
    return f"{lo}" if lo == hi else f"{lo}-{hi}"


def bin_labels(bins: Sequence[int] = DEFAULT_BINS) -> list[str]:
    """Labels of all bins, in order: (0, 1, 6, 11, 21) -> ['0', '1-5', '6-10', '11-20', '21+']."""
    edges = _check_bins(bins)
    return [_label(lo, nxt - 1) for lo, nxt in zip(edges, edges[1:])] + [_label(edges[-1], None)]


def bin_label(count: int, bins: Sequence[int] = DEFAULT_BINS) -> str:
    """Label of the bin holding ``count``: bins are lower edges, e.g. 7 -> '6-10', 30 -> '21+'."""
    edges = _check_bins(bins)
    if count < edges[0]:
        raise ActRepError(f"count {count} is below the first bin edge {edges[0]}")
    labels = bin_labels(edges)
    for i in range(len(edges) - 1, -1, -1):
        if count >= edges[i]:
            return labels[i]
    raise AssertionError("unreachable")


def _record(rec, i: int) -> tuple[int, int | None, str]:
    if not isinstance(rec, Mapping):
        raise ActRepError(f"record {i}: expected a mapping with 'count' and 'pred', got {type(rec).__name__}")
    for key in ("count", "pred"):
        if key not in rec:
            raise ActRepError(f"record {i}: missing {key!r}")
    g, p = rec["count"], rec["pred"]
    if not isinstance(g, numbers.Integral) or isinstance(g, bool) or g < 0:
        raise ActRepError(f"record {i}: ground truth count {g!r} is not a non-negative integer")
    if p is not None and (not isinstance(p, numbers.Integral) or isinstance(p, bool)):
        raise ActRepError(f"record {i}: prediction {p!r} is not an integer or None")
    action = rec.get("action")
    return int(g), (None if p is None else int(p)), (NO_ACTION if action in (None, "") else str(action))


def _summary(rows: list[tuple[int, int | None]], mode: str) -> dict:
    n = len(rows)
    n_parsed = sum(p is not None for _, p in rows)
    scored = rows if mode == "strict" else [(g, p) for g, p in rows if p is not None]
    out: dict = {"n": n, "n_parsed": n_parsed, "parse_rate": n_parsed / n if n else None}
    if not scored:
        out.update(mae=None, abs_mae=None, rmse=None, obo=None, exact=None)
        return out
    m = len(scored)
    errs = [abs((0 if p is None else p) - g) for g, p in scored]  # strict: unparsed scored as p = 0
    out["mae"] = sum(e / (g + MAE_EPS) for e, (g, _) in zip(errs, scored)) / m
    out["abs_mae"] = sum(errs) / m
    out["rmse"] = math.sqrt(sum(e * e for e in errs) / m)
    out["obo"] = sum(p is not None and e <= 1 for e, (_, p) in zip(errs, scored)) / m
    out["exact"] = sum(p is not None and e == 0 for e, (_, p) in zip(errs, scored)) / m
    return out


def compute_metrics(
    records: Iterable[Mapping], mode: str = "strict", bins: Sequence[int] = DEFAULT_BINS
) -> dict:
    """Overall metrics plus ``by_bin`` and ``by_action`` breakdowns; see the module docstring.

    Returns ``{"mode", "n", "n_parsed", "parse_rate", "mae", "abs_mae", "rmse", "obo", "exact",
    "by_bin": {label: {same fields but mode}}, "by_action": {action: {...}}}``.
    """
    if mode not in MODES:
        raise ActRepError(f"unknown metrics mode {mode!r}; choose one of {', '.join(MODES)}")
    edges = _check_bins(bins)
    parsed = [_record(r, i) for i, r in enumerate(records)]
    if not parsed:
        raise ActRepError("no records to compute metrics on")
    rows = [(g, p) for g, p, _ in parsed]

    by_bin: dict[str, list] = {label: [] for label in bin_labels(edges)}
    by_action: dict[str, list] = {}
    for g, p, action in parsed:
        by_bin[bin_label(g, edges)].append((g, p))
        by_action.setdefault(action, []).append((g, p))

    result = {"mode": MODES[mode], **_summary(rows, mode)}
    result["by_bin"] = {label: _summary(r, mode) for label, r in by_bin.items() if r}
    result["by_action"] = {a: _summary(by_action[a], mode) for a in sorted(by_action)}
    return result


def interval_iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else float(a == b)


def mean_interval_iou(pred, true) -> float:
    """Mean IoU of the k-th predicted with the k-th true interval (same count; extra or missing ones score 0)."""
    n = max(len(pred), len(true))
    return sum(interval_iou(p, t) for p, t in zip(pred, true)) / n if n else 1.0


def clip_scores(record: Mapping, mode: str = "strict") -> dict:
    """One record's obo / exact / mae (0 or 1, and its normalised error), by the same rules as the run's.

    Paired comparisons (actrep/evaluate/paired.py) need the per-clip outcomes whose means are the run's metrics.
    """
    g, p, _ = _record(record, 0)
    summary = _summary([(g, p)], mode)
    return {name: summary[name] for name in ("obo", "exact", "mae")}
