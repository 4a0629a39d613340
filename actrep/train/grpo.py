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
"""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch

from actrep.config import option, parse_config
from actrep.errors import ActRepError
from actrep.models.registry import ModelArguments
from actrep.prompts import PromptSettings
from actrep.train.common import TuningArguments
from actrep.train.data import DataArguments
from actrep.train.grpo_fast import PIECES, requested
from actrep.train.grpo_loss import LOSS_TYPES, SCALE_REWARDS
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


def resolve_rewards(specs) -> list[tuple[str, Callable, float]]:
    from actrep.rewards import REWARDS, parse_reward_spec

    return [(name, REWARDS[name], weight) for name, weight in parse_reward_spec(specs)]


@dataclass
class StepPlan:
    """Which training samples each process gets at a step (deterministic, so resume lands exactly).

    An epoch is `steps_per_epoch` steps (from the first epoch's sample count); each epoch shuffles its
    own samples (RCS draws differ per epoch) with a generator seeded by (seed + epoch).
    """

    num_samples: int  # samples in the first epoch
    per_step: int  # videos per step over all processes
    seed: int

    @property
    def steps_per_epoch(self) -> int:
        return max(1, self.num_samples // self.per_step)

    def epoch_of(self, step: int) -> int:
        return step // self.steps_per_epoch

    def indices(self, step: int, rank: int, per_process: int, epoch_samples: int) -> list[int]:
        epoch, position = divmod(step, self.steps_per_epoch)
        order = torch.randperm(epoch_samples, generator=torch.Generator().manual_seed(self.seed + epoch)).tolist()
        start = position * self.per_step + rank * per_process
        return [order[i % epoch_samples] for i in range(start, start + per_process)]


def main(argv: list[str]) -> int:
    from actrep.train.grpo_loop import train

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


def deepspeed_plugin(args: GRPOArguments, config_file: str, text_hidden_size: int):
    """A DeepSpeed plugin from the JSON `config_file` with every "auto" value filled for this loop.

    gradient_accumulation_steps stays 1: the loop normalises each micro-batch's loss over the whole step
    itself and marks the accumulation boundary per micro-batch (train/common.micro_batch), so DeepSpeed
    must neither rescale the loss nor step on its own count. Bucket sizes follow the language model's
    width (accelerate can't read it from a VLM config).
    """
    import json

    from accelerate.utils import DeepSpeedPlugin

    try:
        config = json.loads(Path(config_file).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ActRepError(f"DeepSpeed config {config_file}: {err}") from None
    config.update(train_micro_batch_size_per_gpu=args.micro_batch_size, gradient_accumulation_steps=1,
                  gradient_clipping=args.max_grad_norm, bf16={"enabled": args.bf16}, fp16={"enabled": False})
    config.pop("train_batch_size", None)
    zero = config.get("zero_optimization", {})
    sizes = {"reduce_bucket_size": text_hidden_size**2, "stage3_prefetch_bucket_size": int(0.9 * text_hidden_size**2),
             "stage3_param_persistence_threshold": 10 * text_hidden_size}
    for key, value in sizes.items():
        if zero.get(key) == "auto":
            zero[key] = value
    return DeepSpeedPlugin(hf_ds_config=config)


def save_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")


def rotate_checkpoints(output_dir: Path, keep: int) -> None:
    checkpoints = sorted(output_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
    for old in checkpoints[: max(0, len(checkpoints) - keep)]:
        shutil.rmtree(old, ignore_errors=True)


class MetricsLog:
    """metrics.jsonl always; TensorBoard when asked; one console line per logged step."""

    def __init__(self, output_dir: Path, report_to: str, enabled: bool, resumed: bool = False):
        self.enabled = enabled
        self.path = output_dir / "metrics.jsonl"
        if enabled and not resumed:  # a fresh run starts a fresh log; a resumed one appends
            self.path.write_text("")
        self.writer = None
        if enabled and report_to == "tensorboard":
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(output_dir / "tensorboard"))

    def log(self, step: int, metrics: dict) -> None:
        if not self.enabled:
            return
        with open(self.path, "a") as handle:
            handle.write(json.dumps({"step": step, **metrics}) + "\n")
        if self.writer:
            for key, value in metrics.items():
                if isinstance(value, (int, float)) and math.isfinite(value):
                    self.writer.add_scalar(key, value, step)
            self.writer.flush()
        print(f"step {step}: reward {metrics['reward/mean']:.3f} (std {metrics['reward/std']:.3f})  "
              f"obo {metrics['rollout/obo']:.2f}  len {metrics['completion/length_mean']:.0f}  "
              f"kl {metrics.get('kl', 0.0):.4f}  clip {metrics['clip_ratio/region']:.3f}  "
              f"time gen/score/train {metrics['time/generation']:.1f}/{metrics['time/scoring']:.2f}/{metrics['time/training']:.1f}s",
              flush=True)

    def close(self) -> None:
        if self.writer:
            self.writer.close()


def settings_of(args, family_name: str, video: VideoSettings, prompt: PromptSettings):
    from actrep.settings import PipelineSettings

    return PipelineSettings(family_name, prompt.prompt_variant, video)


def arguments_record(*parts) -> dict:
    return {type(p).__name__: asdict(p) for p in parts}


def timer() -> float:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter()

