"""Every shipped training recipe trains as shipped (a tiny model and data substituted), at its own precision.

Each recipe runs 3 optimiser steps at lr 1e-6 with the precision it ships with (sft_*/grpo_*: bf16
weights + bf16 compute; scratch/*: float32 weights + bf16 autocast, the GPU default; demo/*: the CPU
defaults) and exports float32 weights. At lr 1e-6 an Adam step moves each weight by ~1e-6, far below
bf16's rounding step at |w| ~ 0.02 (~1.2e-4): a run that updates bf16 weights in place changes ~2% of
them; float32 master weights change nearly all. The trained part (the language model; the vision side
for stage 0) must have changed in at least 90% of its weights. Only sizes that a CPU test cannot
afford are overridden (batch sizes, workers, completion length); never a precision key.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from actrep.cli import main

pytestmark = pytest.mark.slow

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
TRAINING_RECIPES = sorted(p.relative_to(RECIPES).as_posix() for p in RECIPES.rglob("*.yaml")
                          if "accelerate" not in p.parts and p.stem.split("_")[0] in ("sft", "grpo", "stage0"))
COMMON = ["--max_steps", "3", "--learning_rate", "1e-6", "--save_dtype", "float32"]
CPU_SIZES = {  # what a 2-core test can afford; the recipe's own values stay for everything else
    "sft": ["--effective_batch_size", "2", "--dataloader_num_workers", "0", "--dataloader_persistent_workers", "false",
            "--report_to", "none"],
    "grpo": ["--num_generations", "4", "--videos_per_step", "1", "--max_completion_length", "16", "--dataloader_num_workers", "1",
             "--report_to", "none"],
    "scratch/sft.yaml": ["--per_device_train_batch_size", "4", "--effective_batch_size", "4", "--dataloader_num_workers", "1"],
    "scratch/grpo.yaml": ["--micro_batch_size", "4"],
    "scratch/stage0.yaml": ["--batch_size", "4", "--num_workers", "0", "--max_time_s", "0", "--max_replay", "0"],
}


def ascii_share(completions, **columns):
    """A reward with variance inside every group (a random model's answers never parse)."""
    return [sum(ch.isascii() for ch in c) / max(1, len(c)) for c in completions]


def _stage(recipe: str) -> str:
    return Path(recipe).stem.split("_")[0]


def _family(recipe: str) -> str:
    stem = Path(recipe).stem
    return stem.split("_", 1)[1] if stem.count("_") and not recipe.startswith(("scratch", "demo")) else "qwen2_5_vl"


def _run(recipe: str, model: Path, data: Path, out: Path) -> None:
    stage = _stage(recipe)
    shipped = yaml.safe_load((RECIPES / recipe).read_text())
    argv = ["--config", str(RECIPES / recipe), "--model_name_or_path", str(model), "--train_data", str(data),
            "--output_dir", str(out), *COMMON, *CPU_SIZES.get(stage, []), *CPU_SIZES.get(recipe, [])]
    if "bf16" not in shipped and not recipe.startswith("demo/"):
        argv += ["--bf16", "true"]  # GPU recipes leave bf16 to its default, which is on for a GPU
    if stage == "grpo":
        from actrep.config import parse_config
        from actrep.models.registry import ModelArguments
        from actrep.prompts import PromptSettings
        from actrep.train import grpo_loop
        from actrep.train.common import TuningArguments
        from actrep.train.data import DataArguments
        from actrep.train.grpo import GRPOArguments, grpo_defaults
        from actrep.video import VideoSettings

        parsed = parse_config([GRPOArguments, DataArguments, TuningArguments, ModelArguments, VideoSettings, PromptSettings],
                              argv, prog=recipe, defaults=grpo_defaults())
        grpo_loop.train(*parsed, reward_funcs=[("ascii_share", ascii_share, 1.0)])
    else:
        assert main([stage, *argv]) == 0


def _changed_share(start: Path, trained: Path, dtype: torch.dtype, part: str) -> float:
    from transformers import AutoModelForImageTextToText

    def weights(path, load_dtype):
        model = AutoModelForImageTextToText.from_pretrained(path, dtype=load_dtype)
        return {n: p.detach().float() for n, p in model.named_parameters() if part in n}

    before, after = weights(start, dtype), weights(trained, torch.float32)  # the run started from `dtype` weights
    changed = sum(int((after[n] != before[n]).sum()) for n in before)
    return changed / sum(t.numel() for t in before.values())


@pytest.mark.parametrize("recipe", TRAINING_RECIPES)
def test_recipe_trains_as_shipped_and_moves_the_weights_at_lr_1e_6(recipe, tiny_checkpoints, synth_data, tmp_path):
    out = tmp_path / "out"
    _run(recipe, tiny_checkpoints[_family(recipe)], synth_data, out)
    dtype = torch.bfloat16 if yaml.safe_load((RECIPES / recipe).read_text()).get("dtype") == "bfloat16" else torch.float32
    part = ".visual." if _stage(recipe) == "stage0" else "language_model"
    share = _changed_share(tiny_checkpoints[_family(recipe)], out, dtype, part)
    assert share >= 0.9, f"{recipe}: only {share:.1%} of the {part.strip('.')} weights changed in 3 steps at lr 1e-6"


def test_pure_bf16_is_opt_in_and_loses_small_updates(tiny_checkpoints, synth_data, tmp_path, capsys):
    """The contrast: the same GRPO recipe with --pure_bf16 trains bf16 weights in place and barely moves them."""
    recipe = "grpo_qwen2_5_vl.yaml"
    model = tiny_checkpoints["qwen2_5_vl"]
    from actrep.config import parse_config
    from actrep.models.registry import ModelArguments
    from actrep.prompts import PromptSettings
    from actrep.train import grpo_loop
    from actrep.train.common import TuningArguments
    from actrep.train.data import DataArguments
    from actrep.train.grpo import GRPOArguments, grpo_defaults
    from actrep.video import VideoSettings

    argv = ["--config", str(RECIPES / recipe), "--model_name_or_path", str(model), "--train_data", str(synth_data),
            "--output_dir", str(tmp_path), *COMMON, *CPU_SIZES["grpo"], "--pure_bf16"]
    parsed = parse_config([GRPOArguments, DataArguments, TuningArguments, ModelArguments, VideoSettings, PromptSettings],
                          argv, prog=recipe, defaults=grpo_defaults())
    grpo_loop.train(*parsed, reward_funcs=[("ascii_share", ascii_share, 1.0)])
    assert "warning: --pure_bf16" in capsys.readouterr().out
    assert _changed_share(model, tmp_path, torch.bfloat16, "language_model") < 0.2
