"""Precision rules and the GRPO details that only show under bf16, LoRA or batch-scaled rewards.

The launch configurations themselves are compared in tests/test_training_matrix.py (resume from master
weights: tests/test_grpo.py, tests/test_sft.py); here: the refusals (one line, before any model loads),
the exported dtype, the old/reference passes in the policy's precision, the LoRA reference's own merger,
and zero-std groups per group.
"""

import functools
import json

import pytest
import torch

from actrep.cli import main
from actrep.errors import ActRepError
from actrep.train import grpo_loop
from actrep.train.precision import PrecisionArguments, check_precision
from test_grpo import VIDEO_FLAGS, _run, ascii_share


@pytest.mark.parametrize("weights, bf16, deepspeed, pure, message", [
    (torch.float16, True, False, False, "float16 cannot train"),
    (torch.bfloat16, False, False, False, "without --bf16"),
    (torch.bfloat16, False, True, False, "under DeepSpeed needs --bf16"),
    (torch.bfloat16, True, True, True, "--pure_bf16 does not apply under DeepSpeed"),
    (torch.float32, True, False, True, "--pure_bf16 trains bfloat16 weights in place"),
])
def test_combinations_that_would_train_the_wrong_thing_are_refused(weights, bf16, deepspeed, pure, message):
    with pytest.raises(ActRepError, match=message):
        check_precision(weights, bf16, deepspeed, PrecisionArguments(pure_bf16=pure))
    check_precision(torch.bfloat16, True, deepspeed, PrecisionArguments())  # the shipped recipes' setting is fine


@pytest.mark.parametrize("command", ["sft", "grpo", "stage0"])
def test_refused_before_the_model_loads(command, cot_data, capsys):
    argv = [command, "--model_name_or_path", "/nonexistent/model", "--train_data", str(cot_data), "--dtype", "bfloat16",
            "--bf16", "false"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "without --bf16" in err and "nonexistent" not in err and err.count("\n") == 1


def test_save_dtype_auto_keeps_the_loaded_dtype_and_float32_keeps_the_masters(tiny_checkpoints, cot_data, tmp_path):
    from safetensors import safe_open

    flags = ["--max_steps", "1", "--dtype", "bfloat16", "--bf16", "true"]
    _run(tiny_checkpoints["qwen2_5_vl"], cot_data, tmp_path / "auto", *flags)
    _run(tiny_checkpoints["qwen2_5_vl"], cot_data, tmp_path / "fp32", *flags, "--save_dtype", "float32")
    for run, dtype in (("auto", torch.bfloat16), ("fp32", torch.float32)):
        with safe_open(tmp_path / run / "model.safetensors", "pt") as weights:
            assert {weights.get_tensor(k).dtype for k in weights.keys()} == {dtype}
        assert json.loads((tmp_path / run / "config.json").read_text())["dtype"] == str(dtype).replace("torch.", "")


def test_old_and_reference_log_probs_are_computed_in_the_policy_precision(tiny_checkpoints, cot_data, tmp_path, monkeypatch):
    """float32 weights under bf16 autocast, 2 iterations: at the first iteration the ratio must be exactly 1."""
    real_loss, first = grpo_loop.policy_loss, []

    def spy(logps, old_logps, ref_logps, *args, **kwargs):
        if not first:
            first.append((float((logps - old_logps).abs().max().detach()), float((logps - ref_logps).abs().max().detach())))
        return real_loss(logps, old_logps, ref_logps, *args, **kwargs)

    monkeypatch.setattr(grpo_loop, "policy_loss", spy)
    _run(tiny_checkpoints["qwen2_5_vl"], cot_data, tmp_path, "--max_steps", "1", "--num_iterations", "2", "--beta", "0.04",
         "--bf16", "true", "--micro_batch_size", "8")
    old_gap, reference_gap = first[0]
    # Before: old log-probs outside autocast differed by ~1e-2, and the reference model (not wrapped by accelerate)
    # returned bf16 logits whose bf16 log-softmax was off by 5.6e-2, a KL made of rounding at step 1.
    assert old_gap == 0.0 and reference_gap < 1e-6, first


def test_lora_reference_uses_the_base_merger_when_the_merger_trains(tiny_checkpoints, cot_data, tmp_path, monkeypatch):
    from transformers import AutoModelForImageTextToText

    from actrep.train.rollout import vision_features

    real_logps, reference_calls = grpo_loop._logps_in_chunks, []

    @functools.wraps(real_logps)
    def spy(model, batch, index, completion_ids, mask, features, *args, **kwargs):
        reference_calls.append((batch, [f.detach().clone() for f in features.pooler_output]))  # beta > 0, 1 iteration: only the reference
        return real_logps(model, batch, index, completion_ids, mask, features, *args, **kwargs)

    monkeypatch.setattr(grpo_loop, "_logps_in_chunks", spy)
    _run(tiny_checkpoints["qwen2_5_vl"], cot_data, tmp_path, "--max_steps", "2", "--use_lora", "--train_merger", "--beta", "0.1",
         "--learning_rate", "1e-2")
    base = AutoModelForImageTextToText.from_pretrained(tiny_checkpoints["qwen2_5_vl"], dtype=torch.float32)
    trained = AutoModelForImageTextToText.from_pretrained(tmp_path, dtype=torch.float32)  # merger copies merged in
    batch, used = reference_calls[-1]  # step 2: the policy's merger has moved by now
    expected = vision_features(base, batch).pooler_output
    moved = vision_features(trained, batch).pooler_output
    assert max(float((m - e).abs().max()) for m, e in zip(moved, expected)) > 1e-3  # the trained merger differs
    for got, want in zip(used, expected):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_zero_std_groups_are_found_per_group_with_batch_scaling(tiny_checkpoints, cot_data, tmp_path):
    """Groups of even-count videos get a constant reward; batch-scaled rewards must still drop exactly those."""
    seen = []

    def constant_for_even_counts(completions, count, **columns):
        seen.append(list(count))
        varied = ascii_share(completions)
        return [1.0 if c % 2 == 0 else r for c, r in zip(count, varied)]

    from actrep.config import parse_config
    from actrep.models.registry import ModelArguments
    from actrep.prompts import PromptSettings
    from actrep.train.common import TuningArguments
    from actrep.train.data import DataArguments
    from actrep.train.grpo import GRPOArguments, grpo_defaults
    from actrep.video import VideoSettings

    argv = ["--model_name_or_path", str(tiny_checkpoints["qwen2_5_vl"]), "--train_data", str(cot_data), "--output_dir", str(tmp_path),
            "--num_generations", "4", "--videos_per_step", "2", "--max_completion_length", "6", "--report_to", "none",
            "--max_steps", "2", "--scale_rewards", "batch", "--drop_zero_std_groups", *VIDEO_FLAGS]
    parsed = parse_config([GRPOArguments, DataArguments, TuningArguments, ModelArguments, VideoSettings, PromptSettings],
                          argv, prog="test", defaults=grpo_defaults())
    grpo_loop.train(*parsed, reward_funcs=[("constant_for_even_counts", constant_for_even_counts, 1.0)])
    log = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    for record, counts in zip(log, seen):
        constant = sum(c % 2 == 0 for c in counts[::4])
        assert record["groups/zero_std_share"] == constant / 2
        assert record["groups/trained_sequences"] == 4 * (2 - constant)


def test_train_embeddings_false_freezes_the_token_table_and_trains_the_rest(tiny_checkpoints, cot_data, tmp_path):
    from safetensors.torch import load_file

    from actrep.config import parse_config
    from actrep.models.registry import ModelArguments
    from actrep.prompts import PromptSettings
    from actrep.train.common import TuningArguments
    from actrep.train.data import DataArguments
    from actrep.train.grpo import GRPOArguments, grpo_defaults
    from actrep.video import VideoSettings

    checkpoint = tiny_checkpoints["qwen2_5_vl"]
    argv = ["--model_name_or_path", str(checkpoint), "--train_data", str(cot_data), "--output_dir", str(tmp_path / "frozen"),
            "--num_generations", "4", "--videos_per_step", "2", "--max_completion_length", "6", "--report_to", "none",
            "--learning_rate", "1e-3", "--save_steps", "1000", "--max_steps", "1", "--warmup_ratio", "0", "--beta", "0", "--save_dtype", "float32",
            "--train_embeddings", "false", *VIDEO_FLAGS]
    parsed = parse_config([GRPOArguments, DataArguments, TuningArguments, ModelArguments, VideoSettings, PromptSettings], argv,
                          prog="test", defaults=grpo_defaults())
    grpo_loop.train(*parsed, reward_funcs=[("spread", lambda completions, **columns: [float(len(c)) for c in completions], 1.0)])
    start, trained = load_file(checkpoint / "model.safetensors"), load_file(tmp_path / "frozen" / "model.safetensors")
    tables = [name for name in start if "embed_tokens" in name or "lm_head" in name]
    assert tables and all(torch.equal(trained[name], start[name]) for name in tables)
    moved = [name for name in start if name not in tables and ".layers." in name and not torch.equal(trained[name], start[name])]
    assert len(moved) > 5
