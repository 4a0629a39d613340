"""`actrep sft`: stage 1, supervised fine-tuning on chain-of-thought counting data.

    actrep sft --config recipes/sft_qwen2_5_vl.yaml [--flag value ...]
    accelerate launch --config_file recipes/accelerate/zero2.yaml -m actrep sft --config ...
    torchrun --nproc_per_node N -m actrep sft --config ...

Why transformers' Trainer and not TRL's SFTTrainer: SFTTrainer's value is its dataset pipeline
(formatting, tokenising, packing text datasets). Here every item is a video that must be decoded by
the project's video pipeline and tokenised together with its frames, and the labels must cover
exactly the assistant turn; with our own dataset and collator SFTTrainer would bypass all of that
pipeline and reduce to Trainer, with one more layer between us and the loss. Trainer gives the
rest: DeepSpeed/FSDP through accelerate, gradient checkpointing, resume (optimizer, scheduler, RNG
and data position), TensorBoard, a progress bar with loss and ETA.

No generation-based evaluation runs inside training (it hangs under ZeRO-3); `--eval_after` runs
`actrep eval` on the final checkpoint afterwards, in the same processes.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from actrep.config import TRAINING_ARGUMENTS, option, parse_config
from actrep.errors import ActRepError
from actrep.models.registry import ModelArguments
from actrep.prompts import PromptSettings, build_messages
from actrep.train.common import TuningArguments
from actrep.train.data import DataArguments
from actrep.video import VideoSettings, encode, normalize_pixels, pixel_normalization


@dataclass
class SFTArguments:
    effective_batch_size: int = option(16, help="Target batch per optimizer step over all GPUs; sets gradient accumulation (0: use --gradient_accumulation_steps as given).")
    vision_learning_rate: float = option(0.0, help="Peak learning rate of the vision tower/merger when they train (0: the same as --learning_rate); the scheduler scales both alike.")
    fast_vision_attention: bool = option(False, help="Vision tower: one batched attention call per layer over equal-sized frames/windows "
                                                     "instead of one per segment (same numbers; actrep.fast.vision_attention).")
    uint8_pixels: bool = option(torch.cuda.is_available(), help="Loader workers ship the clips' pixels as uint8 and the GPU normalises them to the processor's exact float32 values: a quarter of the bytes through shared memory, pinning and the host-to-GPU copy, and 2.3x less collating in the workers (bench/uint8_pixels.py). Default on a GPU; on a CPU the normalisation would move from the parallel workers into the training process.")
    resume: bool = option(False, help="Continue from the last checkpoint in output_dir (optimizer, scheduler, RNG, data position).")
    eval_after: bool = option(False, help="Run `actrep eval` on the final checkpoint after training.")
    eval_data: str | None = option(None, help="Dataset for --eval_after.")
    eval_videos: str | None = option(None, help="Video folder for --eval_after.")
    eval_splits: list[str] = option(["test"], help="Splits for --eval_after.")
    eval_batch_size: int = option(4, help="Batch size for --eval_after.")
    eval_max_new_tokens: int = option(1024, help="Generation length for --eval_after.")


def sft_defaults() -> dict:
    """The method's recipe defaults for transformers' TrainingArguments (every one overridable)."""
    gpu = torch.cuda.is_available()
    return dict(
        output_dir="runs/sft", learning_rate=1e-5, lr_scheduler_type="cosine", warmup_steps=0.05, weight_decay=0.01,
        bf16=gpu and torch.cuda.is_bf16_supported(), use_cpu=not gpu, gradient_checkpointing=True,
        gradient_checkpointing_kwargs={"use_reentrant": False}, per_device_train_batch_size=1, num_train_epochs=1,
        logging_steps=5, save_strategy="steps", save_steps=200, save_total_limit=3, report_to=["tensorboard"],
        dataloader_num_workers=2, remove_unused_columns=False, dtype="float32",
    )


def assistant_labels(input_ids: torch.Tensor, header: list[int], end_id: int) -> torch.Tensor:
    """Labels that keep only the last assistant turn: its content and its closing <|im_end|>.

    Everything else (system, user turn, video tokens, the assistant header, padding, the newline
    after <|im_end|>) is -100, so the loss is on exactly the reasoning + answer the model must write.
    """
    labels = torch.full_like(input_ids, -100)
    width = len(header)
    header_t = torch.tensor(header)
    for row, ids in enumerate(input_ids):
        windows = ids.unfold(0, width, 1)
        hits = (windows == header_t).all(dim=1).nonzero().flatten()
        if hits.numel() == 0:
            raise ActRepError("a training sequence has no assistant turn (chat template mismatch)")
        start = int(hits[-1]) + width
        ends = (ids[start:] == end_id).nonzero().flatten()
        if ends.numel() == 0:
            raise ActRepError("a training sequence's assistant turn has no <|im_end|> (truncated?)")
        stop = start + int(ends[0]) + 1
        labels[row, start:stop] = ids[start:stop]
    return labels


class SFTCollator:
    """Chat text with the CoT as the assistant turn + the clip's frames -> model inputs and labels."""

    def __init__(self, processor, settings: VideoSettings, variant: str, full_labels: bool = False, raw_pixels: bool = False):
        self.processor = processor
        self.raw_pixels = raw_pixels  # uint8 pixel_values_videos; the trainer normalises them on the device
        self.settings = settings
        self.variant = variant
        self.full_labels = full_labels
        tokenizer = processor.tokenizer
        self.header = tokenizer.encode("<|im_start|>assistant\n", add_special_tokens=False)
        self.end_id = tokenizer.convert_tokens_to_ids("<|im_end|>")

    def completion(self, sample) -> str:
        if not sample.cot:
            raise ActRepError(f"{sample.where}: no chain of thought (build it with `actrep cot`, or give intervals)")
        return sample.cot

    def __call__(self, items: list[dict]) -> dict:
        texts = [
            self.processor.apply_chat_template(build_messages(it["sample"].action, self.variant, self.completion(it["sample"])), tokenize=False)
            for it in items
        ]
        batch = encode(self.processor, texts, [it["video"] for it in items], self.settings, padding_side="right", raw_pixels=self.raw_pixels)
        labels = assistant_labels(batch["input_ids"], self.header, self.end_id)
        # Only the positions that predict a label need the 152k-vocab LM head: keep the window from the
        # position before the earliest label to the end, and crop the labels to the same window (the
        # model's causal-LM loss shifts both together). The prompt and video tokens, often thousands,
        # then cost no logits. `full_labels=True` callers (tests) get the uncropped labels.
        first = int((labels != -100).int().argmax(dim=1).min())
        keep = labels.shape[1] - first + 1
        batch["labels"] = labels if self.full_labels else labels[:, -keep:]
        if not self.full_labels:
            batch["logits_to_keep"] = keep
        return dict(batch)


def token_sum_loss(outputs, labels, num_items_in_batch=None):
    """Causal-LM loss summed over label tokens / the label tokens of the whole optimiser step.

    Why not the model's own loss: Qwen-VL models declare `accepts_loss_kwargs = False`, so Trainer
    averages each micro-batch's mean and divides by the accumulation steps: a token's weight then
    depends on how a step is cut into micro-batches and processes, and per-device batch 4 trains
    differently from 4 x 1 accumulation or 2 GPUs x 2 (measured: 19% apart after 3 steps). Passed as
    Trainer's `compute_loss_func`, this loss gets the step's token count gathered over all
    micro-batches and processes (transformers' own cross-entropy does the arithmetic).

    Only the positions that predict a label token are upcast to float32: transformers' ForCausalLMLoss
    upcasts every position's logits, the video and prompt ones too (~2/3 of a sequence here), and
    with a 152k vocabulary those float32 copies, not the model, set SFT's peak memory (37 GB at batch
    32 for the 74M-parameter from-scratch model on an H100, 2026-12-06). Same sum, same count.
    """
    import torch.nn.functional as F
    from transformers.loss.loss_utils import fixed_cross_entropy

    logits = outputs["logits"] if isinstance(outputs, dict) else outputs.logits
    targets = F.pad(labels, (0, 1), value=-100)[..., 1:].to(logits.device)  # position t predicts token t + 1
    keep = targets != -100
    return fixed_cross_entropy(logits[keep].float(), targets[keep], num_items_in_batch, -100)


def _trainer_class():
    from transformers import Trainer

    class ActRepTrainer(Trainer):
        """Trainer whose resume restores Qwen2/2.5-VL weights.

        transformers 5.23 saves these models with their legacy key names (`visual.*`, `model.layers.*`)
        but `Trainer._load_from_checkpoint` loads the file with `strict=False` and no key mapping: no
        weight is restored, only a warning is logged, and training resumes from the BASE weights with
        the checkpoint's optimizer state. Reloading through `from_pretrained` applies the mapping.
        DeepSpeed, FSDP and PEFT checkpoints keep the stock path (they store current key names).
        """

        vision_learning_rate = 0.0
        step_counter = None
        pixel_normalization = None  # (mean, std) of the processor when the collator ships uint8 pixels

        def compute_loss(self, model, inputs, *args, **kwargs):
            """The collator's uint8 pixels become the processor's float32 ones here, on the device (after
            `_prepare_inputs`, whose DeepSpeed cast to bf16 touches floating tensors only)."""
            pixels = inputs.get("pixel_values_videos")
            if pixels is not None and pixels.dtype == torch.uint8:
                if self.pixel_normalization is None:
                    raise ActRepError("uint8 pixels reached the trainer without the processor's normalisation")
                if self.pixel_normalization[0].device != pixels.device:
                    self.pixel_normalization = tuple(t.to(pixels.device) for t in self.pixel_normalization)
                inputs = {**inputs, "pixel_values_videos": normalize_pixels(pixels, *self.pixel_normalization)}
            return super().compute_loss(model, inputs, *args, **kwargs)

        def _create_optimizer(self, model=None):
            """Trainer's optimizer, with the vision side in its own parameter groups when it has its own rate."""
            if not self.vision_learning_rate or self.optimizer is not None:
                return super().create_optimizer(model) if model is not None else super().create_optimizer()
            model = model if model is not None else self.model
            decay = set(self.get_decay_parameter_names(model))
            groups: dict[tuple[bool, float], list] = {}
            for name, param in model.named_parameters():
                if param.requires_grad:
                    key = (".visual." in f".{name}", self.args.weight_decay if name in decay else 0.0)
                    groups.setdefault(key, []).append(param)
            optimizer_class, optimizer_kwargs = self.get_optimizer_cls_and_kwargs(self.args, model)
            self.optimizer = optimizer_class(
                [{"params": params, "weight_decay": decay_rate, **({"lr": self.vision_learning_rate} if vision else {})}
                 for (vision, decay_rate), params in groups.items()], **optimizer_kwargs)
            return self.optimizer

        def _load_from_checkpoint(self, resume_from_checkpoint, model=None):
            from peft import PeftModel

            model = model if model is not None else self.model
            if self.is_deepspeed_enabled or self.is_fsdp_enabled or isinstance(model, PeftModel):
                return super()._load_from_checkpoint(resume_from_checkpoint, model)
            # float32 reload: exact for the float32 master weights and for bf16 frozen ones alike; each
            # parameter then takes the value in its own dtype.
            reloaded = type(model).from_pretrained(resume_from_checkpoint, dtype=torch.float32, device_map="cpu")
            model.load_state_dict(reloaded.state_dict(), strict=True)

        def create_optimizer(self, model=None):
            optimizer = self._create_optimizer(model)
            if self.step_counter is None:
                from actrep.train.common import StepCounter

                self.step_counter = StepCounter(optimizer)
            return optimizer

    return ActRepTrainer


def _callbacks(pipeline_settings, trainer_ref: list):
    """actrep_settings.json in every checkpoint; metrics.jsonl with the learning rate each step used and
    the optimiser steps really taken (DeepSpeed's own count under DeepSpeed)."""
    import json

    from transformers import TrainerCallback

    class Callbacks(TrainerCallback):
        rate, started, step_s, begun = None, 0.0, None, 0.0

        def on_train_begin(self, args, state, control, **kwargs):
            self.begun = time.perf_counter()
            if state.is_world_process_zero and state.global_step == 0:  # a fresh run (a resume appends)
                Path(args.output_dir).mkdir(parents=True, exist_ok=True)
                (Path(args.output_dir) / "metrics.jsonl").write_text("")

        def on_step_begin(self, args, state, control, lr_scheduler=None, **kwargs):
            if lr_scheduler is not None:
                self.rate = lr_scheduler.get_last_lr()[0]
            self.started = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            self.step_s = time.perf_counter() - self.started

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not state.is_world_process_zero or not logs or "loss" not in logs:
                return
            trainer = trainer_ref[0]
            counter = trainer.step_counter
            if counter is not None and counter.engine is None and trainer.is_deepspeed_enabled:
                counter.engine = trainer.model_wrapped
            record = {"step": state.global_step, **logs, "learning_rate": self.rate if self.rate is not None else logs.get("learning_rate"),
                      "optimizer_steps": counter.count if counter is not None else None, "time/step_s": self.step_s,
                      "time/elapsed_s": time.perf_counter() - self.begun}  # wall clock, data waits included
            if torch.cuda.is_available():
                record["memory/peak_gb"] = torch.cuda.max_memory_allocated() / 2**30
            with open(Path(args.output_dir) / "metrics.jsonl", "a") as handle:
                handle.write(json.dumps(record) + "\n")

        def on_save(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                from actrep.settings import save_settings

                save_settings(Path(args.output_dir) / f"checkpoint-{state.global_step}", pipeline_settings)

    return [Callbacks()]


def set_accumulation(training_args, effective_batch_size: int) -> int:
    """Gradient accumulation so that GPUs x per-device batch x accumulation ~= the target."""
    world = training_args.world_size
    per_step = world * training_args.per_device_train_batch_size
    if effective_batch_size > 0:
        training_args.gradient_accumulation_steps = max(1, math.ceil(effective_batch_size / per_step))
    return per_step * training_args.gradient_accumulation_steps


def build_trainer(script, data_args, tuning, model_args, video, prompt, training_args, samples=None):
    """Model, data and Trainer for SFT (tests call this directly)."""

    from actrep.models.registry import load_model, resolve_dtype
    from actrep.settings import PipelineSettings
    from actrep.train.common import apply_freezing, apply_lora, launched_with_deepspeed, trainable_summary
    from actrep.train.precision import check_precision, export_dtype, keep_master_weights
    from actrep.train.data import TrainingSamples, VideoSampleDataset

    from actrep.prompts import PromptSettings
    from actrep.settings import resolve_settings

    from transformers import set_seed

    set_seed(training_args.seed)  # before anything random is created (LoRA adapters); Trainer seeds only later
    deepspeed = bool(training_args.deepspeed) or launched_with_deepspeed()
    check_precision(resolve_dtype(model_args.dtype), training_args.bf16, deepspeed, tuning)
    if deepspeed and training_args.world_size > 1 and not torch.cuda.is_available():
        # CPU runs (tests, CI): accelerate sets up only torch's gloo group, but ZeRO-3 partitions the weights
        # while they load (zero.Init), which needs DeepSpeed's own communication layer; on GPUs accelerate does this.
        from deepspeed import comm

        if not comm.is_initialized():
            comm.init_distributed(dist_backend="gloo", auto_mpi_discovery=False)
    model, processor, family = load_model(model_args)
    model.config.use_cache = False
    video, variant, source = resolve_settings(model_args.model_name_or_path, video, prompt.prompt_variant, model_args.ignore_saved_settings)
    if source == "checkpoint" and training_args.process_index == 0:
        print(f"using the video settings and prompt variant saved with {model_args.model_name_or_path} (--ignore_saved_settings to use flags)")
    prompt = PromptSettings(variant)
    apply_freezing(model, tuning)
    if script.fast_vision_attention:
        from actrep.fast.vision_attention import enable

        enable(model)
    if tuning.use_lora:
        model = apply_lora(model, tuning)
    precision = keep_master_weights(model, tuning, deepspeed, training_args.bf16)
    if samples is None:  # RCS clips are drawn once for SFT (epoch 0, the same draw `actrep rcs` writes)
        samples = TrainingSamples(data_args, training_args.seed, need_cot=True, variant=prompt.prompt_variant).epoch(0)
    dataset = VideoSampleDataset(samples, family, video)
    settings = PipelineSettings(family.name, prompt.prompt_variant, video)
    trainer_ref: list = []
    trainer = _trainer_class()(
        model=model, args=training_args, train_dataset=dataset, processing_class=processor,
        data_collator=SFTCollator(processor, video, prompt.prompt_variant, raw_pixels=script.uint8_pixels),
        compute_loss_func=token_sum_loss, callbacks=_callbacks(settings, trainer_ref),
    )
    trainer_ref.append(trainer)
    trainer.vision_learning_rate = script.vision_learning_rate
    trainer.pixel_normalization = pixel_normalization(processor) if script.uint8_pixels else None
    trainer.actrep_settings = settings
    trainer.actrep_summary = f"{trainable_summary(model)}; {precision}"
    trainer.actrep_save_dtype = export_dtype(tuning.save_dtype, resolve_dtype(model_args.dtype))
    trainer.actrep_lora = (model_args, tuning) if tuning.use_lora else None
    return trainer


def save_final(trainer) -> Path:
    """The final checkpoint in output_dir (in --save_dtype), loadable by `actrep eval` and plain transformers (LoRA merged)."""
    from actrep.train.common import save_checkpoint_extras
    from actrep.train.export import export_model

    output_dir = Path(trainer.args.output_dir)
    export_model(trainer.accelerator, trainer.model_wrapped, output_dir, trainer.actrep_save_dtype, trainer.actrep_lora)
    if trainer.args.should_save:
        save_checkpoint_extras(output_dir, trainer.processing_class, trainer.actrep_settings)
    return output_dir


def main(argv: list[str]) -> int:
    from rich.console import Console

    from actrep.train.common import engine_name, last_checkpoint, stop_loader_workers

    started = time.perf_counter()
    script, data_args, tuning, model_args, video, prompt, training_args = parse_config(
        [SFTArguments, DataArguments, TuningArguments, ModelArguments, VideoSettings, PromptSettings, TRAINING_ARGUMENTS],
        argv, prog="actrep sft", description="Supervised fine-tuning on CoT counting data.", defaults=sft_defaults())
    if not model_args.model_name_or_path:
        raise ActRepError("give the starting checkpoint with --model_name_or_path")
    training_args.remove_unused_columns = False  # our items are samples + frames, not model kwargs
    effective = set_accumulation(training_args, script.effective_batch_size)
    resume_from = None
    if script.resume:
        resume_from = last_checkpoint(training_args.output_dir)
        if resume_from is None:
            raise ActRepError(f"--resume: no checkpoint-* folder in {training_args.output_dir}")
    trainer = build_trainer(script, data_args, tuning, model_args, video, prompt, training_args)
    console = Console()
    if training_args.process_index == 0:
        engine = engine_name(trainer.accelerator.state)
        console.print(f"[bold]actrep sft[/bold]: {len(trainer.train_dataset)} samples, effective batch {effective} = "
                      f"{training_args.world_size} process(es) x {training_args.per_device_train_batch_size} per device x "
                      f"{training_args.gradient_accumulation_steps} accumulation; {engine}; {trainer.actrep_summary}", soft_wrap=True)
        if resume_from:
            console.print(f"resuming from {resume_from}")
    trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    # persistent loader workers (recipes/scratch/sft.yaml) would otherwise cost 5 s each at exit under torch < 2.13
    stop_loader_workers(trainer.callback_handler.train_dataloader, *getattr(trainer.accelerator, "_dataloaders", ()))
    output_dir = save_final(trainer)
    if training_args.process_index == 0:
        console.print(f"saved the final checkpoint to {output_dir} ({time.perf_counter() - started:.0f} s after the start)")
    if script.eval_after:
        _eval_after(trainer, script, output_dir)
    # every rank leaves together: a rank that tears down while rank 0 still writes the checkpoint aborted
    # ("terminate called without an active exception", ZeRO-3 on 2 CPU processes, once in a CI run)
    trainer.accelerator.wait_for_everyone()
    trainer.accelerator.end_training()
    return 0


def _eval_after(trainer, script: SFTArguments, output_dir: Path) -> None:
    from actrep.evaluate import local

    if not script.eval_data:
        raise ActRepError("--eval_after needs --eval_data")
    trainer.accelerator.wait_for_everyone()
    del trainer.model, trainer.optimizer
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    argv = ["--model", str(output_dir), "--data", script.eval_data, "--out", str(output_dir / "eval"),
            "--batch_size", str(script.eval_batch_size), "--max_new_tokens", str(script.eval_max_new_tokens),
            "--splits", *script.eval_splits]
    if script.eval_videos:
        argv += ["--videos", script.eval_videos]
    local.main(argv)
