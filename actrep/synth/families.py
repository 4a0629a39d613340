"""The motion families: one named action each, with its appearance and what one repetition is.

``REP_DEFINITIONS[action]`` completes "One repetition of <action> is ..." and
``SCENE_DESCRIPTIONS[action]`` completes "The video shows ..." (lower case, no final period); the
CoT builder imports both. ``FAMILIES[action]`` samples the per-video motion/appearance knobs and
draws the subject for a repetition index ``k`` and a progress ``u`` in [0, 1] through it (u=0 and
u=1 are the rest pose, so every boundary frame shows the subject at rest).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np

from actrep.synth import figures, objects
from actrep.synth.prims import Geo


@dataclass(frozen=True)
class Family:
    action: str
    category: str  # "figure" (articulated stick figure) or "object"
    definition: str
    scene: str
    sample: Callable[[np.random.Generator], dict]
    draw: Callable[[np.ndarray, int, float, float, dict, Geo], None]
    unit: float  # subject size in frame heights at scale 1.0


_FAMILIES = [
    Family("squat", "figure",
           "going from standing upright down into the lowest squat position (hips back, knees bent) and back up to standing",
           "a stick-figure person, seen from the side, doing squats",
           partial(figures.sample_exercise, "squat"), partial(figures.draw, "squat"), 0.62),
    Family("jumping_jack", "figure",
           "going from arms down and feet together to arms overhead and feet apart and back to arms down and feet together",
           "a stick-figure person, seen from the front, doing jumping jacks",
           partial(figures.sample_exercise, "jumping_jack"), partial(figures.draw, "jumping_jack"), 0.55),
    Family("arm_curl", "figure",
           "raising the dumbbell from the straight, hanging arm up to the shoulder by bending the elbow and lowering it back until the arm is straight",
           "a stick-figure person, seen from the side, curling a dumbbell",
           partial(figures.sample_exercise, "arm_curl"), partial(figures.draw, "arm_curl"), 0.62),
    Family("push_up", "figure",
           "lowering the straight body from the arms-extended plank until the chest is near the floor and pushing back up to the plank",
           "a stick-figure person, seen from the side, doing push-ups",
           partial(figures.sample_exercise, "push_up"), partial(figures.draw, "push_up"), 0.8),
    Family("bouncing_ball", "object",
           "one bounce: the ball leaves the floor, rises to its highest point and falls back until it touches the floor",
           "a ball bouncing on the floor",
           objects.sample_ball, objects.draw_ball, 0.7),
    Family("pendulum", "object",
           "one full swing cycle: the bob leaves its lowest point, swings out to one side, crosses over to the other side and returns to hang at its lowest point",
           "a pendulum hanging from a stand and swinging",
           objects.sample_pendulum, objects.draw_pendulum, 0.75),
    Family("box_transfer", "object",
           "one move of the box from one platform to the other: the crane lifts it, carries it across and sets it down",
           "an overhead crane carrying a box back and forth between two platforms",
           objects.sample_box, objects.draw_box, 0.7),
    Family("wheel_turn", "object",
           "one full turn of the wheel: the coloured marker on the rim leaves its starting angle, goes once around and stops at the same angle",
           "a spoked wheel on a stand with a coloured marker on its rim, turning",
           objects.sample_wheel, objects.draw_wheel, 0.75),
]

FAMILIES: dict[str, Family] = {f.action: f for f in _FAMILIES}
ACTIONS: tuple[str, ...] = tuple(FAMILIES)
REP_DEFINITIONS: dict[str, str] = {f.action: f.definition for f in _FAMILIES}
SCENE_DESCRIPTIONS: dict[str, str] = {f.action: f.scene for f in _FAMILIES}
