"""`actrep grpo` end to end, as users run it: the shipped recipe, stock path vs defaults, in one command.

    python -m bench.e2e            # one GPU: random-init Qwen2.5-VL-3B, 64 frames at 336x336, ~6-8 min on an H100
    python -m bench.e2e --tiny     # the same steps on a toy model and small clips, on the CPU (~2 min)
    python -m bench.e2e --family qwen3_vl    # random-init Qwen3-VL-4B with recipes/grpo_qwen3_vl.yaml

1. a random-init checkpoint with the real configuration, tokenizer and processor (bench.checkpoint);
2. synthetic videos (`actrep synth`), as many as the steps need;
3. `actrep grpo --config recipes/grpo_qwen2_5_vl.yaml` as a subprocess, once with `--fast_path false`
   (stock) and once with the recipe's defaults, each for a few steps.
Overrides of the recipe (recorded in the results): the model and data paths, --max_steps, the video
settings (fixed frames and size), --rcs false (RCS clips would change the workload per run),
--max_completion_length (a random model never emits EOS, so every rollout runs to it) and no
checkpoints, TensorBoard or completion logs. Each step's seconds, phases, tokens and peak memory come from
the run's metrics.jsonl; the first step (warm-up: compilation, CUDA graph capture, allocator) is
left out of the averages. GPU utilisation is sampled with nvidia-smi in a background thread while
the timed steps run. Results: <out>/<date>-e2e-<gpu>.json and .md (copied to $OUT when set), with
`speedup` = stock s/step / defaults s/step.
--runs stock,defaults,trl adds TRL's GRPOTrainer on the same checkpoint, clips, prompt, rewards and batch
(bench.trl_grpo): what users would pick instead. Its log-prob passes never see the video (DESIGN.md), so
its s/step is of a step that trains the wrong thing; it has no phases (shown as "-").
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
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

from bench.report import save_results  # noqa: E402 - after the repository root is importable
FAMILIES = {"qwen2_5_vl": "qwen2_5_vl_3b", "qwen3_vl": "qwen3_vl_4b"}  # --family -> the architecture measured (tiny: tiny_<family>)
RUNS = {"stock": ["--fast_path", "false"], "defaults": []}
KINDS = [*RUNS, "trl"]  # trl: bench.trl_grpo, opt-in


def parse(argv):
    p = argparse.ArgumentParser(prog="python -m bench.e2e", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tiny", action="store_true", help="toy model, small clips, CPU: a smoke test of the whole command")
    p.add_argument("--steps", type=int, default=None, help="GRPO steps per run, the first one untimed (default 4; tiny 2)")
    p.add_argument("--max_completion_length", type=int, default=None, help="tokens per rollout (default 256; tiny 8)")
    p.add_argument("--frames", type=int, default=None, help="frames per video (default 64; tiny 8)")
    p.add_argument("--size", type=int, default=None, help="frame side in pixels (default 336; tiny 112)")
    p.add_argument("--family", default="qwen2_5_vl", choices=list(FAMILIES),
                   help="qwen2_5_vl: Qwen2.5-VL-3B with recipes/grpo_qwen2_5_vl.yaml; qwen3_vl: Qwen3-VL-4B with recipes/grpo_qwen3_vl.yaml")
    p.add_argument("--runs", default="stock,defaults", help="which runs, in order, of stock,defaults,trl (trl: TRL's GRPOTrainer, opt-in)")
    p.add_argument("--work", default=None, help="checkpoint, videos and runs (default /tmp/actrep-e2e[-tiny]; reused)")
    p.add_argument("--out", default=None, help="results folder (default bench/results; tiny: WORK/results)")
    p.add_argument("--python", default=sys.executable, help="interpreter of the preparation commands and the runs (default: this one)")
    args = p.parse_args(argv)
    defaults = dict(steps=2 if args.tiny else 4, max_completion_length=8 if args.tiny else 256, frames=8 if args.tiny else 64,
                    size=112 if args.tiny else 336, work="/tmp/actrep-e2e" + ("-tiny" if args.tiny else ""))
    return finish_args(p, args, defaults, "runs", KINDS)


def finish_args(parser, args, defaults: dict, selection: str, choices) -> argparse.Namespace:
    """The --tiny-dependent defaults, the results folder, and the comma-separated `selection` checked against `choices`."""
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.out = args.out or (str(Path(args.work) / "results") if args.tiny else str(ROOT / "bench" / "results"))
    chosen = [name for name in getattr(args, selection).split(",") if name]
    unknown = set(chosen) - set(choices)
    if unknown:
        parser.error(f"unknown {selection} {sorted(unknown)}: choose from {', '.join(choices)}")
    setattr(args, selection, chosen)
    return args


def run_logged(command: list[str], log: Path, env: dict) -> tuple[int, float]:
    started = time.perf_counter()
    with open(log, "w") as handle:
        code = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=ROOT).returncode
    return code, time.perf_counter() - started


def nvidia_smi(query: str) -> list[str] | None:
    if not shutil.which("nvidia-smi"):
        return None
    result = subprocess.run(["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader,nounits"], capture_output=True, text=True)
    return [line.strip() for line in result.stdout.splitlines() if line.strip()] if result.returncode == 0 else None


class GPUSampler(threading.Thread):
    """nvidia-smi every `interval` s: (GPU utilisation %, memory used MiB, steps logged so far) of the first GPU."""

    def __init__(self, metrics_path: Path, interval: float = 0.5):
        super().__init__(daemon=True)
        self.metrics_path, self.interval = metrics_path, interval
        self.samples: list[tuple[float, float, int]] = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            rows = nvidia_smi("utilization.gpu,memory.used")
            if rows:
                util, memory = (float(x) for x in rows[0].split(",")[:2])
                steps = len(self.metrics_path.read_text().splitlines()) if self.metrics_path.exists() else 0
                self.samples.append((util, memory, steps))
            self.stop.wait(self.interval)

    def timed(self, steps: int) -> dict | None:
        """Utilisation while steps 2..steps ran (after the first step was logged, before the last)."""
        window = [s for s in self.samples if 1 <= s[2] < steps]
        if not window:
            return None
        return {"util_mean_pct": statistics.fmean(s[0] for s in window), "util_median_pct": statistics.median(s[0] for s in window),
                "memory_used_max_gb": max(s[1] for s in window) / 1024, "samples": len(window)}


PHASES = {"vision": "time/vision", "generation": "time/generation", "scoring": "time/scoring", "logps": "time/logps",
          "training": "time/training"}


def summarise(log_rows: list[dict], steps: int) -> dict:
    timed = log_rows[1:] if len(log_rows) > 1 else log_rows
    step_s = [r["time/step_s"] for r in timed]
    out = {"steps_logged": len(log_rows), "timed_steps": len(timed), "step_s_each": [r["time/step_s"] for r in log_rows],
           "s_per_step": statistics.fmean(step_s), "s_per_step_median": statistics.median(step_s),
           "phases_s": {name: statistics.fmean(r[key] for r in timed) for name, key in PHASES.items()},
           "completion_tokens_per_step": statistics.fmean(r["tokens/completion"] for r in timed),
           "prompt_tokens_per_step": statistics.fmean(r["tokens/prompt"] for r in timed),
           "peak_memory_gb": max((r.get("memory/peak_gb") or 0.0) for r in log_rows) or None}
    # decode (generation minus the vision tower) and training without the old/reference log-prob passes
    out["phases_s"]["decode"] = out["phases_s"]["generation"] - out["phases_s"]["vision"]
    out["phases_s"]["optimisation"] = out["phases_s"]["training"] - out["phases_s"]["logps"]
    out["completion_tokens_per_s"] = out["completion_tokens_per_step"] / out["s_per_step"]
    out["tokens_per_s"] = (out["completion_tokens_per_step"] + out["prompt_tokens_per_step"]) / out["s_per_step"]
    return out


def fixed_memory_gb(log_text: str) -> dict | None:
    """What the run holds whatever its path, from its header (GiB): float32 master weights, their gradients and
    AdamW's two moments for the trainable parameters, the frozen ones in bf16 and the bf16 reference model (beta > 0
    in the recipe). Counted, not measured: the peak minus this is what the path itself takes (activations, logits,
    KV caches and, for the fast decoder of float32 masters, its bf16 copy of the trained weights, ~2 B/parameter)."""
    found = re.search(r"trainable parameters: ([\d,]+) of ([\d,]+)", log_text)
    if not found or "float32 master weights" not in log_text:
        return None
    trainable, total = (int(x.replace(",", "")) for x in found.groups())
    parts = {"masters_fp32": 4 * trainable, "gradients_fp32": 4 * trainable, "adamw_state": 8 * trainable,
             "frozen_bf16": 2 * (total - trainable), "reference_bf16": 2 * total}
    parts = {name: size / 2**30 for name, size in parts.items()}
    return {**parts, "total": sum(parts.values())}


def folders_and_env(args) -> tuple[Path, Path, dict]:
    """args.work (with logs/) and args.out created; the subprocesses' environment with the repository importable."""
    work, out = Path(args.work), Path(args.out)
    (work / "logs").mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)  # keep carried packages (/tmp/site)
    return work, out, dict(os.environ, PYTHONUNBUFFERED="1", TOKENIZERS_PARALLELISM="false", PYTHONPATH=path)


def gpu_slug(info: dict) -> str:
    return "cpu" if not info["gpu"] else info["gpu"].split(",")[0].lower().replace("nvidia", "").strip().split()[0]


def preparation(results: dict, work: Path, env: dict):
    """A runner for the preparation commands: logged under work/logs, timed into results["prepare_s"], fatal on failure."""
    def step(name: str, command: list[str]) -> None:
        code, seconds = run_logged(command, work / "logs" / f"{name}.log", env)
        results["prepare_s"][name] = seconds
        if code:
            raise SystemExit(f"{name} failed (exit {code}): {work / 'logs' / f'{name}.log'}")
        print(f"[{name}] {seconds:.0f} s", flush=True)
    return step


def checkpoint(step, work: Path, arch: str, tiny: bool, python: str) -> Path:
    """The random-init checkpoint of `arch` under work, built unless there (reused between runs)."""
    model = work / f"model-{arch}"
    if not (model / "processor_config.json").exists():  # written last: a checkpoint cut off mid-write is built again
        step("checkpoint", [python, "-m", "bench.checkpoint", "--arch", arch, "--out", str(model),
                            *(["--device", "cpu"] if tiny else [])])
    return model


def machine() -> dict:
    import torch
    import transformers

    info = {"python": platform.python_version(), "torch": torch.__version__, "cuda": torch.version.cuda,
            "transformers": transformers.__version__, "cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count()}
    for name in ("trl", "accelerate", "peft", "av"):
        try:
            info[name] = __import__(name).__version__
        except Exception:  # noqa: BLE001 - optional here; the runs say what they need
            info[name] = None
    gpu = nvidia_smi("name,memory.total,driver_version")
    info["gpu"] = gpu[0] if gpu else None
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True, cwd=ROOT)  # -dirty: uncommitted changes
    info["commit"] = commit.stdout.strip() or None
    return info


def markdown(results: dict) -> str:
    s = results["settings"]
    lines = [f"# actrep grpo end to end, {results['date']}", "", f"    {results['command']}", "",
             f"Machine: {results['machine'].get('gpu') or results['machine']['cpu']}; torch {results['machine']['torch']}, "
             f"transformers {results['machine']['transformers']}, trl {results['machine']['trl']}, accelerate "
             f"{results['machine']['accelerate']}; commit {results['machine']['commit']}.", "",
             f"Workload: `{s['recipe']}` on a random-init {s['arch']} checkpoint, {s['frames']} frames at {s['size']}x{s['size']}, "
             f"G = {s['num_generations']}, {s['videos_per_step']} videos per step, {s['max_completion_length']} completion tokens "
             f"(a random model never stops early), {s['steps']} steps per run, the first untimed. Overrides of the recipe: "
             f"`{' '.join(s['overrides'])}`.", "",
             "| run | s/step | vision | decode | scoring | log-probs (old/ref) | optimisation | completion tok/s | tok/s | peak GB | GPU util | x stock |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    stock = results["runs"].get("stock", {}).get("s_per_step")
    for name, r in results["runs"].items():
        if "s_per_step" not in r:
            lines.append(f"| {name} | failed (exit {r.get('exit')}): see {r.get('log')} |" + " |" * 10)
            continue
        p, gpu = r.get("phases_s") or {}, r.get("gpu") or {}  # the trl run has no phases and no prompt-token count
        cells = [f"{r['s_per_step']:.2f}", *(f"{p[k]:.2f}" if k in p else "-" for k in ("vision", "decode", "scoring", "logps", "optimisation")),
                 *(f"{r[k]:.0f}" if r.get(k) else "-" for k in ("completion_tokens_per_s", "tokens_per_s")),
                 f"{r['peak_memory_gb']:.1f}" if r.get("peak_memory_gb") else "-",
                 f"{gpu['util_mean_pct']:.0f}%" if gpu else "-", f"{stock / r['s_per_step']:.2f}x" if stock else "-"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", f"**speedup** (stock s/step / defaults s/step, means of the timed steps): {results['speedup']:.2f}x"
              + (f"; of the medians: {results['speedup_median']:.2f}x" if results.get("speedup_median") else "") if results.get("speedup") else
              "**speedup**: not measured (a run failed or was not asked for)", ""]
    for name, r in results["runs"].items():
        lines.append(f"- {name}: {r['note']}" if r.get("note") else f"- {name}: `{r.get('header') or 'no fast-path header line'}`")
        if r.get("step_s_each"):
            lines.append(f"  - seconds per step: {', '.join(f'{t:.1f}' for t in r['step_s_each'])} (the first untimed)")
    for name, r in results["runs"].items():
        fixed = r.get("fixed_memory_gb")
        if fixed and r.get("peak_memory_gb"):
            parts = ", ".join(f"{key} {value:.1f}" for key, value in fixed.items() if key != "total" and value)
            lines.append(f"- memory, {name}: peak {r['peak_memory_gb']:.1f} GB = {fixed['total']:.1f} GB held whatever the path "
                         f"({parts}; counted from the header) + {r['path_memory_gb']:.1f} GB taken by the path itself")
    if results.get("path_memory_ratio"):
        lines.append(f"- memory ratio (defaults / stock): peak {results['memory_ratio']:.2f}, the paths' own part "
                     f"{results['path_memory_ratio']:.2f}")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    work, out, env = folders_and_env(args)
    python = args.python
    arch = f"tiny_{args.family}" if args.tiny else FAMILIES[args.family]
    recipe = f"recipes/grpo_{args.family}.yaml"
    date = dt.datetime.now().strftime("%Y-%m-%d")
    info = machine()
    family = "" if args.family == "qwen2_5_vl" else f"-{args.family}"
    label = f"{date}-e2e-{gpu_slug(info)}{family}{'-tiny' if args.tiny else ''}"
    results = {"suite": "actrep-e2e", "date": date, "label": label, "command": "python -m bench.e2e " + " ".join(sys.argv[1:] if argv is None else argv),
               "machine": info, "prepare_s": {}, "runs": {}, "speedup": None}

    step = preparation(results, work, env)
    model = checkpoint(step, work, arch, args.tiny, python)
    videos_per_step = 2  # the recipe's
    seconds, fps = 8, 8  # 8 s clips at 8 fps; GRPO samples --frames of them evenly (all 64 at the default)
    videos = work / f"synth-{args.size}"
    needed = args.steps * videos_per_step
    if len(list(videos.glob("video/train/*.mp4"))) < needed:
        step("synth", [python, "-m", "actrep", "synth", "--output_dir", str(videos), "--n", str(needed), "--seed", "0", "--splits", "train=1",
                       "--size", str(args.size), "--fps", str(fps), "--duration", str(seconds), "--preset", "easy",
                       "--min_count", "2", "--max_count", "6", "--overwrite", "--quiet"])
    pixels = str(args.size * args.size)
    overrides = ["--max_steps", str(args.steps), "--max_completion_length", str(args.max_completion_length), "--rcs", "false",
                 "--fps", str(args.frames / seconds), "--max_frames", str(args.frames), "--min_pixels", pixels, "--max_pixels", pixels,
                 "--save_steps", "100000", "--report_to", "none", "--log_completions_steps", "0"]
    results["settings"] = {"recipe": recipe, "arch": arch, "frames": args.frames, "size": args.size, "num_generations": 8,
                           "videos_per_step": videos_per_step, "max_completion_length": args.max_completion_length,
                           "steps": args.steps, "overrides": overrides, "runs": {name: RUNS.get(name, "bench.trl_grpo") for name in args.runs}}
    trl_args = ["--model", str(model), "--videos", str(videos), "--steps", str(args.steps), "--frames", str(args.frames),
                "--size", str(args.size), "--seconds", str(seconds), "--max_completion_length", str(args.max_completion_length)]

    def save():
        return save_results(out, label, results, markdown(results))

    for name in args.runs:
        run_dir = work / "runs" / name
        shutil.rmtree(run_dir, ignore_errors=True)
        if name == "trl":
            command = [python, "-m", "bench.trl_grpo", *trl_args, "--output_dir", str(run_dir)]
        else:
            command = [python, "-m", "actrep", "grpo", "--config", recipe, "--model_name_or_path", str(model), "--train_data", str(videos),
                       "--output_dir", str(run_dir), *overrides, *RUNS[name]]
        sampler = GPUSampler(run_dir / "metrics.jsonl")
        sampler.start()
        log = work / "logs" / f"grpo-{name}.log"
        code, seconds = run_logged(command, log, env)
        sampler.stop.set()
        sampler.join()
        text = log.read_text(errors="replace")
        header = next((line for line in text.splitlines() if line.startswith("fast path:")), None)
        record = {"exit": code, "wall_s": seconds, "header": header, "log": str(log), "flags": RUNS.get(name, trl_args)}
        rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()] if (run_dir / "metrics.jsonl").exists() else []
        if code == 0 and name == "trl" and (run_dir / "summary.json").exists():
            record.update(json.loads((run_dir / "summary.json").read_text()), exit=code, gpu=sampler.timed(args.steps))
        elif code == 0 and rows:
            record.update(summarise(rows, args.steps), gpu=sampler.timed(args.steps), fixed_memory_gb=fixed_memory_gb(text))
            if record["fixed_memory_gb"] and record["peak_memory_gb"]:
                record["path_memory_gb"] = record["peak_memory_gb"] - record["fixed_memory_gb"]["total"]
        else:
            record["error_tail"] = text[-3000:]
        results["runs"][name] = record
        print(f"[grpo {name}] exit {code} in {seconds:.0f} s: " + (f"{record['s_per_step']:.2f} s/step" if "s_per_step" in record else "failed"),
              flush=True)
        save()
    stock, fast = (results["runs"].get(n, {}).get("s_per_step") for n in ("stock", "defaults"))
    if stock and fast:
        results["speedup"] = stock / fast
        # the stock step swings with HF generate's host-bound decoding (21-45 s in one run): the median ratio beside the mean's
        results["speedup_median"] = results["runs"]["stock"]["s_per_step_median"] / results["runs"]["defaults"]["s_per_step_median"]
        peaks = [results["runs"][n].get("peak_memory_gb") for n in ("stock", "defaults")]
        results["memory_ratio"] = peaks[1] / peaks[0] if all(peaks) else None
        own = [results["runs"][n].get("path_memory_gb") for n in ("stock", "defaults")]
        results["path_memory_ratio"] = own[1] / own[0] if all(own) else None
    json_path, md_path = save()
    print(f"\nresults: {json_path} and {md_path}\n\n" + markdown(results), flush=True)
    return 0 if all(r["exit"] == 0 for r in results["runs"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
