"""Pieces shared by the SFT and GRPO stages: freezing, LoRA, optimiser-step accounting, saving settings."""

from __future__ import annotations

import os
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from actrep.config import option
from actrep.errors import ActRepError
from actrep.train.precision import PrecisionArguments


@dataclass
class TuningArguments(PrecisionArguments):
    """What trains (and, from PrecisionArguments, in which precision and what dtype is exported)."""

    train_vision: bool = option(False, help="Train the vision tower (frozen by default).")
    train_merger: bool = option(True, help="Train the vision-to-language merger/projector (and Qwen3-VL's deepstack mergers).")
    train_embeddings: bool = option(True, help="Train the token embeddings and the LM head (tied in small models). false: both "
                                               "frozen (less optimiser memory; on a tiny model most weights are this table).")
    use_lora: bool = option(False, help="Train LoRA adapters on the language model instead of all its weights.")
    lora_r: int = option(16, help="LoRA rank.")
    lora_alpha: int = option(32, help="LoRA alpha.")
    lora_dropout: float = option(0.05, help="LoRA dropout.")
    lora_targets: list[str] = option(["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
                                     help="Language-model linear layers that get adapters (names inside the decoder layers).")


def vision_parts(model):
    """(vision tower, [merger modules]) of any supported family."""
    inner = getattr(model, "model", model)
    visual = getattr(inner, "visual", None)
    if visual is None:
        raise ActRepError(f"{type(model).__name__} has no vision tower (.model.visual)")
    mergers = [visual.merger]
    if hasattr(visual, "deepstack_merger_list"):
        mergers.append(visual.deepstack_merger_list)
    return visual, mergers


def apply_freezing(model, args: TuningArguments) -> None:
    """Vision tower frozen unless --train_vision; merger trainable unless --train_merger false; token embeddings and
    LM head frozen with --train_embeddings false."""
    visual, mergers = vision_parts(model)
    for param in visual.parameters():
        param.requires_grad = args.train_vision
    for merger in mergers:
        for param in merger.parameters():
            param.requires_grad = args.train_vision or args.train_merger
    if not args.train_embeddings:
        for table in (model.get_input_embeddings(), model.get_output_embeddings()):
            table.weight.requires_grad = False


def apply_lora(model, args: TuningArguments):
    """Wrap the model with PEFT LoRA adapters on the language model's decoder layers only.

    The vision blocks reuse names like gate_proj/up_proj, so targets are matched by a regex that
    is anchored inside `language_model`. Mergers stay fully trainable (modules_to_save) if asked.
    """
    from peft import LoraConfig, get_peft_model

    targets = "|".join(args.lora_targets)
    config = LoraConfig(
        r=args.lora_r, lora_alpha=args.lora_alpha, lora_dropout=args.lora_dropout,
        target_modules=rf".*language_model.*\.({targets})$",
        modules_to_save=["merger", "deepstack_merger_list"] if args.train_merger else None,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def trainable_summary(model) -> str:
    total = trainable = 0
    for param in model.parameters():
        size = getattr(param, "ds_numel", param.numel())  # ZeRO-3 partitions leave placeholders of size 0
        total += size
        trainable += size if param.requires_grad else 0
    return f"trainable parameters: {trainable:,} of {total:,} ({100 * trainable / max(1, total):.2f}%)"


def save_checkpoint_extras(directory: str | Path, processor, pipeline_settings) -> None:
    """What every checkpoint carries besides weights: the processor and actrep_settings.json."""
    from actrep.settings import save_settings

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    processor.save_pretrained(directory)
    save_settings(directory, pipeline_settings)


def last_checkpoint(output_dir: str | Path) -> Path | None:
    from transformers.trainer_utils import get_last_checkpoint

    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        return None
    found = get_last_checkpoint(str(output_dir))
    return Path(found) if found else None


def engine_name(state) -> str:
    """How the run is distributed, in the header's words: one process, DDP, DeepSpeed ZeRO-N."""
    plugin = state.deepspeed_plugin
    if plugin is not None:
        return f"DeepSpeed ZeRO-{plugin.zero_stage}"
    return "DDP" if state.num_processes > 1 else "one process"


def launched_with_deepspeed() -> bool:
    """True under `accelerate launch` with a DeepSpeed config (accelerate sets this variable for its children)."""
    return os.environ.get("ACCELERATE_USE_DEEPSPEED", "false").lower() in ("1", "true", "yes")


@contextmanager
def micro_batch(accelerator, model, last: bool):
    """One micro-batch of an optimiser step: gradients are synchronised, and DeepSpeed steps, only on the last.

    accelerate's backward under DeepSpeed calls `engine.step()` whenever `sync_gradients` is true and
    sets the engine's accumulation boundary from it; left at its default (true) every micro-batch would be
    an optimiser step. Under DDP the non-last micro-batches also skip the gradient all-reduce.
    """
    accelerator.sync_gradients = last
    try:
        with nullcontext() if last else accelerator.no_sync(model):
            yield
    finally:
        accelerator.sync_gradients = True


class StepCounter:
    """The optimiser steps really taken: DeepSpeed's own count, else a post-step hook on the torch optimiser.

    Logged with every step, so a configuration that steps once per micro-batch shows at once.
    """

    def __init__(self, optimizer, start: int = 0):
        self.taken = start
        self.engine = None
        optimizer.register_step_post_hook(self._count)

    def _count(self, *_):
        self.taken += 1

    @property
    def count(self) -> int:
        return int(self.engine.global_steps) if self.engine is not None else self.taken


def stop_loader_workers(*loaders) -> int:
    """Shut down the worker processes that DataLoaders with persistent workers keep, now; returns how many.

    Written by hand because torch < 2.13 gets this wrong and has no public call for it: with persistent
    workers and pinned memory it registers, per worker, an exit handler that waits 5 s for a worker nobody
    told to stop before killing it, so a run with 14 loader workers took 70 s to exit after its checkpoint
    was saved (H100, torch 2.11: results/scratch/2026-12-06-h100-seeds4/device/exitwatch). `_iterator` and
    `_shutdown_workers` are what DataLoader's own `__del__` uses; accelerate's wrappers keep the real
    loader in `base_dataloader`. The loaders stay usable: their next `iter()` starts new workers.
    """
    stopped = 0
    for loader in loaders:
        loader = getattr(loader, "base_dataloader", loader)
        iterator = getattr(loader, "_iterator", None)
        if iterator is None or not hasattr(iterator, "_shutdown_workers"):
            continue
        stopped += len(getattr(iterator, "_workers", ()))
        iterator._shutdown_workers()
        loader._iterator = None
    return stopped
