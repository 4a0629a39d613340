"""The second test source of the periodicity counter (bench/stickfigure): poses, ground truth, dataset."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from bench.stickfigure.body import EXERCISES, Person, progress_profile
from bench.stickfigure.dataset import main as write_dataset
from bench.stickfigure.scene import boundaries, render, sample_clip


@pytest.mark.parametrize("name", list(EXERCISES))
def test_every_exercise_moves_between_rest_and_far_end(name):
    pose, view, _, _ = EXERCISES[name]
    body = Person()
    rest, far = pose(0.0, body), pose(1.0, body)
    for p in np.linspace(0, 1, 11):
        joints = pose(float(p), body)
        assert all(np.isfinite(v).all() for v in joints.values())
        assert min(v[1] for k, v in joints.items() if len(v) == 2) >= -0.05  # nothing sinks into the floor
    moved = max(float(np.linalg.norm(far[k] - rest[k])) for k in rest if len(rest[k]) == 2)
    assert moved > 0.15, (name, view, moved)  # a visible movement, in body units


def test_progress_profile_holds_and_returns():
    values = [progress_profile(u, 0.4, 0.2, 0.1) for u in np.linspace(0, 0.999, 200)]
    assert values[0] == 0.0 and max(values) == 1.0 and values[-1] == 0.0
    assert values[100] == 1.0  # u = 0.5 is inside the hold at the far end


@pytest.mark.parametrize("preset", ["easy", "hard"])
def test_clip_frames_and_boundaries_agree(preset):
    spec = sample_clip(np.random.default_rng(3), preset, "jumping_jack", seed=3, max_count=3)
    frames = list(render(spec))
    assert len(frames) == int(round(spec.duration * spec.fps)) and frames[0].shape == (spec.height, spec.width, 3)
    bounds = boundaries(spec)
    assert len(bounds) == spec.count >= 1
    assert all(0 <= a < b <= len(frames) - 1 for a, b in bounds)
    assert all(b1 <= a2 for (_, b1), (a2, _) in zip(bounds, bounds[1:]))
    again = sample_clip(np.random.default_rng(3), preset, "jumping_jack", seed=3, max_count=3)
    assert again == spec and np.array_equal(next(iter(render(again))), frames[0])  # the seed decides everything


def test_dataset_is_a_repcount_folder(tmp_path):
    from actrep.manifest import load_samples

    assert write_dataset(["--out", str(tmp_path), "--n", "2", "--negatives", "1", "--max_count", "2", "--seed", "5",
                          "--workers", "1"]) == 0
    rows = list(csv.DictReader(open(tmp_path / "test.csv")))
    assert [r["type"] for r in rows] == ["squat", "jumping_jack", "none_static"] and rows[2]["count"] == "0"
    samples = load_samples(tmp_path)
    assert [s.count for s in samples] == [int(r["count"]) for r in rows]
    meta = [json.loads(line) for line in (tmp_path / "meta" / "test.jsonl").read_text().splitlines()]
    assert [m["name"] for m in meta] == [r["name"] for r in rows]
