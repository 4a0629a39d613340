"""Small shared pieces: random draws with rounded values, easing curves, colours, anti-aliased drawing.

Knob values are rounded when drawn, so the in-memory spec and its JSON sidecar are the same numbers
(a spec read back from ``meta/<split>.jsonl`` renders the same frames).
"""

from __future__ import annotations

import colorsys
import math

import cv2
import numpy as np

SHIFT = 4  # sub-pixel bits for OpenCV drawing
_ONE = 1 << SHIFT


def uni(rng: np.random.Generator, lo: float, hi: float, nd: int = 4) -> float:
    """A uniform draw in [lo, hi], rounded to ``nd`` decimals (always one draw, even when lo == hi)."""
    return round(float(lo + (hi - lo) * rng.random()), nd)


def pick(rng: np.random.Generator, items):
    return items[int(rng.integers(len(items)))]


def sign(rng: np.random.Generator) -> int:
    return 1 if rng.random() < 0.5 else -1


# ---- easing: every curve maps [0, 1] onto [0, 1] with exact end points ----------------------------
def ease(x: float, k: float) -> float:
    """Sigmoid easing x^k / (x^k + (1-x)^k): k=1 linear, k>1 slow start and end, k<1 fast ends."""
    x = min(1.0, max(0.0, x))
    if x <= 0.0 or x >= 1.0:
        return x
    a, b = x**k, (1.0 - x) ** k
    return a / (a + b)


def bump(u: float, m: dict) -> float:
    """Rest (0) -> peak (1) -> rest (0) over one repetition, u in [0, 1]; exactly 0 at u=0 and u=1.

    ``m`` holds ``rise`` (share of the rep spent going out: < 0.5 is a fast out, slow return),
    ``hold`` (share held at the peak) and the two easing exponents ``k_out`` and ``k_back``.
    """
    if u <= 0.0 or u >= 1.0:
        return 0.0
    rise, hold = m["rise"], m["hold"]
    if u < rise:
        return ease(u / rise, m["k_out"])
    if u < rise + hold:
        return 1.0
    return 1.0 - ease((u - rise - hold) / (1.0 - rise - hold), m["k_back"])


def sample_bump(rng: np.random.Generator, rise: tuple[float, float], hold=(0.0, 0.12), k=(1.2, 2.6)) -> dict:
    """Per-video phase profile: asymmetric timing (rise) and asymmetric easing (k_out != k_back)."""
    return {
        "rise": uni(rng, *rise),
        "hold": uni(rng, *hold),
        "k_out": uni(rng, *k),
        "k_back": uni(rng, *k),
    }


# ---- colours ----------------------------------------------------------------------------------------
def hsv(h: float, s: float, v: float) -> list[int]:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0), 1), min(max(v, 0), 1))
    return [int(round(255 * r)), int(round(255 * g)), int(round(255 * b))]


def vivid(rng: np.random.Generator) -> list[int]:
    """A saturated, bright colour for subjects (backgrounds are muted, see scene.py)."""
    return hsv(rng.random(), uni(rng, 0.55, 1.0), uni(rng, 0.65, 1.0))


def muted(rng: np.random.Generator, v=(0.25, 0.8)) -> list[int]:
    return hsv(rng.random(), uni(rng, 0.0, 0.35), uni(rng, *v))


def shade(color, f: float) -> list[int]:
    return [int(min(255, max(0, round(c * f)))) for c in color]


# ---- anti-aliased drawing in float pixel coordinates ------------------------------------------------
def _p(x: float, y: float) -> tuple[int, int]:
    return int(round(x * _ONE)), int(round(y * _ONE))


def line(img, a, b, color, thick: float) -> None:
    cv2.line(img, _p(*a), _p(*b), tuple(color), max(1, int(round(thick))), cv2.LINE_AA, SHIFT)


def disc(img, c, r: float, color, thick: int = -1) -> None:
    cv2.circle(img, _p(*c), max(1, int(round(r * _ONE))), tuple(color), thick, cv2.LINE_AA, SHIFT)


def ellipse(img, c, axes, angle_deg: float, color, thick: int = -1) -> None:
    ax = (max(1, int(round(axes[0] * _ONE))), max(1, int(round(axes[1] * _ONE))))
    cv2.ellipse(img, _p(*c), ax, angle_deg, 0, 360, tuple(color), thick, cv2.LINE_AA, SHIFT)


def rect(img, x0, y0, x1, y1, color, thick: int = -1) -> None:
    cv2.rectangle(img, _p(x0, y0), _p(x1, y1), tuple(color), thick, cv2.LINE_AA, SHIFT)


def poly(img, pts, color) -> None:
    arr = np.round(np.asarray(pts, dtype=np.float64) * _ONE).astype(np.int32)
    cv2.fillPoly(img, [arr], tuple(color), cv2.LINE_AA, SHIFT)


def polar(c, r: float, angle: float) -> tuple[float, float]:
    """Point at distance r from c; angle in radians, 0 = up, positive = clockwise on screen."""
    return c[0] + r * math.sin(angle), c[1] - r * math.cos(angle)


class Geo:
    """Where a subject stands in the world canvas: anchor x, ground line y and its size unit (px)."""

    __slots__ = ("x", "ground", "unit")

    def __init__(self, x: float, ground: float, unit: float):
        self.x, self.ground, self.unit = x, ground, unit

    def thick(self, f: float) -> float:
        return max(1.0, f * self.unit)
