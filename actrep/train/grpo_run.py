"""What a GRPO run keeps around its loop (grpo_loop.py): which samples each step takes, the reward
functions, the DeepSpeed plugin, the metrics log, checkpoint rotation and the settings saved with it."""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch

from actrep.errors import ActRepError
from actrep.prompts import PromptSettings
from actrep.video import VideoSettings


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


def deepspeed_plugin(args, config_file: str, text_hidden_size: int):
    """A DeepSpeed plugin from the JSON `config_file` with every "auto" value filled for this loop (`args`: GRPOArguments).

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
