"""The mirror test for alternating actions: is the second half of each repetition found the
horizontal mirror image of its first half, or is each repetition the mirror image of the next?

An alternating action (`actrep.descriptions.Description.alternating`: a box carried from one
platform to the other, then back, each carry one repetition) repeats its picture only every two
repetitions, so the counter may find either the one-way moves or the round trips. The test tells
the two apart from the picture; docs/periodicity.md ("Alternating actions") says how it is used.

What is compared is where the picture changes: the absolute frame difference (stabilised frames,
grey and colour), blurred and pooled per cell, in the rows of the action. The static scene drops out
whatever it looks like (it need not be symmetric, and no background has to be estimated), and a
motion seen at the same place going either way looks the same, so the mirror image of "the box
moves near the left platform" is "the box moves near the right platform".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from actrep.periodicity.features import BORDER, CELL, Motion

SLACK = (-1, 0, 1)  # frames of tempo jitter tolerated in the lag


@dataclass
class MirrorVerdict:
    halves: float  # mirrored / unmirrored distance, second half of each repetition vs its first half
    one_way: float  # the same, each repetition vs the next one (inf with a single repetition)
    verdict: str  # "halves": the repetitions found are round trips; "one-way": one move each; "unresolved"
    split: list[bool] = field(default_factory=list)  # with "halves": which repetitions found are two


def _changes(m: Motion, cells: np.ndarray) -> np.ndarray:
    """[T, rows, gw] frame-difference energy per cell in the rows of the action (2 cells of margin)."""
    rows = np.flatnonzero(cells.any(1))
    band = slice(max(0, rows[0] - 2), rows[-1] + 3)
    images = np.concatenate([m.grey[..., None], m.colour], -1)
    diff = np.abs(np.diff(images, axis=0, prepend=images[:1])).sum(-1)
    T, h, w = diff.shape
    gh, gw = h // CELL, w // CELL
    blurred = np.stack([cv2.GaussianBlur(d, (0, 0), 2.0) for d in diff])[:, : gh * CELL, : gw * CELL]
    pooled = blurred.reshape(T, gh, CELL, gw, CELL).mean((2, 4)) * m.seen  # unseen cells: replicated edges
    pooled[:, :, :BORDER] = pooled[:, :, gw - BORDER:] = 0  # flow and warps are unreliable at the edge
    return pooled[:, band]


def _axes(C: np.ndarray) -> np.ndarray:
    """Candidate mirror axes as k = 2 * axis - 1 in cell units (column x mirrors to k - x): every half
    cell between the quartiles of where the changes are. Over whole periods a mirrored motion is
    symmetric about its axis, so the axis is the median of its horizontal spread; the quartiles leave
    room for a distractor on one side."""
    spread = np.cumsum(C.sum((0, 1)))
    lo, hi = np.searchsorted(spread, [0.25 * spread[-1], 0.75 * spread[-1]])
    return np.arange(2 * lo, 2 * hi + 1)


def _pairs(reps: list[tuple[int, int]], T: int):
    """Frame pairs (a, b, group) of the two tests, repetitions [s, e] in analysed frames. Group
    3 i + j: the second half of repetition i against its first half, at slack SLACK[j]; group
    3 (len(reps) + i) + j: repetition i + 1 against repetition i, aligned at their starts."""
    pairs = []  # (a, b, group) arrays
    for i, (s, e) in enumerate(reps):
        h = int(round((e - s) / 2))
        for j, lag in enumerate(h + d for d in SLACK):
            t = np.arange(s, min(e, T - 1) - lag + 1) if lag >= 1 else np.arange(0)  # e: the boundary frame
            pairs.append((t, t + lag, np.full(len(t), 3 * i + j)))
    for i, ((s, e), (s2, e2)) in enumerate(zip(reps[:-1], reps[1:])):
        for j, d in enumerate(SLACK):
            t = np.arange(s, e + 1)
            u = t + (s2 - s) + d
            keep = (u >= s2) & (u <= min(e2, T - 1))
            pairs.append((t[keep], u[keep], np.full(keep.sum(), 3 * (len(reps) + i) + j)))
    return tuple(np.concatenate(column).astype(int) for column in zip(*pairs))


def _pooled(dist: np.ndarray, group: np.ndarray, n_groups: int, weights: np.ndarray) -> np.ndarray:
    """Per test unit (repetition or pair of repetitions): the mean distance at the best lag of the slack."""
    sums = np.bincount(group, dist, minlength=3 * n_groups)
    counts = np.bincount(group, minlength=3 * n_groups)
    means = np.where(counts > 0, sums / np.maximum(counts, 1), np.inf).reshape(n_groups, 3)
    return means.min(1) * weights


def mirror_test(m: Motion, cells: np.ndarray, reps: list[tuple[int, int]], level: float) -> MirrorVerdict:
    """Mirrored against unmirrored distances of the two tests, pooled over the repetitions (weighted by
    length), at the best mirror axis for each test; a test whose ratio is below `level` sees a mirror.

    A ratio near 0 is a mirror image; a motion that is not mirrored gives about 1 or more (a squat's
    way down and way up happen at the same place, so its unmirrored halves are the closer ones; a
    symmetric body, a jumping jack seen from the front, is its own mirror image: about 1).
    Where the round trips win, each repetition is then judged on its own: a segmentation can mix round
    trips with single moves (19 carries found as 8 round trips and 3 carries), and a repetition whose
    halves mirror each other better than it mirrors its neighbours is the round trip.
    """
    C = _changes(m, cells)
    T, gh, gw = C.shape
    A = C.reshape(T, -1)
    padded = np.pad(C, ((0, 0), (0, 0), (gw, gw)))  # columns mirrored out of the frame: no change seen
    a, b, group = _pairs(reps, T)
    n = len(reps)
    units = 2 * n - 1  # repetitions, then neighbouring pairs of repetitions
    weights = np.array([e - s for s, e in reps] + [e - s for s, e in reps[:-1]], float)
    same = _pooled(((A[a] - A[b]) ** 2).sum(1), group, units, weights)
    best = [(np.inf, np.full(n, np.inf)), (np.inf, np.full(n - 1, np.inf))]  # (pooled ratio, per unit) per test
    for k in _axes(C):
        mirrored = padded[:, :, k - np.arange(gw) + gw].reshape(T, -1)
        flip = _pooled(((A[a] - mirrored[b]) ** 2).sum(1), group, units, weights)
        for test, part in enumerate((slice(0, n), slice(n, units))):
            ok = np.isfinite(flip[part]) & np.isfinite(same[part]) & (same[part] > 0)  # nothing changed: no evidence
            ratio = flip[part][ok].sum() / same[part][ok].sum() if ok.any() else np.inf
            if ratio < best[test][0]:
                best[test] = (ratio, np.where(ok, flip[part] / np.where(ok, same[part], 1), np.inf))
    (halves, within), (one_way, between) = best
    if halves < level and halves < one_way:
        neighbours = np.minimum(np.append(between, np.inf), np.insert(between, 0, np.inf))
        return MirrorVerdict(float(halves), float(one_way), "halves", [bool(w < o) for w, o in zip(within, neighbours)])
    return MirrorVerdict(float(halves), float(one_way), "one-way" if one_way < level else "unresolved")
