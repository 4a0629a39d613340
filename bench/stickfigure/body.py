"""Stick-figure people and eight exercises, as joint positions per repetition progress.

A person is a set of 2-D joints in body units (standing height 1.0; x to the right, y up from the
floor, feet at x = 0). An exercise maps the progress p of one repetition (0 = its rest pose, 1 = the
far end of the movement) to joint positions, in one view: "side" (sagittal plane, the far limbs drawn
behind) or "front". `Person` holds the proportions, so two people doing the same exercise differ.

Written for the second, independent test source of the periodicity counter: it shares no code or
parameters with `actrep.synth`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

JOINTS = ("head", "neck", "pelvis", "shoulder_l", "elbow_l", "wrist_l", "shoulder_r", "elbow_r", "wrist_r",
          "hip_l", "knee_l", "ankle_l", "hip_r", "knee_r", "ankle_r")
# Segments drawn as limbs; "_l" is the far side in a side view (drawn first, darker).
BONES = (("neck", "pelvis"), ("shoulder_l", "elbow_l"), ("elbow_l", "wrist_l"), ("shoulder_r", "elbow_r"),
         ("elbow_r", "wrist_r"), ("hip_l", "knee_l"), ("knee_l", "ankle_l"), ("hip_r", "knee_r"), ("knee_r", "ankle_r"),
         ("shoulder_l", "shoulder_r"), ("hip_l", "hip_r"))


@dataclass
class Person:
    """Body proportions in units of standing height."""

    torso: float = 0.30  # pelvis to neck
    neck: float = 0.05
    head: float = 0.065  # head radius
    upper_arm: float = 0.17
    forearm: float = 0.16
    thigh: float = 0.24
    shin: float = 0.24
    shoulders: float = 0.11  # half the shoulder width (front view)
    hips: float = 0.07

    @classmethod
    def random(cls, rng: np.random.Generator) -> "Person":
        base = cls()
        return cls(**{k: v * float(rng.uniform(0.9, 1.1)) for k, v in vars(base).items()})


def _dir(angle: float) -> np.ndarray:
    """Unit vector at `angle` radians from straight up, turning toward +x."""
    return np.array([math.sin(angle), math.cos(angle)])


def _two_link(root: np.ndarray, target: np.ndarray, a: float, b: float, bend: float) -> tuple[np.ndarray, np.ndarray]:
    """(middle joint, end) of a two-segment limb from `root` reaching toward `target`; the middle
    joint bends to the side of `bend` (+1: left of the root->target line, -1: right)."""
    d = target - root
    dist = float(np.linalg.norm(d))
    dist = min(max(dist, abs(a - b) + 1e-6), a + b - 1e-6)
    unit = d / max(float(np.linalg.norm(d)), 1e-9)
    along = (a * a - b * b + dist * dist) / (2 * dist)
    up = math.sqrt(max(a * a - along * along, 0.0))
    normal = np.array([-unit[1], unit[0]]) * bend
    return root + unit * along + normal * up, root + unit * dist


def _chain(root: np.ndarray, angles: tuple[float, float], lengths: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Two segments from `root` with absolute angles (from straight up)."""
    middle = root + lengths[0] * _dir(angles[0])
    return middle, middle + lengths[1] * _dir(angles[1])


def _standing(b: Person, torso_lean: float = 0.0, knee_bend: float = 0.0) -> dict[str, np.ndarray]:
    """Feet on the floor at x = 0; the knees bent by `knee_bend` (0..1 of a deep squat) push the hips
    back and down; the torso leans forward by `torso_lean` radians."""
    ankle = np.array([0.0, 0.0])
    shin_angle = 0.55 * knee_bend  # shin tips forward
    knee = ankle + b.shin * _dir(shin_angle)
    hip = knee + b.thigh * _dir(-1.45 * knee_bend)  # thigh tips back
    neck = hip + b.torso * _dir(torso_lean)
    joints = {"ankle_l": ankle, "ankle_r": ankle, "knee_l": knee, "knee_r": knee, "hip_l": hip, "hip_r": hip,
              "pelvis": hip, "neck": neck}
    joints["head"] = neck + (b.neck + b.head) * _dir(torso_lean * 0.5)
    shoulder = neck - 0.02 * _dir(torso_lean)
    joints["shoulder_l"] = joints["shoulder_r"] = shoulder
    return joints


def _arms_side(j: dict, b: Person, upper: float, fore: float, spread: float = 0.06) -> None:
    """Both arms in a side view with absolute segment angles; the far arm slightly behind."""
    for side, offset in (("l", -spread), ("r", 0.0)):
        elbow, wrist = _chain(j[f"shoulder_{side}"], (upper + offset, fore + offset), (b.upper_arm, b.forearm))
        j[f"elbow_{side}"], j[f"wrist_{side}"] = elbow, wrist


def squat(p: float, b: Person) -> dict:
    j = _standing(b, torso_lean=0.55 * p, knee_bend=p)
    _arms_side(j, b, math.pi - 1.5 * p, math.pi - 1.5 * p)  # arms forward for balance
    return j


def bicep_curl(p: float, b: Person) -> dict:
    j = _standing(b)
    _arms_side(j, b, math.pi - 0.1, math.pi - 0.1 - 2.3 * p)
    return j


def front_raise(p: float, b: Person) -> dict:
    j = _standing(b, torso_lean=-0.05 * p)
    angle = math.pi - 1.6 * p
    _arms_side(j, b, angle, angle - 0.08)
    return j


def jumping_jack(p: float, b: Person) -> dict:
    """Front view: arms from the sides to overhead, feet apart, a small hop in the middle."""
    hop = 0.05 * math.sin(math.pi * p)
    legs = 0.05 + 0.3 * p
    pelvis = np.array([0.0, b.shin + b.thigh + hop])
    j = {"pelvis": pelvis, "neck": pelvis + [0, b.torso]}
    j["head"] = j["neck"] + [0, b.neck + b.head]
    for side, sign in (("l", -1), ("r", 1)):
        hip = pelvis + [sign * b.hips, 0]
        j[f"hip_{side}"] = hip
        j[f"knee_{side}"], j[f"ankle_{side}"] = _chain(hip, (math.pi - sign * legs, math.pi - sign * legs * 1.1), (b.thigh, b.shin))
        shoulder = j["neck"] + [sign * b.shoulders, -0.02]
        j[f"shoulder_{side}"] = shoulder
        arm = math.pi - sign * (0.25 + 2.6 * p)
        j[f"elbow_{side}"], j[f"wrist_{side}"] = _chain(shoulder, (arm, arm - sign * 0.15), (b.upper_arm, b.forearm))
    return j


def push_up(p: float, b: Person) -> dict:
    """Side view: a plank pivoting on the toes (x = 0), hands under the shoulders; p = 1 is the bottom."""
    body = b.torso + b.thigh + b.shin  # toes to neck
    reach = b.upper_arm + b.forearm
    top, bottom = math.asin(min(0.95 * reach / body, 0.9)), math.asin(0.2 * reach / body)
    tilt = top + (bottom - top) * p  # body angle above the floor
    toes = np.array([0.0, 0.02])
    along = np.array([-math.cos(tilt), math.sin(tilt)])  # from the toes toward the head (to the left)
    j = {"ankle_l": toes, "ankle_r": toes}
    j["knee_l"] = j["knee_r"] = toes + b.shin * along
    j["hip_l"] = j["hip_r"] = j["pelvis"] = toes + (b.shin + b.thigh) * along
    j["neck"] = toes + body * along
    j["head"] = j["neck"] + (b.neck + b.head) * along
    j["shoulder_l"] = j["shoulder_r"] = j["neck"] - 0.02 * along
    hand = np.array([j["neck"][0] - 0.01, 0.0])
    for side in "lr":
        j[f"elbow_{side}"], j[f"wrist_{side}"] = _two_link(j[f"shoulder_{side}"], hand, b.upper_arm, b.forearm, bend=1.0)
    return j


def pull_up(p: float, b: Person) -> dict:
    """Front view: hands fixed on a bar overhead (y = bar), the body rises by most of the arm length."""
    reach = b.upper_arm + b.forearm
    bar = b.shin + b.thigh + b.torso + 0.95 * reach + 0.05
    neck_y = bar - 0.95 * reach + 0.75 * reach * p
    neck = np.array([0.0, neck_y])
    pelvis = neck - [0, b.torso]
    j = {"neck": neck, "pelvis": pelvis, "head": neck + [0, b.neck + b.head]}
    for side, sign in (("l", -1), ("r", 1)):
        shoulder = neck + [sign * b.shoulders, -0.02]
        j[f"shoulder_{side}"] = shoulder
        j[f"elbow_{side}"], j[f"wrist_{side}"] = _two_link(shoulder, np.array([sign * 1.6 * b.shoulders, bar]),
                                                          b.upper_arm, b.forearm, bend=-sign)
        hip = pelvis + [sign * b.hips, 0]
        j[f"hip_{side}"] = hip
        j[f"knee_{side}"], j[f"ankle_{side}"] = _chain(hip, (math.pi - sign * 0.05, math.pi + 0.6 * sign * 0.1), (b.thigh, b.shin))
    j["bar"] = np.array([bar])
    return j


def sit_up(p: float, b: Person) -> dict:
    """Side view: lying on the floor, knees up, feet fixed; the torso rises from flat to ~75 degrees."""
    seat = np.array([0.0, 0.03])
    feet = seat + [b.thigh * 1.25, 0.0]
    knee, _ = _two_link(seat, feet, b.thigh, b.shin, bend=1.0)
    rise = 1.3 * p
    along = np.array([-math.cos(rise), math.sin(rise)])
    neck = seat + b.torso * along
    j = {"pelvis": seat, "hip_l": seat, "hip_r": seat, "knee_l": knee, "knee_r": knee, "ankle_l": feet, "ankle_r": feet,
         "neck": neck, "head": neck + (b.neck + b.head) * along}
    j["shoulder_l"] = j["shoulder_r"] = neck - 0.02 * along
    hands = neck + 0.06 * along + 0.07 * np.array([-along[1], -along[0]])  # hands behind the head
    for side in "lr":
        j[f"elbow_{side}"], j[f"wrist_{side}"] = _two_link(j[f"shoulder_{side}"], hands, b.upper_arm, b.forearm, bend=1.0)
    return j


def bench_press(p: float, b: Person) -> dict:
    """Side view: lying on a bench (torso horizontal at bench height), pushing a bar straight up."""
    bench = 0.22
    pelvis = np.array([0.0, bench + 0.03])
    neck = pelvis + [-b.torso, 0.0]
    j = {"pelvis": pelvis, "hip_l": pelvis, "hip_r": pelvis, "neck": neck, "head": neck + [-(b.neck + b.head), 0.0]}
    knee = pelvis + [b.thigh * 0.85, -b.thigh * 0.45]
    foot = np.array([knee[0] + 0.04, 0.0])
    j["knee_l"] = j["knee_r"] = knee
    j["ankle_l"] = j["ankle_r"] = foot
    shoulder = neck + [0.03, 0.0]
    j["shoulder_l"] = j["shoulder_r"] = shoulder
    reach = b.upper_arm + b.forearm
    hand = shoulder + [0.0, 0.12 * reach + 0.85 * reach * p]
    for side in "lr":
        j[f"elbow_{side}"], j[f"wrist_{side}"] = _two_link(shoulder, hand, b.upper_arm, b.forearm, bend=-1.0)
    j["bench"] = np.array([bench])
    return j


# name -> (pose function, view, props drawn with the body, typical seconds per repetition)
EXERCISES = {
    "squat": (squat, "side", (), 2.0),
    "jumping_jack": (jumping_jack, "front", (), 0.9),
    "bicep_curl": (bicep_curl, "side", ("dumbbell",), 1.8),
    "front_raise": (front_raise, "side", ("dumbbell",), 2.2),
    "push_up": (push_up, "side", (), 1.5),
    "pull_up": (pull_up, "front", ("bar",), 2.4),
    "sit_up": (sit_up, "side", (), 2.0),
    "bench_press": (bench_press, "side", ("bench", "barbell"), 2.0),
}


def progress_profile(u: float, rise: float, hold_far: float, hold_rest: float) -> float:
    """Progress p in 0..1 at the share u of one repetition: an eased move out over `rise` of it, a
    hold at the far end (`hold_far`), an eased return, and a hold at rest at the end (`hold_rest`)."""
    back = 1.0 - rise - hold_far - hold_rest
    if u < rise:
        x = u / rise
    elif u < rise + hold_far:
        return 1.0
    elif u < rise + hold_far + back:
        x = 1.0 - (u - rise - hold_far) / back
    else:
        return 0.0
    return 0.5 - 0.5 * math.cos(math.pi * x)
