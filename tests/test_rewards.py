"""Rewards: DESIGN.md reference values, each reward's edge cases, the TRL call convention, weights."""

import math

import pytest

from actrep import rewards as R
from actrep.errors import ActRepError
from actrep.rewards import (
    DEFAULT_REWARD,
    REWARDS,
    count,
    count_fixed,
    count_format,
    count_hybrid,
    count_interval,
    count_exact,
    count_linear,
    parse_reward_spec,
    score,
)

COUNT_REWARDS = [count_hybrid, count, count_linear, count_fixed, count_exact]


def ans(p) -> str:
    return f"<think>\nTotal count: {p}.\n</think>\n<answer>\n{p}\n</answer>"


def one(fn, p, g, **kw):
    return fn([ans(p)], count=[g], **kw)[0]


def test_registry():
    assert list(REWARDS) == ["count_hybrid", "count", "count_linear", "count_fixed", "count_exact", "count_interval", "count_format"]
    assert DEFAULT_REWARD == "count_hybrid"
    for name, fn in REWARDS.items():
        assert fn.__name__ == name  # TRL logs rewards under the function's __name__
        assert fn.__doc__ and fn.__doc__.strip()


# --- count_hybrid ----------------------------------------------------------------------------------


@pytest.mark.parametrize("g, p, expected", [(10, 11, 1.38), (10, 12, 0.61), (50, 51, 1.50), (50, 55, 0.88)])
def test_count_hybrid_reference_values(g, p, expected):
    assert round(one(count_hybrid, p, g), 2) == expected


def test_count_hybrid_edges():
    assert one(count_hybrid, 10, 10) == pytest.approx(1.5)
    assert one(count_hybrid, 9, 10) == one(count_hybrid, 11, 10)  # symmetric
    assert one(count_hybrid, 0, 0) == pytest.approx(1.5)  # g = 0 works
    assert one(count_hybrid, 1, 0) == pytest.approx(0.5 + math.exp(-(10**2) / 0.08))  # 0.5 bonus only
    assert one(count_hybrid, 2, 0) == pytest.approx(0.0, abs=1e-300)
    assert one(count_hybrid, 10000, 10) == 0.0  # huge but in range: underflows cleanly
    assert one(count_hybrid, 10**6, 10) == 0.0  # out of range: unparseable
    assert one(count_hybrid, -3, 3) == 0.0  # negative: unparseable
    assert count_hybrid(["no answer"], count=[5]) == [0.0]
    assert count_hybrid([ans(5)], count=[None]) == [None]


# --- count (normalized Gaussian) -------------------------------------------------------------------


def test_count_gaussian():
    assert one(count, 10, 10) == 1.0
    assert one(count, 11, 10) == pytest.approx(math.exp(-1 / 8))  # sigma = max(1, 2) = 2
    assert one(count, 55, 50) == pytest.approx(math.exp(-25 / 200))  # sigma = 10
    assert one(count, 4, 3) == pytest.approx(math.exp(-0.5))  # sigma = max(1, 0.6) = 1
    assert one(count, 0, 0) == 1.0
    assert one(count, 1, 0) == pytest.approx(math.exp(-0.5))
    assert one(count, 10000, 0) == 0.0
    assert count(["<answer>x</answer>"], count=[5]) == [0.0]
    assert count([ans(5)], count=[None]) == [None]


# --- count_exact -----------------------------------------------------------------------------------


def test_count_exact():
    assert one(count_exact, 10, 10) == 1.0
    assert one(count_exact, 11, 10) == 0.0  # no off-by-one credit
    assert one(count_exact, 0, 0) == 1.0


# --- count_linear ----------------------------------------------------------------------------------


def test_count_linear():
    assert one(count_linear, 10, 10) == 1.0
    assert one(count_linear, 12, 10) == pytest.approx(0.8)
    assert one(count_linear, 8, 10) == pytest.approx(0.8)
    assert one(count_linear, 25, 10) == 0.0  # clipped at 0
    assert one(count_linear, 0, 0) == 1.0
    assert one(count_linear, 1, 0) == 0.0  # max(g, 1) = 1
    assert one(count_linear, 10000, 3) == 0.0
    assert count_linear([""], count=[5]) == [0.0]
    assert count_linear([ans(5)], count=[None]) == [None]


# --- count_fixed -----------------------------------------------------------------------------------


def test_count_fixed():
    assert one(count_fixed, 10, 10) == 1.0
    assert one(count_fixed, 13, 10) == pytest.approx(math.exp(-9 / 18))
    assert one(count_fixed, 55, 50) == pytest.approx(math.exp(-25 / 18))  # independent of g
    assert one(count_fixed, 5, 0) == pytest.approx(math.exp(-25 / 18))
    assert one(count_fixed, 0, 0) == 1.0
    assert one(count_fixed, 10000, 0) == 0.0
    assert count_fixed(["<answer>7.5</answer>"], count=[7]) == [0.0]
    assert count_fixed([ans(5)], count=[None]) == [None]


# --- shared count-reward behaviour ----------------------------------------------------------------


@pytest.mark.parametrize("fn", COUNT_REWARDS)
def test_count_rewards_common(fn):
    # perfect answer is the maximum; unparseable is 0; gt None is None; batch order kept
    outs = fn([ans(7), "garbage", ans(7), ans(8)], count=[7, 7, None, 7])
    assert outs[0] == max(o for o in outs if o is not None)
    assert outs[1] == 0.0
    assert outs[2] is None
    if fn is count_exact:
        assert outs[3] == 0.0  # no partial credit
    else:
        assert 0.0 < outs[3] < outs[0]
    assert all(isinstance(o, float) for o in outs if o is not None)
    assert fn([], count=[]) == []
    # NaN ground truth (e.g. a pandas column with a missing value) is unscorable too
    assert fn([ans(1)], count=[float("nan")]) == [None]


@pytest.mark.parametrize("fn", COUNT_REWARDS)
def test_count_rewards_trl_call_convention(fn):
    conv = [
        [{"role": "assistant", "content": ans(4)}],
        [{"role": "assistant", "content": [{"type": "text", "text": ans(5)}]}],
    ]
    plain = [ans(4), ans(5)]
    kwargs = dict(prompts=["p", "p"], completion_ids=[[1], [2]], count=[5, 5], action=["squat", "squat"],
                  trainer_state=None, log_extra=lambda *a, **k: None, log_metric=lambda *a, **k: None)
    assert fn(completions=conv, **kwargs) == fn(completions=plain, **kwargs)


@pytest.mark.parametrize("fn", COUNT_REWARDS)
def test_count_rewards_bad_columns(fn):
    with pytest.raises(ActRepError, match="count"):
        fn([ans(1)])  # no ground-truth column
    with pytest.raises(ActRepError, match="2 values for 1"):
        fn([ans(1)], count=[1, 2])
    with pytest.raises(ActRepError, match="non-negative"):
        fn([ans(1)], count=[-1])
    with pytest.raises(ActRepError, match="non-negative integer"):
        fn([ans(1)], count=[2.5])
    with pytest.raises(ActRepError, match="not a number"):
        fn([ans(1)], count=["many"])


def test_ground_truth_types():
    import numpy as np

    assert count_hybrid([ans(3)], count=[np.int64(3)]) == [pytest.approx(1.5)]
    assert count_hybrid([ans(3)], count=[3.0]) == [pytest.approx(1.5)]
    # one scalar ground truth is broadcast to every completion
    off_by_one = 0.5 + math.exp(-((1 / 3.1) ** 2) / 0.08)
    assert count_hybrid([ans(3), ans(4)], count=3) == [pytest.approx(1.5), pytest.approx(off_by_one)]


# --- count_interval --------------------------------------------------------------------------------


def listed(n_items: int, answer) -> str:
    reps = ", ".join(f"rep{k}: {k - 1}.0s-{k}.0s" for k in range(1, n_items + 1))
    return f"<think>\nTracking each repetition: {reps}\n</think>\n<answer>\n{answer}\n</answer>"


def test_count_interval():
    assert count_interval([listed(3, 3)]) == [1.0]
    assert count_interval([listed(3, 4)]) == [pytest.approx(0.5 * 3 / 4)]
    assert count_interval([listed(4, 3)]) == [pytest.approx(0.5 * 3 / 4)]
    assert count_interval([listed(2, 0)]) == [0.0]  # answer 0 vs 2 listed: min/max = 0
    assert count_interval([listed(0, 3)]) == [0.0]  # nothing listed
    assert count_interval([listed(3, "x")]) == [0.0]  # unparseable answer
    assert count_interval(["garbage"]) == [0.0]
    grouped = "<think>reps 1-10: 0.0s-10.0s, reps 11-20: 10.0s-20.0s, rep21: 20.0s-21.0s</think><answer>21</answer>"
    assert count_interval([grouped]) == [1.0]
    # no ground truth needed; a None ground truth does not make it unscorable
    assert count_interval([listed(3, 3)], count=[None]) == [1.0]
    conv = [{"role": "assistant", "content": listed(3, 3)}]
    assert count_interval([conv]) == [1.0]
    # the variant does not change the listing, only which tags are the reasoning
    assert count_interval([listed(3, 3).replace("think>", "thinking>")], prompt_variant="thinking") == [1.0]


# --- count_format ----------------------------------------------------------------------------------

GOOD_THINK = listed(3, 3)
GOOD_THINKING = GOOD_THINK.replace("<think>", "<thinking>").replace("</think>", "</thinking>")
MALFORMED = [
    "",
    "3",
    "<answer>3</answer>",
    "<think>a</think>",
    "<think>a</think>then<answer>3</answer>",
    "hi <think>a</think><answer>3</answer>",
    "<think>a</think><answer>3</answer>bye",
    "<think>a</think><think>b</think><answer>3</answer>",
    "<think><think>a</think></think><answer>3</answer>",
    "<think>a</think><answer>3</answer><answer>3</answer>",
    "<think>a</think><answer>3",
    "<THINK>a</THINK><ANSWER>3</ANSWER>",
]


def test_count_format_think():
    assert count_format([GOOD_THINK, "  <think>a</think>  <answer>3</answer>\n"]) == [1.0, 1.0]
    assert count_format(MALFORMED) == [0.0] * len(MALFORMED)
    assert count_format([GOOD_THINKING]) == [0.0]  # default variant is think
    assert count_format([GOOD_THINK], prompt_variant="think") == [1.0]
    assert count_format([GOOD_THINK], count=[None]) == [1.0]  # no ground truth needed


def test_count_format_thinking():
    assert count_format([GOOD_THINKING], prompt_variant="thinking") == [1.0]
    assert count_format([GOOD_THINK], prompt_variant="thinking") == [0.0]
    malformed = [m.replace("think>", "thinking>").replace("THINK>", "THINKING>") for m in MALFORMED]
    assert count_format(malformed, prompt_variant="thinking") == [0.0] * len(malformed)
    # per-sample variants (a TRL column)
    variants = ["think", "thinking", "thinking"]
    assert count_format([GOOD_THINK, GOOD_THINKING, GOOD_THINK], prompt_variant=variants) == [1.0, 1.0, 0.0]


def test_count_format_conversational_and_bad_variant():
    assert count_format([[{"role": "assistant", "content": [{"type": "text", "text": GOOD_THINK}]}]]) == [1.0]
    with pytest.raises(ActRepError, match="variant"):
        count_format([GOOD_THINK], prompt_variant="reasoning")
    with pytest.raises(ActRepError, match="prompt_variant"):
        count_format([GOOD_THINK], prompt_variant=["think", "think"])


# --- specs and weighted score ----------------------------------------------------------------------


def test_parse_reward_spec():
    assert parse_reward_spec("count_hybrid:1.0,count_format:0.5") == [("count_hybrid", 1.0), ("count_format", 0.5)]
    assert parse_reward_spec(" count_hybrid , count_format : 0.25 ") == [("count_hybrid", 1.0), ("count_format", 0.25)]
    assert parse_reward_spec(["count:2", "count_interval"]) == [("count", 2.0), ("count_interval", 1.0)]
    assert parse_reward_spec("count_fixed:0") == [("count_fixed", 0.0)]


@pytest.mark.parametrize(
    "spec, match",
    [
        ("count_hybird:1.0", "unknown reward 'count_hybird'.*known rewards: count_hybrid, count, count_linear"),
        ("count_hybrid:abc", "not a number"),
        ("count_hybrid:-1", "finite number >= 0"),
        ("count_hybrid:nan", "finite number >= 0"),
        ("count_hybrid:inf", "finite number >= 0"),
        ("count_hybrid:", "not a number"),
        ("count_hybrid,count_hybrid:2", "twice"),
        ("count_hybrid,,count_format", "empty entry"),
        ("", "empty entry"),
        ([], "empty reward spec"),
        ([3], "not a 'name"),
    ],
)
def test_parse_reward_spec_errors(spec, match):
    with pytest.raises(ActRepError, match=match):
        parse_reward_spec(spec)


def test_score_weighted_sum():
    comps = [listed(3, 3), listed(3, 4), "garbage"]
    total, per = score(comps, "count_hybrid:1.0,count_format:0.5,count_interval:2", count=[3, 3, 3])
    assert list(per) == ["count_hybrid", "count_format", "count_interval"]
    assert per["count_hybrid"] == count_hybrid(comps, count=[3, 3, 3])
    assert per["count_format"] == [1.0, 1.0, 0.0]
    assert per["count_interval"] == [1.0, pytest.approx(0.375), 0.0]
    expected0 = 1.5 + 0.5 + 2.0
    expected1 = count_hybrid([listed(3, 4)], count=[3])[0] + 0.5 + 2 * 0.375
    assert total == [pytest.approx(expected0), pytest.approx(expected1), 0.0]
    # parsed pairs are accepted too and give the same result
    pairs = [("count_hybrid", 1.0), ("count_format", 0.5), ("count_interval", 2.0)]
    assert score(comps, pairs, count=[3, 3, 3])[0] == total


def test_score_none_propagates():
    total, per = score([listed(3, 3), listed(3, 3)], "count_hybrid,count_format", count=[3, None])
    assert per["count_hybrid"] == [pytest.approx(1.5), None]
    assert per["count_format"] == [1.0, 1.0]
    assert total == [pytest.approx(2.5), None]


def test_score_rejects_bad_specs():
    with pytest.raises(ActRepError, match="unknown reward"):
        score(["x"], "nope", count=[1])
    with pytest.raises(ActRepError):
        score(["x"], [("count", -2.0)], count=[1])


def test_formulas_are_documented_one_liners():
    for f in (R.hybrid_formula, R.gaussian_formula, R.linear_formula, R.fixed_formula, R.interval_formula):
        assert f.__doc__ and "\n" not in f.__doc__.strip()
