"""`actrep stage0`: align the vision side of a from-scratch Qwen-VL model with a direct objective.

    actrep stage0 --config recipes/scratch/stage0.yaml --model_name_or_path M --train_data DATA --output_dir OUT

Why: a randomly initialised Qwen-VL trained with SFT alone learns the answer format and then sits at
the count prior: the video reaches the language model as a small perturbation on nuisance variation
(background, colours, camera) and nothing pushes the LM to use it (issue 8). Standard VLM practice
aligns the vision side before instruction tuning; here the alignment target is the thing counting
needs. A small head on the merged visual tokens of each temporal patch (a frame pair; its spatial
tokens mean-pooled) predicts, from that pair alone:

    (cos 2*pi*u, sin 2*pi*u)   the phase u of the repetition shown (idle = the rest pose = angle 0)
    active                     inside a repetition vs idle lead-in/out and pauses
    start, end                 a repetition boundary happens during this pair

Targets come from the per-repetition frame intervals (`actrep.train.stage0_data`), aligned with the
frames the video pipeline samples; every clip is decoded and tokenised by the same calls as SFT,
GRPO and evaluation. Afterwards each frame pair's tokens carry its phase and boundary events, and
the CoT's per-repetition intervals map onto those tokens. The vision tower and merger train; the LM
is untouched. The head is training-only: it is saved beside the checkpoint (stage0_head.pt) and
ignored by `from_pretrained`.

Output: a complete HF checkpoint (+ processor + actrep_settings.json with the video settings, which
SFT, GRPO and eval then reuse), stage0_metrics.json (throughput, final losses, probe metrics on the
held-out sets: phase error, boundary F1 and a count read off the head, i.e. how much of the count
the visual tokens already carry), metrics.jsonl (the training curve).

Budget: `max_time_s` makes the run fit a wall-clock budget: the schedule follows
progress = max(step / max_steps, elapsed / max_time_s) and training stops at progress 1, so the
cosine decay always completes whatever the throughput turns out to be.

Files: this one holds the options, the training loop (with data echoing: when the prefetcher has no
fresh batch ready, a recent one is replayed instead of waiting) and the command; stage0_data.py the
targets, dataset, collator, loader and prefetcher; stage0_head.py the head and the vision side it
trains; stage0_probes.py the held-out probes.
"""

from __future__ import annotations

import collections
import contextlib
import json
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from actrep.config import option, parse_config
from actrep.errors import ActRepError
from actrep.models.registry import ModelArguments
from actrep.prompts import PromptSettings
from actrep.train.precision import PrecisionArguments
from actrep.train.stage0_data import Prefetcher, load_stage0_samples, make_loader, to_device
from actrep.train.stage0_head import (Stage0Head, freeze_for_stage0, merge_size, param_groups, pool_pairs, rescale_merger_output,
                                      stage0_loss, text_embedding_rms, video_features, visual_token_rms)
from actrep.train.stage0_probes import probe_metrics
from actrep.video import VideoSettings


@dataclass
class Stage0Arguments:
    train_data: list[str] = option([], help="Training datasets with per-repetition frame boundaries (an `actrep synth` folder, RepCount-A CSVs, JSONL from `actrep cot`).")
    videos: str | None = option(None, help="Folder video ids are resolved against (default: each dataset's folder).")
    train_splits: list[str] = option(["train"], help="Splits used for training.")
    max_train_samples: int = option(0, help="Use only the first N training videos (0: all).")
    curriculum_data: list[str] = option([], help="A curriculum: train on these datasets first (one motion family, say), then on --train_data. With all eight synthetic families from the start, stage 0 stayed at chance (docs/from_scratch.md).")
    curriculum_share: float = option(0.3, help="Share of the run (of steps or time, whichever leads) spent on --curriculum_data.")
    eval_data: list[str] = option([], help="Held-out datasets for the probe metrics after training (each reported under its folder name).")
    eval_splits: list[str] = option(["test"], help="Splits of --eval_data.")
    eval_limit: int = option(512, help="Videos per held-out dataset for the probe metrics (0: all).")
    output_dir: str = option("runs/stage0", help="Where the checkpoint, the head and the metrics go.")
    max_steps: int = option(1000, help="Optimisation steps (the schedule's length unless --max_time_s ends it first).")
    max_time_s: float = option(0.0, help="Wall-clock budget for the training loop in seconds (0: none); the schedule follows whichever of steps and time runs out first.")
    batch_size: int = option(32, help="Videos per optimisation step.")
    learning_rate: float = option(1e-3, help="Peak learning rate of the vision tower and merger.")
    head_learning_rate: float = option(0.0, help="Peak learning rate of the head (0: --learning_rate).")
    weight_decay: float = option(0.05, help="AdamW weight decay (matrices only; norms and biases are not decayed).")
    warmup_ratio: float = option(0.05, help="Share of the run spent warming up (of steps or time, whichever leads).")
    min_lr_ratio: float = option(0.05, help="The cosine decays to this share of the peak learning rate.")
    max_grad_norm: float = option(1.0, help="Gradient clipping norm (0: off).")
    phase_weight: float = option(1.0, help="Weight of the phase loss (MSE on cos, sin).")
    active_weight: float = option(0.5, help="Weight of the active/idle loss (BCE).")
    boundary_weight: float = option(1.0, help="Weight of the start/end loss (BCE, mean of the two).")
    head_hidden: int = option(0, help="Hidden width of the head (0: linear head, which asks the pooled tokens to carry the targets linearly).")
    train_vision: bool = option(True, help="Train the vision transformer blocks (the merger always trains).")
    match_text_rms: bool = option(True, help="After training, rescale the merger's last layer (and the saved head) so visual tokens have the RMS of the LM's token embeddings.")
    uint8_pixels: bool = option(torch.cuda.is_available(), help="Workers ship the clips' pixels as uint8 and the GPU normalises them to the processor's exact float32 values: a quarter of the bytes through shared memory, pinning and the host-to-GPU copy, and 2.3x less collating in the workers (bench/uint8_pixels.py). Default on a GPU; on a CPU the normalisation would move from the parallel workers into the training process.")
    batched_attention: bool = option(True, help="Vision tower with one batched attention call per layer over equal-sized frame pairs/windows (actrep.fast.vision_attention; same result; the stock sdpa path loops over every frame pair).")
    seed: int = option(0, help="Seed for initialisation of the head and data order.")
    bf16: bool = option(torch.cuda.is_available(), help="bf16 autocast (default on a GPU).")
    num_workers: int = option(4, help="DataLoader worker processes decoding and tokenising clips.")
    prefetch_factor: int = option(2, help="Batches each worker prepares ahead.")
    max_replay: int = option(0, help="Data echoing: while no fresh batch is ready, take up to this many extra steps on batches from a replay buffer of recent ones (0: off). Stage 0 is bound by video decoding; this keeps the GPU learning meanwhile.")
    replay_buffer: int = option(32, help="Recent batches kept (on the training device) for --max_replay.")
    logging_steps: int = option(10, help="Log every N steps (console + metrics.jsonl).")


def lr_factor(progress: float, warmup: float, min_ratio: float) -> float:
    """Linear warmup over `warmup` of the run, then cosine decay to `min_ratio`."""
    progress = min(max(progress, 0.0), 1.0)
    if warmup > 0 and progress < warmup:
        return progress / warmup
    t = (progress - warmup) / max(1e-9, 1.0 - warmup)
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * t))


def temporal_rope_check(model, video: VideoSettings) -> str | None:
    """A warning if Qwen2.5-VL's temporal rope positions of consecutive frame pairs collide.

    transformers computes positions as long(pair_index * tokens_per_second * seconds_per_pair): with
    2 tokens per second (the Qwen2.5-VL default) and more than 4 frames per second sampled, two or
    more consecutive frame pairs get the same temporal position.
    """
    tokens_per_second = getattr(model.config.vision_config, "tokens_per_second", None)
    if tokens_per_second is None or video.num_frames or not video.fps:
        return None
    step = tokens_per_second * 2.0 / video.fps
    if step < 1.0:
        need = math.ceil(video.fps / 2.0)
        return (f"vision_config.tokens_per_second={tokens_per_second} at {video.fps:g} fps gives temporal rope steps of {step:g} per "
                f"frame pair: consecutive pairs share a position; set it to >= {need} in config.json for distinct positions")
    return None


# ----------------------------------------------------------------------------------------- training


def train(args: Stage0Arguments, model_args: ModelArguments, video: VideoSettings, prompt: PromptSettings,
          precision: PrecisionArguments | None = None) -> dict:
    from actrep.models.registry import load_model, resolve_dtype
    from actrep.train.export import save_weights
    from actrep.train.precision import check_precision, export_dtype, keep_master_weights
    from actrep.settings import PipelineSettings, resolve_settings
    from actrep.train.common import save_checkpoint_extras, trainable_summary
    from actrep.train.stage0_data import Stage0Collator, Stage0Dataset

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    started = time.perf_counter()
    model_args.dtype = "float32" if model_args.dtype == "auto" else model_args.dtype
    precision = precision or PrecisionArguments()
    check_precision(resolve_dtype(model_args.dtype), args.bf16, False, precision)
    model, processor, family = load_model(model_args)
    video, variant, source = resolve_settings(model_args.model_name_or_path, video, prompt.prompt_variant, model_args.ignore_saved_settings)
    if source == "checkpoint":
        print(f"using the video settings saved with {model_args.model_name_or_path} (--ignore_saved_settings to use flags)")
    warning = temporal_rope_check(model, video)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    model.to(device)
    trainable = freeze_for_stage0(model, args.train_vision)
    precision_line = keep_master_weights(model, precision, deepspeed=False, bf16=args.bf16)
    merge = merge_size(model)
    dim = int(getattr(model.config.vision_config, "out_hidden_size", 0) or model.config.text_config.hidden_size)
    head = Stage0Head(dim, args.head_hidden).to(device)
    trainable_names = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = param_groups(trainable_names, args.learning_rate, args.weight_decay)
    groups += param_groups(list(head.named_parameters()), args.head_learning_rate or args.learning_rate, args.weight_decay)
    optimizer = torch.optim.AdamW([g for g in groups if g["params"]], betas=(0.9, 0.95), eps=1e-8)

    samples = load_stage0_samples(args.train_data, args.videos, args.train_splits, args.max_train_samples)
    if not samples:
        raise ActRepError("stage 0: no training videos (give --train_data with per-repetition boundaries)")
    if len(samples) < args.batch_size:
        raise ActRepError(f"stage 0: {len(samples)} training videos but --batch_size {args.batch_size}")
    collator = Stage0Collator(processor, video, variant, raw_pixels=args.uint8_pixels)

    def loader_of(videos):
        return make_loader(Stage0Dataset(videos, family, video), collator, args.batch_size, args.num_workers,
                           args.prefetch_factor, shuffle=True, seed=args.seed, drop_last=True)

    loader = loader_of(samples)
    first = []
    if args.curriculum_data:
        first = load_stage0_samples(args.curriculum_data, args.videos, args.train_splits, args.max_train_samples)
        if len(first) < args.batch_size:
            raise ActRepError(f"stage 0: {len(first)} curriculum videos in {' '.join(args.curriculum_data)} but --batch_size {args.batch_size}")
    def autocast():
        return torch.autocast(device.type, dtype=torch.bfloat16) if args.bf16 else contextlib.nullcontext()

    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    metrics_path = output_dir / "metrics.jsonl"
    metrics_path.write_text("")
    print(f"actrep stage0: {len(samples)} training videos"
          + (f" after {len(first)} curriculum videos for {100 * args.curriculum_share:g}% of the run" if first else "")
          + f", batch {args.batch_size}, up to {args.max_steps} steps"
          + (f" or {args.max_time_s:g} s" if args.max_time_s else "")
          + f"; video {video.fps:g} fps, pixels {video.min_pixels}-{video.max_pixels}; {trainable_summary(model)}; {precision_line}; device {device}",
          flush=True)

    step, clips, pairs_seen, data_wait, replayed = 0, 0, 0, 0.0, 0
    sums: dict[str, torch.Tensor] = {}
    since_log = 0
    last: dict = {}
    setup_s = time.perf_counter() - started
    rng = random.Random(args.seed)
    buffer: collections.deque = collections.deque(maxlen=max(1, args.replay_buffer))
    replays_since_fresh = 0
    prefetcher = Prefetcher(loader_of(first) if first else loader)
    switched_at = None if first else 0  # the step at which --train_data took over from --curriculum_data
    loop_start = time.perf_counter()
    progress = 0.0
    model.train()
    head.train()
    try:
        while progress < 1.0:
            # a fresh batch when one is ready (or when replay is off / capped); else replay a recent one
            must_wait = args.max_replay <= 0 or replays_since_fresh >= args.max_replay or not buffer
            t0 = time.perf_counter()
            batch = prefetcher.get(block=must_wait)
            data_wait += time.perf_counter() - t0
            if batch is not None:
                batch = to_device(batch, device)
                buffer.append(batch)
                replays_since_fresh = 0
                clips += len(batch["keys"])
                pairs_seen += len(batch["targets"])
            else:
                batch = buffer[rng.randrange(len(buffer))]
                replays_since_fresh += 1
                replayed += 1
            elapsed = time.perf_counter() - loop_start
            progress_now = max(step / args.max_steps, elapsed / args.max_time_s if args.max_time_s else 0.0)
            factor = lr_factor(max(progress_now, (step + 1) / args.max_steps), args.warmup_ratio, args.min_lr_ratio)
            for group in optimizer.param_groups:
                group["lr"] = group["base_lr"] * factor
            with autocast():
                features, grid = video_features(model, batch, device, args.batched_attention)
                pred = head(pool_pairs(features, grid, merge))
            loss, parts = stage0_loss(pred, batch["targets"], args)
            loss.backward()
            if args.max_grad_norm > 0:
                parts["grad_norm"] = torch.nn.utils.clip_grad_norm_(trainable + list(head.parameters()), args.max_grad_norm).detach()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            for key, value in parts.items():
                sums[key] = sums.get(key, 0.0) + value.float()
            since_log += 1
            elapsed = time.perf_counter() - loop_start
            progress = max(step / args.max_steps, elapsed / args.max_time_s if args.max_time_s else 0.0)
            if switched_at is None and progress >= args.curriculum_share:
                prefetcher.close()
                buffer.clear()  # no replay of curriculum batches after the switch
                prefetcher, switched_at = Prefetcher(loader), step
                print(f"step {step}: curriculum done, training on {len(samples)} videos of --train_data", flush=True)
            if step % args.logging_steps == 0 or progress >= 1.0:
                last = {k: float(v) / since_log for k, v in sums.items()}
                record = {"step": step, "epoch": prefetcher.epoch, "elapsed_s": round(elapsed, 2), "lr": optimizer.param_groups[0]["lr"],
                          "clips": clips, "clips_per_s": clips / elapsed, "pairs_per_s": pairs_seen / elapsed,
                          "data_wait_share": data_wait / elapsed, "replay_share": replayed / step, **last}
                with open(metrics_path, "a") as handle:
                    handle.write(json.dumps(record) + "\n")
                print(f"step {step}: loss {last['loss']:.4f} (phase {last['loss/phase']:.4f} active {last['loss/active']:.4f} "
                      f"boundary {last['loss/boundary']:.4f})  lr {record['lr']:.2e}  {record['clips_per_s']:.0f} clips/s  "
                      f"data wait {100 * record['data_wait_share']:.0f}%  replayed {100 * record['replay_share']:.0f}%  "
                      f"epoch {prefetcher.epoch}  {elapsed:.0f}s", flush=True)
                sums, since_log = {}, 0
    finally:
        prefetcher.close()
        buffer.clear()
    train_s = time.perf_counter() - loop_start
    del loader

    # probe metrics on the held-out sets (before any rescaling; the rescaled head gives the same outputs)
    evaluation = {}
    for path in args.eval_data:
        eval_samples = load_stage0_samples([path], None, args.eval_splits, args.eval_limit)
        if not eval_samples:
            print(f"warning: stage 0: no evaluation videos in {path}", file=sys.stderr)
            continue
        eval_loader = make_loader(Stage0Dataset(eval_samples, family, video), collator, args.batch_size, args.num_workers,
                                  args.prefetch_factor, shuffle=False, seed=args.seed, drop_last=False)
        name = Path(path.rstrip("/")).name
        evaluation[name] = probe_metrics(model, head, eval_loader, device, autocast, merge, args.batched_attention)
        e = evaluation[name]
        print(f"probe on {name} ({e['videos']} videos): phase error {e['phase_error_deg']:.1f} deg, active acc "
              f"{e['active_accuracy']:.3f}, start F1 {e['start_f1']:.3f}, end F1 {e['end_f1']:.3f}; count from starts: "
              f"OBO {e['count_from_starts']['obo']:.3f} exact {e['count_from_starts']['exact']:.3f} MAE {e['count_from_starts']['mae']:.3f}; "
              f"from phase: OBO {e['count_from_phase']['obo']:.3f}", flush=True)

    scale = None
    if args.match_text_rms:
        rms_loader = make_loader(Stage0Dataset(samples[: max(args.batch_size, 8)], family, video), collator,
                                 min(args.batch_size, 8), 0, 2, shuffle=False, seed=args.seed, drop_last=False)
        visual_rms = visual_token_rms(model, rms_loader, device, autocast)
        target = text_embedding_rms(model)
        if visual_rms > 0:
            scale = target / visual_rms
            rescale_merger_output(model, head, scale)
            print(f"visual tokens rescaled by {scale:.4g} (RMS {visual_rms:.4g} -> {target:.4g}, the LM's embedding RMS)")

    model.eval()
    save_weights(model, output_dir, export_dtype(precision.save_dtype, resolve_dtype(model_args.dtype)))
    settings = PipelineSettings(family.name, variant, video)
    save_checkpoint_extras(output_dir, processor, settings)
    torch.save({"state_dict": head.state_dict(), "dim": head.dim, "hidden": head.hidden,
                "targets": ["cos", "sin", "active", "start", "end"]}, output_dir / "stage0_head.pt")
    summary = {
        "arguments": {"Stage0Arguments": asdict(args), "ModelArguments": asdict(model_args), "VideoSettings": asdict(video),
                      "PrecisionArguments": asdict(precision),
                      "prompt_variant": variant},
        "train": {"steps": step, "replayed_steps": replayed, "epochs": prefetcher.epoch, "clips": clips, "frame_pairs": pairs_seen, "seconds": round(train_s, 2),
                  "setup_s": round(setup_s, 2), "clips_per_s": clips / max(1e-9, train_s), "pairs_per_s": pairs_seen / max(1e-9, train_s),
                  "data_wait_share": data_wait / max(1e-9, train_s), "final": last, "training_videos": len(samples),
                  "curriculum": {"data": args.curriculum_data, "videos": len(first), "switched_at_step": switched_at} if first else None},
        "visual_token_scale": scale,
        "temporal_rope_warning": warning,
        "probe": evaluation,
        "total_s": round(time.perf_counter() - started, 2),
    }
    (output_dir / "stage0_metrics.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print(f"saved the stage-0 checkpoint to {output_dir} ({step} steps, {clips} clips in {train_s:.0f} s)", flush=True)
    return summary


def main(argv: list[str]) -> int:
    args, model_args, video, prompt, precision = parse_config(
        [Stage0Arguments, ModelArguments, VideoSettings, PromptSettings, PrecisionArguments], argv, prog="actrep stage0",
        description="Stage 0: train the vision tower + merger of a Qwen-VL checkpoint to encode each frame pair's "
                    "repetition phase and boundaries, then save a full checkpoint for SFT.")
    if not model_args.model_name_or_path:
        raise ActRepError("give the starting checkpoint with --model_name_or_path (e.g. one built by `actrep model tiny`)")
    if not args.train_data:
        raise ActRepError("give the training data with --train_data")
    for name in ("max_steps", "batch_size", "logging_steps"):
        if getattr(args, name) < 1:
            raise ActRepError(f"--{name} must be at least 1")
    if not 0 <= args.warmup_ratio < 1:
        raise ActRepError("--warmup_ratio must be in [0, 1)")
    if args.curriculum_data and not 0 < args.curriculum_share < 1:
        raise ActRepError("--curriculum_share must be in (0, 1)")
    train(args, model_args, video, prompt, precision)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except ActRepError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
