"""results/scratch/reward_push.py: the direction each count reward pushes a clip's expected count."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from conftest import cot_text

SCRIPT = Path(__file__).resolve().parents[1] / "results" / "scratch" / "reward_push.py"


@pytest.fixture(scope="module")
def reward_push():
    spec = importlib.util.spec_from_file_location("reward_push", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows(step: int, video: str, truth: int, answers: list[int]) -> list[dict]:
    return [{"step": step, "video_id": video, "count": truth, "completion": cot_text(a)} for a in answers]


def test_every_graded_reward_pushes_towards_the_truth_and_equal_answers_push_nothing(reward_push):
    under = [cot_text(a) for a in (8, 8, 8, 9, 10, 10, 11, 8)]  # truth 10: mostly too low
    over = [cot_text(a) for a in (2, 3, 3, 4, 2, 5, 3, 2)]  # truth 2: mostly too high
    for reward in ("count_hybrid", "count_fixed", "count_linear", "count_exact"):
        assert reward_push.group_push(under, 10, reward) > 0, reward
        assert reward_push.group_push(over, 2, reward) < 0, reward
        assert reward_push.group_push([cot_text(4)] * 8, 3, reward) == 0.0
    # worked value, count_exact + count_format: rewards 2 for the two 10s, 1 otherwise; mean 1.25, std 0.463
    # (unbiased); advantages +1.62 / -0.54; counts minus their mean 9: +1 +1 and -1 -1 -1 0 +2 -1
    assert reward_push.group_push(under, 10, "count_exact") == pytest.approx((2 * 1.6202 + 0.5401 * 2) / 8, abs=1e-3)


def test_groups_split_a_clip_drawn_twice_and_bins_summarise(reward_push, tmp_path):
    rows = _rows(6, "a.mp4", 10, [8] * 4) + _rows(6, "a.mp4", 10, [8, 8, 10, 10]) + _rows(6, "b.mp4", 2, [2, 3, 3, 3])
    path = tmp_path / "completions.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    groups = reward_push.load_groups(path)
    assert [len(g["completions"]) for g in groups] == [4, 4, 4]  # a.mp4's eight rows are two groups of four
    summary = reward_push.summarize(groups, ["count_fixed"], [(1, 5), (6, 12)])
    low, high = summary["bins"]
    assert (low["groups"], high["groups"]) == (1, 2)
    assert low["signed_error"] == pytest.approx(0.75) and high["signed_error"] == pytest.approx(-1.5)
    assert low["rewards"]["count_fixed"]["mean_push"] < 0 < high["rewards"]["count_fixed"]["mean_push"]
    assert high["rewards"]["count_fixed"]["groups_with_signal"] == 0.5  # the all-8 group carries no signal


def test_a_bad_row_is_named(reward_push, tmp_path):
    path = tmp_path / "completions.jsonl"
    path.write_text(json.dumps({"step": 1, "video_id": "a"}) + "\n")
    with pytest.raises(SystemExit, match=r"completions.jsonl:1: not a completions.jsonl row"):
        reward_push.load_groups(path)


def test_eval_bins_name_the_decoder_and_a_runaway_answer_moves_the_mean_not_the_shares(reward_push, tmp_path):
    run = tmp_path / "grpo_sampled_s0"
    run.mkdir()
    rows = [(3, 3), (3, 1), (4, 9), (12, 11), (12, 900), (12, 8), (12, None)]  # (truth, answer)
    run.joinpath("predictions.jsonl").write_text("".join(json.dumps({"count": c, "pred": p}) + "\n" for c, p in rows))
    run.joinpath("metrics.json").write_text(json.dumps({"generation": {"do_sample": True, "temperature": 1.0}}))
    result = reward_push.eval_bins(run, [(1, 5), (11, 20)])
    assert result["decoder"] == "sampled T=1.0"
    low, high = result["bins"]
    assert (low["clips"], low["answers"], high["clips"], high["answers"]) == (3, 3, 4, 3)
    assert (low["under"], low["obo"], low["over"]) == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    assert (high["under"], high["obo"], high["over"]) == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    assert high["median_error"] == -1 and high["signed_error"] == pytest.approx((-1 + 888 - 4) / 3)
    run.joinpath("metrics.json").write_text(json.dumps({"generation": {"do_sample": False}}))
    assert reward_push.eval_bins(run, [(1, 5)])["decoder"] == "greedy"


def test_the_under_count_push_is_not_dominated_by_a_runaway_completion(reward_push):
    # truth 12: five too low, two right, one runaway list; the count push says "down", driven by the runaway
    completions = [cot_text(a) for a in (9, 9, 8, 9, 9, 12, 12, 400)]
    for reward in ("count_hybrid", "count_fixed"):
        assert reward_push.group_push(completions, 12, reward) < 0
        assert reward_push.group_push(completions, 12, reward, "under") < 0  # under-counts made rarer all the same
    assert reward_push.group_push([cot_text(12)] * 8, 12, "count_fixed", "under") == 0.0
