"""Paired comparisons of evaluation runs (actrep/evaluate/paired.py): the numbers add up and the tests are right."""

import json

import numpy as np
import pytest

from actrep.errors import ActRepError
from actrep.metrics import compute_metrics
from actrep.evaluate.paired import compare_seeds


def _run(tmp_path, name, truths, preds):
    run = tmp_path / name
    run.mkdir()
    records = [{"key": f"test/clip_{i:03d}.mp4", "count": g, "pred": p} for i, (g, p) in enumerate(zip(truths, preds))]
    (run / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (run / "metrics.json").write_text(json.dumps({"strict": compute_metrics(records)}))
    return run, compute_metrics(records)


def test_seed_means_equal_the_headline_metrics_and_the_difference_adds_up(tmp_path):
    rng = np.random.default_rng(0)
    truths = rng.integers(1, 13, 60).tolist()
    pairs, headline = {}, {}
    for seed in range(3):
        sft = [g + int(rng.integers(-2, 3)) for g in truths]
        grpo = [g + int(rng.integers(-1, 2)) if i % 3 else None for i, g in enumerate(truths)]  # None: unparsed
        (a, ma), (b, mb) = _run(tmp_path, f"sft{seed}", truths, sft), _run(tmp_path, f"grpo{seed}", truths, grpo)
        pairs[seed], headline[seed] = (a, b), (ma, mb)
    summary = compare_seeds(pairs)
    assert summary["test_clips"] == 60 and [s["seed"] for s in summary["seeds"]] == [0, 1, 2]
    for entry in summary["seeds"]:
        ma, mb = headline[entry["seed"]]
        for metric in ("obo", "exact", "mae"):
            assert entry["sft"][metric] == pytest.approx(ma[metric]) and entry["grpo"][metric] == pytest.approx(mb[metric])
    obo = summary["difference"]["obo"]
    assert obo["mean"] == pytest.approx(summary["arms"]["grpo"]["obo"]["mean"] - summary["arms"]["sft"]["obo"]["mean"])
    assert obo["paired_ci"][0] <= obo["mean"] <= obo["paired_ci"][1]
    assert obo["seed_ci"][0] <= obo["mean"] <= obo["seed_ci"][1]
    assert summary["paired_ci"] == obo["paired_ci"]


def test_a_clear_gain_has_an_interval_above_zero_and_a_small_mcnemar_p(tmp_path):
    truths = [5] * 100
    a, _ = _run(tmp_path, "a", truths, [8] * 60 + [5] * 40)  # OBO 0.40
    b, _ = _run(tmp_path, "b", truths, [8] * 10 + [5] * 90)  # OBO 0.90: 50 clips gained, none lost
    summary = compare_seeds({0: (a, b)})
    assert summary["difference"]["obo"]["mean"] == pytest.approx(0.5)
    assert summary["paired_ci"][0] > 0.35
    assert summary["seeds"][0]["mcnemar_obo"]["clips_gained"] == 50 and summary["seeds"][0]["mcnemar_obo"]["clips_lost"] == 0
    assert summary["seeds"][0]["mcnemar_obo"]["p_value"] < 1e-10
    assert summary["difference"]["obo"]["seed_ci"] is None  # one seed: no spread over seeds


def test_noise_gives_an_interval_around_zero(tmp_path):
    truths = [5] * 200
    rng = np.random.default_rng(1)
    a, _ = _run(tmp_path, "a", truths, rng.choice([5, 8], 200).tolist())
    b, _ = _run(tmp_path, "b", truths, rng.choice([5, 8], 200).tolist())
    low, high = compare_seeds({0: (a, b)})["paired_ci"]
    assert low < 0 < high


def test_different_test_sets_are_refused(tmp_path):
    a, _ = _run(tmp_path, "a", [1, 2, 3], [1, 2, 3])
    b, _ = _run(tmp_path, "b", [1, 2], [1, 2])
    with pytest.raises(ActRepError, match="not evaluated on the same clips"):
        compare_seeds({0: (a, b)})


def _seeds_summary():
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "results" / "scratch" / "seeds_summary.py"
    spec = importlib.util.spec_from_file_location("seeds_summary", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_seeds_summary_leaves_out_a_seed_whose_evaluation_is_missing_on_one_set(tmp_path, capsys):
    """results/scratch/seeds_summary.py: a seed not evaluated on the harder set is named there and kept elsewhere."""
    seeds_summary = _seeds_summary()
    truths = [1, 2, 3, 4, 5, 6, 7, 8]
    for test_set in ("test_id", "test_hard"):
        (tmp_path / "eval" / test_set).mkdir(parents=True)
        for seed in (0, 1):
            if test_set == "test_hard" and seed == 0:
                continue  # seed 0's harder-set evaluation did not finish
            _run(tmp_path / "eval" / test_set, f"sft_s{seed}", truths, [t + 2 for t in truths])
            _run(tmp_path / "eval" / test_set, f"grpo_s{seed}", truths, truths)
    record = seeds_summary.summary(tmp_path, [(0, "sft_s0", "grpo_s0"), (1, "sft_s1", "grpo_s1")])
    assert [s["seed"] for s in record["seeds"]] == [0, 1]
    assert record["by_test_set"]["test_id"]["missing_seeds"] == []
    hard = record["by_test_set"]["test_hard"]
    assert hard["missing_seeds"] == [0] and [s["seed"] for s in hard["seeds"]] == [1]
    assert "Seed(s) 0: no evaluation on this set" in (tmp_path / "seeds_summary.md").read_text()


def test_pick_lr_records_the_sft_beside_the_rates_and_never_picks_it(tmp_path):
    """The sweep's SFT reference shows whether the picked rate beat no GRPO at all; it is not a candidate."""
    seeds_summary = _seeds_summary()
    truths = [1, 2, 3, 4, 5, 6, 7, 8]
    _run(tmp_path, "sft", truths, truths)  # the SFT is best here: every count right
    _run(tmp_path, "low", truths, [t + 2 for t in truths[:6]] + truths[6:])  # OBO 0.25
    _run(tmp_path, "high", truths, [t + 2 for t in truths[:2]] + truths[2:])  # OBO 0.75
    picked = seeds_summary.pick_lr([f"3e-6={tmp_path / 'low'}", f"1e-5={tmp_path / 'high'}"], tmp_path / "sweep.json",
                                   reference=str(tmp_path / "sft"))
    record = json.loads((tmp_path / "sweep.json").read_text())
    assert picked == record["picked"] == "1e-5"
    assert record["sft"]["obo"] == 1.0 and record["picked_minus_sft_obo_points"] == -25.0


def test_verdict_changes_show_exact_answers_traded_for_near_ones(tmp_path):
    """OBO is unchanged when exact answers become off by one; the verdict changes and their test show the trade."""
    truths = [5] * 40
    a, _ = _run(tmp_path, "a", truths, [5] * 30 + [6] * 5 + [9] * 5)
    b, _ = _run(tmp_path, "b", truths, [6] * 20 + [5] * 10 + [5] * 2 + [6] * 3 + [4] * 5)  # 20 exact -> near, 2 back
    seed = compare_seeds({0: (a, b)})["seeds"][0]
    assert seed["grpo"]["obo"] - seed["sft"]["obo"] == pytest.approx(5 / 40)  # the 5 misses became near: OBO rose
    changes = seed["verdict_changes"]
    assert changes["exact->off_by_one"] == 20 and changes["off_by_one->exact"] == 2 and changes["miss->off_by_one"] == 5
    assert sum(v for k, v in changes.items() if "->" in k) == 27
    assert changes["exact_vs_off_by_one_p_value"] < 1e-3


def test_actrep_compare_prints_the_paired_comparison_and_refuses_unpaired_runs(tmp_path, capsys):
    """`actrep compare`: the same numbers as compare_seeds, pairs in order, one-line errors for bad input."""
    from actrep.cli import main

    truths = [5] * 40
    a, _ = _run(tmp_path, "sft", truths, [5] * 30 + [6] * 5 + [9] * 5)
    b, _ = _run(tmp_path, "grpo", truths, [6] * 20 + [5] * 15 + [4] * 5)
    out = tmp_path / "cmp.json"
    assert main(["compare", str(a), str(b), "--labels", "sft", "grpo", "--output_file", str(out)]) == 0
    text = capsys.readouterr().out
    assert "grpo - sft: 1 pair(s) of runs on the same 40 clips" in text
    assert "OBO         0.875      1.000   +12.5 pts" in text
    assert "exact -> off by one 20, off by one -> exact 5" in text
    record = json.loads(out.read_text())
    assert record["runs"] == [[str(a), str(b)]] and record["seeds"][0]["verdict_changes"]["miss->off_by_one"] == 5
    assert main(["compare", str(a), str(b), str(a)]) == 1
    assert "in pairs (BASE NEW, one pair per seed); got 3" in capsys.readouterr().err
    assert main(["compare", str(a), str(tmp_path)]) == 1
    assert f"{tmp_path}: no predictions.jsonl" in capsys.readouterr().err
