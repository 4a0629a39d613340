"""Stage 0 (vision alignment for from-scratch models) and the from-scratch pipeline script."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------------------------------ targets


def _spec(index=3, **overrides):
    from actrep.synth import SynthConfig, sample_spec

    cfg = SynthConfig(size="56", fps=8.0, duration=6.0, min_count=2, max_count=6, preset="medium", **overrides)
    return sample_spec(seed=5, cfg=cfg, index=index)


def test_frame_targets_follow_frame_phases():
    from actrep.synth import frame_phases
    from actrep.train.stage0_data import frame_targets

    for index in range(6):
        spec = _spec(index)
        targets = frame_targets(spec.frames, spec.intervals)
        _, progress = frame_phases(spec)
        np.testing.assert_allclose(targets[:, 0], np.cos(2 * np.pi * progress), atol=1e-6)
        np.testing.assert_allclose(targets[:, 1], np.sin(2 * np.pi * progress), atol=1e-6)
        for t in range(spec.frames):
            inside = any(s <= t < e for s, e in spec.intervals)
            assert targets[t, 2] == float(inside)
            assert targets[t, 3] == float(any(t == s for s, _ in spec.intervals))
            assert targets[t, 4] == float(any(t == e for _, e in spec.intervals))
        # idle frames hold the rest pose: angle 0, like every boundary frame
        idle = targets[:, 2] == 0
        np.testing.assert_allclose(targets[idle, 0], 1.0, atol=1e-6)
        assert int(targets[:, 3].sum()) == spec.count


@pytest.mark.parametrize("fps, offset", [(8.0, 0), (4.0, 0), (8.0, 5), (3.0, 5)])
def test_pair_targets_align_with_the_pipeline_sampled_frames(fps, offset):
    """Each temporal patch = two consecutive sampled frames; events land in the pair whose span holds them."""
    from actrep.models.registry import get_family
    from actrep.train.stage0_data import frame_targets, pair_targets
    from actrep.video import VideoSettings, sample_indices

    spec = _spec(4)
    family = get_family("qwen2_5_vl")
    clip_frames = spec.frames - offset
    indices = sample_indices(family, clip_frames, spec.fps, VideoSettings(fps=fps, max_frames=256))
    frames = frame_targets(spec.frames, spec.intervals)
    pairs = pair_targets(frames, indices, offset, clip_frames)
    assert len(pairs) == math.ceil(len(indices) / 2)
    starts = {s for s, _ in spec.intervals}
    ends = {e for _, e in spec.intervals}
    file_idx = [int(i) + offset for i in indices]
    for j in range(len(pairs)):
        a, b = file_idx[2 * j], file_idx[min(2 * j + 1, len(file_idx) - 1)]
        stop = file_idx[2 * j + 2] if 2 * j + 2 < len(file_idx) else offset + clip_frames
        np.testing.assert_allclose(pairs[j, :3], (frames[a, :3] + frames[b, :3]) / 2, atol=1e-6)
        assert pairs[j, 3] == float(any(a <= s < stop for s in starts))
        assert pairs[j, 4] == float(any(a <= e < stop for e in ends))
    if fps == spec.fps and offset == 0:  # dense sampling: every boundary frame is seen, once
        assert pairs[:, 3].sum() == spec.count


def test_pair_targets_refuse_frames_outside_the_clip():
    """transformers' sample_frames can return an index one past the end (float arange), e.g. 41 frames
    sampled at 3 of 8 fps; the targets must not silently read another clip's frames."""
    from actrep.errors import ActRepError
    from actrep.train.stage0_data import frame_targets, pair_targets

    frames = frame_targets(48, [(8, 20), (20, 30)])
    with pytest.raises(ActRepError, match="outside the clip"):
        pair_targets(frames, np.array([0, 3, 6, 41]), 7, 41)


@pytest.mark.parametrize("family_name", ["qwen2_vl", "qwen2_5_vl", "qwen3_vl"])
def test_dataset_targets_match_the_processor_temporal_patches(tmp_path, tiny_checkpoints, family_name):
    """A rendered clip through load_video + encode: as many target rows as temporal patches, and the
    same pixels as the processor call SFT/eval make: the collator's uint8 pixels, normalised as stage 0
    normalises them on the GPU, are bit for bit the processor's float32 ones, and so are the visual
    tokens the tower makes of them."""
    from actrep.manifest import load_samples
    from actrep.models.registry import ModelArguments, get_family, load_model
    from actrep.synth import SynthConfig, write_dataset
    from actrep.train.stage0_data import Stage0Collator, Stage0Dataset
    from actrep.train.stage0_head import video_features
    from actrep.video import VideoSettings, encode, load_video

    data = tmp_path / "data"
    write_dataset(SynthConfig(output_dir=str(data), n=3, seed=2, size="64", fps=8.0, duration=4.0, max_count=5,
                              splits="train=1", workers=1, quiet=True))
    settings = VideoSettings(fps=8.0, max_frames=64, min_pixels=56 * 56, max_pixels=56 * 56,
                             min_total_pixels=64 * 64, max_total_pixels=64 * 64 * 32)
    family = get_family(family_name)
    model, processor, _ = load_model(ModelArguments(str(tiny_checkpoints[family_name]), dtype="float32"))
    samples = load_samples(data, splits=["train"])
    dataset = Stage0Dataset(samples, family, settings)
    items = [dataset[i] for i in range(3)]
    raw = Stage0Collator(processor, settings)(items)
    stock = Stage0Collator(processor, settings, raw_pixels=False)(items)
    assert raw["targets"].shape[0] == int(raw["video_grid_thw"][:, 0].sum())
    assert raw["targets"][:, 3].sum() == sum(s.count for s in samples)
    reference = encode(processor, ["<|vision_start|><|video_pad|><|vision_end|>"] * 3,
                       [load_video(s.video_path, family, settings) for s in samples], settings)
    assert raw["pixel_values_videos"].dtype == torch.uint8
    assert torch.equal(reference["pixel_values_videos"], stock["pixel_values_videos"])
    with torch.no_grad():
        from_raw, _ = video_features(model, raw, "cpu")
        from_stock, _ = video_features(model, stock, "cpu")
    assert torch.equal(from_raw, from_stock)
    from actrep.video import normalize_pixels

    normalized = normalize_pixels(raw["pixel_values_videos"], raw["pixel_mean"], raw["pixel_std"])
    assert torch.equal(normalized, reference["pixel_values_videos"])


# -------------------------------------------------------------------------------------- components


def test_lr_schedule_and_probe_counters():
    from actrep.train.stage0 import lr_factor
    from actrep.train.stage0_probes import count_from_phase, count_from_starts

    assert lr_factor(0.0, 0.1, 0.0) == 0.0
    assert lr_factor(0.1, 0.1, 0.0) == pytest.approx(1.0)
    assert lr_factor(1.0, 0.1, 0.05) == pytest.approx(0.05)
    assert count_from_starts([0.9, 0.8, 0.1, 0.2, 0.7, 0.1, 0.6]) == 3
    angles = np.concatenate([np.zeros(3), np.linspace(0, 2 * np.pi, 6, endpoint=False), np.linspace(0, 2 * np.pi, 5, endpoint=False), [0, 0]])
    assert count_from_phase(list(zip(np.cos(angles), np.sin(angles)))) == 2


@pytest.mark.parametrize("family", ["qwen2_5_vl", "qwen3_vl"])
def test_fast_vision_features_match_the_stock_path(tiny_checkpoints, family):
    """Stage 0 trains through the batched vision attention; the features (and so the saved tower) are the stock ones."""
    from actrep.models.registry import ModelArguments, load_model
    from actrep.train.stage0_head import video_features

    model, _, _ = load_model(ModelArguments(str(tiny_checkpoints[family]), dtype="float32"))
    patch = model.config.vision_config.patch_size
    grid = torch.tensor([[3, 6, 6], [2, 6, 6]]) if patch == 14 else torch.tensor([[3, 4, 4], [2, 4, 4]])
    torch.manual_seed(0)
    batch = {"pixel_values_videos": torch.randn(int(grid.prod(-1).sum()), 3 * 2 * patch * patch), "video_grid_thw": grid}
    with torch.no_grad():
        fast, _ = video_features(model, batch, "cpu", fast=True)
        stock, _ = video_features(model, batch, "cpu", fast=False)
    torch.testing.assert_close(fast, stock, atol=1e-5, rtol=1e-4)


def test_pool_pairs_averages_the_tokens_of_each_temporal_patch():
    from actrep.train.stage0_head import pool_pairs

    grid = torch.tensor([[2, 4, 4], [1, 4, 8]])  # 4 tokens per pair, then 8
    features = torch.arange(16, dtype=torch.float32).repeat_interleave(1).view(-1, 1).expand(-1, 3).clone()
    pooled = pool_pairs(features, grid)
    assert pooled.shape == (3, 3)
    assert pooled[:, 0].tolist() == [1.5, 5.5, 11.5]


# ------------------------------------------------------------------------------------- the command


def test_stage0_trains_saves_and_reloads(tmp_path, tiny_checkpoints, synth_data):
    """A few CPU steps: the loss drops, only the vision side changes, the checkpoint reloads with plain
    transformers and carries actrep_settings.json with the video settings used."""
    from safetensors.torch import load_file
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from actrep.settings import load_settings
    from actrep.train import stage0

    start = tiny_checkpoints["qwen2_5_vl"]
    out = tmp_path / "stage0"
    code = stage0.main([
        "--model_name_or_path", str(start), "--train_data", str(synth_data), "--eval_data", str(synth_data),
        "--eval_splits", "train", "--output_dir", str(out), "--max_steps", "30", "--batch_size", "4",
        "--learning_rate", "3e-3", "--warmup_ratio", "0.1", "--num_workers", "0", "--logging_steps", "1",
        "--fps", "4", "--max_frames", "16", "--min_pixels", "3136", "--max_pixels", "3136", "--seed", "0"])
    assert code == 0
    log = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(log) == 30
    first = np.mean([r["loss"] for r in log[:4]])
    last = np.mean([r["loss"] for r in log[-4:]])
    assert last < 0.85 * first, (first, last)

    settings = load_settings(out)
    assert settings is not None and settings.family == "qwen2_5_vl"
    assert settings.video.fps == 4.0 and settings.video.max_pixels == 3136
    model = AutoModelForImageTextToText.from_pretrained(str(out))
    AutoProcessor.from_pretrained(str(out))
    assert type(model).__name__ == "Qwen2_5_VLForConditionalGeneration"
    before, after = load_file(str(start / "model.safetensors")), load_file(str(out / "model.safetensors"))
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all("visual" in k for k in changed), sorted(changed)[:5]
    assert any("merger" in k for k in changed) and any("blocks" in k for k in changed)
    head = torch.load(out / "stage0_head.pt")
    assert head["targets"] == ["cos", "sin", "active", "start", "end"]
    summary = json.loads((out / "stage0_metrics.json").read_text())
    assert summary["train"]["steps"] == 30
    probe = summary["probe"][synth_data.name]
    assert 0 <= probe["count_from_starts"]["obo"] <= 1 and probe["videos"] == 8


def test_stage0_with_uint8_pixels_trains_exactly_as_with_float32(tmp_path, tiny_checkpoints, synth_data):
    """The default (uint8 pixels from a loader worker, normalised on the training device) and the
    processor's float32 pixels: the same losses at every step and the same saved weights, bit for bit."""
    from safetensors.torch import load_file

    from actrep.train import stage0

    runs = {}
    for uint8 in ("true", "false"):
        out = tmp_path / f"uint8_{uint8}"
        assert stage0.main([
            "--model_name_or_path", str(tiny_checkpoints["qwen2_5_vl"]), "--train_data", str(synth_data),
            "--output_dir", str(out), "--max_steps", "4", "--batch_size", "4", "--learning_rate", "3e-3",
            "--num_workers", "1", "--logging_steps", "1", "--match_text_rms", "false", "--uint8_pixels", uint8,
            "--fps", "4", "--max_frames", "16", "--min_pixels", "3136", "--max_pixels", "3136", "--seed", "0"]) == 0
        log = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
        runs[uint8] = ([r["loss"] for r in log], load_file(str(out / "model.safetensors")))
    (losses, weights), (reference_losses, reference_weights) = runs["true"], runs["false"]
    assert len(losses) == 4 and losses == reference_losses
    assert all(torch.equal(weights[k], reference_weights[k]) for k in reference_weights)


def test_prefetcher_close_stops_the_persistent_loader_workers():
    """Stage 0's loader keeps its workers between epochs; closing the prefetcher stops them at once (torch < 2.13
    would otherwise wait 5 s for each at exit), and the loader still gives batches afterwards."""
    from actrep.train.stage0_data import Prefetcher, make_loader

    loader = make_loader(list(range(64)), None, batch_size=4, workers=2, prefetch=2, shuffle=True, seed=0, drop_last=False)
    prefetcher = Prefetcher(loader)
    assert prefetcher.get() is not None
    workers = list(loader._iterator._workers)
    assert all(worker.is_alive() for worker in workers)
    prefetcher.close()
    assert not any(worker.is_alive() for worker in workers)
    assert len(next(iter(loader))) == 4


def test_curriculum_trains_on_its_data_first_then_on_the_training_data(tmp_path, tiny_checkpoints, synth_data, monkeypatch, capsys):
    """--curriculum_data feeds the first --curriculum_share of the run, then --train_data takes over."""
    from actrep.synth import SynthConfig, write_dataset
    from actrep.train import stage0

    squat = tmp_path / "squat"
    write_dataset(SynthConfig(output_dir=str(squat), n=4, seed=7, fps=4.0, size="64", min_count=2, max_count=3, families=["squat"],
                              preset="easy", splits="train=1", workers=1, quiet=True))
    fed = []  # (step when the prefetcher started, the video folders of its data)

    class Recording(stage0.Prefetcher):
        def __init__(self, loader, size=2):
            fed.append({Path(s.video_path).parent.parent.parent for s in loader.dataset.samples})
            super().__init__(loader, size)

    monkeypatch.setattr(stage0, "Prefetcher", Recording)
    out = tmp_path / "stage0"
    assert stage0.main([
        "--model_name_or_path", str(tiny_checkpoints["qwen2_5_vl"]), "--train_data", str(synth_data), "--curriculum_data", str(squat),
        "--curriculum_share", "0.4", "--output_dir", str(out), "--max_steps", "10", "--batch_size", "4", "--num_workers", "0", "--logging_steps", "1",
        "--match_text_rms", "false", "--fps", "4", "--max_frames", "8", "--min_pixels", "3136", "--max_pixels", "3136"]) == 0
    assert fed == [{squat}, {synth_data}]
    summary = json.loads((out / "stage0_metrics.json").read_text())
    assert summary["train"]["steps"] == 10 and len((out / "metrics.jsonl").read_text().splitlines()) == 10
    assert summary["train"]["curriculum"] == {"data": [str(squat)], "videos": 4, "switched_at_step": 4}
    assert "step 4: curriculum done, training on 8 videos of --train_data" in capsys.readouterr().out


def test_match_text_rms_rescales_tokens_and_head_together(tiny_checkpoints, synth_data):
    """The saved merger emits tokens at the LM embedding RMS and the saved head gives the same outputs."""
    from actrep.models.registry import ModelArguments, load_model
    from actrep.train.stage0_head import Stage0Head, pool_pairs, rescale_merger_output

    model, _, _ = load_model(ModelArguments(str(tiny_checkpoints["qwen2_5_vl"]), dtype="float32"))
    grid = torch.tensor([[2, 4, 4]])
    pixels = torch.randn(32, 3 * 2 * 14 * 14)
    head = Stage0Head(model.config.vision_config.out_hidden_size, hidden=8)
    with torch.no_grad():
        features = torch.cat(list(model.model.get_video_features(pixels, grid, return_dict=True).pooler_output))
        before = head(pool_pairs(features, grid))
        rescale_merger_output(model, head, 3.0)
        scaled = torch.cat(list(model.model.get_video_features(pixels, grid, return_dict=True).pooler_output))
        after = head(pool_pairs(scaled, grid))
    torch.testing.assert_close(scaled, 3.0 * features, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-4)


def test_cli_errors_are_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "actrep.train.stage0", "--train_data", str(tmp_path)],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: give the starting checkpoint")


# ------------------------------------------------------------------------------- the pipeline script


@pytest.fixture(scope="module")
def scratch_work(tmp_path_factory, forked_python):
    """One WORK for both run.sh modes below, and a python that fails on purpose in the seeds mode: grpo_s1
    runs out of GPU memory once, sft_s2 breaks, and sft_s1 waits (up to 10 min) until sft_s2 has started.
    Main mode's names (sft, grpo) pass through, so the seeds mode reuses main's data, model, stage 0 and CoT
    (the same commands), as on a GPU machine. Every other call forks from the session's forked-python
    server (tests/forked_python.py says why)."""
    root = tmp_path_factory.mktemp("scratch")
    fake = forked_python.shim(root / "python", prelude=f"""case " $* " in
  *"/grpo_s1 "*) [ -f {root}/oom_once ] || {{ touch {root}/oom_once; echo "torch.OutOfMemoryError: CUDA out of memory." >&2; exit 1; }};;
  *" sft "*"/sft_s1 "*) for i in $(seq 1 1200); do [ -f {root}/sft_s2_started ] && break; sleep 0.5; done;;
  *" sft "*"/sft_s2 "*) touch {root}/sft_s2_started; echo "RuntimeError: broken on purpose" >&2; exit 1;;
esac
""")
    env = {**os.environ, "SCALE": "tiny", "WORK": str(root / "work"), "PYTHON": str(fake),
           "STAGE0_STEPS": "16", "STAGE0_SECONDS": "0",  # by steps, no time bound: the same stage 0 on a loaded machine
           "UINT8_PIXELS": "true"}  # stage 0 and SFT as on a GPU: uint8 pixels from the loader
    return root, env


@pytest.mark.parametrize("families, budget, expected", [
    # stage 0 by steps: a time bound gave a weaker model on a busier machine (2026-12-07-h100-balanced-mix)
    ("squat", {}, ["3000 training clips", "families: squat", "stage 0 800 steps (STAGE0=1)"]),
    # all eight: stage 0 learns them only after a long enough squat-only phase (2026-12-07-h100-all8)
    ("all", {}, ["12000 training clips", "families: all", "stage 0 2880 steps (STAGE0=1; its first 0.3 on squat only)",
                 "SFT ~1600 steps"]),
    # a time bound alone replaces the steps' default (the runs before 2026-12-07); both: whichever ends first
    ("squat", {"STAGE0_SECONDS": "240"}, ["stage 0 240 s (STAGE0=1)"]),
    ("all", {"STAGE0_SECONDS": "420", "STAGE0_STEPS": "2000"}, ["stage 0 2000 steps or 420 s (STAGE0=1;"]),
])
def test_run_sh_gpu_plan_defaults(tmp_path, families, budget, expected):
    """PLAN_ONLY=1 resolves the gpu defaults without running a stage; FAMILIES=all brings its own."""
    env = {**os.environ, "SCALE": "gpu", "PLAN_ONLY": "1", "FAMILIES": families, "WORK": str(tmp_path / "work"), **budget}
    for name in ("STAGE0_SECONDS", "STAGE0_STEPS"):
        if name not in budget:
            env.pop(name, None)
    result = subprocess.run(["bash", "results/scratch/run.sh", str(tmp_path / "out")], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    log = (tmp_path / "out" / "run.log").read_text()
    for text in expected + ["PLAN_ONLY=1: stopped before the first stage"]:
        assert text in log, (text, log)
    assert not (tmp_path / "work" / "data").exists() and not (tmp_path / "out" / "machine.txt").exists()
    no_curriculum = subprocess.run(["bash", "results/scratch/run.sh", str(tmp_path / "out2")], cwd=ROOT,
                                   env={**env, "STAGE0_CURRICULUM": ""}, capture_output=True, text=True, timeout=120)
    assert no_curriculum.returncode == 0 and "only)" not in (tmp_path / "out2" / "run.log").read_text()


def test_run_sh_refuses_a_bad_uint8_pixels_value(tmp_path):
    env = {**os.environ, "SCALE": "gpu", "PLAN_ONLY": "1", "UINT8_PIXELS": "yes", "WORK": str(tmp_path / "work")}
    result = subprocess.run(["bash", "results/scratch/run.sh", str(tmp_path / "out")], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stderr.strip() == "UINT8_PIXELS must be true or false (got yes)"


@pytest.mark.slow
def test_run_sh_tiny_end_to_end(scratch_work):
    """`SCALE=tiny bash results/scratch/run.sh OUT` runs every stage on a CPU and writes the results."""
    root, env = scratch_work
    out, work, env = root / "out", root / "work", {**env, "GRPO_ARGS": "--temperature 1.3 --top_p 0.95", "SAMPLED_EVAL_SEEDS": "5"}
    result = subprocess.run(["bash", "results/scratch/run.sh", str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["eval"]["test_id"]) == {"base", "stage0", "sft", "grpo", "sft_sampled_s5", "grpo_sampled_s5"}
    assert set(summary["eval"]["test_hard"]) == {"sft", "grpo"}
    assert summary["stage0"]["probe"]["test_id"]["videos"] == 6
    assert summary["stage0"]["train"]["steps"] == 16  # STAGE0_STEPS reached actrep stage0, with no time bound
    for run in summary["eval"]["test_id"].values():  # which way the misses went, per bin (summary.md's table too)
        for cell in run["by_bin"].values():
            assert cell["obo"] + cell["under"] + cell["over"] <= 1 + 1e-9, cell
    assert "too low (< truth - 1) / too high" in (out / "summary.md").read_text()
    for name in ("stage0.png", "sft.png", "grpo.png", "metrics.png"):
        assert (out / "curves" / name).stat().st_size > 1000, name
    for name in ("report_test_id.html", "report_test_hard.html", "machine.txt", "commands.sh", "timings.tsv", "summary.md"):
        assert (out / name).exists(), name
    commands = (out / "commands.sh").read_text().split("\n\n")
    assert [c.split("\n")[0] for c in commands if "--uint8_pixels true" in c] == ["# stage0", "# sft"], commands
    arguments = json.loads((out / "artifacts" / "grpo" / "arguments.json").read_text())["GRPOArguments"]
    assert (arguments["temperature"], arguments["top_p"]) == (1.3, 0.95)  # GRPO_ARGS reached actrep grpo
    for run in ("sft_sampled_s5", "grpo_sampled_s5"):  # SAMPLED_EVAL_SEEDS: the training decoder's answers too
        generation = json.loads((out / "eval" / "test_id" / run / "metrics.json").read_text())["generation"]
        assert (generation["do_sample"], generation["temperature"], generation["top_k"]) == (True, 1.0, 0)
    # the later stages reused the stage-0 video settings
    settings = json.loads((out / "artifacts" / "grpo" / "actrep_settings.json").read_text())
    assert settings["video"]["fps"] == 8.0 and settings["video"]["max_pixels"] == 56 * 56
    config = json.loads((work / "model" / "config.json").read_text())
    assert config["vision_config"]["tokens_per_second"] == 4
    # a second run reuses every finished stage
    again = subprocess.run(["bash", "results/scratch/run.sh", str(root / "out2")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    timings = (root / "out2" / "timings.tsv").read_text()
    assert "stage0\t0\treused" in timings and "grpo\t0\treused" in timings


@pytest.mark.slow
def test_run_sh_ablation_mix_trains_each_arm_on_its_counts(scratch_work):
    """Mode ablation_mix: each arm's GRPO sees only the counts its RCS flags allow, next to main's run."""
    root, env = scratch_work
    out = root / "out_mix"
    env = {**env, "GRPO_ARGS": "--temperature 1.3 --top_p 0.95",  # main's, so its grpo is the first arm
           "MIX_ARMS": "grpo=;grpo_top=--rcs_strata 3-4 --no_rcs_keep_originals --log_completions_steps 1"}
    result = subprocess.run(["bash", "results/scratch/run.sh", "ablation_mix", str(out)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    counts = {json.loads(line)["count"] for line in (out / "artifacts" / "grpo_top" / "completions.jsonl").open()}
    assert counts and counts <= {3, 4}, counts
    arguments = json.loads((out / "artifacts" / "grpo_top" / "arguments.json").read_text())
    assert (arguments["DataArguments"]["rcs_strata"], arguments["DataArguments"]["rcs_keep_originals"]) == ("3-4", False)
    assert arguments["GRPOArguments"]["temperature"] == 1.3
    assert {d.name for d in (out / "eval" / "test_id").iterdir()} == {"sft", "grpo", "grpo_top"}
    assert (out / "report_test_id.html").exists()
    if (root / "out" / "summary.json").exists():  # main ran first in this WORK: its SFT and GRPO were reused
        timings = (out / "timings.tsv").read_text()
        assert "sft\t0\treused" in timings and "grpo\t0\treused" in timings
    bad = subprocess.run(["bash", "results/scratch/run.sh", "ablation_mix", str(root / "out_bad")], cwd=ROOT,
                         env={**env, "MIX_ARMS": "grpo;x=--rcs false"}, capture_output=True, text=True, timeout=600)
    assert bad.returncode == 2 and "MIX_ARMS: 'grpo' is not NAME=FLAGS" in bad.stderr


@pytest.mark.slow
def test_run_sh_seeds_survives_out_of_memory_and_a_failed_seed(scratch_work):
    """Mode seeds on the CPU with a python that fails on purpose: a stage that ran out of GPU memory next
    to others is rerun alone and finishes; a seed that fails otherwise loses only itself (summary of the
    rest, exit 1 naming it); with SFT_SIDE_BY_SIDE=3 every seed's SFT starts at once."""
    root, env = scratch_work
    # shorter SFT and answers than the main run's (the seeds' stages are new runs either way)
    out, env = root / "out_seeds", {**env, "SEEDS": "0 1 2", "GRPO_LRS": "1e-4", "SFT_STEPS": "2", "EVAL_TOKENS": "8"}
    env["SFT_SIDE_BY_SIDE"] = "3"
    result = subprocess.run(["bash", "results/scratch/run.sh", "seeds", str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    log = (out / "run.log").read_text()
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "grpo_s1: out of GPU memory next to the stages running in parallel; rerunning it alone" in log
    assert (out / "logs" / "grpo_s1.out_of_memory.log").exists() and "grpo_s1: done" in log
    assert "seed(s) 2 FAILED" in log and "plan: seeds 0 1 2, 3 SFTs side by side" in log
    # three chains: sft_s2 started before sft_s1 (which waits for it) was done; with two it would start after
    assert log.index("sft_s2: started") < log.index("sft_s1: done")
    summary = json.loads((out / "seeds_summary.json").read_text())
    assert [s["seed"] for s in summary["seeds"]] == [0, 1]
    # the sweep runs as long as the final GRPO, so its run at the picked rate is seed 0's GRPO (reused);
    # with one rate there is nothing to pick, and seeds 1 and 2 went on without waiting for it
    assert "sweep_lr1e-4\t0\treused" in (out / "timings.tsv").read_text() and "grpo_s0: started" not in log
    assert "GRPO learning rate from the validation sweep" not in log and "one GRPO learning rate (1e-4)" in log
    assert (out / "eval" / "test_id" / "grpo_s0" / "metrics.json").exists()
    sweep = json.loads((out / "sweep.json").read_text())  # the SFT it starts from, scored on the same clips
    assert sweep["picked"] == "1e-4" and sweep["sft"]["run"].endswith("eval/valid/sft_s0")
    assert {d.name for d in (out / "artifacts").iterdir()} >= {"stage0", "sweep_lr1e-4", "sft_s0", "sft_s1", "grpo_s1"}
    # the main run's data, model, stage 0 and CoT, same commands in the same WORK, were reused (when it ran first)
    if (root / "out" / "summary.json").exists():
        timings = (out / "timings.tsv").read_text()
        assert all(f"{stage}\t0\treused" in timings for stage in ("synth_train", "synth_test_id", "model", "stage0", "cot"))
    # two rates: the sweep picks one on the validation split before any other seed's GRPO; the finished SFTs
    # and the 1e-4 sweep run are reused
    out = root / "out_seeds_sweep"
    result = subprocess.run(["bash", "results/scratch/run.sh", "seeds", str(out)], cwd=ROOT,
                            env={**env, "SEEDS": "0 1", "GRPO_LRS": "1e-4 3e-4"}, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    log, timings = (out / "run.log").read_text(), (out / "timings.tsv").read_text()
    sweep = json.loads((out / "sweep.json").read_text())
    assert sweep["picked"] in ("1e-4", "3e-4") and f"GRPO learning rate from the validation sweep: {sweep['picked']}" in log
    assert all(f"{stage}\t0\treused" in timings for stage in ("sft_s0", "sft_s1", "sweep_lr1e-4"))
    assert log.index("GRPO learning rate from the validation sweep") < log.index("s1_test_id: ")
    assert [s["seed"] for s in json.loads((out / "seeds_summary.json").read_text())["seeds"]] == [0, 1]
