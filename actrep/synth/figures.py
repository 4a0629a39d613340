"""Articulated stick-figure exercises: squat, arm curl, push-up (side views) and jumping jack (front).

Each pose function maps the phase p (0 = rest pose, 1 = the far end of the movement) to joint
positions in figure units (height 1, x forward, y up, origin between the feet on the ground).
"""

from __future__ import annotations

import math

import numpy as np

from actrep.synth.prims import Geo, bump, disc, hsv, line, pick, sample_bump, shade, sign, uni, vivid

SKIN = ([241, 194, 160], [224, 172, 125], [198, 134, 90], [141, 85, 54], [92, 58, 36])


def _seg(a, deg: float, length: float):
    """End of a segment from a; deg measured from straight up, positive toward +x (forward)."""
    r = math.radians(deg)
    return a[0] + length * math.sin(r), a[1] + length * math.cos(r)


def _ik(a, b, la: float, lb: float, prefer_x: float):
    """Elbow/knee of a two-link chain from a to b, choosing the solution toward prefer_x (-1 or +1)."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    d = min(max(math.hypot(dx, dy), abs(la - lb) + 1e-6), la + lb - 1e-6)
    base = math.atan2(dy, dx)
    alpha = math.acos((la * la + d * d - lb * lb) / (2 * la * d))
    cands = [(a[0] + la * math.cos(base + s * alpha), a[1] + la * math.sin(base + s * alpha)) for s in (1, -1)]
    return max(cands, key=lambda c: prefer_x * c[0])


def sample(rng: np.random.Generator, rise: tuple[float, float]) -> dict:
    b = uni(rng, 0.94, 1.06)
    return {
        "facing": sign(rng),
        "limbs": {"shin": round(0.24 * b, 4), "thigh": round(0.24 * b, 4), "torso": uni(rng, 0.28, 0.32),
                  "upper": round(0.16 * b, 4), "fore": round(0.15 * b, 4), "head": uni(rng, 0.065, 0.085)},
        "thickness": uni(rng, 0.045, 0.065),
        "shirt": vivid(rng),
        "pants": hsv(rng.random(), uni(rng, 0.3, 0.9), uni(rng, 0.3, 0.7)),
        "skin": [int(c) for c in np.clip(np.array(pick(rng, SKIN)) * uni(rng, 0.9, 1.1), 0, 255)],
        "motion": sample_bump(rng, rise),
    }


# ---- poses (side view: near/far limbs; front view: left/right) --------------------------------------
def squat(p: float, P: dict) -> dict:
    L = P["limbs"]
    ankle = (0.0, 0.025)
    knee = _seg(ankle, 35 * p, L["shin"])
    hip = _seg(knee, -82 * p, L["thigh"])
    sh = _seg(hip, 38 * p, L["torso"])
    elbow = _seg(sh, 172 - 82 * p, L["upper"])
    hand = _seg(elbow, 160 - 82 * p, L["fore"])
    far = (-0.02, 0.0)
    return {"view": "side", "hip": hip, "shoulder": sh, "head": _seg(sh, 38 * p, 0.035 + L["head"]),
            "near_leg": [hip, knee, ankle, (0.08, 0.0)], "far_leg": [hip, _add(knee, far), _add(ankle, far), (0.06, 0.0)],
            "near_arm": [sh, elbow, hand], "far_arm": [sh, _add(elbow, far), _add(hand, far)]}


def arm_curl(p: float, P: dict) -> dict:
    L = P["limbs"]
    ankle, fankle = (0.02, 0.025), (-0.03, 0.025)
    knee, fknee = _seg(ankle, -2, L["shin"]), _seg(fankle, 2, L["shin"])
    hip = (0.0, knee[1] + L["thigh"])
    sh = _seg(hip, -5 * p, L["torso"])
    elbow = _seg(sh, 176 - 10 * p, L["upper"])
    hand = _seg(elbow, 176 - 148 * p, L["fore"])
    if P.get("both_arms"):
        felbow, fhand = _add(elbow, (-0.02, 0)), _add(hand, (-0.02, 0))
    else:
        felbow = _seg(sh, 182, L["upper"])
        fhand = _seg(felbow, 180, L["fore"])
    return {"view": "side", "hip": hip, "shoulder": sh, "head": _seg(sh, -5 * p, 0.035 + L["head"]),
            "near_leg": [hip, knee, ankle, (0.1, 0.0)], "far_leg": [hip, fknee, fankle, (0.05, 0.0)],
            "near_arm": [sh, elbow, hand], "far_arm": [sh, felbow, fhand], "weights": [hand, fhand]}


def push_up(p: float, P: dict) -> dict:
    L = P["limbs"]
    arm, body = L["upper"] + L["fore"], L["shin"] + L["thigh"] + L["torso"]
    top = math.asin(min(0.99, 0.93 * arm / body))
    th = math.asin(min(0.99, arm * (0.93 - 0.6 * p) / body))
    d = (math.cos(th), math.sin(th))
    x0 = -0.5 * (body * math.cos(top) + 0.1)
    ankle = (x0, 0.03)
    knee = (ankle[0] + L["shin"] * d[0], ankle[1] + L["shin"] * d[1])
    hip = (knee[0] + L["thigh"] * d[0], knee[1] + L["thigh"] * d[1] - P.get("sag", 0.0) * math.sin(th))
    sh = (ankle[0] + body * d[0], ankle[1] + body * d[1])
    hand = (ankle[0] + body * math.cos(top), 0.01)
    elbow = _ik(sh, hand, L["upper"], L["fore"], -1.0)
    hd = 0.035 + L["head"]
    head = (sh[0] + hd * math.cos(th + 0.25), sh[1] + hd * math.sin(th + 0.25))
    far = (-0.015, 0.01)
    return {"view": "side", "hip": hip, "shoulder": sh, "head": head,
            "near_leg": [hip, knee, ankle, (x0 - 0.01, 0.0)], "far_leg": [hip, _add(knee, far), _add(ankle, far)],
            "near_arm": [sh, elbow, hand], "far_arm": [sh, _add(elbow, far), _add(hand, far)]}


def jumping_jack(p: float, P: dict) -> dict:
    L = P["limbs"]
    hop = P.get("hop", 0.03) * math.sin(math.pi * p)
    leg, hw, foot = L["shin"] + L["thigh"], 0.05, 0.05 + 0.17 * p
    y_hip = hop + math.sqrt(leg * leg - (foot - hw) ** 2)
    neck = (0.0, y_hip + L["torso"])
    out = {"view": "front", "pelvis": (0.0, y_hip), "neck": neck, "head": (0.0, neck[1] + 0.035 + L["head"])}
    for side, s in (("l", -1), ("r", 1)):
        hip, ft = (s * hw, y_hip), (s * foot, hop + 0.02)
        knee = ((hip[0] + ft[0]) / 2 + s * 0.012, (hip[1] + ft[1]) / 2)
        sh = (s * 0.09, neck[1] - 0.02)
        elbow = _seg(sh, s * (178 - 160 * p), L["upper"])
        hand = _seg(elbow, s * (172 - 160 * p), L["fore"])
        out[f"leg_{side}"] = [hip, knee, ft, (ft[0] + s * 0.04, hop)]
        out[f"arm_{side}"] = [sh, elbow, hand]
    return out


POSES = {"squat": squat, "arm_curl": arm_curl, "push_up": push_up, "jumping_jack": jumping_jack}


def _add(a, b):
    return a[0] + b[0], a[1] + b[1]


# ---- drawing ----------------------------------------------------------------------------------------
def draw(pose_name: str, img, k: int, u: float, amp: float, P: dict, g: Geo) -> None:
    del k
    sk = POSES[pose_name](amp * bump(u, P["motion"]), P)
    f = P["facing"]

    def xy(pt):
        return g.x + f * pt[0] * g.unit, g.ground - pt[1] * g.unit

    t = g.thick(P["thickness"])

    def chain(pts, colors, th):
        for a, b, c in zip(pts[:-1], pts[1:], colors):
            line(img, xy(a), xy(b), c, th)

    shirt, pants, skin = P["shirt"], P["pants"], P["skin"]
    if sk["view"] == "side":
        dark = 0.65
        chain(sk["far_leg"], [shade(pants, dark)] * 2 + [shade(pants, 0.4)], t)
        chain(sk["far_arm"], [shade(shirt, dark), shade(skin, dark)], t)
        line(img, xy(sk["hip"]), xy(sk["shoulder"]), shirt, t * 1.7)
        chain(sk["near_leg"], [pants, pants, shade(pants, 0.5)], t)
        line(img, xy(sk["shoulder"]), xy(sk["head"]), skin, t)
        chain(sk["near_arm"], [shirt, skin], t)
    else:
        for side in ("l", "r"):
            chain(sk[f"leg_{side}"], [pants, pants, shade(pants, 0.5)], t)
        line(img, xy(sk["pelvis"]), xy(sk["neck"]), shirt, t * 1.9)
        line(img, xy(sk["arm_l"][0]), xy(sk["arm_r"][0]), shirt, t * 1.2)
        line(img, xy(sk["neck"]), xy(sk["head"]), skin, t)
        for side in ("l", "r"):
            chain(sk[f"arm_{side}"], [shirt, skin], t)
    disc(img, xy(sk["head"]), P["limbs"]["head"] * g.unit, skin)
    for i, w in enumerate(sk.get("weights", [])):
        disc(img, xy(w), 0.055 * g.unit, shade(P["weight"], 0.7 if i else 1.0))
        disc(img, xy(w), 0.018 * g.unit, (40, 40, 40))


def sample_exercise(name: str, rng: np.random.Generator) -> dict:
    """Per-video figure knobs; the rise range gives each exercise its own asymmetric timing."""
    rise = {"squat": (0.5, 0.68), "arm_curl": (0.3, 0.45), "push_up": (0.52, 0.7), "jumping_jack": (0.35, 0.5)}[name]
    P = sample(rng, rise)
    if name == "arm_curl":
        P["both_arms"] = bool(rng.random() < 0.5)
        P["weight"] = hsv(rng.random(), uni(rng, 0.0, 0.6), uni(rng, 0.3, 0.6))
    elif name == "push_up":
        P["sag"] = uni(rng, -0.02, 0.03)
    elif name == "jumping_jack":
        P["hop"] = uni(rng, 0.015, 0.05)
    return P
