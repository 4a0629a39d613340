"""Segmentation into repetitions: a semi-Markov dynamic programme, free or with an exact count.

A segmentation covers the analysed frames with repetitions [i, j) (boundary frames i and j;
back-to-back repetitions share boundary j) and idle frames between them. Its score adds up
log-likelihood-ratio-like evidence:

- boundary[t], once per boundary frame: the frame looks like a rest pose,
- rep[i, k], once per repetition from i to i + lengths[k]: the span repeats its neighbour, its
  frames move, its length fits the period (all precomputed by the caller; -inf = not allowed).

Idle frames score 0. States: E[j] (a repetition ended at boundary j; its end boundary is counted
by whatever follows) and I[j] (frame j - 1 was idle, or j = 0).
"""

from __future__ import annotations

import numpy as np


def free(rep: np.ndarray, boundary: np.ndarray, lengths: np.ndarray) -> tuple[float, list[tuple[int, int]]]:
    """The best segmentation with any number of repetitions: (score, [(start, end) frames])."""
    T = rep.shape[0]
    E = np.full(T + 1, -np.inf)
    I = np.full(T + 1, -np.inf)
    I[0] = 0.0
    came = np.full(T + 1, -1)  # E[j]: index into lengths of the repetition ending at j
    from_rep = np.zeros(T + 1, bool)  # that repetition followed another (back to back)
    idle_after_rep = np.zeros(T + 1, bool)  # I[j]: frame j - 1 closed a repetition ending at j - 1
    for j in range(1, T + 1):
        starts = j - lengths
        ok = np.flatnonzero(starts >= 0)
        if len(ok):
            s = starts[ok]
            prev_e, prev_i = E[s] + boundary[s], I[s] + boundary[s]
            cand = np.maximum(prev_e, prev_i) + rep[s, ok]
            k = int(np.argmax(cand))
            E[j], came[j], from_rep[j] = cand[k], ok[k], prev_e[k] > prev_i[k]
        closing = E[j - 1] + boundary[j - 1]
        idle_after_rep[j] = closing > I[j - 1]
        I[j] = max(I[j - 1], closing)
    reps, j, in_rep = [], T, False
    while j > 0:
        if in_rep:
            L = int(lengths[came[j]])
            reps.append((j - L, j))
            in_rep = bool(from_rep[j])
            j -= L
        else:
            in_rep = bool(idle_after_rep[j])
            j -= 1
    return float(I[T]), reps[::-1]


def exact(rep: np.ndarray, boundary: np.ndarray, lengths: np.ndarray, count: int) -> tuple[float, list[tuple[int, int]]]:
    """The best segmentation with exactly `count` repetitions (score -inf and [] if none fits).

    Per repetition k: E_k[j] = max_L max(E_{k-1}, I_{k-1})[j - L] + boundary + rep, and
    I_k[j] = max(I_k[j-1], E_k[j-1] + boundary[j-1]): a running maximum, so each k is a handful of
    vector operations.
    """
    T = rep.shape[0]
    I = np.zeros(T + 1)  # no repetition yet: everything idle
    E = np.full(T + 1, -np.inf)
    back = []
    for _ in range(count):
        S = np.maximum(E, I)[:T] + boundary[:T]
        newE = np.full(T + 1, -np.inf)
        arg = np.full(T + 1, -1)
        for k, L in enumerate(lengths):
            if L > T:
                break
            cand = S[: T + 1 - L] + rep[: T + 1 - L, k]
            better = cand > newE[L:]
            newE[L:][better] = cand[better]
            arg[L:][better] = k
        closing = np.concatenate([[-np.inf], newE[:T] + boundary[:T]])
        back.append((newE, arg, E.copy(), I.copy()))
        E, I = newE, np.maximum.accumulate(closing)
    if not np.isfinite(I[T]):
        return -np.inf, []
    reps = []
    j = int(np.argmax(np.concatenate([[-np.inf], E[:T] + boundary[:T]]) >= I[T] - 1e-9))  # idle from here on
    j -= 1  # the last repetition ends at j
    for newE, arg, prevE, prevI in reversed(back):
        L = int(lengths[arg[j]])
        reps.append((j - L, j))
        s = j - L
        if prevE[s] >= prevI[s]:
            j = s  # the previous repetition ends where this one starts
        else:  # idle before s: the previous repetition ended at the first place I reached I[s]
            closing = np.concatenate([[-np.inf], prevE[:T] + boundary[:T]])
            j = int(np.argmax(closing >= prevI[s] - 1e-9)) - 1
    return float(I[T]), reps[::-1]
