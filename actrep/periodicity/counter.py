"""count_repetitions: frames in, count + per-repetition intervals + confidence out."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from actrep.periodicity import segment, ssm
from actrep.periodicity.features import Features, frame_features, motion, prepare
from actrep.periodicity.mirror import MirrorVerdict, mirror_test


@dataclass
class PeriodicityConfig:
    max_fps: float = 10.0  # analysed frame rate: faster videos are decimated by an integer step (30 fps -> 10)
    size: int = 128  # longest side of the analysed frames, px
    min_period_s: float = 0.3  # shortest repetition considered (never below 3 analysed frames)
    max_period_s: float = 8.0  # longest repetition considered
    slack: float = 0.25  # tempo change tolerated between neighbouring repetitions (share of the length)
    flow_weight: float = 1.0  # flow vs appearance in the self-similarity
    appearance_weight: float = 1.0
    speed_weight: float = 0.7  # the sign-free speed profile (Features.speed)
    w_boundary: float = 5.6
    rest_level: float = 0.5  # rest similarity above which a boundary is rewarded
    w_repeat: float = 7.0
    repeat_level: float = 0.55  # dissimilarity to the neighbouring span below which a repetition is rewarded
    w_closure: float = 3.0
    closure_level: float = 0.7  # start-to-end distance (relative to the spread) below which a repetition is rewarded
    w_length: float = 1.0
    length_sigma: float = 0.3  # log-normal width of the duration model
    candidates: int = 3  # periods tried: this many of the shortest and of the deepest dips of the lag profile
    w_active: float = 0.3
    idle_level: float = 0.25  # motion energy (1 = the action's busy level) below which a frame is idle
    min_rep_energy: float = 0.3  # the mean motion energy of each half of a repetition is at least this
    w_count: float = 0.5  # evidence per repetition found (> 0 favours shorter repetitions over merged pairs)
    min_motion: float = 0.6  # px per analysed frame: an action's busiest cells move at least this much (else: count 0)
    confident_level: float = 0.9  # a count whose confidence is below this is reported as uncertain ("~7?")
    mirror_level: float = 0.8  # alternating actions: mirrored / unmirrored frame distance below which a mirror is seen
    flow_smooth_s: float = 0.08  # Gaussian sigma (s) over time of the flow features, kept where it shows the clearer period


# Confidence = the estimated probability that the count is within one of the truth: a logistic model
# of two numbers the counter computes anyway (_evidence), fitted by `python -m bench.calibrate` on
# tuning clips of both renderers; its calibration on other clips is in bench/results/calibration-*.md.
CONFIDENCE_MODEL = {"intercept": 0.817, "periodicity": 0.233, "margin": 0.598}


@dataclass
class PeriodicityResult:
    count: int
    intervals: list[tuple[float, float]]  # seconds from the first frame
    confidence: float  # 0..1: the estimated probability that the count is within one of the truth
    period_s: float | None = None  # the dominant period
    debug: dict = field(default_factory=dict, repr=False)
    uncertain: bool = False  # confidence below PeriodicityConfig.confident_level: say "~7?", not "7"


def count_repetitions(frames: np.ndarray, fps: float, config: PeriodicityConfig | None = None,
                      count: int | None = None, alternating: bool = False) -> PeriodicityResult:
    """`alternating`: the action's repetition is a one-way move that the next one mirrors (there, then
    back: `actrep.descriptions.Description.alternating`); the picture then repeats every two
    repetitions, and a period found is counted as two where the mirror test confirms it
    (`_alternate`). Without a count only: a count given is never changed."""
    cfg = config or PeriodicityConfig()
    grey, rgb, wfps = prepare(np.asarray(frames), float(fps), cfg.max_fps, cfg.size)
    T = len(grey)
    if T < 4:
        result = _too_short(T, wfps, count)
        result.uncertain = count is None
        return result
    m = motion(grey, rgb)
    features = frame_features(m, cfg.min_motion)
    if not features.mask.any():  # nothing moves: no repetition (or, count given, an even split)
        result = _too_short(T, wfps, count)
        result.confidence, result.debug = 1.0, {"fps": wfps, "no_motion": True}
        return result
    result = count_features(features, wfps, cfg, count)
    if alternating and count is None and result.count:
        reps = [(int(round(s * wfps)), int(round(e * wfps))) for s, e in result.intervals]
        result = _alternate(result, mirror_test(m, features.mask, reps, cfg.mirror_level))
    result.uncertain = result.confidence < cfg.confident_level
    return result


def _alternate(result: PeriodicityResult, mirror: MirrorVerdict) -> PeriodicityResult:
    """The count of an alternating action from its mirror test (mirror.py). Confirmed round trips (the
    second half of a repetition found mirrors its first half) are split at their middle: two
    repetitions, each its own interval. Confirmed one-way moves (each repetition mirrors the next)
    stay. Neither: the picture cannot say whether n or 2n repetitions were meant, so the count stays
    and its confidence is at most 1/2 (unless n is 1: then both readings are within one)."""
    result.debug["mirror"] = dataclasses.asdict(mirror)
    if mirror.verdict == "halves":
        result.intervals = [half for (s, e), two in zip(result.intervals, mirror.split)
                            for half in (((s, (s + e) / 2), ((s + e) / 2, e)) if two else ((s, e),))]
        if result.period_s and 2 * sum(mirror.split) > len(mirror.split):  # the dominant period: one move
            result.period_s /= 2
        result.count = len(result.intervals)
    elif mirror.verdict == "unresolved" and result.count > 1:
        result.confidence = min(result.confidence, 0.5)
    return result


def count_features(f: Features, wfps: float, cfg: PeriodicityConfig, count: int | None = None) -> PeriodicityResult:
    """The counting half of count_repetitions, on features of frames analysed at `wfps`."""
    T = len(f.energy)
    lmin = max(3, int(round(cfg.min_period_s * wfps)))
    lmax = max(lmin, min(T - 1, int(round(cfg.max_period_s * wfps))))
    lengths = np.arange(lmin, lmax + 1)
    energy = np.convolve(f.energy, np.ones(3) / 3, mode="same")
    active = energy > cfg.idle_level
    if active.sum() < 2:
        active[:] = True
    X, G = _clearest_features(f, wfps, cfg, active, lmin, lmax)
    # How unlike its neighbouring span each span is, relative to how much the frames vary there:
    # ~0 for a perfect repeat, ~1 for unrelated frames (slow motion compared with itself a moment
    # later stays near 1, so short spans inside a slow repetition do not look periodic).
    spread = ssm.local_spread(X, lengths)
    D = ssm.repeat_dissimilarity(ssm.slack_min(G, lengths, cfg.slack), lengths) / spread
    # Closure: a repetition ends in the state it started in (pose and motion), relative to the spread.
    closure = G[:, lengths] / spread
    beta = rest_similarity(ssm.standardise(f.appearance), energy, wfps)
    # Evidence, roughly log-likelihood ratios measured on synthetic videos with known boundaries:
    # boundary frames vs frames inside a repetition (beta), a repetition vs half of one (D), frames
    # of a repetition vs idle frames (energy; per frame, so damped: neighbouring frames are correlated).
    boundary = np.clip(cfg.w_boundary * (beta - cfg.rest_level), -2.0, 3.0)
    repeat = np.clip(-cfg.w_repeat * (np.nan_to_num(D, nan=cfg.repeat_level) - cfg.repeat_level), -2.5, 1.0)
    moving = cfg.w_active * np.clip(2.5 * np.log(np.maximum(energy, 1e-3) / cfg.idle_level), -2.5, 2.0)
    closed = np.clip(-cfg.w_closure * (np.nan_to_num(closure, nan=10.0) - cfg.closure_level), -3.0, 1.5)
    base = repeat + closed + _span_sums(moving, lengths) + cfg.w_count
    ends = np.arange(T)[:, None] + lengths[None]
    half = lengths // 2
    first = _span_sums(energy, half)
    second = _span_sums(energy, lengths) - first
    still = (first < cfg.min_rep_energy * half[None]) | (second < cfg.min_rep_energy * (lengths - half)[None])
    base[(ends > T - 1) | still] = -np.inf  # both halves of a repetition move
    profile = ssm.lag_profile(G, active)
    best = None
    span = np.flatnonzero(active)
    longest = max(lmin, (span[-1] - span[0]) // 2) if len(span) > 1 else lmax  # two repetitions fit
    candidates = ssm.period_candidates(profile, lmin, longest, cfg.candidates) + _rest_periods(beta, active, lmin)
    tried = []  # (score, repetitions) of every segmentation tried: how clear the winner is
    for period in candidates:
        for _ in range(2):  # the duration model re-centred on the repetitions found
            rep = base + cfg.w_length * _log_duration(lengths, period, cfg.length_sigma)[None]
            score, reps = (segment.free(rep, boundary, lengths) if count is None
                           else segment.exact(rep, boundary, lengths, count))
            tried.append((score, len(reps)))
            if best is None or score > best[0]:
                best = (score, reps, period)
            if not reps:
                break
            period = float(np.median([e - s for s, e in reps]))
    score, reps, period = best
    if count is not None and len(reps) != count:
        reps = _even_split(active, count)
    intervals = [(s / wfps, e / wfps) for s, e in reps]
    evidence = _evidence(D, reps, lengths, tried, score)
    return PeriodicityResult(len(reps), intervals, _confidence(evidence), period / wfps,
                             debug={"fps": wfps, "beta": beta, "energy": energy, "profile": profile, "mask": f.mask,
                                    **evidence})


def _clearest_features(f: Features, wfps: float, cfg: PeriodicityConfig, active: np.ndarray, lmin: int, lmax: int):
    """The frame vectors X and their lag distances G, with the flow as measured or smoothed over
    `flow_smooth_s`, whichever shows the clearer periodicity: the deeper dip of the lag profile
    (1 - its minimum over the periods considered / its median). Noisy flow (a shaking camera, sensor
    noise) gains from the smoothing; a fast, cleanly measured motion can lose a good part of a short
    repetition to it, and keeps the raw flow."""
    best = None
    for sigma in (0.0, cfg.flow_smooth_s) if cfg.flow_smooth_s > 0 else (0.0,):
        X = np.hstack([cfg.appearance_weight * ssm.standardise(f.appearance),
                       cfg.flow_weight * ssm.standardise(_smoothed(f.flow, sigma * wfps)),
                       cfg.speed_weight * ssm.standardise(f.speed)])
        G = ssm.lag_distances(X, min(len(X) - 1, int(lmax * (1 + cfg.slack)) + 1))
        profile = ssm.lag_profile(G, active)[lmin:lmax + 1]
        depth = 1 - np.nanmin(profile) / np.nanmedian(profile) if np.isfinite(profile).sum() > 2 else 0.0
        if best is None or depth > best[0]:
            best = (depth, X, G)
    return best[1], best[2]


def _smoothed(values: np.ndarray, sigma_frames: float) -> np.ndarray:
    """values [T, d] smoothed over time. Per-frame flow is noisy (sensor noise, a shaking camera's residual):
    unsmoothed, two frames a fraction of a second apart can look as alike as two repetitions, and a
    segmentation into many short "repetitions" then outscores the true one (stick-figure tuning clips,
    bench/results/periodicity-2026-12-05d.md). The sigma is in seconds, so it blurs the same stretch of
    motion at every frame rate, far below the shortest repetition counted (min_period_s)."""
    from scipy.ndimage import gaussian_filter1d

    if sigma_frames <= 0 or len(values) < 2:
        return values
    return gaussian_filter1d(values, sigma_frames, axis=0, mode="nearest", truncate=2.5)


def _rest_periods(beta: np.ndarray, active: np.ndarray, min_lag: int) -> list[float]:
    """The typical gap between returns to the rest pose (peaks of beta) with motion in between:
    another guess at the period, independent of the lag profile (which a drifting tempo smears)."""
    from scipy.signal import find_peaks

    peaks = find_peaks(beta, prominence=0.15, distance=min_lag)[0]
    gaps = [b - a for a, b in zip(peaks[:-1], peaks[1:]) if active[a:b].mean() > 0.5]
    return [float(np.median(gaps))] if gaps else []


def _log_duration(lengths: np.ndarray, period: float, sigma: float) -> np.ndarray:
    """The duration term: the shape of a log-normal around `period`, 0 at the period itself.

    Not a normalised density on purpose: that would charge every repetition about log(period)
    and so prefer a few long repetitions (any multiple of the period also repeats well)."""
    return -np.log(lengths / period) ** 2 / (2 * sigma**2)


def _span_sums(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """[T, n_lengths] sum of values[i : i + L] (spans past the end are cut)."""
    T = len(values)
    cs = np.concatenate([[0.0], np.cumsum(values)])
    ends = np.minimum(np.arange(T)[:, None] + lengths[None], T)
    return cs[ends] - cs[np.arange(T)][:, None]


def rest_similarity(A: np.ndarray, energy: np.ndarray, fps: float) -> np.ndarray:
    """beta[t] in 0..1: how much frame t looks like a rest pose (appearance only).

    The rest poses are the first and the last quarter second: a recording starts and ends at rest
    (and when it starts mid-action, boundaries at that phase still count the cycles). Two
    templates, because the picture drifts (zoom, a moving occluder, lighting) and because an
    action may end in another rest pose than it started in (a box set down on the other side).
    """
    n0 = max(1, int(round(0.25 * fps)))
    d = np.min([((A - np.median(A[:n0], 0)) ** 2).sum(1), ((A - np.median(A[-n0:], 0)) ** 2).sum(1)], axis=0)
    moving = energy > 0.1
    scale = max(float(np.median(d[moving])) if moving.any() else float(np.median(d)), 1e-9)
    return np.exp(-d / scale)


def _evidence(D: np.ndarray, reps: list, lengths: np.ndarray, tried: list, score: float) -> dict:
    """What the confidence is computed from.

    periodicity: 1 - the mean repeat dissimilarity of the repetitions found (0..1; 0.5 when none,
    0.3 when no repetition has a neighbour to compare with).
    margin: how much better (score per repetition, 0..3) the chosen segmentation is than the best one
    tried with a clearly different count (off by more than 1 and 15 %); 3 when no other count came up.
    """
    if not reps:
        periodicity = 0.5
    else:
        dis = [D[s, e - s - lengths[0]] for s, e in reps]
        periodicity = float(np.clip(1.0 - np.nanmean(dis), 0, 1)) if not np.all(np.isnan(dis)) else 0.3
    n = len(reps)
    others = [other for other, k in tried if abs(k - n) > max(1, 0.15 * n)]
    margin = float(np.clip((score - max(others)) / max(n, 1), 0.0, 3.0)) if others else 3.0
    return {"periodicity": periodicity, "margin": margin}


def _confidence(evidence: dict) -> float:
    m = CONFIDENCE_MODEL
    z = m["intercept"] + m["periodicity"] * evidence["periodicity"] + m["margin"] * evidence["margin"]
    return float(1.0 / (1.0 + np.exp(-z)))


def _even_split(active: np.ndarray, count: int) -> list[tuple[int, int]]:
    idx = np.flatnonzero(active)
    a, b = (int(idx[0]), int(idx[-1])) if len(idx) >= 2 else (0, len(active) - 1)
    edges = np.linspace(a, b, count + 1)
    return [(float(edges[i]), float(edges[i + 1])) for i in range(count)]


def _too_short(T: int, fps: float, count: int | None) -> PeriodicityResult:
    if not count:
        return PeriodicityResult(0, [], 0.0)
    duration = max(T - 1, 1) / fps
    return PeriodicityResult(count, [(duration * i / count, duration * (i + 1) / count) for i in range(count)], 0.0)


def count_video(path, config: PeriodicityConfig | None = None, count: int | None = None,
                clip_start: float | None = None, clip_end: float | None = None, info=None,
                alternating: bool = False) -> PeriodicityResult:
    """count_repetitions on a video file (or the clip [clip_start, clip_end] s of it), decoded at
    `config.max_fps` and `config.size`; intervals are on the clip's clock (0.0 = its first frame).
    `info`: the file's `actrep.video.probe` result (probed here if not given; a file that ends early
    is then an error, see `probe(..., allow_partial=True)`). `alternating`: see count_repetitions."""
    from actrep.periodicity.reader import read_frames
    from actrep.video import probe

    cfg = config or PeriodicityConfig()
    info = info or probe(path)
    step = max(1, int(round(info.fps / cfg.max_fps)))
    frames, info, _ = read_frames(path, step, cfg.size, clip_start, clip_end, info)
    return count_repetitions(frames, info.fps / step, cfg, count, alternating)
