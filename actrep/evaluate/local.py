"""`actrep eval`: evaluate local checkpoints, batched, resumable, data-parallel over GPUs.

    actrep eval --model CKPT [CKPT ...] --data DATA [--videos DIR] [--out runs/eval]
    actrep eval --baseline periodicity naive --data DATA          (training-free counters, same metrics)
    torchrun --nproc_per_node 2 -m actrep eval ...      (or accelerate launch -m actrep eval ...)

Each checkpoint is evaluated with the video settings and prompt variant saved next to it by
training (`actrep_settings.json`), so evaluation sees exactly the tokens training saw; flags apply
only to checkpoints without saved settings (or with --ignore_saved_settings). Generation is greedy
by default, several videos per forward with left padding. Every finished video is appended to the
run's predictions file at once, so an interrupted run resumes without redoing or losing a video.
With several processes every rank reads the finished videos from the same snapshot (taken before
any rank writes, behind a barrier), takes every world-th remaining video and writes its own file;
rank 0 merges them in dataset order, so the result is identical to a single-process run however
late a rank starts.
"""

from __future__ import annotations

import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from actrep.config import option, parse_config
from actrep.errors import ActRepError
from actrep.inference.local import LocalModelCounter
from actrep.prompts import PromptSettings
from actrep.runs import (PREDICTIONS, PredictionLog, failed_prediction, finalize_run, prediction_from_parsed,
                                     print_comparison, read_predictions, sample_key, write_comparison)
from actrep.video import VideoSettings


@dataclass
class EvalArguments:
    model_name_or_path: list[str] = option([], help="Checkpoint directories or hub ids to evaluate (several: a comparison).")
    data: str = option(None, help="Dataset: a RepCount-A folder, a .csv or a .jsonl.")
    videos: str | None = option(None, help="Folder video ids are resolved against (default: the dataset's folder).")
    splits: list[str] = option(["test"], help="Splits to evaluate (JSONL/CSV rows without a split count as 'test').")
    output_dir: str = option("runs/eval", help="Output folder: one run directory per checkpoint inside it.")
    run_names: list[str] = option([], help="Run directory names, one per --model (default: derived from the path).")
    batch_size: int = option(4, help="Videos per generate call (left-padded).")
    max_new_tokens: int = option(1024, help="Most tokens generated per video.")
    do_sample: bool = option(False, help="Sample instead of greedy decoding.")
    temperature: float = option(1.0, help="Sampling temperature (with --do_sample).")
    top_p: float = option(1.0, help="Nucleus sampling (with --do_sample; 1.0: off).")
    top_k: int = option(0, help="Top-k sampling (with --do_sample; 0: off, as GRPO's rollouts by default).")
    seed: int = option(0, help="Seed (sampling only), set again for every checkpoint.")
    limit: int = option(0, help="Evaluate only the first N samples (0: all).")
    ignore_saved_settings: bool = option(False, help="Use the video/prompt flags even for checkpoints that saved their own settings.")
    family: str | None = option(None, help="Model family (default: from each checkpoint's config).")
    dtype: str = option("auto", help="auto (bf16 on a capable GPU, else float32), bfloat16, float16, float32.")
    attn_implementation: str = option("sdpa", help="sdpa, eager or flash_attention_2.")
    trust_remote_code: bool = option(False, help="Allow custom code from the checkpoint.")
    decode_workers: int = option(2, help="Threads decoding the next batch's videos while the model generates.")
    baseline: list[str] = option([], help="Training-free counters evaluated like a model, one run each (baseline-NAME): "
                                          "periodicity, naive. May be combined with --model.")
    allow_partial: bool = option(False, help="Evaluate the readable part of a video that ends before its declared length "
                                             "(cut or damaged); its row is marked partial. Without it such a video fails.")
    allow_failures: bool = option(False, help="Exit 0 even when some videos could not be read (they are listed and count as misses).")


def run_name_for(path: str) -> str:
    """A readable, filesystem-safe name: 'runs/sft/checkpoint-200' -> 'sft-checkpoint-200'."""
    parts = Path(path.rstrip("/")).parts
    name = "-".join(parts[-2:]) if parts and re.match(r"checkpoint-\d+|final|best", parts[-1]) else (parts[-1] if parts else path)
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "model"


def _remaining(samples, done: set[str], rank: int, world: int):
    todo = [s for s in samples if sample_key(s) not in done]
    return todo[rank::world]


def finished_keys(run_dir: Path) -> set[str]:
    """Keys already evaluated in `run_dir`: the merged file and any rank files of an interrupted run."""
    return {r["key"] for p in [run_dir / PREDICTIONS, *run_dir.glob("predictions.rank*.jsonl")] for r in read_predictions(p)}


def evaluate_checkpoint(path, samples, run_dir: Path, args, video, prompt, state, counter=None) -> dict | None:
    """Evaluate one checkpoint into `run_dir`; returns metrics on rank 0 (None elsewhere)."""
    from transformers import set_seed

    from actrep.answer import parse_completion
    from actrep.settings import PipelineSettings, save_settings

    counter = counter or LocalModelCounter(path, args, video, prompt, state.device)
    set_seed(args.seed)  # per checkpoint: its sampled answers do not depend on the runs before it
    rank, world = state.process_index, state.num_processes
    merged = run_dir / PREDICTIONS
    rank_file = merged if world == 1 else run_dir / f"predictions.rank{rank}.jsonl"
    log = PredictionLog(rank_file)  # repairs a torn last line of this rank's own file first
    done = finished_keys(run_dir)
    reused = len(done & {sample_key(s) for s in samples})
    if reused and rank == 0:
        print(f"resuming {run_dir}: reusing {reused} of {len(samples)} results saved by an earlier run", file=sys.stderr)
    # Every rank must partition the same snapshot: a rank that read it after another rank's first
    # append would compute another split, and some videos would be evaluated by nobody.
    state.wait_for_everyone()
    todo = _remaining(samples, done, rank, world)
    batches = [todo[i : i + args.batch_size] for i in range(0, len(todo), args.batch_size)]

    def load_batch(batch):
        loaded = []
        for sample in batch:
            try:
                loaded.append(counter.load(sample))
            except ActRepError as err:
                loaded.append(err)
        return loaded

    from rich.progress import Progress

    with ThreadPoolExecutor(max_workers=max(1, args.decode_workers)) as pool, \
            Progress(disable=rank != 0, transient=False) as progress:
        task = progress.add_task(f"eval {run_dir.name}", total=len(todo) * world if world > 1 else len(todo))
        pending = pool.submit(load_batch, batches[0]) if batches else None
        for index, batch in enumerate(batches):
            loaded = pending.result()
            pending = pool.submit(load_batch, batches[index + 1]) if index + 1 < len(batches) else None
            good = [(s, v) for s, v in zip(batch, loaded) if not isinstance(v, ActRepError)]
            for sample, failure in ((s, v) for s, v in zip(batch, loaded) if isinstance(v, ActRepError)):
                log.append(failed_prediction(sample, str(failure)))
            if good:
                started = time.perf_counter()
                outputs = counter.generate([s for s, _ in good], [v for _, v in good])
                per_video = (time.perf_counter() - started) / len(good)
                for (sample, video_clip), (text, n_prompt, n_completion) in zip(good, outputs):
                    parsed = parse_completion(text, counter.prompt_variant)
                    log.append(prediction_from_parsed(sample, parsed, raw=text, time_s=per_video, fps=video_clip.fps,
                                                      prompt_tokens=n_prompt, completion_tokens=n_completion,
                                                      partial=video_clip.partial))
            progress.advance(task, len(batch) * world if world > 1 else len(batch))
    state.wait_for_everyone()
    if rank != 0:
        return None
    rank_files = sorted(run_dir.glob("predictions.rank*.jsonl"))
    if rank_files:  # this run's ranks, or an interrupted run with more processes: merge, then drop them
        merged_log = PredictionLog(merged)
        for rank_path in rank_files:
            for record in read_predictions(rank_path):
                merged_log.append(record)
            rank_path.unlink()
    save_settings(run_dir, PipelineSettings(counter.family.name, counter.prompt_variant, counter.video_settings))
    info = {**counter.info(), "data": args.data, "splits": args.splits, "processes": world}
    return finalize_run(run_dir, [sample_key(s) for s in samples], info)


def main(argv: list[str]) -> int:
    import torch
    from accelerate import PartialState

    from actrep.manifest import load_samples

    args, video, prompt = parse_config([EvalArguments, VideoSettings, PromptSettings], argv, prog="actrep eval",
                                       description="Evaluate local checkpoints on a dataset.")
    if not args.model_name_or_path and not args.baseline:
        raise ActRepError("give at least one --model checkpoint or --baseline")
    if not args.data:
        raise ActRepError("give the dataset with --data")
    if args.run_names and len(args.run_names) != len(args.model_name_or_path):
        raise ActRepError(f"{len(args.run_names)} --run_names for {len(args.model_name_or_path)} --model values")
    if args.batch_size < 1:
        raise ActRepError("--batch_size must be at least 1")
    samples = load_samples(args.data, args.videos, args.splits or None)
    if args.limit:
        samples = samples[: args.limit]
    keys = [sample_key(s) for s in samples]
    if len(set(keys)) != len(keys):
        raise ActRepError(f"{args.data}: duplicate samples (same split, video and clip); run `actrep data validate`")
    # accelerate only sets up multi-process CPU runs (gloo) when told the run is on CPU.
    state = PartialState(cpu=not torch.cuda.is_available())
    names = args.run_names or [run_name_for(m) for m in args.model_name_or_path]
    if len(set(names)) != len(names):
        raise ActRepError(f"two checkpoints map to the same run name ({names}); give --run_names")
    runs = [(path, name, None) for path, name in zip(args.model_name_or_path, names)]
    if args.baseline:  # training-free counters (actrep.periodicity) with the same interface as a model
        from actrep.evaluate.baseline import BaselineCounter

        runs += [(f"baseline:{b}", f"baseline-{b}", BaselineCounter(b, video, prompt.prompt_variant, allow_partial=args.allow_partial))
                 for b in args.baseline]
    finished, run_dir = [], None
    try:
        for path, name, counter in runs:
            run_dir = Path(args.output_dir) / name
            run_dir.mkdir(parents=True, exist_ok=True)
            metrics = evaluate_checkpoint(path, samples, run_dir, args, video, prompt, state, counter)
            if metrics is not None:
                finished.append((name, metrics))
        if state.is_main_process:
            print_comparison(finished, title=f"actrep eval on {args.data}")
            if len(finished) > 1:
                write_comparison(args.output_dir, finished)
            print(f"results in {args.output_dir}/: " + ", ".join(n for n, _ in finished))
        failed = {f["key"] for _, m in finished for f in m["failures"]}
        if failed and not args.allow_failures:
            print(f"error: {len(failed)} video(s) could not be read (listed above; saved as misses); "
                  "--allow_failures accepts that (exit 0)", file=sys.stderr)
            return 1
    except KeyboardInterrupt:
        if state.is_main_process and run_dir is not None:
            saved = len(finished_keys(run_dir) & set(keys))
            print(f"interrupted: {saved} of {len(samples)} results of {run_dir.name} are saved in {run_dir}; "
                  "rerun the same command to resume", file=sys.stderr)
        return 130
    finally:
        state.wait_for_everyone()
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    return 0
