"""Temporal self-similarity, kept as a band: distances between frames at most `max_lag` apart.

The full T x T matrix is never built (a 10-minute video at 15 fps would need 8e7 entries); every
quantity the counter needs lives on the band |i - j| <= max_lag.
"""

from __future__ import annotations

import numpy as np


def standardise(X: np.ndarray) -> np.ndarray:
    """Centre over time and scale so the mean squared norm is 1 (each feature group weighs the same)."""
    X = X - X.mean(0)
    return X / np.sqrt(max(float((X**2).sum(1).mean()), 1e-12))


def lag_distances(X: np.ndarray, max_lag: int) -> np.ndarray:
    """G[t, L] = |x_t - x_{t+L}|^2 for L = 0..max_lag; NaN where t + L is past the end."""
    T = len(X)
    G = np.full((T, max_lag + 1), np.nan, np.float32)
    G[:, 0] = 0
    for L in range(1, min(max_lag, T - 1) + 1):
        G[: T - L, L] = ((X[:-L] - X[L:]) ** 2).sum(1)
    return G


def slack_min(G: np.ndarray, lengths: np.ndarray, slack: float) -> np.ndarray:
    """M[s, k] = min over L' within +-slack of lengths[k] of G[s, L']: the best match of frame s
    about one period later, tolerant of the tempo changing between neighbouring repetitions."""
    M = np.full((len(G), len(lengths)), np.nan, np.float32)
    for k, L in enumerate(lengths):
        d = max(1, int(round(slack * L)))
        window = G[:, max(1, L - d) : min(G.shape[1], L + d + 1)]
        ok = ~np.isnan(window).all(1)
        M[ok, k] = np.nanmin(window[ok], 1)
    return M


def repeat_dissimilarity(M: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """D[i, k]: how unlike its neighbour the span [i, i + L) is (L = lengths[k]): the mean of M over
    the span (compared with the span after it) or over the span before it (compared with this
    one), whichever matches better. NaN where neither neighbour exists (a lone repetition)."""
    T = len(M)
    D = np.full((T, len(lengths)), np.nan, np.float32)
    valid = ~np.isnan(M)
    cs = np.concatenate([np.zeros((1, M.shape[1])), np.cumsum(np.where(valid, M, 0), 0)])
    cn = np.concatenate([np.zeros((1, M.shape[1])), np.cumsum(valid, 0)])
    i = np.arange(T)
    for k, L in enumerate(lengths):
        a, b = np.minimum(i + L, T), i
        n_fwd = cn[a, k] - cn[b, k]
        fwd = np.where(n_fwd >= L / 2, (cs[a, k] - cs[b, k]) / np.maximum(n_fwd, 1), np.nan)
        a2, b2 = i, np.maximum(i - L, 0)
        n_bwd = cn[a2, k] - cn[b2, k]
        bwd = np.where((i >= L) & (n_bwd >= L / 2), (cs[a2, k] - cs[b2, k]) / np.maximum(n_bwd, 1), np.nan)
        D[:, k] = np.fmin(fwd, bwd)
    return D


def lag_profile(G: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Mean distance at each lag over pairs of active frames (the video's autocorrelation, inverted).
    Idle-to-idle pairs (lead-in vs lead-out) would look like a perfect repeat. NaN where fewer than
    8 pairs exist."""
    T, n = G.shape
    out = np.full(n, np.nan)
    for L in range(n):
        both = active[: T - L] & active[L:]
        if both.sum() >= 8:
            out[L] = float(np.nanmean(G[: T - L, L][both]))
    return out


def period_candidates(profile: np.ndarray, min_lag: int, max_lag: int, n: int) -> list[float]:
    """Lags where the profile dips (local minima in [min_lag, max_lag]): the n shortest and the n
    deepest. Short ones because every multiple of the period dips too (often deeper, as the
    tempo drifts); deep ones because a slow action's first dips can be its sub-movements."""
    p = profile[: max_lag + 1].copy()
    p[:min_lag] = np.nan
    lags = np.flatnonzero(~np.isnan(p))
    if len(lags) == 0:
        return [float(min_lag)]
    padded = np.concatenate([[np.inf], np.nan_to_num(p, nan=np.inf), [np.inf]])
    minima = [int(L) for L in lags if padded[L + 1] <= padded[L] and padded[L + 1] <= padded[L + 2]]
    if not minima:
        return [float(lags[np.argmin(p[lags])])]
    return [float(L) for L in sorted(set(minima[:n]) | set(sorted(minima, key=lambda L: p[L])[:n]))]


def local_spread(X: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """V[i, k] = 2 x the variance of the frames in [i, i + 2L) (L = lengths[k]): the distance two
    unrelated frames of that stretch have on average. Spans cut at the end use what is there."""
    T = len(X)
    cs = np.concatenate([np.zeros((1, X.shape[1])), np.cumsum(X, 0)])
    cq = np.concatenate([[0.0], np.cumsum((X**2).sum(1))])
    V = np.empty((T, len(lengths)), np.float32)
    i = np.arange(T)
    for k, L in enumerate(lengths):
        e = np.minimum(i + 2 * L, T)
        n = (e - i)[:, None]
        mean = (cs[e] - cs[i]) / n
        V[:, k] = 2 * np.maximum((cq[e] - cq[i]) / n[:, 0] - (mean**2).sum(1), 1e-9)
    return V
