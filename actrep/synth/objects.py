"""Object families: bouncing ball, pendulum, box transfer (overhead crane) and a turning wheel.

Units: ``g.unit`` pixels per unit, ``g.x`` the subject's centre, ``g.ground`` the floor line.
"""

from __future__ import annotations

import math

import numpy as np

from actrep.synth.prims import Geo, disc, ease, ellipse, line, muted, pick, polar, rect, shade, sign, uni, vivid


# ---- bouncing ball: one rep = leave the floor, rise to the top, fall back to touch the floor -------
def sample_ball(rng: np.random.Generator) -> dict:
    return {"radius": uni(rng, 0.1, 0.15), "height": uni(rng, 0.4, 0.65), "rise": uni(rng, 0.38, 0.55),
            "color": vivid(rng), "stripe": vivid(rng), "pattern": pick(rng, ("stripe", "band", "plain")),
            "spin": uni(rng, 0.5, 1.5) * sign(rng), "shadow": uni(rng, 0.25, 0.5)}


def draw_ball(img, k: int, u: float, amp: float, P: dict, g: Geo) -> None:
    # Ballistic halves of different length: fastest at the floor, slowest at the top.
    r = P["rise"]
    p = 0.0 if u <= 0 or u >= 1 else (1 - ((u - r) / r) ** 2 if u < r else 1 - ((u - r) / (1 - r)) ** 2)
    p *= amp
    R = P["radius"] * g.unit
    c = (g.x, g.ground - R - p * P["height"] * g.unit)
    sh = P["shadow"] * (1 - 0.6 * p)
    ellipse(img, (g.x, g.ground), (R * (1.1 - 0.5 * p), R * 0.22), 0, shade((90, 90, 90), 1 - sh))
    disc(img, c, R, P["color"])
    ang = P["spin"] * math.pi * p
    if P["pattern"] == "stripe":
        line(img, polar(c, R * 0.95, ang), polar(c, R * 0.95, ang + math.pi), P["stripe"], max(1, R * 0.3))
    elif P["pattern"] == "band":
        ellipse(img, c, (R * 0.95, R * 0.35), math.degrees(ang), P["stripe"], max(1, int(R * 0.2)))
    disc(img, polar(c, R * 0.45, -0.7), R * 0.2, shade(P["color"], 1.35))


# ---- pendulum: one rep = a full swing cycle from hanging still, out both sides, back to hanging ----
def sample_pendulum(rng: np.random.Generator) -> dict:
    return {"length": uni(rng, 0.45, 0.7), "bob": uni(rng, 0.06, 0.1), "amplitude": uni(rng, 25, 55),
            "side_ratio": uni(rng, 0.7, 1.0), "first": sign(rng), "warp": uni(rng, 0.75, 1.35),
            "frame": muted(rng, (0.15, 0.45)), "rod": shade(muted(rng, (0.6, 0.9)), 1.0), "color": vivid(rng),
            "post_side": sign(rng)}


def draw_pendulum(img, k: int, u: float, amp: float, P: dict, g: Geo) -> None:
    w = 0.0 if u <= 0 or u >= 1 else u ** P["warp"]
    s = math.sin(2 * math.pi * w) * (1.0 if w < 0.5 else P["side_ratio"])
    ang = math.radians(P["first"] * P["amplitude"] * amp * s)
    L, B = P["length"] * g.unit, P["bob"] * g.unit
    pivot = (g.x, g.ground - (P["length"] + P["bob"] + 0.12) * g.unit)
    post = g.x + P["post_side"] * 0.55 * g.unit
    t = g.thick(0.035)
    line(img, (post, g.ground), (post, pivot[1] - 0.04 * g.unit), P["frame"], t)
    line(img, (post, pivot[1] - 0.04 * g.unit), (g.x - P["post_side"] * 0.08 * g.unit, pivot[1] - 0.04 * g.unit), P["frame"], t)
    line(img, (post - 0.1 * g.unit, g.ground), (post + 0.1 * g.unit, g.ground), P["frame"], t)
    bob = (pivot[0] + L * math.sin(ang), pivot[1] + L * math.cos(ang))
    line(img, pivot, bob, P["rod"], g.thick(0.015))
    disc(img, pivot, 0.02 * g.unit, P["frame"])
    disc(img, bob, B, P["color"])
    disc(img, (bob[0] - 0.3 * B, bob[1] - 0.3 * B), 0.3 * B, shade(P["color"], 1.4))


# ---- box transfer: one rep = the crane lifts the box, carries it to the other pad, sets it down ----
def sample_box(rng: np.random.Generator) -> dict:
    return {"gap": uni(rng, 0.55, 0.85), "box": uni(rng, 0.15, 0.24), "lift": uni(rng, 0.12, 0.25),
            "lift_share": uni(rng, 0.15, 0.3), "k_travel": uni(rng, 1.2, 2.6), "skew": uni(rng, 0.7, 1.4),
            "start": pick(rng, ("left", "right")), "color": vivid(rng), "pad": muted(rng, (0.3, 0.6)),
            "rail": muted(rng, (0.1, 0.4)), "carriage": vivid(rng)}


def draw_box(img, k: int, u: float, amp: float, P: dict, g: Geo) -> None:
    left, right = g.x - 0.5 * P["gap"] * g.unit, g.x + 0.5 * P["gap"] * g.unit
    a, b = (left, right) if (k % 2 == 0) == (P["start"] == "left") else (right, left)
    ls = P["lift_share"]
    lift = 0.0 if u <= 0 or u >= 1 else ease(min(u, 1 - u) / ls, 2.0) * P["lift"] * amp
    q = ease(min(1.0, max(0.0, (u - ls) / (1 - 2 * ls))) ** P["skew"], P["k_travel"])
    bx = a + (b - a) * q
    s, pad_h = P["box"] * g.unit, 0.04 * g.unit
    for px in (left, right):
        rect(img, px - 0.7 * s, g.ground - pad_h, px + 0.7 * s, g.ground, P["pad"])
    top = g.ground - pad_h - s - lift * g.unit
    rail_y = g.ground - 0.95 * g.unit
    line(img, (left - 0.25 * g.unit, rail_y), (right + 0.25 * g.unit, rail_y), P["rail"], g.thick(0.03))
    for px in (left - 0.22 * g.unit, right + 0.22 * g.unit):
        line(img, (px, rail_y), (px, g.ground), P["rail"], g.thick(0.025))
    line(img, (bx, rail_y), (bx, top), (30, 30, 30), g.thick(0.012))
    rect(img, bx - 0.06 * g.unit, rail_y - 0.03 * g.unit, bx + 0.06 * g.unit, rail_y + 0.04 * g.unit, P["carriage"])
    rect(img, bx - s / 2, top, bx + s / 2, top + s, P["color"])
    rect(img, bx - s / 2, top, bx + s / 2, top + s, shade(P["color"], 0.55), max(1, int(s * 0.12)))
    line(img, (bx - s / 2, top + s / 2), (bx + s / 2, top + s / 2), shade(P["color"], 0.55), max(1, s * 0.1))


# ---- wheel: one rep = one full turn (the marker leaves its start angle and comes back to it) -------
def sample_wheel(rng: np.random.Generator) -> dict:
    return {"radius": uni(rng, 0.28, 0.38), "spokes": int(rng.integers(3, 7)), "direction": sign(rng),
            "start_deg": uni(rng, 0, 360, 1), "k_turn": uni(rng, 1.2, 2.4), "skew": uni(rng, 0.7, 1.4),
            "rim": vivid(rng), "spoke": muted(rng, (0.5, 0.9)), "marker": vivid(rng), "stand": muted(rng, (0.1, 0.4))}


def draw_wheel(img, k: int, u: float, amp: float, P: dict, g: Geo) -> None:
    R = P["radius"] * g.unit
    c = (g.x, g.ground - R - 0.12 * g.unit)
    q = 0.0 if u <= 0 or u >= 1 else ease(u ** P["skew"], P["k_turn"])
    ang = math.radians(P["start_deg"]) + P["direction"] * 2 * math.pi * q
    for dx in (-0.6, 0.6):
        line(img, c, (c[0] + dx * R, g.ground), P["stand"], g.thick(0.03))
    n = P["spokes"]
    for i in range(n):
        line(img, c, polar(c, R, ang + 2 * math.pi * i / n), P["spoke"], g.thick(0.028))
    disc(img, c, R, P["rim"], max(1, int(round(0.06 * g.unit))))
    disc(img, c, 0.035 * g.unit, P["stand"])
    disc(img, polar(c, R * 0.8, ang), 0.08 * g.unit, P["marker"])
