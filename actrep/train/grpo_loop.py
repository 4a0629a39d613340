"""The GRPO training loop (actrep/train/grpo.py is the command and explains the design).

One step, per process:
  1. decode `videos_per_step` clips (prefetched in threads), encode prompts + frames once;
  2. vision features once per video; G completions per video from those features;
  3. rewards from the registry -> group advantages;
  4. old log-probs (num_iterations > 1) and reference log-probs (beta > 0), features reused;
  5. num_iterations optimiser steps over micro-batches, features reused (or, when the vision side
     is trainable, recomputed with gradients inside the policy forward).
"""

from __future__ import annotations

import json
import math
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import torch

from actrep.answer import parse_count
from actrep.errors import ActRepError
from actrep.models.generation import generation_config
from actrep.train.common import StepCounter, engine_name, launched_with_deepspeed, micro_batch
from actrep.train.grpo_fast import Launch, resolve_fast_path
from actrep.train.grpo_loss import LossConfig, completion_mask, group_advantages, nanstd, policy_loss
from actrep.train.grpo_run import (MetricsLog, StepPlan, arguments_record, deepspeed_plugin, resolve_rewards, rotate_checkpoints,
                                   save_json, settings_of, timer)
from actrep.train.rollout import completion_logps, generate, vision_features


def _logps_function(shared_prefix: bool):
    """The log-prob pass: the plain one, or (shared prefix) each video's prompt once for its completions."""
    if not shared_prefix:
        return completion_logps
    from actrep.fast.prefix import grouped_completion_logps

    return grouped_completion_logps


def _score(reward_funcs, completions: list[str], counts: list[int], variant: str):
    """[N, F] rewards (NaN = unscorable) and their weighted total [N] (NaN if every reward is NaN)."""
    columns = {"count": counts, "prompt_variant": variant}
    table = torch.tensor(
        [[math.nan if r is None else float(r) for r in fn(completions, **columns)] for _, fn, _ in reward_funcs],
        dtype=torch.float32).T
    weights = torch.tensor([w for _, _, w in reward_funcs])
    total = (table * weights).nansum(dim=1)
    total[torch.isnan(table).all(dim=1)] = math.nan
    return table, total


def _logps_in_chunks(model, batch, index, completion_ids, mask, features, temperature, chunk, logps_fn=completion_logps):
    out = []
    with torch.no_grad():
        for start in range(0, len(index), chunk):
            part = slice(start, start + chunk)
            out.append(logps_fn(model, batch, index[part], completion_ids[part], mask[part], features, temperature)[0])
    return torch.cat(out)


def launch_of(accelerator, model_args, tuning) -> Launch:
    from actrep.models.registry import resolve_family

    plugin = accelerator.state.deepspeed_plugin
    family = resolve_family(model_args.model_name_or_path, model_args.family, model_args.trust_remote_code)
    return Launch(processes=accelerator.num_processes, zero_stage=plugin.zero_stage if plugin else None,
                  cuda=accelerator.device.type == "cuda", attn_implementation=model_args.attn_implementation,
                  lora=tuning.use_lora, moe=family.moe, vision_trainable=tuning.train_vision or tuning.train_merger)


def deepspeed_config_file(args) -> str | None:
    """The DeepSpeed JSON of this run: --deepspeed, or the file `accelerate launch --config_file ...` names.

    accelerate can also carry DeepSpeed settings inline in its YAML; this loop fills every "auto" value
    itself from a JSON, so that form is refused (it would otherwise run without DeepSpeed on a CPU).
    """
    if args.deepspeed:
        return args.deepspeed
    if not launched_with_deepspeed():
        return None
    named = os.environ.get("ACCELERATE_DEEPSPEED_CONFIG_FILE")
    if not named or named == "none":
        raise ActRepError("accelerate launch with DeepSpeed settings written inline in its YAML: point its deepspeed_config_file "
                          "to a JSON (recipes/deepspeed/*.json) or pass --deepspeed FILE")
    return named


def train(args, data_args, tuning, model_args, video, prompt, reward_funcs=None,
          on_step_end: Callable[[int, dict], None] | None = None) -> dict:
    """Run GRPO; returns the last logged metrics. `reward_funcs` = [(name, fn, weight)] overrides --rewards;
    `on_step_end(step, metrics)` is called after every step (an extension point for custom logging)."""
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from transformers import get_scheduler
    from trl.models.utils import prepare_deepspeed, unwrap_model_for_generation

    from actrep.models.registry import load_model, resolve_dtype
    from actrep.train.common import apply_freezing, apply_lora, last_checkpoint, trainable_summary
    from actrep.train.precision import check_precision, export_dtype, keep_master_weights
    from actrep.train.data import TrainingSamples, VideoSampleDataset
    from actrep.video import encode
    from actrep.prompts import render_prompt

    from accelerate.state import AcceleratorState

    # The accelerator state is process-wide: an earlier stage in this process (an SFT Trainer, a test)
    # may have set another mixed precision. Reset it (the process group, in PartialState, is kept).
    AcceleratorState._reset_state()
    deepspeed_config = deepspeed_config_file(args)
    check_precision(resolve_dtype(model_args.dtype), args.bf16, deepspeed_config is not None, tuning)
    plugin = None
    if deepspeed_config:  # --deepspeed, or the JSON named by `accelerate launch`'s config: one path for both
        from actrep.models.registry import read_config

        config = read_config(model_args.model_name_or_path, model_args.trust_remote_code)
        plugin = deepspeed_plugin(args, deepspeed_config, config.text_config.hidden_size)
    cpu_only = not torch.cuda.is_available()
    if cpu_only and plugin is not None:
        # DeepSpeed on a CPU-only machine (tests, CI): accelerate drops a DeepSpeed plugin when told cpu=True
        # and sets up no process group without it, so set up the gloo group first, then DeepSpeed on top.
        from accelerate import PartialState

        PartialState(cpu=True)
    # step_scheduler_with_optimizer=False: accelerate's scheduler wrapper would otherwise step the
    # schedule once per process per call (world_size times too fast); it is stepped once per optimiser step.
    accelerator = Accelerator(mixed_precision="bf16" if args.bf16 else "no", cpu=cpu_only and plugin is None,
                              deepspeed_plugin=plugin, step_scheduler_with_optimizer=False)
    set_seed(args.seed)
    output_dir = Path(args.output_dir)
    rank, world, device = accelerator.process_index, accelerator.num_processes, accelerator.device
    reward_funcs = reward_funcs or resolve_rewards(args.rewards)

    from actrep.prompts import PromptSettings
    from actrep.settings import resolve_settings

    fast = resolve_fast_path(args, launch_of(accelerator, model_args, tuning))  # before the model loads: refusals are quick
    model, processor, family = load_model(model_args)
    video, variant, source = resolve_settings(model_args.model_name_or_path, video, prompt.prompt_variant, model_args.ignore_saved_settings)
    prompt = PromptSettings(variant)
    if source == "checkpoint" and accelerator.is_main_process:
        print(f"using the video settings and prompt variant saved with {model_args.model_name_or_path} (--ignore_saved_settings to use flags)")
    apply_freezing(model, tuning)
    vision_trainable = tuning.train_vision or tuning.train_merger
    if tuning.use_lora:
        model = apply_lora(model, tuning)
    precision = keep_master_weights(model, tuning, deepspeed=accelerator.state.deepspeed_plugin is not None, bf16=args.bf16)
    if args.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    ref_model = None
    if args.beta != 0.0 and not tuning.use_lora:
        ref_model, _, _ = load_model(model_args)  # the frozen starting point
        ref_model.requires_grad_(False).eval()
        ref_model = prepare_deepspeed(ref_model, accelerator) if accelerator.state.deepspeed_plugin else ref_model.to(device)

    training_samples = TrainingSamples(data_args, args.seed)  # RCS clips redrawn every epoch when --rcs
    samples = training_samples.epoch(0)
    per_step = args.videos_per_step * world
    if len(samples) < per_step:
        raise ActRepError(f"{len(samples)} training samples but {per_step} are needed per step ({args.videos_per_step} x {world} processes)")
    logps_fn = _logps_function(fast.shared_prefix)
    plan = StepPlan(len(samples), per_step, args.seed)
    total_steps = args.max_steps or max(1, int(args.num_train_epochs * plan.steps_per_epoch))
    # fused on one CUDA device without DeepSpeed: the same AdamW in one kernel (foreach re-reads 3B float32 masters in
    # many launches); DeepSpeed takes the optimizer over, and the CPU keeps torch's default implementation
    fused = accelerator.device.type == "cuda" and not accelerator.state.deepspeed_plugin
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.learning_rate, weight_decay=args.weight_decay,
                                  **({"fused": True} if fused else {}))
    optimizer_steps = StepCounter(optimizer)  # the steps the optimiser really takes (DeepSpeed decides when)
    planned_updates = total_steps * args.num_iterations
    scheduler = get_scheduler(args.lr_scheduler_type, optimizer, num_warmup_steps=math.ceil(args.warmup_ratio * planned_updates),
                              num_training_steps=planned_updates)
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)
    if accelerator.state.deepspeed_plugin:
        optimizer_steps.engine = model
    unwrapped = accelerator.unwrap_model(model)
    save_dtype = export_dtype(tuning.save_dtype, resolve_dtype(model_args.dtype))
    lora = (model_args, tuning) if tuning.use_lora else None  # the export merges adapters into the base weights
    pipeline_settings = settings_of(args, family.name, video, prompt)

    start_step = 0
    if args.resume:
        checkpoint = last_checkpoint(output_dir)
        if checkpoint is None:
            raise ActRepError(f"--resume: no checkpoint-* folder in {output_dir}")
        accelerator.load_state(str(checkpoint / "state"))
        state = json.loads((checkpoint / "grpo_state.json").read_text())
        start_step, optimizer_steps.taken = state["step"], state.get("optimizer_steps", state["step"] * args.num_iterations)
        if accelerator.is_main_process:
            print(f"resuming from {checkpoint} (step {start_step})")
    if accelerator.is_main_process:
        output_dir.mkdir(parents=True, exist_ok=True)
        save_json(output_dir / "arguments.json", arguments_record(args, data_args, tuning, model_args, video, prompt))
        engine = engine_name(accelerator.state)
        print(f"actrep grpo: {len(samples)} samples, {total_steps} steps x {per_step} videos x {args.num_generations} "
              f"completions; {world} process(es), {engine}; {trainable_summary(unwrapped)}; {precision}")
        print(fast.header(), flush=True)
    log = MetricsLog(output_dir, args.report_to, accelerator.is_main_process, resumed=start_step > 0)
    loss_config = LossConfig(args.loss_type, args.epsilon, args.epsilon_high if args.epsilon_high is not None else args.epsilon,
                             args.beta, args.max_completion_length, args.kl_bias_correction)
    gen_config = generation_config(processor, max_new_tokens=args.max_completion_length, temperature=args.temperature,
                                   top_p=args.top_p, top_k=args.top_k)
    eos_id = processor.tokenizer.convert_tokens_to_ids("<|im_end|>")
    placeholder_ids = processor.tokenizer.convert_tokens_to_ids(["<|video_pad|>", "<|image_pad|>"])
    G = args.num_generations

    def fetch(step):
        epoch_samples = training_samples.epoch(plan.epoch_of(step))
        dataset = VideoSampleDataset(epoch_samples, family, video)
        return [dataset[i] for i in plan.indices(step, rank, args.videos_per_step, len(epoch_samples))]

    metrics: dict = {}
    with ThreadPoolExecutor(max_workers=max(1, args.dataloader_num_workers)) as pool:
        pending = pool.submit(fetch, start_step) if start_step < total_steps else None
        for step in range(start_step, total_steps):
            t_start = timer()
            items = pending.result()
            pending = pool.submit(fetch, step + 1) if step + 1 < total_steps else None
            batch_samples = [it["sample"] for it in items]
            t0 = timer()
            prompts = [render_prompt(processor, s.action, prompt.prompt_variant) for s in batch_samples]
            batch = encode(processor, prompts, [it["video"] for it in items], video, padding_side="left").to(device)

            # 1-2. vision once per video; G completions per video from the cached features
            model.eval()
            with unwrap_model_for_generation(model, accelerator) as generator, accelerator.autocast():
                features = vision_features(generator, batch, fast=fast.vision_attention)
                t_vision = timer()
                completion_ids = generate(generator, batch, features, G, gen_config, fast=fast.decode)
            mask = completion_mask(completion_ids, eos_id, stop_ids=placeholder_ids)
            placeholder_rows = (mask.sum(1) < (completion_ids != processor.tokenizer.pad_token_id).sum(1)) & ~(completion_ids == eos_id).any(1)
            completion_ids = completion_ids.masked_fill(mask == 0, processor.tokenizer.pad_token_id)
            t1 = timer()

            # 3. rewards and advantages (every group lives on one process)
            texts = processor.tokenizer.batch_decode(completion_ids * mask + processor.tokenizer.pad_token_id * (1 - mask), skip_special_tokens=True)
            counts = [s.count for s in batch_samples for _ in range(G)]
            per_reward, rewards = _score(reward_funcs, texts, counts, prompt.prompt_variant)
            if args.scale_rewards == "batch":
                all_rewards = accelerator.gather(rewards.to(device)).cpu()
                mine = slice(rank * len(rewards), (rank + 1) * len(rewards))
                advantages = group_advantages(all_rewards, G, "batch")[0][mine]
            else:
                advantages, _ = group_advantages(rewards, G, args.scale_rewards)
            # a group whose own rewards are all equal teaches nothing, whatever the advantage scaling
            group_std = torch.nan_to_num(nanstd(rewards.view(-1, G), dim=1), nan=0.0)
            zero_std_groups = torch.isclose(group_std, torch.zeros(1)).float()
            advantages = advantages.to(device)
            t2 = timer()

            # 4. old / reference log-probs with the same features
            index = torch.arange(len(batch_samples), device=device).repeat_interleave(G)
            keep = torch.arange(len(index), device=device)
            if args.drop_zero_std_groups:
                keep = keep[~zero_std_groups.bool().repeat_interleave(G).to(device)]
            # Same autocast as the policy pass: old log-probs computed in another precision would make the
            # first iteration's ratio differ from 1 (spurious clipping) and bias the KL.
            old_logps = ref_logps = None
            with accelerator.autocast():
                if args.num_iterations > 1:
                    old_logps = _logps_in_chunks(model, batch, index, completion_ids, mask, features, args.temperature,
                                                 fast.micro_batch_rows, logps_fn)
                if args.beta != 0.0:
                    if ref_model is not None:
                        ref_features = vision_features(accelerator.unwrap_model(ref_model), batch, fast=fast.vision_attention) \
                            if vision_trainable else features
                        ref_logps = _logps_in_chunks(ref_model, batch, index, completion_ids, mask, ref_features, args.temperature,
                                                     fast.micro_batch_rows, logps_fn)
                    else:  # LoRA: the reference is the base model with adapters (and trained merger copies) off
                        with unwrapped.disable_adapter():
                            ref_features = vision_features(unwrapped, batch, fast=fast.vision_attention) \
                                if vision_trainable else features
                            ref_logps = _logps_in_chunks(model, batch, index, completion_ids, mask, ref_features, args.temperature,
                                                         fast.micro_batch_rows, logps_fn)
            t_logps = timer()

            # 5. optimisation
            model.train()
            tokens_in_batch = accelerator.gather(mask[keep].sum().to(device)).sum().item()
            chunks = [keep[i : i + fast.micro_batch_rows] for i in range(0, len(keep), fast.micro_batch_rows)]
            stats_sum: dict[str, float] = {}
            entropy_sum = entropy_tokens = 0.0
            learning_rates = []
            for _ in range(args.num_iterations if chunks else 0):
                learning_rates.append(scheduler.get_last_lr()[0])  # the rate this update uses
                for j, rows in enumerate(chunks):
                    with micro_batch(accelerator, model, last=j == len(chunks) - 1), accelerator.autocast():
                        step_features = vision_features(unwrapped, batch, grad=True, fast=fast.vision_attention) \
                            if vision_trainable else features
                        logps, entropy = logps_fn(model, batch, index[rows], completion_ids[rows], mask[rows],
                                                  step_features, args.temperature, with_entropy=True)
                        loss, stats = policy_loss(
                            logps, None if old_logps is None else old_logps[rows], None if ref_logps is None else ref_logps[rows],
                            advantages[rows], mask[rows], loss_config, accumulation_steps=len(chunks),
                            tokens_in_generation_batch=tokens_in_batch, num_processes=world)
                        accelerator.backward(loss)
                    for key, value in stats.items():
                        stats_sum[key] = stats_sum.get(key, 0.0) + float(value) / len(chunks) / args.num_iterations
                    entropy_sum += float((entropy * mask[rows]).sum())
                    entropy_tokens += float(mask[rows].sum())
                if accelerator.sync_gradients and args.max_grad_norm > 0:
                    accelerator.clip_grad_norm_(model.parameters(), args.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
            t3 = timer()

            # logging: rollout quality, rewards, lengths, KL/clipping, entropy, advantages, time split
            parsed = [parse_count(t) for t in texts]
            lengths = mask.sum(dim=1).float()
            metrics = {
                "reward/mean": float(torch.nanmean(rewards)), "reward/std": float(torch.nan_to_num(rewards.std(), nan=0.0)),
                **{f"reward/{name}/mean": float(torch.nanmean(per_reward[:, i])) for i, (name, _, _) in enumerate(reward_funcs)},
                **{f"reward/{name}/std": float(torch.nan_to_num(per_reward[:, i].std(), nan=0.0)) for i, (name, _, _) in enumerate(reward_funcs)},
                "rollout/obo": sum(p is not None and abs(p - g) <= 1 for p, g in zip(parsed, counts)) / len(counts),
                "rollout/exact": sum(p == g for p, g in zip(parsed, counts)) / len(counts),
                "rollout/parse_rate": sum(p is not None for p in parsed) / len(counts),
                "completion/length_mean": float(lengths.mean()), "completion/length_max": float(lengths.max()),
                "completion/truncated_share": float((~(completion_ids == eos_id).any(dim=1)).float().mean()),
                "completion/placeholder_stop_share": float(placeholder_rows.float().mean()),
                "entropy": entropy_sum / max(1.0, entropy_tokens),
                "advantage/mean": float(advantages.mean()), "advantage/std": float(advantages.std()),
                "advantage/min": float(advantages.min()), "advantage/max": float(advantages.max()),
                "groups/zero_std_share": float(zero_std_groups.mean()), "groups/trained_sequences": len(keep),
                "time/generation": t1 - t0, "time/scoring": t2 - t1, "time/training": t3 - t2,
                # parts of the above, and the whole step with the wait for the prefetched videos (the bench's s/step)
                "time/vision": t_vision - t0, "time/logps": t_logps - t2, "time/step_s": t3 - t_start,
                "tokens/completion": float(mask.sum()), "tokens/prompt": float(batch["attention_mask"].sum()),
                "clip_ratio/low": 0.0, "clip_ratio/high": 0.0, "clip_ratio/region": 0.0, **stats_sum,
            }
            metrics = {k: float(v) for k, v in metrics.items()}
            if world > 1:  # average every per-process statistic over processes
                stacked = accelerator.reduce(torch.tensor(list(metrics.values()), device=device), reduction="mean")
                metrics = dict(zip(metrics, stacked.tolist()))
            metrics["learning_rate"] = learning_rates[0] if learning_rates else scheduler.get_last_lr()[0]  # shared by all
            metrics["optimizer_steps"] = optimizer_steps.count
            if torch.cuda.is_available():
                metrics["memory/peak_gb"] = torch.cuda.max_memory_allocated(device) / 2**30  # this process, since the start
            done = step + 1
            if done % args.logging_steps == 0 or done == total_steps:
                log.log(done, metrics)
            if args.log_completions_steps and done % args.log_completions_steps == 0 and accelerator.is_main_process:
                with open(output_dir / "completions.jsonl", "a") as handle:
                    for i, text in enumerate(texts):
                        sample = batch_samples[i // G]
                        handle.write(json.dumps({"step": done, "video_id": sample.video_id, "count": sample.count,
                                                 "reward": None if math.isnan(rewards[i]) else float(rewards[i]), "completion": text}) + "\n")
            if done % args.save_steps == 0 and done < total_steps:
                save_checkpoint(accelerator, model, processor, pipeline_settings, output_dir / f"checkpoint-{done}", done,
                                optimizer_steps.count, save_dtype, lora)
                if accelerator.is_main_process:
                    rotate_checkpoints(output_dir, args.save_total_limit)
            if on_step_end is not None:
                on_step_end(done, metrics)

    save_final(accelerator, model, processor, pipeline_settings, output_dir, save_dtype, lora)
    log.close()
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return metrics


def save_checkpoint(accelerator, model, processor, pipeline_settings, directory: Path, step: int, optimizer_steps: int,
                    dtype: torch.dtype, lora) -> None:
    """A resumable checkpoint: accelerate state (master weights, optimizer, scheduler, RNG) + an HF model for eval."""
    from actrep.train.common import save_checkpoint_extras
    from actrep.train.export import export_model

    accelerator.save_state(str(directory / "state"))
    export_model(accelerator, model, directory, dtype, lora)
    if accelerator.is_main_process:
        save_checkpoint_extras(directory, processor, pipeline_settings)
        save_json(directory / "grpo_state.json", {"step": step, "optimizer_steps": optimizer_steps})
    accelerator.wait_for_everyone()


def save_final(accelerator, model, processor, pipeline_settings, output_dir: Path, dtype: torch.dtype, lora) -> None:
    """The final model in output_dir, loadable by `actrep eval` and plain transformers (LoRA merged)."""
    from actrep.train.common import save_checkpoint_extras
    from actrep.train.export import export_model

    accelerator.wait_for_everyone()
    export_model(accelerator, model, output_dir, dtype, lora)
    if accelerator.is_main_process:
        save_checkpoint_extras(output_dir, processor, pipeline_settings)
        print(f"saved the final model to {output_dir} ({str(dtype).replace('torch.', '')})")
