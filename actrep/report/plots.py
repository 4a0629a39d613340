"""Plots of `actrep report` (PNG); the per-video frame strips come from actrep.figures.

Plots use matplotlib's object API (`Figure` + Agg canvas, never pyplot), so nothing global is
switched and no display is needed. They show strict metrics (an unparseable answer is a miss), one
colour per run, the same colours as the HTML, so pictures and headline table agree.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from actrep.figures import DPI, GT_COLOR

def _legend_on_top(fig: Figure, ax, columns: int = 4) -> None:
    """The legend above the plot, outside the axes, so it never hides a point or a bar."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(len(labels), columns),
               fontsize=9, frameon=False)


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=DPI, bbox_inches="tight", facecolor="white")
    return path


def _lower_edge(label: str) -> int:
    """Bins are labelled '0', '1-5', '21+' by actrep.metrics: sort them by their first number."""
    match = re.match(r"\d+", label)
    return int(match.group()) if match else 0


def plot_scatter(path: Path, series: list[tuple[str, str, list[tuple[int, int | None]]]]) -> Path:
    """Predicted vs true count, one colour per run, y = x line and the OBO band (|error| <= 1).

    `series` holds (run name, colour, [(ground truth, prediction or None)]). Unparseable answers and
    failed videos sit on their own row ("none") below 0; absurd predictions (beyond twice the largest
    ground truth + 5) are drawn as triangles on the top edge so they do not squash the plot.
    """
    gts = [g for _, _, points in series for g, _ in points]
    preds = [p for _, _, points in series for _, p in points if p is not None]
    top_gt = max(gts, default=1)
    lim = min(max(top_gt, max(preds, default=0)) + 1, 2 * top_gt + 5)
    none_row = -0.07 * lim

    fig = Figure(figsize=(5.6, 5.4))
    ax = fig.add_subplot()
    ax.fill_between([0, lim], [-1, lim - 1], [1, lim + 1], color="#9ca3af", alpha=0.25, lw=0,
                    label="OBO band (|error| ≤ 1)")
    ax.plot([0, lim], [0, lim], color=GT_COLOR, lw=1, ls="--", label="y = x")
    ax.axhline(none_row / 2, color="#d1d5db", lw=0.8)
    # Several runs predict on the same integer grid: a small horizontal offset per run keeps them apart.
    spread = min(0.5, 0.12 * len(series))
    for i, (name, color, points) in enumerate(series):
        dx = 0.0 if len(series) == 1 else spread * (i / (len(series) - 1) - 0.5)
        inside = [(g + dx, p) for g, p in points if p is not None and p <= lim]
        above = [(g + dx, lim) for g, p in points if p is not None and p > lim]
        missing = [(g + dx, none_row) for g, p in points if p is None]
        for xy, marker, label in ((inside, "o", name), (above, "^", None), (missing, "x", None)):
            if xy:
                x, y = zip(*xy)
                ax.scatter(x, y, s=26 if marker == "o" else 40, marker=marker, color=color, alpha=0.8, label=label,
                           edgecolors="white" if marker == "o" else None, linewidths=0.5, clip_on=False)
    ticks = [t for t in MaxNLocator(integer=True).tick_values(0, lim) if 0 <= t <= lim]
    ax.set_yticks(ticks + [none_row], [f"{t:g}" for t in ticks] + ["none"])
    ax.set_xlim(-0.5, lim + 0.5)
    ax.set_ylim(none_row * 1.6, lim + 0.5)
    ax.set_xlabel("true count")
    ax.set_ylabel("predicted count")
    ax.set_title("Predicted vs true count", fontsize=11)
    ax.grid(alpha=0.25)
    fig.tight_layout()
    _legend_on_top(fig, ax, columns=2)
    return _save(fig, path)


def _grouped_bars(ax, categories: list[str], names: list[str], colors: list[str], values: list[list],
                  horizontal: bool = False, fmt: str = "{:.2f}") -> None:
    """One group per category, one bar per run; a missing value (None) leaves a gap."""
    width = 0.8 / max(1, len(names))
    base = np.arange(len(categories))
    label_size = 7 if len(names) * len(categories) <= 30 else 0  # value labels only while they fit
    for i, (name, color, row) in enumerate(zip(names, colors, values)):
        pos = base + (i - (len(names) - 1) / 2) * width
        heights = [np.nan if v is None else v for v in row]
        bars = (ax.barh if horizontal else ax.bar)(pos, heights, width * 0.92, color=color, label=name)
        if label_size:
            ax.bar_label(bars, labels=["" if v is None else fmt.format(v) for v in row], fontsize=label_size, padding=2)
    if horizontal:
        ax.set_yticks(base, categories)
        ax.invert_yaxis()  # first category on top, as in a table
    else:
        ax.set_xticks(base, categories)
    ax.grid(axis="x" if horizontal else "y", alpha=0.25)
    ax.set_axisbelow(True)


def _category_labels(blocks: list[dict], categories: list[str]) -> list[str]:
    """'label\\n(n=K)' when every run has the same number of videos there, else the bare label."""
    labels = []
    for cat in categories:
        ns = {b[cat]["n"] for b in blocks if cat in b}
        labels.append(f"{cat}\n(n={ns.pop()})" if len(ns) == 1 else cat)
    return labels


def plot_by_bin(path: Path, names: list[str], colors: list[str], blocks: list[dict]) -> Path:
    """OBO and MAE per ground-truth count bin; `blocks` are the runs' strict `by_bin` dicts."""
    bins = sorted({label for block in blocks for label in block}, key=_lower_edge)
    fig = Figure(figsize=(10, 3.6))
    axes = fig.subplots(1, 2)
    for ax, key, title in ((axes[0], "obo", "OBO by true count (higher is better)"),
                           (axes[1], "mae", "MAE by true count (lower is better)")):
        values = [[block.get(b, {}).get(key) for b in bins] for block in blocks]
        _grouped_bars(ax, _category_labels(blocks, bins), names, colors, values)
        ax.set_title(title, fontsize=11)
        ax.set_xlabel("true count bin")
        top = max((v for row in values for v in row if v is not None), default=1.0)
        ax.set_ylim(0, 1.12 if key == "obo" else max(top, 0.01) * 1.18)
    fig.tight_layout()
    _legend_on_top(fig, axes[0])
    return _save(fig, path)


def plot_by_action(path: Path, names: list[str], colors: list[str], blocks: list[dict]) -> Path:
    """OBO per action (horizontal bars, so long action names stay readable); `blocks` = strict `by_action`."""
    actions = sorted({a for block in blocks for a in block})
    values = [[block.get(a, {}).get("obo") for a in actions] for block in blocks]
    height = 1.1 + len(actions) * (0.22 * len(names) + 0.18)
    fig = Figure(figsize=(5.6, max(2.6, height)))
    ax = fig.add_subplot()
    _grouped_bars(ax, _category_labels(blocks, actions), names, colors, values, horizontal=True)
    ax.set_xlim(0, 1.15)
    ax.set_xlabel("OBO (share with |error| ≤ 1)")
    ax.set_title("OBO per action", fontsize=11)
    fig.tight_layout()
    _legend_on_top(fig, ax)
    return _save(fig, path)
