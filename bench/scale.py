"""Does a Qwen2.5-VL-7B train on this one GPU? SFT and GRPO steps per configuration, as users launch them.

    python -m bench.scale                                   # one GPU: random-init Qwen2.5-VL-7B, every configuration
    python -m bench.scale --configs sft_lora,grpo_lora --budget_s 540
    python -m bench.scale --tiny                            # the same steps on a toy model on the CPU

1. a random-init checkpoint with the real configuration, tokenizer and processor (bench.checkpoint; reused);
2. synthetic videos (`actrep synth`) and their chain-of-thought rows (`actrep cot`, what SFT trains on);
3. each configuration as a subprocess with the shipped recipe (recipes/sft_qwen2_5_vl.yaml, grpo_qwen2_5_vl.yaml)
   for a few steps: full fine-tuning in one process (bf16 compute, float32 master weights: the project's
   default without DeepSpeed), full fine-tuning under `accelerate launch` with DeepSpeed ZeRO-3 and CPU
   offload of parameters and optimizer (recipes/accelerate/zero3_offload.yaml), and LoRA in one process.
Overrides of the recipes (recorded in the results): the model and data paths, --max_steps, the video
settings (fixed frames and size), --rcs false, SFT's --effective_batch_size (the recipe's 16 is 16 forward
and backward passes per step), GRPO's --max_completion_length (a random model never emits EOS, so every
rollout runs to it), no checkpoints, TensorBoard or completion logs.
Per configuration: fits (True when every step was logged; False with the line that says why when the run
ran out of GPU or host memory; "timeout" when --timeout ran out first), s/step (the metrics.jsonl
`time/step_s` of both commands, the first step left out: SFT's runs from the step's first forward to its
optimiser step, its videos already decoded by the loader's workers; GRPO's is the whole step), peak GPU
memory (torch's max allocated from metrics.jsonl, and nvidia-smi's memory.used sampled every 0.5 s, which
adds the CUDA context and the allocator's cache), host RAM (total - available, sampled likewise: pinned
and offloaded buffers included).
A run is stopped once its last step is logged: the final export (a 16 GB write for the 7B) is not measured.
Results: <out>/<date>-scale-<gpu>.json and .md (copied to $OUT when set), saved after every configuration;
a later call with the same workload adds its runs to the same files (split the configurations over calls
that each fit a time limit with --budget_s; the checkpoint and videos in --work are reused).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.e2e import checkpoint, finish_args, folders_and_env, gpu_slug, machine, nvidia_smi, preparation  # noqa: E402 - after the repository root is importable
from bench.report import save_results  # noqa: E402

RECIPES = {"sft": "recipes/sft_qwen2_5_vl.yaml", "grpo": "recipes/grpo_qwen2_5_vl.yaml"}
ZERO3_OFFLOAD = ["-m", "accelerate.commands.launch", "--config_file", "recipes/accelerate/zero3_offload.yaml", "--num_processes", "1"]
CONFIGS = {  # name: (stage, launcher arguments before `-m actrep`, flags after the recipe's)
    "sft_full": ("sft", [], []),
    "sft_zero3_offload": ("sft", ZERO3_OFFLOAD, []),
    "sft_lora": ("sft", [], ["--use_lora", "true"]),
    "grpo_full": ("grpo", [], []),
    "grpo_zero3_offload": ("grpo", ZERO3_OFFLOAD, []),
    "grpo_lora": ("grpo", [], ["--use_lora", "true"]),
}
OOM = re.compile(r".*(CUDA out of memory|OutOfMemoryError|CUDA error: out of memory|can't allocate memory|Cannot allocate memory).*")
KILLED = re.compile(r".*(SIGKILL|exitcode\s*:\s*-9\b).*")
SECONDS, SYNTH_FPS, VIDEOS_PER_STEP = 8, 4, 2  # 8 s clips at 4 fps; GRPO's recipe takes 2 videos per step


def parse(argv):
    p = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tiny", action="store_true", help="toy model, small clips, CPU: a smoke test of the whole command")
    p.add_argument("--configs", default=",".join(CONFIGS), help=f"which configurations, in order (default all: {','.join(CONFIGS)})")
    p.add_argument("--steps", type=int, default=3, help="steps per run, the first one untimed (default 3)")
    p.add_argument("--sft_batch", type=int, default=4, help="SFT videos per optimiser step, one per forward (default 4; recipe 16)")
    p.add_argument("--max_completion_length", type=int, default=None, help="GRPO tokens per rollout (default 64; tiny 8)")
    p.add_argument("--frames", type=int, default=None, help="frames per video (default 16; tiny 8)")
    p.add_argument("--size", type=int, default=None, help="frame side in pixels (default 336; tiny 112)")
    p.add_argument("--timeout", type=float, default=240, help="seconds one run may take, loading included (default 240)")
    p.add_argument("--budget_s", type=float, default=None, help="seconds for the whole command: a run gets at most what is left, "
                                                                "none starts with less than 60 s (default: no limit)")
    p.add_argument("--work", default=None, help="checkpoint, videos and runs (default /tmp/actrep-scale[-tiny]; reused)")
    p.add_argument("--out", default=None, help="results folder (default bench/results; tiny: WORK/results)")
    p.add_argument("--python", default=sys.executable, help="interpreter of the preparation commands and the runs (default: this one)")
    args = p.parse_args(argv)
    defaults = dict(max_completion_length=8 if args.tiny else 64, frames=8 if args.tiny else 16, size=112 if args.tiny else 336,
                    work="/tmp/actrep-scale" + ("-tiny" if args.tiny else ""))
    if args.steps < 2:
        p.error("--steps must be at least 2 (the first step is not timed)")
    return finish_args(p, args, defaults, "configs", CONFIGS)


class Sampler(threading.Thread):
    """Every `interval` s: GPU memory used (MiB, first GPU, nvidia-smi) and host RAM in use (total - available, bytes)."""

    def __init__(self, interval: float = 0.5):
        super().__init__(daemon=True)
        self.interval, self.gpu, self.host = interval, [], []
        self.stop = threading.Event()

    def run(self):
        import psutil

        while not self.stop.is_set():
            rows = nvidia_smi("memory.used")
            if rows:
                self.gpu.append(float(rows[0]))
            memory = psutil.virtual_memory()
            self.host.append(memory.total - memory.available)
            self.stop.wait(self.interval)


def read_rows(path: Path) -> list[dict]:
    """The complete lines of a metrics.jsonl that its run may still be writing."""
    text = path.read_text() if path.exists() else ""
    return [json.loads(line) for line in text[: text.rfind("\n") + 1].splitlines() if line.strip()]


def run_until_logged(command: list[str], log: Path, env: dict, metrics: Path, steps: int, timeout: float) -> tuple[int | None, str, float]:
    """Run `command` until its metrics.jsonl has `steps` rows ("done"), it exits ("exited") or `timeout` passes ("timeout")."""
    import psutil

    started = time.perf_counter()
    with open(log, "w") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    outcome = "exited"
    while process.poll() is None:
        if len(read_rows(metrics)) >= steps:
            outcome = "done"
        elif time.perf_counter() - started > timeout:
            outcome = "timeout"
        else:
            time.sleep(0.5)
            continue
        break
    seconds = time.perf_counter() - started
    if process.poll() is None:
        # the whole tree by id: torch's elastic agent (under `accelerate launch`) starts its worker in a session of its own
        try:
            tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            tree = []
        for member in tree:
            try:
                member.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(tree, timeout=60)  # the next run needs their GPU and host memory back
    process.wait()
    return process.returncode if outcome == "exited" else None, outcome, seconds


def classify(outcome: str, code: int | None, text: str, logged: int, steps: int) -> tuple[bool | str | None, str]:
    """(fits, note): True when every step was logged; False on running out of GPU or host memory; "timeout"; None otherwise."""
    if logged >= steps:
        return True, "" if outcome == "done" or code == 0 else f"exit {code} after the last step"
    oom = OOM.search(text)
    if oom:
        return False, oom.group(0).strip()[:300]
    if outcome == "timeout":
        return "timeout", f"{logged} of {steps} steps logged when the time ran out"
    killed = KILLED.search(text)
    if killed or code in (-9, 137):
        return False, "killed (SIGKILL; the kernel's out-of-memory killer?): " + (killed.group(0).strip()[:200] if killed else f"exit {code}")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    error = next((line for line in reversed(lines) if "Error" in line), lines[-1] if lines else "no output")
    return None, f"exit {code}: {error[:300]}"


def summarise(rows: list[dict]) -> dict:
    timed = [r["time/step_s"] for r in rows[1:] if r.get("time/step_s") is not None]
    peaks = [r["memory/peak_gb"] for r in rows if r.get("memory/peak_gb")]
    return {"steps_logged": len(rows), "step_s_each": [r.get("time/step_s") for r in rows],
            "s_per_step": statistics.fmean(timed) if timed else None, "peak_memory_gb": max(peaks) if peaks else None}


def _f(value, digits=1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def markdown(results: dict) -> str:
    s, m = results["settings"], results["machine"]
    lines = [f"# Qwen2.5-VL training at scale on one GPU, {results['date']}", "", *(f"    {c}" for c in results["commands"]), "",
             f"Machine: {m.get('gpu') or m['cpu']}, {m['cpus']} CPUs, {_f(m.get('host_ram_gb'), 0)} GB host RAM; python {m['python']}, "
             f"torch {m['torch']} (CUDA {m['cuda']}), transformers {m['transformers']}, trl {m['trl']}, accelerate {m['accelerate']}, "
             f"deepspeed {m.get('deepspeed')}, peft {m['peft']}; commit {m['commit']}.", "",
             f"Workload: random-init {s['arch']} ({_f(s['params_b'], 2)}B parameters), {s['frames']} frames at {s['size']}x{s['size']} "
             f"per video; SFT {s['sft_batch']} videos per step (one per forward); GRPO {VIDEOS_PER_STEP} videos x 8 completions of "
             f"{s['max_completion_length']} tokens per step; {s['steps']} steps per run, the first untimed. Overrides of the recipes: "
             f"SFT `{' '.join(s['overrides']['sft'])}`; GRPO `{' '.join(s['overrides']['grpo'])}`.", "",
             "| configuration | fits | s/step | peak GPU GB | host RAM GB | note |", "|---|---|---|---|---|---|"]
    for name, r in results["runs"].items():
        gpu = f"{_f(r.get('peak_memory_gb'))} ({_f(r.get('gpu_used_max_gb'))})"
        lines.append(f"| {name} | {r['fits']} | {_f(r.get('s_per_step'), 2)} | {gpu} | {_f(r.get('host_used_max_gb'))} | "
                     f"{r['note'].replace('|', '/')} |")
    lines += ["", "peak GPU GB: torch's max allocated (nvidia-smi's max memory.used, CUDA context and cache included); host RAM: "
                  "the machine's total - available, max over the run (before it: "
                  + ", ".join(f"{n} {_f(r.get('host_used_before_gb'))}" for n, r in results["runs"].items()) + ").", ""]
    if results["skipped"]:
        lines += [f"Skipped (no time left in --budget_s): {', '.join(results['skipped'])}.", ""]
    lines += [f"- {name}: `{' '.join(r['command'])}`" for name, r in results["runs"].items()]
    return "\n".join(lines) + "\n"


def build_command(python: str, name: str, model: Path, data: Path, run_dir: Path, overrides: list[str]) -> list[str]:
    stage, launcher, flags = CONFIGS[name]
    return [python, *launcher, "-m", "actrep", stage, "--config", RECIPES[stage], "--model_name_or_path", str(model),
            "--train_data", str(data), "--output_dir", str(run_dir), *overrides, *flags]


def parameters(model: Path) -> int:
    """Parameters in the checkpoint's safetensors files, from their headers (no weights are read)."""
    from safetensors import safe_open

    total = 0
    for path in model.glob("*.safetensors"):
        with safe_open(str(path), "pt") as handle:
            total += sum(math.prod(handle.get_slice(key).get_shape()) for key in handle.keys())
    return total


def main(argv=None) -> int:
    import psutil

    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    begun = time.perf_counter()
    work, out, env = folders_and_env(args)
    python = args.python
    if args.tiny:
        env["DS_ACCELERATOR"] = "cpu"  # DeepSpeed on a machine without a GPU (as tests/test_training_matrix.py runs it)
    arch = "tiny_qwen2_5_vl" if args.tiny else "qwen2_5_vl_7b"
    date = dt.datetime.now().strftime("%Y-%m-%d")
    info = machine()
    info["host_ram_gb"] = psutil.virtual_memory().total / 2**30
    try:
        info["deepspeed"] = __import__("deepspeed").__version__
    except Exception:  # noqa: BLE001 - only the ZeRO-3 runs need it; their logs say why they fail
        info["deepspeed"] = None
    results = {"suite": "actrep-scale", "date": date, "commands": ["python -m bench.scale " + " ".join(argv)], "machine": info,
               "prepare_s": {}, "runs": {}, "skipped": []}

    step = preparation(results, work, env)
    model = checkpoint(step, work, arch, args.tiny, python)
    videos = work / f"synth-{args.size}"
    needed = args.steps * max(args.sft_batch, VIDEOS_PER_STEP)  # every step sees new videos, no epoch ends mid-step
    if len(list(videos.glob("video/train/*.mp4"))) < needed or not (videos / "cot.jsonl").exists():
        step("synth", [python, "-m", "actrep", "synth", "--output_dir", str(videos), "--n", str(needed), "--seed", "0", "--splits", "train=1",
                       "--size", str(args.size), "--fps", str(SYNTH_FPS), "--duration", str(SECONDS), "--preset", "easy",
                       "--min_count", "2", "--max_count", "6", "--overwrite", "--quiet"])
        step("cot", [python, "-m", "actrep", "cot", str(videos), "--output_file", str(videos / "cot.jsonl")])
    pixels = str(args.size * args.size)
    common = ["--max_steps", str(args.steps), "--rcs", "false", "--fps", str(args.frames / SECONDS), "--max_frames", str(args.frames),
              "--min_pixels", pixels, "--max_pixels", pixels, "--logging_steps", "1", "--report_to", "none"]
    # no checkpoints: Trainer would otherwise save one (optimizer state included) at the last step
    overrides = {"sft": [*common, "--effective_batch_size", str(args.sft_batch), "--save_strategy", "no"],
                 "grpo": [*common, "--max_completion_length", str(args.max_completion_length), "--log_completions_steps", "0",
                          "--save_steps", "100000"]}
    data = {"sft": videos / "cot.jsonl", "grpo": videos}
    results["settings"] = {"recipes": RECIPES, "arch": arch, "params_b": parameters(model) / 1e9, "frames": args.frames, "size": args.size,
                           "steps": args.steps, "sft_batch": args.sft_batch, "max_completion_length": args.max_completion_length,
                           "overrides": overrides}
    # One file per day, card and workload: calls that split the configurations (each within a device time
    # limit) add their runs to it; another workload that day gets the next free name.
    base = label = f"{date}-scale-{gpu_slug(info)}{'-tiny' if args.tiny else ''}"
    number = 1
    while (out / f"{label}.json").exists():
        earlier = json.loads((out / f"{label}.json").read_text())
        if earlier.get("settings") == results["settings"]:
            results["commands"] = earlier["commands"] + results["commands"]
            results["runs"] = {name: r for name, r in earlier["runs"].items() if name not in args.configs}
            break
        number += 1
        label = f"{base}-{number}"
    results["label"] = label

    def save():
        return save_results(out, label, results, markdown(results))

    for name in args.configs:
        left = args.budget_s - (time.perf_counter() - begun) if args.budget_s else float("inf")
        if left < 60:
            results["skipped"].append(name)
            print(f"[{name}] skipped: {left:.0f} s left of --budget_s", flush=True)
            continue
        run_dir = work / "runs" / name
        shutil.rmtree(run_dir, ignore_errors=True)
        stage = CONFIGS[name][0]
        command = build_command(python, name, model, data[stage], run_dir, overrides[stage])
        log = work / "logs" / f"{name}.log"
        sampler = Sampler()
        before = psutil.virtual_memory()
        sampler.start()
        limit = min(args.timeout, left)
        code, outcome, seconds = run_until_logged(command, log, env, run_dir / "metrics.jsonl", args.steps, limit)
        sampler.stop.set()
        sampler.join()
        rows = read_rows(run_dir / "metrics.jsonl")
        text = log.read_text(errors="replace")
        fits, note = classify(outcome, code, text, len(rows), args.steps)
        header = [line.strip() for line in text.splitlines() if line.startswith(("actrep sft:", "actrep grpo:", "fast path:"))]
        record = {"fits": fits, "note": note, "outcome": outcome, "exit": code, "wall_s": seconds, "timeout_s": limit,
                  "command": ["python", *command[1:]], "header": header, "log": str(log), **summarise(rows),
                  "gpu_used_max_gb": max(sampler.gpu) / 1024 if sampler.gpu else None,
                  "host_used_max_gb": max(sampler.host) / 2**30 if sampler.host else None,
                  "host_used_before_gb": (before.total - before.available) / 2**30}
        if fits is not True:
            record["log_tail"] = text[-3000:]
        results["runs"][name] = record
        if rows:  # keep the step log; the rest (an export that finished first: 16 GB at 7B) would fill the disk
            shutil.copy(run_dir / "metrics.jsonl", work / "logs" / f"{name}.metrics.jsonl")
        shutil.rmtree(run_dir, ignore_errors=True)
        print(f"[{name}] fits {fits} in {seconds:.0f} s: {_f(record['s_per_step'], 2)} s/step, peak GPU {_f(record['peak_memory_gb'])} GB "
              f"(nvidia-smi {_f(record['gpu_used_max_gb'])}), host {_f(record['host_used_max_gb'])} GB" + (f"; {note}" if note else ""),
              flush=True)
        if fits is None:  # an unexpected failure: its log's end, for whoever sees only this output
            print(text[-2000:], flush=True)
        save()
    json_path, md_path = save()
    print(f"\nresults: {json_path} and {md_path}\n\n" + markdown(results), flush=True)
    return 0 if all(r["fits"] is not None for r in results["runs"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
