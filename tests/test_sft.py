"""SFT: video reaches every forward, labels cover exactly the answer, loss drops, resume, LoRA (multi-process: the training matrix)."""

import gc
import json
import multiprocessing

import pytest
import torch
from transformers import AutoModelForImageTextToText, TrainerCallback

from actrep.cli import main
from actrep.config import parse_config
from actrep.manifest import load_samples
from actrep.models.registry import ModelArguments, get_family, load_processor
from actrep.prompts import PromptSettings
from actrep.train.common import TuningArguments
from actrep.train.data import DataArguments, VideoSampleDataset
from actrep.train.sft import SFTArguments, SFTCollator, build_trainer, sft_defaults
from actrep.video import VideoSettings
from conftest import FAMILIES, cot_text

VIDEO_FLAGS = ["--fps", "4", "--max_frames", "8", "--min_pixels", "784", "--max_pixels", "3136",
               "--min_total_pixels", "4096", "--max_total_pixels", "32768"]


def _args(model, data, out, *extra):
    from transformers import TrainingArguments

    argv = ["--model_name_or_path", str(model), "--train_data", str(data), "--output_dir", str(out),
            "--effective_batch_size", "0", "--per_device_train_batch_size", "2", "--report_to", "none",
            "--dataloader_num_workers", "0", "--warmup_steps", "0", "--logging_steps", "1", "--save_steps", "1000",
            "--learning_rate", "3e-3", *VIDEO_FLAGS, *extra]
    parsed = parse_config([SFTArguments, DataArguments, TuningArguments, ModelArguments, VideoSettings, PromptSettings, TrainingArguments],
                          argv, prog="test", defaults=sft_defaults())
    parsed[-1].remove_unused_columns = False
    return parsed


@pytest.mark.parametrize("family", FAMILIES)
def test_video_reaches_every_training_forward(family, tiny_checkpoints, cot_data, tmp_path):
    trainer = build_trainer(*_args(tiny_checkpoints[family], cot_data, tmp_path, "--max_steps", "2"))
    calls = []

    def spy(module, args, kwargs):
        calls.append({k: kwargs.get(k) is not None for k in ("pixel_values_videos", "video_grid_thw", "mm_token_type_ids", "second_per_grid_ts")})

    trainer.model.register_forward_pre_hook(spy, with_kwargs=True)
    trainer.train()
    assert len(calls) == 2
    for call in calls:
        assert call["pixel_values_videos"] and call["video_grid_thw"] and call["mm_token_type_ids"], call
        assert call["second_per_grid_ts"] == get_family(family).second_per_grid_ts


def test_labels_cover_exactly_the_assistant_answer(tiny_checkpoints, cot_data, small_video_settings):
    processor = load_processor(str(tiny_checkpoints["qwen3_vl"]))
    dataset = VideoSampleDataset(load_samples(cot_data, splits=["train"]), get_family("qwen3_vl"), small_video_settings)
    batch = SFTCollator(processor, small_video_settings, "think", full_labels=True)([dataset[0], dataset[2]])
    for row, count in zip(range(2), (1, 3)):
        kept = batch["labels"][row][batch["labels"][row] != -100]
        assert processor.tokenizer.decode(kept) == cot_text(count) + "<|im_end|>"
        # everything before the answer (system, video, question, header) and all padding is masked
        assert (batch["labels"][row][batch["attention_mask"][row] == 0] == -100).all()
    assert (batch["labels"][batch["mm_token_type_ids"] == 2] == -100).all()


def test_logit_window_gives_the_full_loss(tiny_checkpoints, cot_data, small_video_settings):
    """Computing logits only over the label window is exact: same loss as over every position."""
    from transformers import AutoModelForImageTextToText

    path = tiny_checkpoints["qwen2_5_vl"]
    processor, model = load_processor(str(path)), AutoModelForImageTextToText.from_pretrained(path)
    dataset = VideoSampleDataset(load_samples(cot_data, splits=["train"]), get_family("qwen2_5_vl"), small_video_settings)
    items = [dataset[0], dataset[3]]
    windowed = SFTCollator(processor, small_video_settings, "think")(items)
    full = SFTCollator(processor, small_video_settings, "think", full_labels=True)(items)
    assert windowed["logits_to_keep"] < full["input_ids"].shape[1]
    with torch.no_grad():
        torch.testing.assert_close(model(**windowed).loss, model(**full).loss, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("num_items", [None, 11])
def test_token_sum_loss_matches_transformers_causal_lm_loss(num_items):
    """Upcasting only the label positions changes nothing: same loss and same gradient as ForCausalLMLoss."""
    from transformers.loss.loss_utils import ForCausalLMLoss

    from actrep.train.sft import token_sum_loss

    torch.manual_seed(0)
    logits = torch.randn(3, 9, 50, dtype=torch.bfloat16, requires_grad=True)
    labels = torch.randint(0, 50, (3, 9))
    labels[0, :4] = labels[1, :7] = labels[2, 6:] = -100  # prompt, a short answer, right padding
    count = None if num_items is None else torch.tensor(num_items)
    ours = token_sum_loss({"logits": logits}, labels, count)
    (ours_grad,) = torch.autograd.grad(ours, logits)
    theirs = ForCausalLMLoss(logits, labels, vocab_size=50, num_items_in_batch=count)
    (theirs_grad,) = torch.autograd.grad(theirs, logits)
    torch.testing.assert_close(ours, theirs)
    torch.testing.assert_close(ours_grad, theirs_grad)
    assert ours_grad[0, :3].abs().sum() == 0 and ours_grad[0, 3].abs().sum() > 0  # position 3 predicts the first label


def test_loss_halves_within_twenty_steps(tiny_checkpoints, cot_data, tmp_path):
    # 20 steps at 1e-2 end at ~0.33 of the first loss (40 at 5e-3: ~0.22, in twice the time)
    trainer = build_trainer(*_args(tiny_checkpoints["qwen2_5_vl"], cot_data, tmp_path, "--max_steps", "20", "--learning_rate", "1e-2"))
    trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    assert losses[-1] < 0.5 * losses[0], losses


class _KillAt(TrainerCallback):
    def __init__(self, step):
        self.step = step

    def on_step_begin(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise KeyboardInterrupt


@pytest.mark.parametrize("precision", [[], ["--dtype", "bfloat16", "--bf16", "true"]], ids=["float32", "bf16_master_weights"])
def test_resume_gives_the_same_weights(precision, tiny_checkpoints, cot_data, tmp_path):
    """bf16: the checkpoint holds the float32 master weights, and resume reloads them without rounding."""
    extra = ["--max_steps", "4", "--save_steps", "2", "--seed", "7", *precision]
    straight = build_trainer(*_args(tiny_checkpoints["qwen2_vl"], cot_data, tmp_path / "straight", *extra))
    straight.train()
    killed = build_trainer(*_args(tiny_checkpoints["qwen2_vl"], cot_data, tmp_path / "resumed", *extra))
    killed.add_callback(_KillAt(2))
    with pytest.raises(KeyboardInterrupt):
        killed.train()
    assert (tmp_path / "resumed" / "checkpoint-2" / "actrep_settings.json").exists()
    resumed = build_trainer(*_args(tiny_checkpoints["qwen2_vl"], cot_data, tmp_path / "resumed", *extra))
    resumed.train(resume_from_checkpoint=str(tmp_path / "resumed" / "checkpoint-2"))
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert resumed.state.global_step == 4
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-5, atol=1e-6, msg=name)


def test_sft_stops_its_persistent_loader_workers_before_it_returns(tiny_checkpoints, cot_data, tmp_path):
    """Left to torch < 2.13's exit handlers, persistent workers cost 5 s each after the save (70 s with 14 on an
    H100: bench/results/2026-12-06-loader-exit-nvidia-h100-80gb-hbm3.md). With the garbage collector off, the
    trainer's reference cycles keep its loader, and so its workers, alive unless `actrep sft` stops them."""
    before = set(multiprocessing.active_children())
    gc.disable()
    try:
        assert main(["sft", "--model_name_or_path", str(tiny_checkpoints["qwen2_vl"]), "--train_data", str(cot_data),
                     "--output_dir", str(tmp_path / "out"), "--max_steps", "3", "--effective_batch_size", "0",
                     "--per_device_train_batch_size", "1", "--report_to", "none", "--dataloader_num_workers", "2",
                     "--dataloader_persistent_workers", "true", *VIDEO_FLAGS]) == 0
        left = set(multiprocessing.active_children()) - before
    finally:
        gc.enable()
    assert left == set()


def test_cli_lora_run_saves_a_merged_checkpoint_that_evaluates_without_flags(tiny_checkpoints, cot_data, tmp_path):
    out = tmp_path / "lora"
    assert main(["sft", "--model_name_or_path", str(tiny_checkpoints["qwen2_5_vl"]), "--train_data", str(cot_data),
                 "--output_dir", str(out), "--use_lora", "--max_steps", "2", "--effective_batch_size", "0",
                 "--report_to", "none", "--dataloader_num_workers", "0", *VIDEO_FLAGS]) == 0
    model = AutoModelForImageTextToText.from_pretrained(out)  # plain transformers, adapters merged
    assert not any("lora" in name for name, _ in model.named_parameters())
    settings = json.loads((out / "actrep_settings.json").read_text())
    assert settings["video"]["max_pixels"] == 3136 and settings["prompt_variant"] == "think"
    assert main(["eval", "--model", str(out), "--data", str(cot_data), "--splits", "train", "--out", str(tmp_path / "eval"),
                 "--max_new_tokens", "4"]) == 0
    metrics = json.loads((tmp_path / "eval" / "lora" / "metrics.json").read_text())
    assert metrics["settings_source"] == "checkpoint" and metrics["strict"]["n"] == 4


# Two processes (DDP, ZeRO-2, ZeRO-3, LoRA + ZeRO-3) through `torch.distributed.run -m actrep sft`: each must
# train what one float32 process trains, header and settings saved (tests/test_training_matrix.py).


def test_vision_learning_rate_makes_its_own_parameter_groups(tiny_checkpoints, cot_data, tmp_path):
    trainer = build_trainer(*_args(tiny_checkpoints["qwen2_5_vl"], cot_data, tmp_path, "--max_steps", "1",
                                   "--train_vision", "--vision_learning_rate", "1e-4", "--learning_rate", "1e-3"))
    optimizer = trainer.create_optimizer()
    rates = sorted({group["lr"] for group in optimizer.param_groups})
    assert rates == [1e-4, 1e-3]
    vision = {id(p) for n, p in trainer.model.named_parameters() if ".visual." in f".{n}"}
    for group in optimizer.param_groups:
        assert all((id(p) in vision) == (group["lr"] == 1e-4) for p in group["params"])


@pytest.mark.parametrize("family", ["qwen2_5_vl", "qwen3_vl"])
def test_fast_vision_attention_gives_the_same_loss_and_gradients(family, tiny_checkpoints, cot_data, tmp_path, monkeypatch):
    trainers = [build_trainer(*_args(tiny_checkpoints[family], cot_data, tmp_path / str(fast), "--max_steps", "1",
                                     "--train_vision", "true", "--fast_vision_attention", str(fast).lower()))
                for fast in (False, True)]
    from actrep.fast.vision_attention import is_enabled

    assert [is_enabled(t.model) for t in trainers] == [False, True]
    batch = trainers[0].data_collator([trainers[0].train_dataset[i] for i in (0, 3)])
    import actrep.fast.vision_attention as fva

    segments = []
    original = fva._segment_length
    monkeypatch.setattr(fva, "_segment_length", lambda cu: segments.append(original(cu)) or segments[-1])
    results = []
    for trainer in trainers:
        trainer.model.zero_grad()
        loss = trainer.model(**batch).loss
        loss.backward()
        grads = {n: p.grad.clone() for n, p in trainer.model.named_parameters() if p.grad is not None and "visual" in n}
        results.append((loss.detach(), grads))
    (loss_a, grads_a), (loss_b, grads_b) = results
    assert segments and all(n > 0 for n in segments), segments  # the batched branch ran
    torch.testing.assert_close(loss_a, loss_b, rtol=1e-5, atol=1e-6)
    assert grads_a.keys() == grads_b.keys() and any("attn" in n for n in grads_a)
    for name in grads_a:
        torch.testing.assert_close(grads_a[name], grads_b[name], rtol=1e-4, atol=1e-6, msg=name)


def test_uint8_pixels_train_exactly_as_the_processors_float32(tiny_checkpoints, cot_data, tmp_path):
    """`--uint8_pixels` (the default on a GPU): the collator ships uint8, the trainer normalises on the
    device; the same loss at every step and the same weights as the processor's float32 pixels, bit for bit."""
    runs = {}
    for uint8 in ("true", "false"):
        trainer = build_trainer(*_args(tiny_checkpoints["qwen2_5_vl"], cot_data, tmp_path / uint8, "--max_steps", "2",
                                       "--train_vision", "true", "--uint8_pixels", uint8))
        batch = trainer.data_collator([trainer.train_dataset[i] for i in (0, 1)])
        assert batch["pixel_values_videos"].dtype == (torch.uint8 if uint8 == "true" else torch.float32)
        trainer.train()
        losses = [r["loss"] for r in trainer.state.log_history if "loss" in r]
        runs[uint8] = (losses, {n: p.detach().clone() for n, p in trainer.model.named_parameters()})
    (losses, weights), (reference_losses, reference_weights) = runs["true"], runs["false"]
    assert len(losses) == 2 and losses == reference_losses
    assert all(torch.equal(weights[n], reference_weights[n]) for n in reference_weights)
