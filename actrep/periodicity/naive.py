"""The reference row: peak counting on the first principal component of small grey frames.

Kept deliberately simple (`actrep eval --baseline naive`): it shows what the full counter adds. It
counts well when the action is the only thing that changes the picture; camera shake, an occluder,
a periodic distractor or noise move the first principal component as much as the action does.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks

from actrep.periodicity.counter import PeriodicityResult


def naive_count(frames: np.ndarray, fps: float) -> PeriodicityResult:
    """Count the peaks of the first principal component of 32 x 32 grey frames; each repetition
    runs from midway after the previous peak to midway before the next one."""
    small = np.stack([cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) if f.ndim == 3 else f, (32, 32),
                                 interpolation=cv2.INTER_AREA) for f in frames]).reshape(len(frames), -1)
    X = small.astype(np.float64) - small.mean(0)
    if len(X) < 3 or not X.any():
        return PeriodicityResult(0, [], 0.0)
    # The first principal direction from the symmetric eigenproblem of X'X (1024 x 1024): LAPACK's SVD
    # of X itself failed to converge on a rendered clip ("SVD did not converge").
    pc = X @ np.linalg.eigh(X.T @ X)[1][:, -1]
    pc = gaussian_filter1d(pc, max(0.5, 0.05 * fps))
    # Both signs: the action may brighten or darken the picture; take the sign with the cleaner peaks.
    found = [find_peaks(s, prominence=0.5 * s.std(), distance=max(1, int(0.25 * fps)))[0] for s in (pc, -pc)]
    peaks = max(found, key=lambda p: (len(p) > 0, -np.std(np.diff(p)) if len(p) > 2 else 0))
    if len(peaks) == 0:
        return PeriodicityResult(0, [], 0.0)
    half = np.diff(peaks) / 2 if len(peaks) > 1 else np.array([fps / 2])
    edges = np.concatenate([[peaks[0] - half[0]], peaks[:-1] + half, [peaks[-1] + half[-1]]])
    edges = np.clip(edges, 0, len(frames) - 1) / fps
    return PeriodicityResult(len(peaks), [(float(a), float(b)) for a, b in zip(edges[:-1], edges[1:])], 0.5)
