"""Spec -> frames (RGB uint8, in memory) and spec -> H.264 mp4 (PyAV, libx264, yuv420p).

Rendering is a pure function of the spec: the background, clutter, camera shake and sensor noise
come from ``numpy.random.default_rng(spec.render_seed)``.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from actrep.synth import scene as sc
from actrep.synth.families import FAMILIES
from actrep.synth.prims import Geo
from actrep.synth.spec import VideoSpec

MARGIN = 1.3  # the world canvas is this much larger than the frame (room for pan and shake)
# x264's macroblock-tree rate control (mbtree) reads uninitialised memory in its assembly on the
# libx264 that PyAV ships: the same frames then encode to different bytes (and decoded pixels) from
# run to run, even single-threaded. With mbtree off the output is identical every time (measured:
# 175 encodes over 7 sizes, one result each); threads=1 keeps it independent of the core count.
X264_PARAMS = "mbtree=0:threads=1"


def frame_phases(spec: VideoSpec) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: the repetition index k whose pose is shown and the progress u in [0, 1] through it.

    Idle frames before the first rep show rep 0 at u=0; frames after rep k (pauses, lead-out) show
    rep k at u=1. Boundary frames are exactly u=0 or u=1: the rest pose.
    """
    k = np.zeros(spec.frames, dtype=np.int64)
    u = np.zeros(spec.frames, dtype=np.float64)
    for i, (s, e) in enumerate(spec.intervals):
        k[s:] = i
        u[s : e + 1] = (np.arange(s, e + 1) - s) / (e - s)
        u[e + 1 :] = 1.0
    return k, u


def iter_frames(spec: VideoSpec) -> Iterator[np.ndarray]:
    """Yield the frames one by one (H x W x 3 RGB uint8): constant memory for long clips."""
    W, H, T, fps = spec.width, spec.height, spec.frames, spec.fps
    cw, ch = 2 * math.ceil(W * MARGIN / 2), 2 * math.ceil(H * MARGIN / 2)
    ox, oy = (cw - W) // 2, (ch - H) // 2
    K = spec.knobs
    S, motion, D, O, N = K["scene"], K["motion"], K["distractor"], K["occluder"], K["sensor"]
    fam = FAMILIES[spec.action]
    rng = np.random.default_rng(spec.render_seed)
    ground = oy + S["ground"] * H
    bg = sc.make_background(S, cw, ch, ground, H, rng)
    unit = fam.unit * S["scale"] * H
    x0 = cw / 2 + S["x_offset"] * W
    dx, dy, zoom = sc.camera_tracks(K["camera"], T, fps, H, rng)
    ks, us = frame_phases(spec)
    amps = motion["rep_amplitudes"]
    gains = np.asarray(N["gains"], dtype=np.float32)
    for t in range(T):
        sec = t / fps
        img = bg.copy()
        if D:
            sc.draw_distractor(img, D, sec, ox, oy, W, H)
        sx = x0 + S["sway"] * H * math.sin(2 * math.pi * S["sway_hz"] * sec)
        fam.draw(img, int(ks[t]), float(us[t]), amps[int(ks[t])], motion, Geo(sx, ground, unit))
        if O:
            sc.draw_occluder(img, O, t / max(1, T - 1), sx, ground, unit, H)
        z = float(zoom[t])
        if z == 1.0 and dx[t] == 0.0 and dy[t] == 0.0:
            frame = img[oy : oy + H, ox : ox + W].copy()
        else:
            M = np.array([[z, 0, W / 2 - z * (cw / 2 + dx[t])], [0, z, H / 2 - z * (ch / 2 + dy[t])]])
            frame = cv2.warpAffine(img, M, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        if N["blur"] >= 0.1:
            frame = cv2.GaussianBlur(frame, (0, 0), N["blur"])
        g = gains * np.float32(1.0 + N["flicker"] * math.sin(2 * math.pi * N["flicker_hz"] * sec))
        f = frame.astype(np.float32)
        f *= g
        if N["noise"] > 0:
            f += rng.standard_normal(f.shape, dtype=np.float32) * np.float32(N["noise"])
        f += 0.5
        yield np.clip(f, 0, 255, out=f).astype(np.uint8)


def render_frames(spec: VideoSpec) -> np.ndarray:
    """All frames of a spec as one array [T, H, W, 3] RGB uint8 (no encoding)."""
    out = np.empty((spec.frames, spec.height, spec.width, 3), dtype=np.uint8)
    for t, frame in enumerate(iter_frames(spec)):
        out[t] = frame
    return out


def write_video(spec: VideoSpec, path: str | Path, crf: int = 20, preset: str = "veryfast") -> int:
    """Render and encode a spec to an H.264 mp4 (identical bytes every run, see X264_PARAMS)."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".part.mp4")
    n = 0
    with av.open(str(tmp), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(spec.fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = spec.width, spec.height, "yuv420p"
        stream.options = {"crf": str(crf), "preset": preset, "x264-params": X264_PARAMS}
        stream.codec_context.thread_count = 1
        for frame in iter_frames(spec):
            vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
            vf.pts = n
            container.mux(stream.encode(vf))
            n += 1
        container.mux(stream.encode())
    tmp.replace(path)
    return n
