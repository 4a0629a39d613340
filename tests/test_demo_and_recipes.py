"""The demo runs every stage at a reduced size and reuses finished stages; every shipped recipe parses."""

import json
import sys
from pathlib import Path

import pytest
import yaml

from actrep.cli import main
from actrep.config import parse_config

RECIPES = Path(__file__).resolve().parent.parent / "recipes"


@pytest.mark.slow
def test_demo_reduced_size_then_rerun_reuses_stages(tmp_path, capsys, monkeypatch, forked_python):
    # each stage, `python -m actrep ...`, forks from the session's preloaded server: ~6 s less per stage
    monkeypatch.setattr(sys, "executable", str(forked_python.shim(tmp_path / "python")))
    argv = ["demo", "--scale", "cpu", "--output_dir", str(tmp_path / "demo"), "--videos", "8", "--sft_steps", "2",
            "--grpo_steps", "1", "--max_new_tokens", "8"]
    assert main(argv) == 0
    out = tmp_path / "demo"
    assert (out / "report.html").exists()
    for run in ("sft", "grpo", "baseline-periodicity"):
        metrics = json.loads((out / "eval" / run / "metrics.json").read_text())
        assert metrics["strict"]["n"] == 2
    assert json.loads((out / "sft" / "actrep_settings.json").read_text())["video"]["max_pixels"] == 3136
    summary = capsys.readouterr().out
    assert "GRPO had something to learn from" in summary and "bash results/scratch/run.sh" in summary
    assert main(argv) == 0
    assert capsys.readouterr().out.count("done earlier, reused") == 11


def test_grpo_summary_compares_the_first_and_last_pass_over_the_same_clips(tmp_path):
    from actrep.demo import grpo_summary

    rewards = [1.0, 2.0, 1.0, 2.0, 9.0, 9.0, 2.0, 3.0]  # 4 clips, 2 per step: a pass is 2 steps
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(
        {"reward/mean": r, "reward/std": 0.8, "reward/count_format/mean": r / 10, "reward/count_hybrid/mean": r / 5,
         "groups/zero_std_share": 1.0 if i == 0 else 0.5}) + "\n" for i, r in enumerate(rewards)))
    (tmp_path / "arguments.json").write_text(json.dumps(
        {"DataArguments": {"max_train_samples": 4}, "GRPOArguments": {"videos_per_step": 2, "num_generations": 8, "temperature": 1.0}}))
    summary = grpo_summary(tmp_path)
    assert (summary["pass_steps"], summary["steps"], summary["steps_with_spread"]) == (2, 8, 7)
    assert (summary["reward_first"], summary["reward_last"]) == (1.5, 2.5)
    assert summary["format_last"] == pytest.approx(0.25) and summary["count_first"] == pytest.approx(0.3)
    assert summary["noise"] == pytest.approx(0.2)  # sqrt(2 * 0.8^2 / 32): 2 steps x 2 clips x 8 completions a pass


def test_a_change_inside_twice_the_noise_is_not_called_a_rise():
    from actrep.demo import _verdict

    assert _verdict(0.18, 0.23).startswith("no change beyond the sampling noise: +0.18")
    assert _verdict(-0.3, 0.2).startswith("no change beyond the sampling noise: -0.30")
    assert _verdict(0.5, 0.2) == "higher: +0.50, standard error 0.20"
    assert _verdict(-0.5, 0.2) == "lower: -0.50, standard error 0.20"


def _stage_dataclasses(stage: str):
    from transformers import TrainingArguments

    from actrep.models.registry import ModelArguments
    from actrep.prompts import PromptSettings
    from actrep.train.common import TuningArguments
    from actrep.train.data import DataArguments
    from actrep.video import VideoSettings

    if stage == "sft":
        from actrep.train.sft import SFTArguments

        return [SFTArguments, DataArguments, TuningArguments, ModelArguments, VideoSettings, PromptSettings, TrainingArguments]
    if stage == "grpo":
        from actrep.train.grpo import GRPOArguments

        return [GRPOArguments, DataArguments, TuningArguments, ModelArguments, VideoSettings, PromptSettings]
    from actrep.evaluate.local import EvalArguments

    return [EvalArguments, VideoSettings, PromptSettings]


@pytest.mark.parametrize("recipe", sorted(p.relative_to(RECIPES).as_posix() for p in RECIPES.rglob("*.yaml")
                                          if "accelerate" not in p.parts and p.parent.name != "scratch"))
def test_recipe_parses(recipe):
    import torch

    stage = Path(recipe).stem.split("_")[0]
    cpu = ["--bf16", "false"] if stage == "sft" and not torch.cuda.is_available() else []  # GPU recipes ask for bf16
    parsed = parse_config(_stage_dataclasses(stage), ["--config", str(RECIPES / recipe), *cpu], prog=recipe)
    assert parsed


@pytest.mark.parametrize("name", ["zero2", "zero3", "zero3_offload"])
def test_accelerate_configs_point_to_deepspeed_files(name):
    config = yaml.safe_load((RECIPES / "accelerate" / f"{name}.yaml").read_text())
    assert config["distributed_type"] == "DEEPSPEED"
    deepspeed = json.loads((RECIPES.parent / config["deepspeed_config"]["deepspeed_config_file"]).read_text())
    assert deepspeed["zero_optimization"]["stage"] == (2 if name == "zero2" else 3)
    assert ("offload_param" in deepspeed["zero_optimization"]) == (name == "zero3_offload")
