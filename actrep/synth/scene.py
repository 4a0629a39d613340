"""Everything around the subject: background (plain, texture, tiles, clutter), floor, occluder,
distractor, camera and sensor knobs. ``sample_scene`` draws the per-video knobs from a preset's
ranges; the ``make_*`` / ``draw_*`` functions turn them into pixels.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from actrep.synth.prims import disc, hsv, line, muted, pick, rect, shade, uni, vivid

DISTRACTORS = ("orbit", "slider", "blinker", "fan", "bobber")


def sample_scene(rng: np.random.Generator, R: dict, period_s: float, fps: float) -> dict:
    """Scene, camera, sensor, occluder and distractor knobs (plain JSON types)."""
    kind = pick(rng, R["backgrounds"])
    scene = {
        "background": kind, "colors": [muted(rng), muted(rng)], "floor": muted(rng, (0.15, 0.6)),
        "texture_cells": int(rng.integers(3, 12)), "grain": uni(rng, 0.0, 12.0, 2),
        "tile_period": uni(rng, 0.06, 0.25), "tile_angle": uni(rng, 0, 180, 1), "tile_contrast": uni(rng, 0.2, 0.7),
        "clutter": int(rng.integers(R["clutter"][0], R["clutter"][1] + 1)),
        "ground": uni(rng, 0.8, 0.9), "scale": uni(rng, *R["scale"]), "x_offset": uni(rng, -0.12, 0.12),
        "sway": uni(rng, *R["sway"]), "sway_hz": uni(rng, 0.05, 0.3),
    }
    camera = {
        "pan": uni(rng, *R["pan"]), "pan_hz": [uni(rng, 0.02, 0.12), uni(rng, 0.02, 0.12)],
        "pan_phase": [uni(rng, 0, 6.2832), uni(rng, 0, 6.2832)],
        "zoom": uni(rng, *R["zoom"]), "zoom_hz": uni(rng, 0.02, 0.1), "zoom_phase": uni(rng, 0, 6.2832),
        "shake": uni(rng, *R["shake"]), "shake_smooth": uni(rng, 0.3, 0.7),
    }
    w = R["white_balance"]
    sensor = {"noise": uni(rng, *R["noise"], 2), "blur": uni(rng, *R["blur"], 3), "flicker": uni(rng, *R["flicker"]),
              "flicker_hz": uni(rng, 0.1, 1.0), "gains": [uni(rng, 1 - w, 1 + w) for _ in range(3)]}
    occluder = None
    if rng.random() < R["occluder_prob"]:
        # A thin pole off the subject's centre line, or a low panel in front of its lower part:
        # it hides part of the subject, never all of it (it drifts by at most 0.2 units over the clip).
        kind = pick(rng, ("pole", "panel"))
        dx = uni(rng, 0.22, 0.45) * (1 if rng.random() < 0.5 else -1) if kind == "pole" else uni(rng, -0.25, 0.25)
        width = uni(rng, *R["occluder_size"]) * (1.0 if kind == "pole" else 3.0)
        occluder = {"kind": kind, "dx": dx, "width": width, "height": uni(rng, 0.12, 0.3),
                    "drift": uni(rng, -0.2, 0.2), "color": muted(rng, (0.1, 0.7))}
    distractor = None
    if rng.random() < R["distractor_prob"]:
        ratio = uni(rng, 0.3, 0.7) if rng.random() < 0.5 else uni(rng, 1.5, 2.6)
        distractor = {"kind": pick(rng, DISTRACTORS), "ratio": ratio,
                      "freq_hz": round(min(ratio / period_s, 0.4 * fps), 4), "phase": uni(rng, 0, 6.2832),
                      "x": pick(rng, (uni(rng, 0.1, 0.22), uni(rng, 0.78, 0.9))), "y": uni(rng, 0.12, 0.45),
                      "size": uni(rng, 0.05, 0.1), "color": vivid(rng)}
    return {"scene": scene, "camera": camera, "sensor": sensor, "occluder": occluder, "distractor": distractor}


# ---- background -------------------------------------------------------------------------------------
def _mix(c1, c2, t: np.ndarray) -> np.ndarray:
    c1, c2 = np.asarray(c1, np.float32), np.asarray(c2, np.float32)
    return c1 + (c2 - c1) * t[..., None]


def make_background(S: dict, cw: int, ch: int, ground_y: float, frame_h: int, rng: np.random.Generator) -> np.ndarray:
    """The static world canvas (ch x cw RGB uint8), floor included; pixel details come from ``rng``."""
    c1, c2 = S["colors"]
    yy, xx = np.mgrid[0:ch, 0:cw].astype(np.float32)
    kind = S["background"]
    if kind == "gradient":
        img = _mix(c1, c2, yy / max(1, ch - 1))
    elif kind == "tiles":
        a = math.radians(S["tile_angle"])
        period = max(3.0, S["tile_period"] * frame_h)
        v = (xx * math.cos(a) + yy * math.sin(a)) / period
        if S["texture_cells"] % 2:  # checker
            v2 = (-xx * math.sin(a) + yy * math.cos(a)) / period
            t = ((np.floor(v) + np.floor(v2)) % 2).astype(np.float32)
        else:  # soft stripes
            t = 0.5 + 0.5 * np.sin(2 * np.pi * v)
        img = _mix(c1, c2, 0.5 + (t - 0.5) * S["tile_contrast"])
    else:  # texture and clutter: smooth blobs
        n = S["texture_cells"]
        low = rng.random((n, n)).astype(np.float32)
        t = cv2.resize(low, (cw, ch), interpolation=cv2.INTER_CUBIC)
        img = _mix(c1, c2, np.clip(t, 0, 1))
    if S["grain"] > 0:
        img += rng.standard_normal((ch, cw, 1), dtype=np.float32) * S["grain"]
    img = np.clip(img, 0, 255).astype(np.uint8)
    if kind == "clutter":
        _clutter(img, S["clutter"], ground_y, frame_h, rng)
    # floor: darker band with a few perspective lines
    g = int(round(ground_y))
    floor = np.asarray(S["floor"], np.float32)
    depth = np.linspace(0.85, 1.1, ch - g, dtype=np.float32)[:, None, None]
    img[g:] = np.clip(floor * depth + (img[g:].astype(np.float32) - floor) * 0.15, 0, 255).astype(np.uint8)
    for i in range(int(rng.integers(0, 6))):
        x0 = rng.random() * cw
        line(img, (x0, ground_y), (x0 + (x0 - cw / 2) * 1.5, ch), shade(S["floor"], 0.8), 1)
    line(img, (0, ground_y), (cw, ground_y), shade(S["floor"], 0.6), max(1, frame_h // 64))
    return img


def _clutter(img: np.ndarray, n: int, ground_y: float, frame_h: int, rng: np.random.Generator) -> None:
    ch, cw = img.shape[:2]
    for _ in range(n):
        kind = int(rng.integers(4))
        col = hsv(rng.random(), rng.random() * 0.5, 0.25 + rng.random() * 0.6)
        x, y = rng.random() * cw, rng.random() * ground_y
        s = frame_h * (0.05 + rng.random() * 0.2)
        if kind == 0:  # poster / picture frame
            rect(img, x, y, x + s, y + s * (0.6 + rng.random()), col)
            rect(img, x, y, x + s, y + s * (0.6 + rng.random()), shade(col, 0.5), max(1, int(s * 0.06)))
        elif kind == 1:  # shelf with items
            rect(img, x, y, x + 2 * s, y + s * 0.08, col)
            for j in range(int(rng.integers(1, 4))):
                bx = x + rng.random() * 1.7 * s
                rect(img, bx, y - s * 0.4, bx + s * 0.25, y, hsv(rng.random(), 0.5, 0.7))
        elif kind == 2:  # round lamp / clock
            disc(img, (x, y), s * 0.35, col)
            disc(img, (x, y), s * 0.35, shade(col, 0.6), max(1, int(s * 0.05)))
        else:  # plant / pole on the floor
            line(img, (x, ground_y), (x, ground_y - s * 1.5), shade(col, 0.7), max(1, s * 0.08))
            disc(img, (x, ground_y - s * 1.5), s * 0.3, hsv(0.25 + rng.random() * 0.15, 0.6, 0.5))


# ---- per-frame layers ------------------------------------------------------------------------------
def draw_distractor(img, D: dict, t: float, ox: float, oy: float, W: int, H: int) -> None:
    """A small object moving periodically at ``freq_hz`` (a different rate from the repetitions)."""
    a = 2 * math.pi * D["freq_hz"] * t + D["phase"]
    c = (ox + D["x"] * W, oy + D["y"] * H)
    s = D["size"] * H
    col, k = D["color"], D["kind"]
    th = max(1.0, s * 0.15)
    if k == "orbit":
        disc(img, c, s, shade(col, 0.4), 1)
        disc(img, (c[0] + s * math.cos(a), c[1] + s * math.sin(a)), s * 0.35, col)
    elif k == "slider":
        line(img, (c[0] - 1.3 * s, c[1]), (c[0] + 1.3 * s, c[1]), shade(col, 0.4), th)
        x = c[0] + s * math.sin(a)
        rect(img, x - 0.3 * s, c[1] - 0.3 * s, x + 0.3 * s, c[1] + 0.3 * s, col)
    elif k == "blinker":
        disc(img, c, s * 0.55, shade(col, 0.25 + 0.75 * (0.5 + 0.5 * math.sin(a))))
        disc(img, c, s * 0.55, (30, 30, 30), 1)
    elif k == "fan":
        line(img, c, (c[0] + s * math.cos(a), c[1] + s * math.sin(a)), col, th)
        line(img, c, (c[0] - 0.5 * s * math.cos(a), c[1] - 0.5 * s * math.sin(a)), shade(col, 0.6), th)
        disc(img, c, s * 0.15, (40, 40, 40))
    else:  # bobber on a spring
        y = c[1] + s * math.sin(a)
        line(img, (c[0], c[1] - 1.5 * s), (c[0], y), shade(col, 0.5), max(1.0, s * 0.06))
        disc(img, (c[0], y), s * 0.35, col)


def draw_occluder(img, O: dict, frac: float, subject_x: float, ground: float, unit: float, frame_h: int) -> None:
    """An opaque pole or panel in front of part of the subject; ``frac`` = time / clip length."""
    x = subject_x + (O["dx"] + O["drift"] * (frac - 0.5)) * unit
    w = O["width"] * unit
    top = 0.0 if O["kind"] == "pole" else ground - O["height"] * unit
    rect(img, x - w / 2, top, x + w / 2, ground + 0.08 * frame_h, O["color"])
    rect(img, x - w / 2, top, x + w / 2, ground + 0.08 * frame_h, shade(O["color"], 0.6), max(1, int(w * 0.08)))


def camera_tracks(C: dict, frames: int, fps: float, H: int, rng: np.random.Generator):
    """Per-frame camera offset (dx, dy, px) and zoom (>= 1): slow pan/zoom plus AR(1) shake."""
    t = np.arange(frames, dtype=np.float64) / fps
    dx = C["pan"] * H * np.sin(2 * np.pi * C["pan_hz"][0] * t + C["pan_phase"][0])
    dy = 0.5 * C["pan"] * H * np.sin(2 * np.pi * C["pan_hz"][1] * t + C["pan_phase"][1])
    zoom = 1.0 + C["zoom"] * (0.5 - 0.5 * np.cos(2 * np.pi * C["zoom_hz"] * t + C["zoom_phase"]))
    if C["shake"] > 0:
        e = rng.standard_normal((frames, 2))
        a = C["shake_smooth"]
        sh = np.zeros_like(e)
        for i in range(frames):
            sh[i] = (a * sh[i - 1] if i else 0) + math.sqrt(1 - a * a) * e[i]
        dx, dy = dx + C["shake"] * H * sh[:, 0], dy + C["shake"] * H * sh[:, 1]
    return dx, dy, zoom
