"""GRPO: video in every pass, losses equal TRL's, clipping acts, vision once per video, learning, resume."""

import functools
import json
import os
import subprocess

import pytest
import torch

from actrep.config import parse_config
from actrep.models.registry import ModelArguments
from actrep.prompts import PromptSettings
from actrep.train import grpo_loop
from actrep.train.common import TuningArguments
from actrep.train.data import DataArguments
from actrep.train.grpo import GRPOArguments, grpo_defaults
from actrep.train.grpo_loss import LOSS_TYPES, LossConfig, group_advantages, policy_loss
from actrep.video import VideoSettings
from conftest import FAMILIES

VIDEO_FLAGS = ["--fps", "4", "--max_frames", "8", "--min_pixels", "784", "--max_pixels", "3136",
               "--min_total_pixels", "4096", "--max_total_pixels", "32768"]


def ascii_share(completions, **columns):
    """A reward with variance inside every group on a random model: the share of ASCII characters."""
    from actrep.answer import completion_text

    texts = [completion_text(c) for c in completions]
    return [sum(ch.isascii() for ch in t) / max(1, len(t)) for t in texts]


def _run(model, data, out, *extra, reward=True, on_step_end=None):
    argv = ["--model_name_or_path", str(model), "--train_data", str(data), "--output_dir", str(out),
            "--num_generations", "4", "--videos_per_step", "2", "--max_completion_length", "6", "--report_to", "none",
            "--learning_rate", "1e-3", "--save_steps", "1000", "--dataloader_num_workers", "1", *VIDEO_FLAGS, *extra]
    parsed = parse_config([GRPOArguments, DataArguments, TuningArguments, ModelArguments, VideoSettings, PromptSettings],
                          argv, prog="test", defaults=grpo_defaults())
    rewards = [("ascii_share", ascii_share, 1.0)] if reward else None
    return grpo_loop.train(*parsed, reward_funcs=rewards, on_step_end=on_step_end)


@pytest.mark.parametrize("path", ["stock", "defaults"])
@pytest.mark.parametrize("family", FAMILIES)
def test_video_reaches_generation_and_every_logprob_pass(family, path, tiny_checkpoints, cot_data, tmp_path, monkeypatch):
    """Every forward whose tokens include video placeholders must carry that many video features: the
    model's own forward (stock path; the fast decoder's prefill) and the shared-prefix forward (defaults)."""
    import transformers

    from actrep.fast import prefix
    from actrep.models.registry import get_family

    model_class = getattr(transformers, get_family(family).model_class)
    seen = []
    real_forward, real_shared = model_class.forward, prefix.shared_prefix_logps

    @functools.wraps(real_forward)  # generate() validates kwargs against forward's signature
    def spy(self, *args, **kwargs):
        ids = kwargs.get("input_ids")
        n_video_tokens = int((ids == 151656).sum()) if ids is not None else 0
        if n_video_tokens:
            encoder = (kwargs.get("mm_encoder_outputs") or {}).get("video")
            n_features = sum(f.shape[0] for f in encoder.pooler_output) if encoder is not None else 0
            has_pixels = kwargs.get("pixel_values_videos") is not None
            seen.append((torch.is_grad_enabled(), n_video_tokens, n_features, has_pixels, id(self)))
        return real_forward(self, *args, **kwargs)

    def shared_spy(model, prompt_ids, prompt_types, grid, seconds, video_embeds, *args, **kwargs):
        seen.append((torch.is_grad_enabled(), int((prompt_ids == 151656).sum()), video_embeds.shape[0], False, id(model)))
        return real_shared(model, prompt_ids, prompt_types, grid, seconds, video_embeds, *args, **kwargs)

    monkeypatch.setattr(model_class, "forward", spy)
    monkeypatch.setattr(prefix, "shared_prefix_logps", shared_spy)
    flags = ["--fast_path", "false"] if path == "stock" else []
    _run(tiny_checkpoints[family], cot_data, tmp_path, "--max_steps", "1", "--num_iterations", "2", "--beta", "0.1", *flags)
    assert seen, "no forward saw video tokens"
    for grad, n_tokens, n_features, has_pixels, _ in seen:
        assert n_features == n_tokens or has_pixels, "a pass ran with video placeholders but no video"
    policy = [s for s in seen if s[0]]
    no_grad = [s for s in seen if not s[0]]
    # 2 iterations x 2 micro-batches of 4 sequences (stock); shared prefix: one call per video per micro-batch
    assert len(policy) == 2 * 2
    assert len({s[4] for s in no_grad}) == 2  # the policy (generation, old log-probs) and the reference model
    assert len(no_grad) >= 1 + 2 + 2  # generation prefill + old + reference passes


def test_vision_encoder_runs_once_per_video_per_step(tiny_checkpoints, cot_data, tmp_path, monkeypatch):
    import transformers.models.qwen2_5_vl.modeling_qwen2_5_vl as qwen

    videos_seen = []
    real_forward = qwen.Qwen2_5_VisionTransformerPretrainedModel.forward

    @functools.wraps(real_forward)
    def counting(self, hidden_states, grid_thw, **kwargs):
        videos_seen.append(len(grid_thw))
        return real_forward(self, hidden_states, grid_thw, **kwargs)

    monkeypatch.setattr(qwen.Qwen2_5_VisionTransformerPretrainedModel, "forward", counting)
    _run(tiny_checkpoints["qwen2_5_vl"], cot_data, tmp_path, "--max_steps", "2", "--num_iterations", "2", "--beta", "0.1")
    # 2 steps x 2 distinct videos, for 4 rollouts each, generation + old + reference + 2 policy passes
    assert sum(videos_seen) == 2 * 2 and len(videos_seen) == 2


def _trl_parity_inputs(tmp_path, loss_type):
    from datasets import Dataset
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM
    from trl import GRPOConfig, GRPOTrainer

    from actrep.models.tiny import tokenizer_files_dir

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_files_dir()))
    path = tmp_path / "text_model"
    if not path.exists():
        torch.manual_seed(0)
        config = Qwen2Config(vocab_size=151936, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                             num_key_value_heads=2, tie_word_embeddings=True, eos_token_id=151645, pad_token_id=151643)
        Qwen2ForCausalLM(config).save_pretrained(path)
        tokenizer.save_pretrained(path)
    args = GRPOConfig(output_dir=str(tmp_path / "trl"), loss_type=loss_type, num_generations=4, per_device_train_batch_size=8,
                      max_completion_length=6, beta=0.04, temperature=0.9, report_to="none", use_cpu=True, bf16=False, seed=3)
    dataset = Dataset.from_list([{"prompt": "Count to three:"}, {"prompt": "Say hello:"}] * 4)
    trainer = GRPOTrainer(model=str(path), reward_funcs=[ascii_share], args=args, train_dataset=dataset, processing_class=tokenizer)
    inputs = trainer._prepare_inputs(next(iter(trainer.get_train_dataloader())))
    texts = tokenizer.batch_decode(inputs["completion_ids"] * inputs["completion_mask"] + tokenizer.pad_token_id * (1 - inputs["completion_mask"]),
                                   skip_special_tokens=True)
    # Make every term matter: varied lengths, off-policy old log-probs (clipping acts), policy != reference (KL > 0).
    g = torch.Generator().manual_seed(1)
    lengths = torch.randint(2, 7, (len(texts),), generator=g)
    inputs["completion_mask"] = (torch.arange(6).expand(len(texts), 6) < lengths[:, None]).int()
    inputs["num_items_in_batch"] = inputs["completion_mask"].sum()
    with torch.no_grad():
        for param in trainer.model.parameters():
            param.add_(0.02 * torch.randn(param.shape, generator=g))
        inputs["old_per_token_logps"] = inputs["ref_per_token_logps"] + 0.3 * torch.randn(inputs["ref_per_token_logps"].shape, generator=g)
    return trainer, inputs, texts


@pytest.mark.parametrize("loss_type", LOSS_TYPES)
def test_loss_equals_trl(loss_type, tmp_path):
    """On a text-only model (where TRL's GRPOTrainer is correct): same completions and rewards -> same loss."""
    from actrep.train.rollout import completion_logps

    trainer, inputs, texts = _trl_parity_inputs(tmp_path, loss_type)
    trl_loss = trainer.compute_loss(trainer.model, inputs)
    advantages, _ = group_advantages(torch.tensor(ascii_share(texts)), 4, "group")
    torch.testing.assert_close(advantages, inputs["advantages"], atol=1e-5, rtol=0)
    prompt = {"input_ids": inputs["prompt_ids"], "attention_mask": inputs["prompt_mask"]}
    logps, _ = completion_logps(trainer.model, prompt, torch.arange(len(texts)), inputs["completion_ids"], inputs["completion_mask"], None, 0.9)
    ours, stats = policy_loss(logps, inputs["old_per_token_logps"], inputs["ref_per_token_logps"], advantages, inputs["completion_mask"],
                              LossConfig(loss_type, 0.2, 0.2, 0.04, 6), tokens_in_generation_batch=float(inputs["num_items_in_batch"]))
    assert stats["clip_ratio/region"] > 0 and stats["kl"] > 0
    torch.testing.assert_close(ours, trl_loss, rtol=1e-5, atol=1e-7)


def test_advantage_scaling_options():
    rewards = torch.tensor([1.0, 0.0, 1.0, 0.0, 2.0, 2.0, 2.0, float("nan")])
    group, std = group_advantages(rewards, 4, "group")
    assert torch.allclose(group[:4], torch.tensor([0.5, -0.5, 0.5, -0.5]) / (std[0] + 1e-4))
    assert torch.equal(group[4:], torch.zeros(4))  # zero-variance group and an unscorable completion
    none, _ = group_advantages(rewards, 4, "none")
    assert torch.allclose(none[:4], torch.tensor([0.5, -0.5, 0.5, -0.5]))
    batch, _ = group_advantages(rewards, 4, "batch")
    assert batch[4] == 0 and batch[0] > 0


def test_clipping_acts_with_two_iterations(tiny_checkpoints, cot_data, tmp_path):
    flags = ["--max_steps", "1", "--epsilon", "0.02", "--learning_rate", "5e-3", "--warmup_ratio", "0"]
    one = _run(tiny_checkpoints["qwen2_5_vl"], cot_data, tmp_path / "one", *flags)
    two = _run(tiny_checkpoints["qwen2_5_vl"], cot_data, tmp_path / "two", *flags, "--num_iterations", "2")
    assert one["clip_ratio/region"] == 0.0  # on-policy: the ratio is exactly 1
    assert two["clip_ratio/region"] > 0.0


def test_mean_reward_rises(tiny_checkpoints, cot_data, tmp_path):
    # top_k keeps a random model's choices to a few tokens per position, so a handful of steps can reorder them.
    history = []
    _run(tiny_checkpoints["qwen2_5_vl"], cot_data, tmp_path, "--max_steps", "8", "--num_generations", "8", "--learning_rate", "3e-3",
         "--beta", "0", "--loss_type", "grpo", "--warmup_ratio", "0", "--top_k", "4",
         on_step_end=lambda step, m: history.append(m["reward/mean"]))
    assert sum(history[-3:]) / 3 > history[0] + 0.2, history


@pytest.mark.parametrize("precision", [[], ["--dtype", "bfloat16", "--bf16", "true", "--save_dtype", "float32"]],
                         ids=["float32", "bf16_master_weights"])
def test_resume_gives_the_same_weights(precision, tiny_checkpoints, cot_data, tmp_path):
    """bf16: the resume state holds the float32 master weights, so the resumed run continues from them."""
    from safetensors.torch import load_file

    extra = ["--max_steps", "4", "--save_steps", "2", *precision]
    _run(tiny_checkpoints["qwen2_vl"], cot_data, tmp_path / "straight", *extra)

    def kill_after_checkpoint(step, metrics):
        if step == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _run(tiny_checkpoints["qwen2_vl"], cot_data, tmp_path / "resumed", *extra, on_step_end=kill_after_checkpoint)
    assert (tmp_path / "resumed" / "checkpoint-2" / "state").is_dir()
    _run(tiny_checkpoints["qwen2_vl"], cot_data, tmp_path / "resumed", *extra, "--resume")
    a, b = load_file(tmp_path / "straight" / "model.safetensors"), load_file(tmp_path / "resumed" / "model.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-5, atol=1e-6, msg=name)
    log = [json.loads(line) for line in (tmp_path / "resumed" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3, 4] and [r["optimizer_steps"] for r in log] == [1, 2, 3, 4]


def test_cli_with_registry_rewards_and_lora(tiny_checkpoints, cot_data, tmp_path, capsys):
    from actrep.cli import main

    assert main(["grpo", "--model_name_or_path", str(tiny_checkpoints["qwen3_vl"]), "--train_data", str(cot_data),
                 "--output_dir", str(tmp_path), "--max_steps", "1", "--num_generations", "2", "--max_completion_length", "4",
                 "--use_lora", "--report_to", "none", *VIDEO_FLAGS]) == 0
    metrics = json.loads((tmp_path / "metrics.jsonl").read_text().splitlines()[-1])
    assert "reward/count_hybrid/mean" in metrics and "reward/count_format/mean" in metrics
    assert (tmp_path / "model.safetensors").exists() and (tmp_path / "actrep_settings.json").exists()
    assert main(["grpo", "--model_name_or_path", "x", "--train_data", str(cot_data), "--rewards", "count_magic:1"]) == 1
    assert main(["grpo", "--model_name_or_path", str(tiny_checkpoints["qwen3_vl"]), "--train_data", str(cot_data),
                 "--shared_prefix", "--attn_implementation", "flash_attention_2"]) == 1  # refused before the model loads
    assert "--shared_prefix true cannot apply: attn_implementation flash_attention_2" in capsys.readouterr().err


@pytest.mark.slow
def test_two_process_run(tiny_checkpoints, cot_data, tmp_path, forked_python):
    command = [*forked_python.torchrun(2), "-m", "actrep", "grpo",
               "--model_name_or_path", str(tiny_checkpoints["qwen2_5_vl"]), "--train_data", str(cot_data),
               "--output_dir", str(tmp_path), "--max_steps", "2", "--num_generations", "2", "--videos_per_step", "1",
               "--max_completion_length", "4", "--report_to", "none", *VIDEO_FLAGS]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 process(es)" in result.stdout and (tmp_path / "model.safetensors").exists()


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["zero2", "zero3"])
def test_two_process_deepspeed_run(stage, tiny_checkpoints, cot_data, tmp_path, forked_python):
    """DeepSpeed ZeRO-2/3 on 2 CPU processes: reference model prepared, ZeRO-3 parameters gathered for generation."""
    from transformers import AutoModelForImageTextToText

    command = [*forked_python.torchrun(2), "-m", "actrep", "grpo",
               "--model_name_or_path", str(tiny_checkpoints["qwen2_5_vl"]), "--train_data", str(cot_data),
               "--output_dir", str(tmp_path), "--max_steps", "2", "--num_generations", "2", "--videos_per_step", "1",
               "--max_completion_length", "4", "--report_to", "none", "--beta", "0.04",
               "--deepspeed", f"recipes/deepspeed/{stage}.json", *VIDEO_FLAGS]
    env = dict(os.environ, OMP_NUM_THREADS="1", DS_ACCELERATOR="cpu")
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"2 process(es), DeepSpeed ZeRO-{stage[-1]}" in result.stdout
    reloaded = AutoModelForImageTextToText.from_pretrained(tmp_path)  # gathered, full-size weights
    assert sum(p.numel() for p in reloaded.parameters()) == sum(
        p.numel() for p in AutoModelForImageTextToText.from_pretrained(tiny_checkpoints["qwen2_5_vl"]).parameters())


def test_completion_stops_before_a_sampled_vision_placeholder():
    from actrep.train.grpo_loss import completion_mask

    ids = torch.tensor([[5, 6, 151645, 9], [5, 151656, 7, 8], [5, 6, 7, 8], [151656, 151645, 1, 2]])
    mask = completion_mask(ids, 151645, stop_ids=[151656, 151655])
    assert mask.tolist() == [[1, 1, 1, 0], [1, 0, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0]]
