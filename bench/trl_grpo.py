"""TRL's GRPOTrainer on the e2e workload: what users would pick instead of `actrep grpo`, timed the same way.

    python -m bench.trl_grpo --model DIR --videos DIR --steps 4 --frames 64 --size 336 --max_completion_length 256 \
        --output_dir DIR --out summary.json

The same checkpoint, `actrep synth` clips, prompt (actrep.prompts.build_messages), rewards (count_hybrid +
count_format) and batch as bench.e2e: 2 videos x G = 8 completions per optimiser step, micro-batches of 4
(the recipe's micro_batch_size), temperature 1.0, lr 1e-6, beta 0.04, DAPO loss, gradient checkpointing,
vision tower frozen, bf16 on a GPU. The video goes in as TRL 1.16 takes one for a VLM: a {"type": "video"}
part of the conversational prompt, which its generation renders through the processor's chat template.
Its log-prob passes (policy and reference) build their vision inputs from image columns only, so they run
on the prompt's video placeholder tokens without the video (DESIGN.md "GRPO with video: pitfalls"): the step
timed here trains the wrong thing, and is cheaper than a correct one by the vision passes it skips.
Differences from `actrep grpo` (besides the video): the frames are decoded once here, not per step; the
weights are bf16 (what TRL loads for this checkpoint; no float32 master weights) and the reference model is
bf16 too; generation is HF generate. Writes OUTPUT_DIR/metrics.jsonl (one line per step, as bench.e2e's
GPU sampler counts them) and prints the summary (also written to --out).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

NOTE = ("TRL 1.16 GRPOTrainer: its log-prob passes (policy, reference) do not see the video, only generation does "
        "(DESIGN.md), so this is the time of a step that trains the wrong thing (and skips their vision work); "
        "on a GPU bf16 weights without float32 masters; HF generate; frames decoded once before training.")


def parse(argv):
    p = argparse.ArgumentParser(prog="python -m bench.trl_grpo", description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="checkpoint folder (bench.checkpoint)")
    p.add_argument("--videos", required=True, help="`actrep synth` output folder (train split)")
    p.add_argument("--steps", type=int, default=4, help="optimiser steps, the first untimed")
    p.add_argument("--frames", type=int, default=64)
    p.add_argument("--size", type=int, default=336, help="frame side in pixels (min = max pixels = size^2)")
    p.add_argument("--seconds", type=float, default=8.0, help="clip length: frames are sampled at frames/seconds fps")
    p.add_argument("--max_completion_length", type=int, default=256)
    p.add_argument("--output_dir", required=True)
    p.add_argument("--out", default=None, help="summary JSON (default OUTPUT_DIR/summary.json)")
    return p.parse_args(argv)


def dataset(samples, frames: list):
    """Plain columns in Arrow; the prompt (with its decoded frames) is built on access, never stored: Arrow would
    merge the content dicts and the chat template would then render the text parts as videos (DESIGN.md)."""
    from datasets import Dataset

    from actrep.prompts import build_messages

    def with_prompt(batch):
        prompts = []
        for index, action in zip(batch["index"], batch["action"]):
            messages = build_messages(action)
            messages[1]["content"][0]["video"] = frames[index]
            prompts.append(messages)
        return {**batch, "prompt": prompts}

    columns = {"index": list(range(len(samples))), "action": [s.action for s in samples], "count": [s.count for s in samples],
               "prompt_variant": ["think"] * len(samples)}
    return Dataset.from_dict(columns).with_transform(with_prompt)


def main(argv=None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    import torch

    import actrep  # noqa: F401 - the torchvision fix, before transformers
    from transformers import AutoModelForImageTextToText, AutoProcessor, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from actrep.manifest import load_samples
    from actrep.models.registry import get_family
    from actrep.rewards import REWARDS
    from actrep.train.common import vision_parts
    from actrep.video import VideoSettings, configure_processor, load_video

    out_dir = Path(args.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    gpu = torch.cuda.is_available()
    family = get_family("qwen2_5_vl")
    pixels = args.size * args.size
    settings = VideoSettings(fps=args.frames / args.seconds, max_frames=args.frames, min_pixels=pixels, max_pixels=pixels)
    videos_per_step, group, micro = 2, 8, 4
    samples = load_samples(args.videos, None, ["train"])[: args.steps * videos_per_step]
    frames = [load_video(s.video_path, family, settings).frames for s in samples]  # the frames actrep grpo samples
    processor = AutoProcessor.from_pretrained(args.model)
    configure_processor(processor, settings, family)
    processor.video_processor.do_sample_frames = False  # the frames above are the sample
    model = AutoModelForImageTextToText.from_pretrained(args.model, dtype=torch.bfloat16 if gpu else torch.float32,
                                                        attn_implementation="sdpa")
    visual, mergers = vision_parts(model)
    visual.requires_grad_(False)  # the recipe's defaults (actrep.train.common.apply_freezing): vision frozen, merger trained
    for merger in mergers:
        merger.requires_grad_(True)

    config = GRPOConfig(
        output_dir=str(out_dir), max_steps=args.steps, per_device_train_batch_size=micro,
        gradient_accumulation_steps=videos_per_step * group // micro,  # = steps_per_generation: one generation batch per step
        num_generations=group, max_completion_length=args.max_completion_length, temperature=1.0, top_p=1.0, top_k=0,
        learning_rate=1e-6, lr_scheduler_type="cosine", warmup_steps=0.03, beta=0.04, loss_type="dapo", epsilon=0.2,
        epsilon_high=0.28, scale_rewards="group", bf16=gpu, gradient_checkpointing=True, logging_steps=1,
        save_strategy="no", report_to="none", shuffle_dataset=False, dataloader_num_workers=0, seed=0)

    steps: list[dict] = []

    class StepTimer(TrainerCallback):
        """Seconds per optimiser step, generation included (TRL generates inside the step's first micro-batch)."""

        def on_step_begin(self, *_, **__):
            if gpu:
                torch.cuda.synchronize()
            self.started = time.perf_counter()

        def on_step_end(self, *_, **__):
            if gpu:
                torch.cuda.synchronize()
            steps.append({"time/step_s": time.perf_counter() - self.started})
            with open(out_dir / "metrics.jsonl", "a") as handle:
                handle.write(json.dumps(steps[-1]) + "\n")

    (out_dir / "metrics.jsonl").unlink(missing_ok=True)
    trainer = GRPOTrainer(model=model, reward_funcs=[REWARDS["count_hybrid"], REWARDS["count_format"]], args=config,
                          train_dataset=dataset(samples, frames), processing_class=processor, callbacks=[StepTimer()])
    if gpu:
        torch.cuda.reset_peak_memory_stats()
    trainer.train()

    step_s = [row["time/step_s"] for row in steps]
    timed = step_s[1:] or step_s  # the first step (warm-up) left out, as in bench.e2e
    logged = [row for row in trainer.state.log_history if "completions/mean_length" in row]
    summary = {"exit": 0, "steps_logged": len(steps), "timed_steps": len(timed), "step_s_each": step_s,
               "s_per_step": statistics.fmean(timed), "s_per_step_median": statistics.median(timed),
               "peak_memory_gb": torch.cuda.max_memory_allocated() / 2**30 if gpu else None, "note": NOTE,
               "video_input": "conversation {'type': 'video', 'video': frames [T, H, W, 3] uint8}, rendered by the processor's chat template",
               "settings": {"frames": args.frames, "size": args.size, "videos_per_step": videos_per_step, "num_generations": group,
                            "micro_batch": micro, "max_completion_length": args.max_completion_length, "dtype": str(model.dtype)}}
    if len(logged) == len(steps):  # tokens from TRL's log: mean completion length, cumulative prompt + completion tokens
        completion = [row["completions/mean_length"] * videos_per_step * group for row in logged]
        seen = [row["num_tokens"] for row in logged]
        tokens = [b - a for a, b in zip([0, *seen], seen)]
        summary["completion_tokens_per_step"] = statistics.fmean(completion[1:] or completion)
        summary["completion_tokens_per_s"] = summary["completion_tokens_per_step"] / summary["s_per_step"]
        summary["tokens_per_s"] = statistics.fmean(tokens[1:] or tokens) / summary["s_per_step"]
    text = json.dumps(summary, indent=1)
    Path(args.out or out_dir / "summary.json").write_text(text)
    print(text, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
