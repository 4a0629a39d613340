"""What a video shows and what one repetition is, per action: the first line of every CoT.

Two sets of descriptions, because the same action name means different pictures:
- synthetic (``actrep synth``'s actions, drawn by ``actrep.synth.families``: stick figures, a bouncing ball...);
- real (RepCount-A's classes): people in real footage.
A real squat video must never be described as "a stick-figure person", so the synthetic set is used
only for videos that ``actrep synth`` rendered (``is_synthetic_video``); everything else gets the
real set, and unknown actions a generic description.

Lookup normalises the name: case, spaces/underscores/hyphens and a plural ``s``/``es`` are ignored,
and known spellings of RepCount's annotations are aliased (``squant`` -> squat, ``jump_jack`` ->
jumping jack), so ``Push-Ups``, ``pushups`` and ``push_up`` find the same entry.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

from actrep.prompts import action_text


@dataclass(frozen=True)
class Description:
    scene: str  # completes "The video shows ..." (lower case, no final period)
    definition: str  # completes "One repetition of <name> is ..."
    name: str  # how the action is called in the sentence
    # One repetition is a one-way move that the next repetition mirrors (there, then back: a box carried
    # from one platform to the other): the picture repeats only every two repetitions. The training-free
    # counter counts two repetitions per visual period for such actions where the video confirms the
    # mirror (docs/periodicity.md, "Alternating actions"). A full swing of a pendulum is mirror-symmetric
    # too, but its repetition is the whole cycle: not alternating.
    alternating: bool = False

    def sentence(self) -> str:
        return f"The video shows {self.scene}. One repetition of {self.name} is {self.definition}."


# canonical key -> (name, scene, definition); keys are normalised names (see _key)
_REAL: dict[str, tuple[str, str, str]] = {
    "squat": ("squat", "a person doing squats",
              "going from standing upright down into a squat, hips back and knees bent, and back up to standing"),
    "pushup": ("push-up", "a person doing push-ups",
               "lowering the straight body from the arms-extended plank until the chest is near the floor and pushing back up to the plank"),
    "pullup": ("pull-up", "a person doing pull-ups on a bar",
               "pulling the body up from a straight-arm hang until the chin is over the bar and lowering it back down to the hang"),
    "situp": ("sit-up", "a person doing sit-ups",
              "raising the upper body from lying on the back up towards the knees and lowering it back down"),
    "jumpingjack": ("jumping jack", "a person doing jumping jacks",
                    "jumping from feet together and arms down to feet apart and arms overhead and back to feet together and arms down"),
    "benchpress": ("bench press", "a person lying on a bench and pressing a barbell",
                   "lowering the bar from straight arms down to the chest and pressing it back up until the arms are straight"),
    "frontraise": ("front raise", "a person doing front raises with weights",
                   "raising the weight with straight arms from the thighs forward up to about shoulder height and lowering it back down"),
    "pommelhorse": ("pommel horse circle", "a gymnast swinging on a pommel horse",
                    "one full circle of the legs around the pommel horse, back to where it started"),
    "battlerope": ("battle rope wave", "a person swinging heavy battle ropes",
                   "one wave: the arms lift the rope ends and slam them back down"),
    "other": ("the movement", "a person repeating one movement over and over",
              "one full cycle of the movement, from its starting position back to the same position"),
}

# `actrep synth`'s actions (actrep.synth.families draws them): action -> (scene, definition)
SYNTHETIC: dict[str, tuple[str, str]] = {
    "squat": ("a stick-figure person, seen from the side, doing squats",
             "going from standing upright down into the lowest squat position (hips back, knees bent) and back up to standing"),
    "jumping_jack": ("a stick-figure person, seen from the front, doing jumping jacks",
                    "going from arms down and feet together to arms overhead and feet apart and back to arms down and feet together"),
    "arm_curl": ("a stick-figure person, seen from the side, curling a dumbbell",
                "raising the dumbbell from the straight, hanging arm up to the shoulder by bending the elbow and lowering it back until the arm is straight"),
    "push_up": ("a stick-figure person, seen from the side, doing push-ups",
               "lowering the straight body from the arms-extended plank until the chest is near the floor and pushing back up to the plank"),
    "bouncing_ball": ("a ball bouncing on the floor",
                     "one bounce: the ball leaves the floor, rises to its highest point and falls back until it touches the floor"),
    "pendulum": ("a pendulum hanging from a stand and swinging",
                "one full swing cycle: the bob leaves its lowest point, swings out to one side, crosses over to the other side and returns to hang at its lowest point"),
    "box_transfer": ("an overhead crane carrying a box back and forth between two platforms",
                    "one move of the box from one platform to the other: the crane lifts it, carries it across and sets it down"),
    "wheel_turn": ("a spoked wheel on a stand with a coloured marker on its rim, turning",
                  "one full turn of the wheel: the coloured marker on the rim leaves its starting angle, goes once around and stops at the same angle"),
}

# Synthetic actions whose repetition is a one-way move mirrored by the next one (Description.alternating).
# No RepCount-A class is: as defined in _REAL, each of their repetitions returns to where it started
# (down and up, out and back, one both-arm rope wave, one full circle), so the picture repeats every
# repetition. An action counted per side (alternating lunges, side shuffles, single-arm rope waves)
# would be, once it is given a description here.
ALTERNATING = frozenset({"box_transfer"})

# spellings found in RepCount-A's annotations (``squant`` is a typo there)
_ALIASES = {"squant": "squat", "jumpjack": "jumpingjack", "benchpressing": "benchpress"}

_GENERIC_DEFINITION = "one full cycle of the movement, from its starting position back to the same position"


def _key(action: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(action).lower())


def _lookup(action: str, table) -> str | None:
    """The table key for an action name: exact, aliased, or without a plural s/es."""
    key = _key(action)
    for candidate in (key, key[:-1] if key.endswith("s") else None, key[:-2] if key.endswith("es") else None):
        if candidate:
            candidate = _ALIASES.get(candidate, candidate)
            if candidate in table:
                return candidate
    return None


@functools.lru_cache(maxsize=1)
def _synthetic() -> dict[str, Description]:
    return {_key(a): Description(scene, definition, action_text(a), a in ALTERNATING)
            for a, (scene, definition) in SYNTHETIC.items()}


def describe(action: str, synthetic: bool = False) -> Description:
    """Scene, repetition definition and name of an action; `synthetic` selects the `actrep synth` set."""
    if synthetic:
        key = _lookup(action, _synthetic())
        if key:
            return _synthetic()[key]
    key = _lookup(action, _REAL)
    if key:
        name, scene, definition = _REAL[key]
        return Description(scene, definition, name)
    name = action_text(action)
    return Description(f"repeated {name}", _GENERIC_DEFINITION, name)


@functools.lru_cache(maxsize=None)
def _rendered_by_synth(root: Path) -> bool:
    try:
        return json.loads((root / "meta" / "config.json").read_text(encoding="utf-8")).get("generator") == "actrep synth"
    except (OSError, ValueError, AttributeError):
        return False


def is_synthetic_video(path: str | Path | None) -> bool:
    """True for a video inside a dataset written by `actrep synth` (DATA/video/<split>/<name>, DATA/meta/config.json)."""
    if path is None:
        return False
    parents = Path(path).resolve().parents
    return len(parents) >= 3 and _rendered_by_synth(parents[2])


def is_alternating(action: str | None, video_path: str | Path | None) -> bool:
    """Whether the counters should count one repetition per one-way move of `action` in this video
    (`Description.alternating`; the synthetic set applies only to videos `actrep synth` rendered)."""
    return bool(action) and describe(action, is_synthetic_video(video_path)).alternating
