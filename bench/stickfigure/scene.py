"""One stick-figure clip: a person doing an exercise in a scene, drawn frame by frame with OpenCV.

`sample_clip(rng, preset, exercise)` draws every random choice of a clip into a `ClipSpec` (plain
data, saved next to the video); `render(spec)` turns it into frames and the per-repetition frame
boundaries. Presets:

- easy: a plain wall and floor, a still camera, a steady tempo (+-8 %), no pauses or distractors.
- hard: a textured wall; tempo jitter (+-25 %), pauses, holds at the far end of a movement and
  uneven amplitude; often a swinging pendulum at another frequency, a spinning fan, a person or
  panel passing in front, camera pan, zoom and shake (random or a periodic handheld bob),
  flicker and sensor noise.
- none: no repetition at all (count 0): a person standing still, a noisy static picture, a slow
  camera drift, or camera shake alone. A counter should answer 0 or say it is unsure.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import cv2
import numpy as np

from bench.stickfigure.body import BONES, EXERCISES, Person, progress_profile

NEGATIVES = ("static", "noise", "drift", "shake")


@dataclass
class ClipSpec:
    exercise: str  # a key of EXERCISES, or "none:<kind>" for a clip without repetitions
    preset: str
    fps: float
    width: int
    height: int
    seed: int
    person: dict  # Person proportions
    scale: float  # pixels per body unit
    origin: tuple[float, float]  # floor point under the body's x = 0, pixels
    segments: list[tuple[str, float, float]]  # ("idle" | "rep" | "pause", seconds, amplitude)
    rise: float  # share of a repetition spent moving out
    hold_far: float  # share held at the far end
    hold_rest: float  # share held at rest at its end
    colours: dict
    background: dict
    pendulum: dict | None = None  # pivot, length, amplitude, hz, phase
    fan: dict | None = None
    occluder: dict | None = None
    camera: dict = field(default_factory=dict)
    noise: float = 1.0
    flicker: float = 0.0

    @property
    def count(self) -> int:
        return sum(1 for kind, _, _ in self.segments if kind == "rep")

    @property
    def duration(self) -> float:
        return sum(seconds for _, seconds, _ in self.segments)

    def to_json(self) -> dict:
        return asdict(self)


def _colour(rng) -> list[int]:
    return [int(c) for c in rng.integers(30, 230, 3)]


def _timeline(rng, preset: str, period: float, count: int) -> list[tuple[str, float, float]]:
    hard = preset == "hard"
    segments = [("idle", float(rng.uniform(0.4, 2.5 if hard else 1.5)), 0.0)]
    pauses = set(rng.choice(np.arange(1, count), size=min(count - 1, int(rng.integers(1, 3))), replace=False).tolist()) \
        if hard and count > 2 and rng.random() < 0.4 else set()
    tempo = 1.0
    for k in range(count):
        if hard:  # the tempo wanders, and each repetition jitters around it
            tempo = float(np.clip(tempo * rng.uniform(0.92, 1.08), 0.75, 1.3))
        jitter = rng.uniform(0.8, 1.2) if hard else rng.uniform(0.95, 1.05)
        segments.append(("rep", float(period * tempo * jitter), float(rng.uniform(0.8, 1.05) if hard else 1.0)))
        if k + 1 in pauses:
            segments.append(("pause", float(rng.uniform(0.6, 2.5)), 0.0))
    segments.append(("idle", float(rng.uniform(0.4, 2.0)), 0.0))
    return segments


def sample_clip(rng: np.random.Generator, preset: str, exercise: str, seed: int = 0, max_count: int = 25) -> ClipSpec:
    """Every random choice of one clip (1 to `max_count` repetitions, fewer when they would last over
    55 s). `exercise` "none:<kind>" makes a clip without repetitions."""
    hard, negative = preset == "hard", exercise.startswith("none:")
    width, height = [(320, 240), (480, 360), (640, 360), (400, 400)][int(rng.integers(0, 4))]
    fps = float(rng.choice([15.0, 24.0, 25.0, 30.0]))
    name = "squat" if negative else exercise
    _, view, _, period = EXERCISES[name]
    period *= float(rng.uniform(0.7, 1.5) if hard else rng.uniform(0.8, 1.25))
    lying = name in ("push_up", "sit_up", "bench_press")
    small = 0.3 if hard else 0.45  # a hard clip's person may be small in the frame
    scale = float(rng.uniform(small, 0.75) * (height if not lying else min(width, 1.6 * height) * 0.9))
    floor = float(rng.uniform(0.86, 0.94) * height)
    x0 = float(width * rng.uniform(0.4, 0.6) + (0.35 * scale if lying else 0.0))
    count = 0 if negative else min(int(rng.integers(1, max_count + 1)), max(1, int(55 / period)))
    segments = _timeline(rng, preset, period, count) if count else [("idle", float(rng.uniform(6, 20)), 0.0)]
    spec = ClipSpec(
        exercise=exercise, preset=preset, fps=fps, width=width, height=height, seed=seed,
        person=vars(Person.random(rng)), scale=scale, origin=(x0, floor), segments=segments,
        rise=float(rng.uniform(0.3, 0.55)), hold_far=float(rng.uniform(0.1, 0.3)) if hard and rng.random() < 0.4 else 0.0,
        hold_rest=float(rng.uniform(0.0, 0.2)) if hard else 0.05,
        colours={"top": _colour(rng), "bottom": _colour(rng), "skin": [int(c) for c in rng.integers(90, 220, 3)],
                 "prop": _colour(rng)},
        background={"kind": str(rng.choice(["blobs", "tiles", "stripes"])) if hard or negative else "plain",
                    "wall": _colour(rng), "floor": _colour(rng), "seed": int(rng.integers(1 << 30))},
        noise=float(rng.uniform(2.0, 6.0) if hard else rng.uniform(0.5, 2.0)),
    )
    if hard:
        action_hz = 1.0 / period
        if rng.random() < 0.5:  # never near the action's frequency or its double
            ratio = float(rng.choice([rng.uniform(0.3, 0.7), rng.uniform(1.4, 1.8), rng.uniform(2.3, 3.2)]))
            side = 1 if x0 < width / 2 else -1
            spec.pendulum = {"pivot": (width * (0.5 + side * rng.uniform(0.25, 0.4)), height * rng.uniform(0.05, 0.2)),
                             "length": float(height * rng.uniform(0.15, 0.4)), "amplitude": float(rng.uniform(0.3, 0.7)),
                             "hz": action_hz * ratio, "phase": float(rng.uniform(0, 2 * math.pi)), "colour": _colour(rng),
                             "bob": float(rng.uniform(0.1, 0.22))}
        if rng.random() < 0.2:
            spec.fan = {"centre": (width * rng.choice([0.12, 0.88]), height * rng.uniform(0.15, 0.4)),
                        "radius": float(height * rng.uniform(0.05, 0.09)), "hz": float(rng.uniform(0.3, 1.5)), "colour": _colour(rng)}
        if rng.random() < 0.35:
            spec.occluder = {"start": float(rng.uniform(0, max(0.1, spec.duration - 3))), "seconds": float(rng.uniform(2, 5)),
                             "height": float(height * rng.uniform(0.5, 0.95)), "width": float(width * rng.uniform(0.08, 0.2)),
                             "leftward": bool(rng.random() < 0.5), "colour": _colour(rng), "person": bool(rng.random() < 0.5)}
        spec.camera = _camera(rng, width, height)
        spec.flicker = float(rng.uniform(0, 0.06)) if rng.random() < 0.3 else 0.0
    elif negative:
        kind = exercise.split(":", 1)[1]
        spec.noise = float(rng.uniform(8, 16)) if kind == "noise" else spec.noise
        if kind == "drift":
            spec.camera = {"pan": float(width * rng.uniform(0.05, 0.15)), "pan_s": float(rng.uniform(15, 40)), "zoom": 0.1}
        if kind == "shake":
            spec.camera = {"shake": float(rng.uniform(1.5, 4)), "bob_hz": float(rng.choice([0.0, rng.uniform(1.2, 2.5)]))}
    return spec


def _camera(rng, width: int, height: int) -> dict:
    camera = {}
    if rng.random() < 0.4:
        camera.update(pan=float(width * rng.uniform(0.03, 0.12)), pan_s=float(rng.uniform(8, 30)))
    if rng.random() < 0.3:
        camera["zoom"] = float(rng.uniform(0.05, 0.2))
    if rng.random() < 0.5:
        camera.update(shake=float(rng.uniform(0.8, 5.0)), bob_hz=float(rng.choice([0.0, rng.uniform(1.2, 2.5)])))
    return camera


# ------------------------------------------------------------------------------------- drawing


def _background(spec: ClipSpec) -> np.ndarray:
    """The wall and floor, 1.5x the frame so the camera can move and zoom over it (RGB uint8)."""
    rng = np.random.default_rng(spec.background["seed"])
    h, w = int(spec.height * 1.5), int(spec.width * 1.5)
    wall, floor = np.array(spec.background["wall"], np.float32), np.array(spec.background["floor"], np.float32)
    image = np.empty((h, w, 3), np.float32)
    image[:] = wall
    kind = spec.background["kind"]
    if kind == "blobs":
        blobs = cv2.GaussianBlur(rng.normal(0, 1, (h // 8, w // 8, 3)).astype(np.float32), (0, 0), 1.5)
        image += 60 * cv2.resize(blobs, (w, h), interpolation=cv2.INTER_CUBIC)
    elif kind == "tiles":
        size = int(rng.integers(14, 40))
        image[::size] *= 0.6
        image[:, ::size] *= 0.6
        image += rng.normal(0, 12, (h // size + 1, w // size + 1, 1)).repeat(size, 0).repeat(size, 1)[:h, :w]
    elif kind == "stripes":
        period, angle = rng.uniform(10, 40), rng.uniform(0, math.pi)
        ys, xs = np.mgrid[0:h, 0:w]
        image += (35 * np.sin(2 * math.pi * (xs * math.cos(angle) + ys * math.sin(angle)) / period))[..., None]
    top = int(spec.height * 0.25 + spec.origin[1])  # the floor starts at the person's feet (in the big image)
    image[top:] = floor + (image[top:] - wall) * 0.5
    return np.clip(image, 0, 255).astype(np.uint8)


def _camera_matrix(spec: ClipSpec, t: float, shake: np.ndarray) -> np.ndarray:
    """2x3 map from world pixels (frame at rest) to this frame's pixels."""
    c = spec.camera
    zoom = 1.0 + c.get("zoom", 0.0) * 0.5 * (1 - math.cos(math.pi * min(t / max(spec.duration, 1e-6), 1.0)))
    dx = c.get("pan", 0.0) * math.sin(2 * math.pi * t / c["pan_s"]) if "pan" in c else 0.0
    bob = c.get("shake", 0.0) * math.sin(2 * math.pi * c.get("bob_hz", 0.0) * t) if c.get("bob_hz") else 0.0
    dx, dy = dx + shake[0], bob + shake[1]
    cx, cy = spec.width / 2, spec.height / 2
    return np.array([[zoom, 0, (1 - zoom) * cx + dx], [0, zoom, (1 - zoom) * cy + dy]])


def _pose(spec: ClipSpec, t: float, sway: np.ndarray) -> dict:
    """Joint positions (world pixels) at time t, and the repetition progress."""
    fn = EXERCISES["squat" if spec.exercise.startswith("none:") else spec.exercise][0]
    p, start = 0.0, 0.0
    for kind, seconds, amplitude in spec.segments:
        if t < start + seconds:
            if kind == "rep":
                p = amplitude * progress_profile((t - start) / seconds, spec.rise, spec.hold_far, spec.hold_rest)
            break
        start += seconds
    joints = fn(p, Person(**spec.person))
    x0, floor = spec.origin
    return {k: np.array([x0 + spec.scale * v[0] + sway[0], floor - spec.scale * v[1] + sway[1]]) if len(v) == 2 else v
            for k, v in joints.items()}


def _draw_person(img, spec: ClipSpec, j: dict, M: np.ndarray) -> None:
    zoom = M[0, 0]
    to = lambda pt: tuple(int(round(v)) for v in M[:, :2] @ pt + M[:, 2])  # noqa: E731
    limb = max(2, int(round(0.045 * spec.scale * zoom)))
    colours = spec.colours
    props = EXERCISES["squat" if spec.exercise.startswith("none:") else spec.exercise][2]
    x0, floor = spec.origin
    if "bench" in props:
        top = floor - spec.scale * float(j["bench"][0])
        cv2.rectangle(img, to((x0 - 0.45 * spec.scale, top)), to((x0 + 0.15 * spec.scale, top + 0.05 * spec.scale)), colours["prop"], -1)
        cv2.line(img, to((x0 - 0.35 * spec.scale, top)), to((x0 - 0.35 * spec.scale, floor)), colours["prop"], limb)
    if "bar" in props:
        y = floor - spec.scale * float(j["bar"][0])
        cv2.line(img, to((x0 - 0.5 * spec.scale, y)), to((x0 + 0.5 * spec.scale, y)), (70, 70, 70), max(2, limb // 2))
    for a, b in BONES:
        far = a.endswith("_l") and b.endswith("_l")
        colour = colours["bottom"] if a.startswith(("hip", "knee")) else colours["top"]
        if far and a != "shoulder_l":
            colour = [int(c * 0.7) for c in colour]
        width = int(limb * 1.6) if (a, b) == ("neck", "pelvis") else limb
        cv2.line(img, to(j[a]), to(j[b]), colour, width, cv2.LINE_AA)
    cv2.circle(img, to(j["head"]), max(3, int(Person(**spec.person).head * spec.scale * zoom)), colours["skin"], -1, cv2.LINE_AA)
    for side in "lr":
        wrist = j[f"wrist_{side}"]
        if "dumbbell" in props:
            cv2.circle(img, to(wrist), int(limb * 1.3), colours["prop"], -1, cv2.LINE_AA)
        if "barbell" in props and side == "r":  # the bar end-on: a plate at the hands
            cv2.circle(img, to(wrist), int(limb * 1.6), colours["prop"], -1, cv2.LINE_AA)


def _draw_distractors(img, spec: ClipSpec, t: float, M: np.ndarray, front: bool) -> None:
    to = lambda pt: tuple(int(round(v)) for v in M[:, :2] @ np.asarray(pt, float) + M[:, 2])  # noqa: E731
    if not front and spec.pendulum:
        d = spec.pendulum
        angle = d["amplitude"] * math.sin(2 * math.pi * d["hz"] * t + d["phase"])
        pivot = np.array(d["pivot"], float)
        bob = pivot + d["length"] * np.array([math.sin(angle), math.cos(angle)])
        cv2.line(img, to(pivot), to(bob), d["colour"], 2, cv2.LINE_AA)
        cv2.circle(img, to(bob), max(3, int(d.get("bob", 0.15) * d["length"])), d["colour"], -1, cv2.LINE_AA)
    if not front and spec.fan:
        d = spec.fan
        centre = np.array(d["centre"], float)
        for k in range(3):
            a = 2 * math.pi * (d["hz"] * t + k / 3)
            cv2.line(img, to(centre), to(centre + d["radius"] * np.array([math.cos(a), math.sin(a)])), d["colour"], 3, cv2.LINE_AA)
    if front and spec.occluder:
        d = spec.occluder
        u = (t - d["start"]) / d["seconds"]
        if 0 <= u <= 1:
            x = spec.width * (1.2 - 1.4 * u if d["leftward"] else -0.2 + 1.4 * u)
            bottom = spec.origin[1] + 0.05 * spec.height
            top = bottom - d["height"]
            cv2.rectangle(img, to((x - d["width"] / 2, top + (0.2 * d["width"] if d["person"] else 0))),
                          to((x + d["width"] / 2, bottom)), d["colour"], -1)
            if d["person"]:
                cv2.circle(img, to((x, top)), int(0.3 * d["width"]), d["colour"], -1)


def render(spec: ClipSpec):
    """Yield the clip's frames (uint8 RGB, height x width x 3) in order."""
    rng = np.random.default_rng(spec.seed)
    background = _background(spec)
    n = int(round(spec.duration * spec.fps))
    shake_amp = spec.camera.get("shake", 0.0) if not spec.camera.get("bob_hz") else 0.3 * spec.camera.get("shake", 0.0)
    shakes = cv2.GaussianBlur(rng.normal(0, 1, (n, 2)).astype(np.float32), (1, 5), 0, sigmaY=1.0) * shake_amp * 1.5
    hard = spec.preset != "easy"
    sway = cv2.GaussianBlur(rng.normal(0, 1, (n, 2)).astype(np.float32), (1, 0), 0, sigmaY=spec.fps) \
        * (0.02 * spec.scale if hard else 0.005 * spec.scale) * math.sqrt(spec.fps)
    off = np.array([(background.shape[1] - spec.width) / 2, (background.shape[0] - spec.height) / 2])
    for i in range(n):
        t = i / spec.fps
        M = _camera_matrix(spec, t, shakes[i])
        # The background image is 1.5x the frame, centred: frame pixel q shows background M^-1(q) + off.
        B = M.copy()
        B[:, 2] -= M[:, :2] @ off
        frame = cv2.warpAffine(background, B, (spec.width, spec.height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        _draw_distractors(frame, spec, t, M, front=False)
        _draw_person(frame, spec, _pose(spec, t, sway[i]), M)
        _draw_distractors(frame, spec, t, M, front=True)
        gain = 1.0 + spec.flicker * math.sin(2 * math.pi * 0.37 * t) * rng.uniform(0.5, 1.0)
        noisy = frame.astype(np.float32) * gain + spec.noise * rng.standard_normal(frame.shape, dtype=np.float32)
        yield np.clip(noisy, 0, 255).astype(np.uint8)


def boundaries(spec: ClipSpec) -> list[tuple[int, int]]:
    """(first, last) frame of every repetition, RepCount-A style (a repetition ending where the
    next one starts shares its boundary frame)."""
    out, start = [], 0.0
    for kind, seconds, _ in spec.segments:
        if kind == "rep":
            out.append((int(round(start * spec.fps)), int(round((start + seconds) * spec.fps))))
        start += seconds
    n = int(round(spec.duration * spec.fps))
    return [(a, min(b, n - 1)) for a, b in out]
