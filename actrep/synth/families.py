"""The motion families: one named action each, with its appearance and what one repetition is.

``REP_DEFINITIONS[action]`` completes "One repetition of <action> is ..." and
``SCENE_DESCRIPTIONS[action]`` completes "The video shows ..." (lower case, no final period); their
text lives with every other action's in actrep.descriptions, where the CoT builder reads it.
``FAMILIES[action]`` samples the per-video motion/appearance knobs and
draws the subject for a repetition index ``k`` and a progress ``u`` in [0, 1] through it (u=0 and
u=1 are the rest pose, so every boundary frame shows the subject at rest).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np

from actrep.descriptions import SYNTHETIC
from actrep.synth import figures, objects
from actrep.synth.prims import Geo


@dataclass(frozen=True)
class Family:
    action: str
    category: str  # "figure" (articulated stick figure) or "object"
    sample: Callable[[np.random.Generator], dict]
    draw: Callable[[np.ndarray, int, float, float, dict, Geo], None]
    unit: float  # subject size in frame heights at scale 1.0


_FAMILIES = [
    Family("squat", "figure", partial(figures.sample_exercise, "squat"), partial(figures.draw, "squat"), 0.62),
    Family("jumping_jack", "figure", partial(figures.sample_exercise, "jumping_jack"), partial(figures.draw, "jumping_jack"), 0.55),
    Family("arm_curl", "figure", partial(figures.sample_exercise, "arm_curl"), partial(figures.draw, "arm_curl"), 0.62),
    Family("push_up", "figure", partial(figures.sample_exercise, "push_up"), partial(figures.draw, "push_up"), 0.8),
    Family("bouncing_ball", "object", objects.sample_ball, objects.draw_ball, 0.7),
    Family("pendulum", "object", objects.sample_pendulum, objects.draw_pendulum, 0.75),
    Family("box_transfer", "object", objects.sample_box, objects.draw_box, 0.7),
    Family("wheel_turn", "object", objects.sample_wheel, objects.draw_wheel, 0.75),
]

FAMILIES: dict[str, Family] = {f.action: f for f in _FAMILIES}
ACTIONS: tuple[str, ...] = tuple(FAMILIES)
REP_DEFINITIONS: dict[str, str] = {action: SYNTHETIC[action][1] for action in FAMILIES}
SCENE_DESCRIPTIONS: dict[str, str] = {action: SYNTHETIC[action][0] for action in FAMILIES}
