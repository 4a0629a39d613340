"""`actrep demo` (`make demo`): the whole method on synthetic videos, sized to the machine.

On a CPU (the default without a GPU), every stage is the `actrep` command a user would type (printed
before it runs), with the demo recipes in recipes/demo/:

    synthetic squat videos -> validate -> tiny offline Qwen2.5-VL -> CoT -> RCS (histogram)
    -> SFT -> eval -> GRPO -> eval -> training-free baseline -> HTML report

Why it is sized the way it is (docs/demo.md): a ~10M-parameter model trained from random
initialisation for a few minutes on two cores can learn the reasoning format and the count prior
of one motion family, not to count from pixels; so the demo uses one family, counts 1-4 and small
frames, and SFT runs at a learning rate a model this small needs (1e-2). What its numbers show: the
fine-tuned model answers in the parseable format, GRPO gets reward differences inside its groups, and
its mean reward on the same 4 clips is compared between its first and its last pass over them. What it cannot show, the method learning to count, is in the README's GPU
results; with a GPU, `actrep demo` runs that from-scratch pipeline (results/scratch/run.sh).

A finished stage leaves a marker in OUTPUT_DIR/.done and is skipped on the next run, so an
interrupted demo continues where it stopped.
"""

from __future__ import annotations

import json
import math
import os
import resource
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from actrep.config import option, parse_config
from actrep.errors import ActRepError

REPO = Path(__file__).resolve().parent.parent
RECIPES = REPO / "recipes" / "demo"
GPU_RUN = REPO / "results" / "scratch" / "run.sh"
GPU_COMMAND = "bash results/scratch/run.sh runs/demo_gpu"


@dataclass
class DemoArguments:
    output_dir: str = option("runs/demo", help="Folder for everything the demo writes.")
    scale: str = option("auto", help="cpu (tiny model, minutes on 2 cores), gpu (the from-scratch GPU pipeline, "
                                     "results/scratch/run.sh) or auto (gpu when CUDA is available).")
    videos: int = option(64, help="Synthetic videos (3/4 train, 1/4 test).")
    sft_steps: int = option(150, help="SFT optimisation steps.")
    grpo_steps: int = option(12, help="GRPO steps.")
    max_new_tokens: int = option(200, help="Tokens generated per video in evaluation (a 4-repetition answer takes ~142).")
    fresh: bool = option(False, help="Redo every stage (default: reuse the finished ones).")


def _recipe(name: str) -> str:
    path = RECIPES / name
    if not path.exists():
        raise ActRepError(f"demo recipe {path} not found (run the demo from a checkout of the repository)")
    return str(path)


def stages(args: DemoArguments) -> list[tuple[str, list[str]]]:
    out = Path(args.output_dir)
    data, model, evals = out / "data", out / "model", out / "eval"
    evaluate = ["eval", "--config", _recipe("eval.yaml"), "--data", str(data), "--output_dir", str(evals),
                "--max_new_tokens", str(args.max_new_tokens)]
    return [
        ("synthetic squat videos", ["synth", "--output_dir", str(data), "--n", str(args.videos), "--seed", "1",
                                    "--splits", "train=0.75,test=0.25", "--families", "squat", "--preset", "easy",
                                    "--fps", "4", "--size", "64", "--min_count", "1", "--max_count", "4",
                                    "--workers", "2", "--overwrite"]),
        ("validate the dataset", ["data", "validate", str(data)]),
        ("tiny offline Qwen2.5-VL", ["model", "tiny", "--family", "qwen2_5_vl", "--output_dir", str(model), "--layers", "2",
                                    "--hidden", "64", "--heads", "4", "--kv_heads", "2", "--vision_depth", "2",
                                    "--vision_hidden", "64", "--vision_heads", "2"]),
        ("chain-of-thought data", ["cot", str(data), "--output_file", str(data / "cot.jsonl")]),
        ("Random Count Sampling (histogram)", ["rcs", str(data), "--splits", "train", "--output_file", str(data / "rcs.jsonl"),
                                              "--strata", "1-2,3-4", "--per_video", "2"]),
        ("SFT", ["sft", "--config", _recipe("sft.yaml"), "--model_name_or_path", str(model),
                 "--train_data", str(data / "cot.jsonl"), "--output_dir", str(out / "sft"), "--max_steps", str(args.sft_steps)]),
        ("evaluate SFT", [*evaluate, "--model_name_or_path", str(out / "sft"), "--run_names", "sft"]),
        ("GRPO", ["grpo", "--config", _recipe("grpo.yaml"), "--model_name_or_path", str(out / "sft"),
                  "--train_data", str(data), "--output_dir", str(out / "grpo"), "--max_steps", str(args.grpo_steps)]),
        ("evaluate GRPO", [*evaluate, "--model_name_or_path", str(out / "grpo"), "--run_names", "grpo"]),
        ("training-free baseline", [*evaluate, "--baseline", "periodicity"]),
        ("report", ["report", str(evals), "--output_file", str(out / "report.html"), "--title", "ActRep CPU demo"]),
    ]


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_stage(index: int, total: int, name: str, argv: list[str], done_dir: Path, console) -> None:
    """Run one stage (a subprocess) unless its marker exists; the marker records wall and CPU seconds
    (CPU time, unlike wall time, does not grow when other programs share the cores)."""
    marker = done_dir / f"{index:02d}"
    if marker.exists():
        console.print(f"[dim]({index}/{total}) {name}: done earlier, reused[/dim]")
        return
    console.rule(f"({index}/{total}) {name}")
    console.print(f"$ actrep {' '.join(shlex.quote(a) for a in argv)}", highlight=False)
    started, cpu = time.perf_counter(), _children_cpu_seconds()
    code = subprocess.call([sys.executable, "-m", "actrep", *argv])
    if code != 0:
        raise ActRepError(f"demo stage '{name}' failed (exit {code}); rerun the demo to continue from this stage")
    wall, cpu = time.perf_counter() - started, _children_cpu_seconds() - cpu
    marker.write_text(json.dumps({"stage": name, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1)}) + "\n")
    console.print(f"[dim]{name}: {wall:.0f} s ({cpu:.0f} s of CPU)[/dim]")


def grpo_summary(grpo_dir: Path) -> dict:
    """What GRPO had to learn from (steps with reward differences inside a group) and whether its mean reward
    rose, measured on the same clips: GRPO trains on a few fixed clips (no RCS), one pass over them every
    `clips / videos_per_step` steps, so the first and the last pass sample G completions of the very same
    clips and differ only in the weights (step-to-step comparisons mix in which clip a step drew)."""
    rows = [json.loads(line) for line in (grpo_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    if not rows:
        raise ActRepError(f"{grpo_dir / 'metrics.jsonl'}: no GRPO step was logged")
    settings = json.loads((grpo_dir / "arguments.json").read_text())
    clips, per_step = settings["DataArguments"]["max_train_samples"], settings["GRPOArguments"]["videos_per_step"]
    span = min(len(rows), max(1, clips // per_step) if clips else max(1, len(rows) // 3))

    def mean(key: str, part: list[dict]) -> float:
        return sum(r[key] for r in part) / len(part)

    first, last = rows[:span], rows[-span:]
    samples = span * per_step * settings["GRPOArguments"]["num_generations"]  # completions scored in one pass
    noise = math.sqrt((mean("var", [{"var": r["reward/std"] ** 2} for r in first]) +
                       mean("var", [{"var": r["reward/std"] ** 2} for r in last])) / samples)
    return {"steps": len(rows), "steps_with_spread": sum(r["groups/zero_std_share"] < 1 for r in rows), "noise": noise,
            "pass_steps": span, "clips": clips, "generations": settings["GRPOArguments"]["num_generations"],
            "temperature": settings["GRPOArguments"]["temperature"],
            **{f"{name}_{when}": mean(key, part) for name, key in (("reward", "reward/mean"), ("format", "reward/count_format/mean"),
                                                                    ("count", "reward/count_hybrid/mean"))
               for when, part in (("first", first), ("last", last))}}


def prior_answer(data: Path, test_counts: list[int]) -> dict:
    """The score of answering the most common training count for every test clip (what a model that
    ignores the video can reach), so the trained model's numbers can be read against it."""
    from collections import Counter

    from actrep.manifest import load_samples

    mode = Counter(s.count for s in load_samples(data, None, ["train"])).most_common(1)[0][0]
    return {"answer": mode, "obo": sum(abs(mode - c) <= 1 for c in test_counts) / len(test_counts),
            "exact": sum(mode == c for c in test_counts) / len(test_counts)}


def stage_times(done_dir: Path) -> tuple[float, float]:
    """Wall and CPU seconds of every stage, from the markers (stages reused from an earlier run included)."""
    records = [json.loads(p.read_text()) for p in sorted(done_dir.iterdir())]
    return sum(r["wall_s"] for r in records), sum(r["cpu_s"] for r in records)


def _verdict(rise: float, noise: float) -> str:
    """Whether the change of the mean reward stands out of the sampling noise (`noise`: one standard error of
    the difference). A change inside twice that is not called a rise: a paired measurement of the demo's GRPO
    found none (docs/demo.md)."""
    if abs(rise) <= 2 * noise:
        return f"no change beyond the sampling noise: {rise:+.2f}, standard error {noise:.2f}; at this size GRPO does not measurably raise it, docs/demo.md"
    return f"{'higher' if rise > 0 else 'lower'}: {rise:+.2f}, standard error {noise:.2f}"


def summary_text(runs: dict[str, dict], grpo: dict, prior: dict, times: tuple[float, float], out: Path) -> str:
    sft, tuned = runs["sft"]["strict"], runs["grpo"]["strict"]
    baseline = runs.get("baseline-periodicity", {}).get("strict", {})
    return (
        f"Report: {out / 'report.html'}   (stages: {times[0]:.0f} s, {times[1]:.0f} s of CPU)\n"
        f"What the numbers mean: a ~10M-parameter model, trained from random initialisation for a few minutes on a CPU.\n"
        f"- Format: after SFT it answers in the <think>...</think><answer>N</answer> format on {sft['parse_rate']:.0%} of "
        f"the test clips ({tuned['parse_rate']:.0%} after GRPO; a random-init model writes none).\n"
        f"- GRPO had something to learn from: rewards differed inside a group on {grpo['steps_with_spread']} of "
        f"{grpo['steps']} steps. Its mean reward (count + format, at most 2.5) over the first pass over its {grpo['clips']} "
        f"training clips ({grpo['generations']} samples each at temperature {grpo['temperature']:g}) -> over the last pass "
        f"(the same clips, only the weights differ): {grpo['reward_first']:.2f} -> {grpo['reward_last']:.2f} "
        f"({_verdict(grpo['reward_last'] - grpo['reward_first'], grpo['noise'])}); format {grpo['format_first']:.2f} -> "
        f"{grpo['format_last']:.2f}, count {grpo['count_first']:.2f} -> {grpo['count_last']:.2f}.\n"
        f"- Counts: OBO {sft['obo']:.2f} / exact {sft['exact']:.2f} after SFT, {tuned['obo']:.2f} / {tuned['exact']:.2f} after GRPO; "
        f"answering {prior['answer']} (the most common training count) for every clip gets {prior['obo']:.2f} / "
        f"{prior['exact']:.2f}; the training-free periodicity counter {baseline.get('obo', float('nan')):.2f} / "
        f"{baseline.get('exact', float('nan')):.2f}. Over counts 1-4 OBO is a weak test: read exact.\n"
        f"The method learning to count (OBO 0.85-0.94 after GRPO from random initialisation, four runs) takes a GPU: `{GPU_COMMAND}` "
        f"(~10 min on one H100; docs/from_scratch.md), which is what `make demo` runs on a GPU machine.")


def run_gpu(args: DemoArguments) -> int:
    out = Path(args.output_dir if args.output_dir != "runs/demo" else "runs/demo_gpu")
    print(f"$ bash {GPU_RUN.relative_to(REPO)} {out}   (a GPU is available: the from-scratch pipeline, docs/from_scratch.md)")
    code = subprocess.call(["bash", str(GPU_RUN), str(out)], env={**os.environ, "PYTHON": sys.executable})
    if code != 0:
        raise ActRepError(f"the GPU demo failed (exit {code}); the logs are in {out}/logs/")
    return 0


def main(argv: list[str]) -> int:
    import shutil

    from rich.console import Console

    from actrep.runs import find_runs, load_run, print_comparison

    (args,) = parse_config([DemoArguments], argv, prog="actrep demo", description=__doc__.splitlines()[0])
    if args.scale not in ("auto", "cpu", "gpu"):
        raise ActRepError(f"--scale must be auto, cpu or gpu (got {args.scale!r})")
    if args.scale == "gpu" or args.scale == "auto" and _cuda_available():
        return run_gpu(args)
    console = Console()
    out = Path(args.output_dir)
    if args.fresh and out.exists():
        shutil.rmtree(out)
    done_dir = out / ".done"
    done_dir.mkdir(parents=True, exist_ok=True)
    plan = stages(args)
    for index, (name, stage_argv) in enumerate(plan, 1):
        run_stage(index, len(plan), name, stage_argv, done_dir, console)
    runs = [(path.name, load_run(path)[0]) for path in find_runs([out / "eval"])]
    console.rule("results")
    print_comparison(runs, title="CPU demo: tiny model, synthetic test clips")
    test_counts = [r["count"] for r in load_run(out / "eval" / "sft")[1]]
    console.print(summary_text(dict(runs), grpo_summary(out / "grpo"), prior_answer(out / "data", test_counts),
                               stage_times(done_dir), out), highlight=False, markup=False)
    return 0


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()
