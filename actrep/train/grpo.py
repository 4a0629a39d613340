"""`actrep grpo`: stage 2, GRPO with count rewards on video, the video present in every pass.

    actrep grpo --config recipes/grpo_qwen2_5_vl.yaml [--flag value ...]
    accelerate launch --config_file recipes/accelerate/zero2.yaml -m actrep grpo --config ...
    torchrun --nproc_per_node N -m actrep grpo --config ...

Why a lean loop on accelerate instead of TRL's GRPOTrainer: TRL 1.16 passes the video to generation
but drops it from every log-prob forward (policy, old, reference), so it optimises a model that
never sees the video; it also shuffles a flat `pixel_values_videos` tensor along dim 0, tearing
videos apart. And the vision encoder must run once per video per step, not once per rollout and
pass. This loop keeps TRL's definitions (advantages, loss types, clipping, k3 KL; the losses are
checked against TRL in tests) and reuses TRL's helpers (log-softmax, entropy, unwrapping ZeRO-3
models for generation), but owns the data path: each step takes `videos_per_step` videos per
process, encodes each once, generates G completions per video from the cached vision features,
scores them with the reward registry, and trains on micro-batches with the features reused.

The command (options, checks) is here; the loop is grpo_loop.py, what a run keeps around it (step
plan, metrics log, checkpoints, rewards, DeepSpeed plugin) grpo_run.py, the losses grpo_loss.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from actrep.config import option, parse_config
from actrep.errors import ActRepError
from actrep.models.registry import ModelArguments
from actrep.prompts import PromptSettings
from actrep.train.common import TuningArguments
from actrep.train.data import DataArguments
from actrep.train.grpo_fast import PIECES, requested
from actrep.train.grpo_loop import train
from actrep.train.grpo_loss import LOSS_TYPES, SCALE_REWARDS
from actrep.train.grpo_run import resolve_rewards
from actrep.video import VideoSettings


@dataclass
class GRPOArguments:
    output_dir: str = option("runs/grpo", help="Where checkpoints, logs and the final model go.")
    num_generations: int = option(8, help="Completions sampled per video (G).")
    videos_per_step: int = option(2, help="Videos per optimisation step per process (each gets G completions).")
    max_completion_length: int = option(512, help="Most tokens generated per completion.")
    temperature: float = option(1.0, help="Sampling temperature for rollouts (log-probs are scored at the same temperature).")
    top_p: float = option(1.0, help="Nucleus sampling for rollouts (1.0: off).")
    top_k: int = option(0, help="Top-k sampling for rollouts (0: off).")
    rewards: list[str] = option(["count_hybrid:1.0", "count_format:1.0"], help="Rewards from the registry with weights, name:weight.")
    scale_rewards: str = option("group", help=f"Advantage scaling: {', '.join(SCALE_REWARDS)}.")
    drop_zero_std_groups: bool = option(False, help="Leave groups whose rewards are all equal out of the update (DAPO dynamic sampling).")
    loss_type: str = option("dapo", help=f"Loss aggregation, as in TRL: {', '.join(LOSS_TYPES)}.")
    epsilon: float = option(0.2, help="PPO clip range, lower side (and upper unless --epsilon_high).")
    epsilon_high: float | None = option(None, help="PPO clip range, upper side (DAPO clip-higher, e.g. 0.28).")
    beta: float = option(0.04, help="KL weight to the frozen reference (k3 estimator); 0 skips the reference model.")
    kl_bias_correction: bool = option(True, help="Weight the KL of off-policy tokens by their importance ratio (TRL's use_bias_correction_kl).")
    num_iterations: int = option(1, help="Optimisation steps per generation batch; > 1 makes PPO clipping act.")
    micro_batch_size: int = option(4, help="Sequences per training forward (gradients accumulate over a step).")
    learning_rate: float = option(1e-6, help="Peak learning rate.")
    weight_decay: float = option(0.0, help="AdamW weight decay.")
    lr_scheduler_type: str = option("cosine", help="transformers scheduler name.")
    warmup_ratio: float = option(0.03, help="Share of optimisation steps spent warming up.")
    max_grad_norm: float = option(1.0, help="Gradient clipping norm.")
    max_steps: int = option(0, help="Generation steps to run (0: --num_train_epochs).")
    num_train_epochs: float = option(1.0, help="Passes over the training videos (when max_steps is 0).")
    seed: int = option(42, help="Seed for data order, sampling and initialisation.")
    bf16: bool = option(torch.cuda.is_available(), help="bf16 mixed precision (default on a GPU).")
    gradient_checkpointing: bool = option(torch.cuda.is_available(), help="Recompute activations in the backward pass.")
    logging_steps: int = option(1, help="Log every N steps.")
    log_completions_steps: int = option(10, help="Append sample completions to completions.jsonl every N steps (0: never).")
    save_steps: int = option(100, help="Checkpoint every N steps.")
    save_total_limit: int = option(3, help="Keep at most this many checkpoints.")
    report_to: str = option("tensorboard", help="tensorboard or none (metrics.jsonl is always written).")
    dataloader_num_workers: int = option(2, help="Threads decoding the next step's videos during the current step.")
    resume: bool = option(False, help="Continue from the last checkpoint in output_dir.")
    fast_path: bool = option(True, help="false: the stock path for every fast option left at auto (HF generate, per-sequence "
                                        "log-probs, the stock vision attention), e.g. to compare; the run's header says what runs.")
    fast_vision_attention: str = option("auto", nargs="?", const="true",
                                        help="auto, true or false. Vision tower: one batched attention call per layer over "
                                             "equal-sized windows/frames (same features; sdpa only; docs/performance.md).")
    shared_prefix: str = option("auto", nargs="?", const="true",
                                help="auto, true or false. Log-prob passes compute each video's prompt once for its G completions "
                                     "(same loss and gradients; one process, sdpa or eager; best with micro_batch_size = G).")
    fast_decode: str = option("auto", nargs="?", const="true",
                              help="auto, true or false. Rollouts: each prompt prefilled once, G rollouts decoded against its "
                                   "shared KV with static buffers and CUDA graphs (dense models without LoRA, not under ZeRO-3).")
    deepspeed: str | None = option(None, help="DeepSpeed config JSON (e.g. recipes/deepspeed/zero3.json); also picked up from `accelerate launch --config_file recipes/accelerate/zero3.yaml`.")


def grpo_defaults() -> dict:
    # The vision side stays frozen in GRPO by default, so its features are computed once per video and
    # reused for all G rollouts and every log-prob pass.
    return {"train_merger": False, "dtype": "float32"}


def main(argv: list[str]) -> int:
    args, data_args, tuning, model_args, video, prompt = parse_config(
        [GRPOArguments, DataArguments, TuningArguments, ModelArguments, VideoSettings, PromptSettings], argv,
        prog="actrep grpo", description="GRPO with count rewards on video.", defaults=grpo_defaults())
    validate_arguments(args)
    if not model_args.model_name_or_path:
        raise ActRepError("give the starting checkpoint (an SFT output or any Qwen-VL model) with --model_name_or_path")
    train(args, data_args, tuning, model_args, video, prompt)
    return 0


def validate_arguments(args: GRPOArguments) -> None:
    if args.loss_type not in LOSS_TYPES:
        raise ActRepError(f"--loss_type must be one of {', '.join(LOSS_TYPES)}")
    if args.scale_rewards not in SCALE_REWARDS:
        raise ActRepError(f"--scale_rewards must be one of {', '.join(SCALE_REWARDS)}")
    if args.num_generations < 2:
        raise ActRepError("--num_generations must be at least 2 (advantages compare completions within a group)")
    for name in ("videos_per_step", "micro_batch_size", "num_iterations", "max_completion_length", "save_steps", "logging_steps"):
        if getattr(args, name) < 1:
            raise ActRepError(f"--{name} must be at least 1")
    if args.temperature <= 0:
        raise ActRepError("--temperature must be positive")
    resolve_rewards(args.rewards)  # unknown names fail now, not after the model has loaded
    for name in PIECES:
        requested(getattr(args, name), name)
