"""Per-frame features for the periodicity counter: small frames, camera-compensated optical flow,
the region where the action happens, and the vectors the self-similarity is built from.

Everything runs on small frames (longest side `config.size`, at most `config.max_fps`): the
repetitions we count are body- or object-sized motions, which stay visible at ~100 px.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

CELL = 4  # flow is pooled over CELL x CELL pixel cells: the grid the action region is found on
BORDER = 2  # cells at the frame edge ignored when locating the action (flow there is unreliable)


@dataclass
class Motion:
    grey: np.ndarray  # float32 [T, h, w] analysed frames, stabilised against the camera
    colour: np.ndarray  # float32 [T, h, w, 2] opponent colours (R-G, B-(R+G)/2), stabilised
    flow: np.ndarray  # float32 [T, gh, gw, 2] camera-compensated flow per cell (mean over the cell, px/frame)
    speed: np.ndarray  # float32 [T, gh, gw] its magnitude
    seen: np.ndarray  # bool [T, gh, gw]: the cell is inside that frame's view (else replicated edge pixels)


def prepare(frames: np.ndarray, fps: float, max_fps: float, size: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Frames decimated to <= max_fps and resized to longest side <= size: (grey, rgb, fps)."""
    step = max(1, int(round(fps / max_fps)))
    frames = frames[::step]
    h, w = frames.shape[1:3]
    scale = min(1.0, size / max(h, w))
    dsize = (max(4 * CELL, int(round(w * scale))), max(4 * CELL, int(round(h * scale))))
    if dsize == (w, h):  # already small (the reader scales while decoding)
        rgb = frames.astype(np.float32)
    else:
        rgb = np.stack([cv2.resize(f, dsize, interpolation=cv2.INTER_AREA) for f in frames]).astype(np.float32)
    grey = rgb @ np.float32([0.299, 0.587, 0.114])
    # Divide out each frame's brightness: flicker and auto-exposure would otherwise read as motion.
    gain = 110.0 / np.maximum(grey.mean(axis=(1, 2), keepdims=True), 1.0)
    return np.clip(grey * gain, 0, 255), rgb * gain[..., None], fps / step


def _camera_fit(flow: np.ndarray, weight: np.ndarray, h: int, w: int) -> np.ndarray:
    """The camera's motion between two frames as a 2x3 affine map (pan, shake and zoom about the
    centre), fitted to the per-cell flow [gh, gw, 2] where `weight` (textured background) is set.

    Least squares, then a refit on the 60 % of cells that fit best (whatever still moves on its
    own drops out). Rotation and shear are dropped: cameras pan, shake and zoom.
    """
    gh, gw = flow.shape[:2]
    ys, xs = np.mgrid[0:gh, 0:gw]
    A = np.stack([np.ones(xs.size), (xs.ravel() + 0.5) * CELL - w / 2, (ys.ravel() + 0.5) * CELL - h / 2], 1)
    b = flow.reshape(-1, 2).astype(np.float64)
    keep = weight.ravel()
    if keep.sum() < 6:
        return np.eye(3)[:2]
    for _ in range(2):
        coef, *_ = np.linalg.lstsq(A[keep], b[keep], rcond=None)
        residual = np.linalg.norm(b - A @ coef, axis=1)
        keep = keep & (residual <= np.quantile(residual[keep], 0.6))
    zoom = (coef[1, 0] + coef[2, 1]) / 2
    tx, ty = coef[0]
    # p' = (1 + zoom) (p - c) + c + t
    return np.array([[1 + zoom, 0, tx - zoom * w / 2], [0, 1 + zoom, ty - zoom * h / 2]])


def _camera_tracks(prev: np.ndarray, cur: np.ndarray, allowed: np.ndarray) -> np.ndarray | None:
    """The camera's motion between two frames from tracked corners of the background (`allowed`, a
    uint8 mask of the pixels away from what moves on its own): pyramidal Lucas-Kanade tracks and a
    RANSAC fit of translation + zoom (OpenCV's estimateAffinePartial2D; its rotation is dropped, as in
    `_camera_fit`). Corners track reliably on stripes and repeated textures, where dense flow is
    ambiguous. None when too few corners are found (a plain wall): the caller falls back."""
    a, b = prev.astype(np.uint8), cur.astype(np.uint8)
    points = cv2.goodFeaturesToTrack(a, 200, 0.01, 3, mask=allowed)
    if points is None or len(points) < 12:
        return None
    moved, status, _ = cv2.calcOpticalFlowPyrLK(a, b, points, None, winSize=(15, 15), maxLevel=2)
    ok = status.ravel() == 1
    if ok.sum() < 12:
        return None
    M, inliers = cv2.estimateAffinePartial2D(points[ok], moved[ok], method=cv2.RANSAC, ransacReprojThreshold=0.7)
    if M is None or inliers.sum() < 8:
        return None
    zoom = float(np.hypot(M[0, 0], M[1, 0]))
    return np.array([[zoom, 0, M[0, 2]], [0, zoom, M[1, 2]]])


def _camera_flow(cam: np.ndarray, gh: int, gw: int) -> np.ndarray:
    """The flow [gh, gw, 2] the camera map causes at the cell centres."""
    ys, xs = np.mgrid[0:gh, 0:gw]
    px, py = (xs + 0.5) * CELL, (ys + 0.5) * CELL
    return np.stack([cam[0, 0] * px + cam[0, 2] - px, cam[1, 1] * py + cam[1, 2] - py], -1).astype(np.float32)


def _chain(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """2x3 affine of applying b, then a."""
    return (np.vstack([a, [0, 0, 1]]) @ np.vstack([b, [0, 0, 1]]))[:2]


def _scaled(M: np.ndarray, scale: float) -> np.ndarray:
    S = M.copy()
    S[:, 2] *= scale
    return S


def _warp(image: np.ndarray, M: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """image resampled at M(p): with M the map from frame 0 to this frame, the stabilised image."""
    return cv2.warpAffine(image, _scaled(M, scale), (image.shape[1], image.shape[0]), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def motion(grey: np.ndarray, rgb: np.ndarray) -> Motion:
    """Farneback flow between consecutive frames, pooled per cell, minus the camera's motion;
    frames, colours and flow grids stabilised into frame 0's coordinates (pan, shake, zoom undone).

    The camera is fitted twice: once on every textured cell, then again without the cells where
    something moves on its own (found from the first fit's residual). A subject covering a good part
    of the frame would otherwise bias every per-frame estimate a little, and chained over hundreds
    of frames that bias becomes drift. Frame t carries the flow from t-1 to t (frame 0 repeats
    frame 1's), so every frame has one.
    """
    T, h, w = grey.shape
    gh, gw = h // CELL, w // CELL
    raw = np.zeros((T, gh, gw, 2), np.float32)
    textured = np.zeros((T, gh, gw), bool)
    prev = grey[0].astype(np.uint8)
    for t in range(1, T):
        cur = grey[t].astype(np.uint8)
        f = cv2.calcOpticalFlowFarneback(prev, cur, None, 0.5, 3, 9, 3, 5, 1.1, 0)
        raw[t] = f[: gh * CELL, : gw * CELL].reshape(gh, CELL, gw, CELL, 2).mean(axis=(1, 3))
        # flow in flat regions stays near zero whatever the camera does: fit on the textured half
        texture = np.abs(cv2.Sobel(prev, cv2.CV_32F, 1, 0)) + np.abs(cv2.Sobel(prev, cv2.CV_32F, 0, 1))
        texture = texture[: gh * CELL, : gw * CELL].reshape(gh, CELL, gw, CELL).mean(axis=(1, 3))
        textured[t] = texture >= np.median(texture)
        prev = cur
    first = np.stack([_camera_fit(raw[t], textured[t], h, w) for t in range(T)])
    moving = np.quantile(np.linalg.norm(raw - np.stack([_camera_flow(c, gh, gw) for c in first]), axis=-1), 0.9, axis=0)
    own = cv2.dilate((moving > 2 * np.median(moving) + 0.2).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    background = np.repeat(np.repeat(~own, CELL, 0), CELL, 1).astype(np.uint8)
    background = np.pad(background, ((0, h - gh * CELL), (0, w - gw * CELL)))
    cams = [np.eye(3)[:2]] + [_camera_tracks(grey[t - 1], grey[t], background) for t in range(1, T)]
    cams = [c if c is not None else _camera_fit(raw[t], textured[t] & ~own, h, w) for t, c in enumerate(cams)]
    if np.median([np.hypot(*c[:, 2]) for c in cams[1:]] or [0]) < 0.05:  # a still camera: leave it be
        cams = [np.eye(3)[:2]] * T
    flow = raw - np.stack([_camera_flow(c, gh, gw) for c in cams])
    if T > 1:
        flow[0] = flow[1]
    paths = [np.eye(3)[:2]]
    for cam in cams[1:]:
        paths.append(_chain(cam, paths[-1]))
    opponent = np.stack([rgb[..., 0] - rgb[..., 1], rgb[..., 2] - (rgb[..., 0] + rgb[..., 1]) / 2], -1)
    flow = np.stack([_warp(f, M, 1 / CELL) for f, M in zip(flow, paths)])
    # Stabilised cells outside a frame's view hold replicated edge pixels that move with the camera:
    # how often each cell was really seen (the action region is only looked for where it always is).
    ones = np.ones((gh, gw), np.float32)
    seen = np.stack([cv2.warpAffine(ones, _scaled(M, 1 / CELL), (gw, gh), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
                                    borderMode=cv2.BORDER_CONSTANT, borderValue=0) for M in paths]) > 0.5
    return Motion(
        grey=np.stack([_warp(g, M) for g, M in zip(grey, paths)]),
        colour=np.stack([_warp(c, M) for c, M in zip(opponent, paths)]),
        flow=flow,
        speed=np.linalg.norm(flow, axis=-1),
        seen=seen,
    )


def _excess(speed: np.ndarray) -> np.ndarray:
    """Motion above each frame's background level (the median cell: noise, residual camera motion)."""
    return np.maximum(speed - np.median(speed.reshape(len(speed), -1), axis=1)[:, None, None], 0)


def action_region(speed: np.ndarray, seen: np.ndarray | None = None, centre_sigma: float = 0.3,
                  min_motion: float = 0.0) -> np.ndarray:
    """The cells [gh, gw] (bool) of the moving object that is most likely the action; none when
    nothing moves: fewer than 2 cells above the background level, or the 5 busiest cells' level
    below `min_motion` (px per frame; sensor noise, compression artefacts and a residual of camera
    shake stay below it, a body-sized movement does not).

    Per cell, a high quantile over time of the motion above the background (of a 3-frame mean,
    against single-frame noise), not the mean: a distractor moving all the time must not outweigh
    an action with idle stretches. Cells above the background level are grouped into objects
    (`_objects`); the object with the largest extent (cells), weighted toward the frame centre, wins.
    """
    gh, gw = speed.shape[1:]
    excess = _excess(speed) if seen is None else _excess(speed) * seen
    smooth = (excess + np.roll(excess, 1, 0) + np.roll(excess, -1, 0)) / 3
    energy = np.quantile(smooth, 0.97, axis=0).astype(np.float32)
    energy[:BORDER], energy[-BORDER:], energy[:, :BORDER], energy[:, -BORDER:] = 0, 0, 0, 0
    if seen is not None:  # cells the camera left most of the time: too little to go on
        energy[seen.mean(0) < 0.5] = 0
    # The background's level from a low quantile: the subject may fill half the frame.
    inner = np.zeros((gh, gw), bool)
    inner[BORDER:-BORDER, BORDER:-BORDER] = True
    if seen is not None and (inner & seen.all(0)).sum() >= 8:
        inner &= seen.all(0)
    level = 1.5 * np.quantile(energy[inner], 0.25) + 0.3
    active = energy > level
    if active.sum() < 2 or np.sort(energy.ravel())[-5:].mean() < min_motion:
        return np.zeros((gh, gw), bool)
    labels = _objects(excess, active)
    ys, xs = np.mgrid[0:gh, 0:gw]
    prior = np.exp(-(((xs + 0.5) / gw - 0.5) ** 2 + ((ys + 0.5) / gh - 0.5) ** 2) / (2 * centre_sigma**2))
    # Extent, not speed: a distractor that swings or spins fast all the time (a pendulum, a fan)
    # moves more pixels per frame than a person lifting slowly, but over fewer cells. Every active
    # cell counts once (weighting cells by their speed, even capped at 3x the threshold, let a
    # pendulum win over a slow pull-up on the stick-figure tuning set).
    best = int(np.argmax(np.bincount(labels[active], weights=prior[active])))
    return active & (labels == best)


def _objects(excess: np.ndarray, active: np.ndarray, reach: int = 2, min_corr: float = 0.3) -> np.ndarray:
    """Group active cells into moving objects: neighbours (within `reach` cells) whose motion
    energy rises and falls together. Parts of one body join across still cells; a subject and a
    distractor that move independently stay apart even where they touch. Labels [gh, gw]."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    yy, xx = np.nonzero(active)
    series = excess[:, yy, xx].astype(np.float64)
    series -= series.mean(0)
    series /= np.linalg.norm(series, axis=0) + 1e-9
    corr = series.T @ series
    near = (np.abs(yy[:, None] - yy[None]) <= reach) & (np.abs(xx[:, None] - xx[None]) <= reach)
    i, j = np.nonzero(near & (corr > min_corr))
    _, comp = connected_components(coo_matrix((np.ones(len(i)), (i, j)), shape=(len(yy),) * 2), directed=False)
    labels = np.zeros(active.shape, np.int64)
    labels[yy, xx] = comp
    return labels


@dataclass
class Features:
    flow: np.ndarray  # float32 [T, d]: signed flow of the action's cells
    appearance: np.ndarray  # float32 [T, d]: grey + opponent colour (2 x 2 per cell) around the action
    energy: np.ndarray  # float32 [T]: the action's motion energy, 0 = its quiet level, 1 = its busy level
    speed: np.ndarray  # float32 [T, 2]: total |horizontal| and |vertical| flow of the action's cells (sign-free:
    #                    an action whose direction alternates, a box carried there and back, repeats in it every repetition)
    mask: np.ndarray  # bool [gh, gw]: the action's cells


def change_gate(grey: np.ndarray) -> np.ndarray:
    """[T, gh, gw] in 0..1: whether the picture really changes in the cell (frame difference well above
    the frame's noise level). Flow in flat, noisy regions is large and meaningless (the aperture
    problem); a moving subject changes the pixels it covers by far more than sensor noise."""
    T, h, w = grey.shape
    gh, gw = h // CELL, w // CELL
    d = np.abs(np.diff(grey[:, : gh * CELL, : gw * CELL], axis=0)).reshape(T - 1, gh, CELL, gw, CELL).mean(axis=(2, 4))
    d = np.concatenate([d[:1], d]) if T > 1 else np.zeros((T, gh, gw), np.float32)
    med = np.median(d.reshape(T, -1), axis=1)[:, None, None]
    return np.clip((d - 1.5 * med - 1.0) / (med + 1.0), 0, 1)


def frame_features(m: Motion, min_motion: float = 0.0) -> Features:
    """The features of the action's cells (`Features.mask` empty: nothing moves, see action_region)."""
    cells = action_region(m.speed * change_gate(m.grey), m.seen, min_motion=min_motion)
    if not cells.any():
        empty = np.zeros((len(m.flow), 0), np.float32)
        return Features(empty, empty, np.zeros(len(m.flow), np.float32), np.zeros((len(m.flow), 2), np.float32), cells)
    # The cells' mean flow (noise averages out over a cell, unlike the flow magnitude), from the
    # 10th to the 90th percentile over time.
    energy = np.linalg.norm(m.flow[:, cells], axis=-1).sum(1)
    energy = np.maximum(energy - np.quantile(energy, 0.1), 0)
    energy /= max(float(np.quantile(energy, 0.9)), 1e-6)
    near = cv2.dilate(cells.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    gh, gw = near.shape
    pixels = np.repeat(np.repeat(near, 2, 0), 2, 1)

    def pooled(images):  # 2 x 2 samples per cell
        return np.stack([cv2.resize(g[: gh * CELL, : gw * CELL], (gw * 2, gh * 2), interpolation=cv2.INTER_AREA)
                         for g in images])[:, pixels]

    appearance = np.concatenate([pooled(m.grey), pooled(m.colour).reshape(len(m.grey), -1)], 1)
    speed = np.abs(m.flow[:, cells]).sum(1)
    return Features(m.flow[:, cells].reshape(len(m.flow), -1), appearance.astype(np.float32), energy.astype(np.float32),
                    speed.astype(np.float32), cells)
