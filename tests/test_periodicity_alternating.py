"""Alternating actions in the periodicity counter (docs/periodicity.md, "Alternating actions"): an
action whose repetition is a one-way move mirrored by the next (synth's box_transfer: one carry from
one platform to the other) is counted per carry when the counter is told the action and the picture
confirms the mirror; the rule is opt-in per action (a pendulum, mirror-symmetric too, is never halved)
and only confirms (a squat labelled box_transfer is not halved). Clips rendered by `actrep synth`."""

from __future__ import annotations

import json

import pytest

from actrep.cli import main
from actrep.descriptions import describe, is_alternating
from actrep.manifest import load_samples
from actrep.periodicity import count_video


@pytest.fixture(scope="module")
def synth_clips(tmp_path_factory):
    """Four easy clips, 4-8 repetitions, ~10 s at 8 fps: box transfers of 8 and 4 carries whose visual
    period the counter finds as a round trip (two carries), a pendulum and a squat."""
    root = tmp_path_factory.mktemp("alternating") / "synth"
    assert main(["synth", "--out", str(root), "--n", "4", "--seed", "1", "--preset", "easy", "--families", "box_transfer",
                 "pendulum", "squat", "--min_count", "4", "--max_count", "8", "--splits", "test=1", "--workers", "1",
                 "--quiet"]) == 0
    return root, {s.video_id: s for s in load_samples(root)}


def test_the_property_belongs_to_the_action():
    assert describe("box_transfer", synthetic=True).alternating
    assert not describe("pendulum", synthetic=True).alternating  # one repetition is the whole swing cycle
    for action in ("squat", "push_up", "jumping_jack", "battle_rope", "pommelhorse", "rope skipping"):
        assert not describe(action).alternating and not describe(action, synthetic=True).alternating


def test_box_transfer_counted_per_carry_with_the_action_and_per_round_trip_without(synth_clips):
    _, samples = synth_clips
    for name in ("box_transfer_00000.mp4", "box_transfer_00003.mp4"):
        sample = samples[name]
        plain = count_video(sample.video_path)
        told = count_video(sample.video_path, alternating=True)
        assert plain.count * 2 == told.count == sample.count, (name, plain.count, told.count, sample.count)
        assert told.debug["mirror"]["verdict"] == "halves" and not told.uncertain
        # each carry its own interval: every round trip found, split at its middle
        assert len(told.intervals) == told.count
        assert [told.intervals[2 * i][0] for i in range(plain.count)] == [s for s, _ in plain.intervals]
        assert [told.intervals[2 * i + 1][1] for i in range(plain.count)] == [e for _, e in plain.intervals]
        truth = sample.intervals_seconds(8.0)  # the k-th interval found lies in the k-th carry
        assert all(a <= (s + e) / 2 <= b for (s, e), (a, b) in zip(told.intervals, truth))
        # a count given is never changed, told or not
        fixed = count_video(sample.video_path, count=sample.count, alternating=True)
        assert fixed.count == len(fixed.intervals) == sample.count
        assert fixed.intervals == count_video(sample.video_path, count=sample.count).intervals


def test_pendulum_is_not_halved_and_a_squat_labelled_box_transfer_is_not_either(synth_clips):
    _, samples = synth_clips
    pendulum = samples["pendulum_00001.mp4"]
    assert count_video(pendulum.video_path).count == pendulum.count
    squat = samples["squat_00002.mp4"]
    plain = count_video(squat.video_path)
    mislabelled = count_video(squat.video_path, alternating=True)  # as if told "box_transfer"
    assert mislabelled.count == plain.count == squat.count
    assert mislabelled.debug["mirror"]["verdict"] == "unresolved"
    assert mislabelled.uncertain and mislabelled.confidence <= 0.5 and not plain.uncertain


def _counted(capsys, *argv) -> int:
    assert main(["count", *argv, "--json", "--quiet", "--no_timeline"]) == 0
    (record,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return record["count"]


def test_actrep_count_and_eval_pass_the_action_on(synth_clips, tmp_path, capsys):
    root, samples = synth_clips
    box, pendulum = samples["box_transfer_00000.mp4"], samples["pendulum_00001.mp4"]
    assert _counted(capsys, str(box.video_path)) == box.count // 2  # no action: unchanged behaviour
    assert _counted(capsys, str(box.video_path), "--action", "box_transfer") == box.count
    assert _counted(capsys, str(pendulum.video_path), "--action", "pendulum") == _counted(capsys, str(pendulum.video_path))
    squat = samples["squat_00002.mp4"]  # labelled box_transfer: the picture does not mirror, not halved
    assert _counted(capsys, str(squat.video_path), "--action", "box_transfer") == squat.count

    assert main(["eval", "--baseline", "periodicity", "--data", str(root), "--out", str(tmp_path / "eval")]) == 0
    rows = [json.loads(line) for line in (tmp_path / "eval" / "baseline-periodicity" / "predictions.jsonl").open()]
    assert {r["video_id"]: r["pred"] for r in rows} == {name: s.count for name, s in samples.items()}


def test_is_alternating_needs_the_action_and_a_rendered_video(synth_clips):
    root, samples = synth_clips
    path = samples["box_transfer_00000.mp4"].video_path
    assert is_alternating("box_transfer", path)
    assert not is_alternating("", path) and not is_alternating(None, path)
    assert not is_alternating("pendulum", path)
    assert not is_alternating("box_transfer", "/elsewhere/box_transfer.mp4")  # not rendered by actrep synth: the real set
