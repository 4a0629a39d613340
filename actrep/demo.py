"""`actrep demo`: the whole method on an embedded default, on a CPU, in a few minutes.

    synthetic videos -> validate -> tiny offline Qwen2.5-VL -> CoT -> RCS -> eval (base)
    -> SFT -> eval -> GRPO -> eval -> training-free baseline -> HTML report

Every stage is the `actrep` command a user would type (printed before it runs), with the demo
recipes in recipes/demo/. A finished stage leaves a marker in OUT/.done and is skipped on the next
run, so an interrupted demo continues where it stopped. The model is tiny and trained for a minute
or two on a CPU, so its numbers are low: the demo shows the pipeline, the GPU results in the
README show the method learning.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from actrep.config import option, parse_config
from actrep.errors import ActRepError

RECIPES = Path(__file__).resolve().parent.parent / "recipes" / "demo"


@dataclass
class DemoArguments:
    output_dir: str = option("runs/demo", help="Folder for everything the demo writes.")
    train_videos: int = option(64, help="Synthetic training videos.")
    test_videos: int = option(16, help="Synthetic test videos (another seed).")
    sft_steps: int = option(90, help="SFT optimisation steps.")
    grpo_steps: int = option(6, help="GRPO steps.")
    max_new_tokens: int = option(160, help="Tokens generated per video in evaluation.")
    fresh: bool = option(False, help="Redo every stage (default: reuse the finished ones).")


def _recipe(name: str) -> str:
    path = RECIPES / name
    if not path.exists():
        raise ActRepError(f"demo recipe {path} not found (run the demo from a checkout of the repository)")
    return str(path)


def stages(args: DemoArguments) -> list[tuple[str, list[str]]]:
    out = Path(args.output_dir)
    data, model = out / "data", out / "model"
    video = ["--fps", "4", "--size", "64", "--min_count", "1", "--max_count", "8", "--preset", "easy",
             "--workers", "2", "--overwrite"]
    evaluate = ["eval", "--config", _recipe("eval.yaml"), "--data", str(data / "test"), "--out", str(out / "eval"),
                "--max_new_tokens", str(args.max_new_tokens)]
    return [
        ("synthetic training videos", ["synth", "--out", str(data / "train"), "--n", str(args.train_videos), "--seed", "1",
                                       "--splits", "train=1", "--count_dist", "longtail", *video]),
        ("synthetic test videos", ["synth", "--out", str(data / "test"), "--n", str(args.test_videos), "--seed", "2",
                                   "--splits", "test=1", *video]),
        ("validate the training set", ["data", "validate", str(data / "train")]),
        ("validate the test set", ["data", "validate", str(data / "test")]),
        ("tiny offline Qwen2.5-VL", ["model", "tiny", "--family", "qwen2_5_vl", "--out", str(model), "--layers", "2",
                                    "--hidden", "64", "--heads", "4", "--kv_heads", "2", "--vision_depth", "2",
                                    "--vision_hidden", "64", "--vision_heads", "2"]),
        ("chain-of-thought data", ["cot", str(data / "train"), "--out", str(data / "train_cot.jsonl")]),
        ("Random Count Sampling (histogram)", ["rcs", str(data / "train"), "--out", str(data / "train_rcs.jsonl"),
                                              "--strata", "1-2,3-4,5-8", "--per_video", "2"]),
        ("evaluate the base model", [*evaluate, "--model", str(model), "--run_names", "base"]),
        ("SFT", ["sft", "--config", _recipe("sft.yaml"), "--model_name_or_path", str(model),
                 "--train_data", str(data / "train_cot.jsonl"), "--output_dir", str(out / "sft"), "--max_steps", str(args.sft_steps)]),
        ("evaluate SFT", [*evaluate, "--model", str(out / "sft"), "--run_names", "sft"]),
        ("GRPO", ["grpo", "--config", _recipe("grpo.yaml"), "--model_name_or_path", str(out / "sft"),
                  "--train_data", str(data / "train"), "--output_dir", str(out / "grpo"), "--max_steps", str(args.grpo_steps)]),
        ("evaluate GRPO", [*evaluate, "--model", str(out / "grpo"), "--run_names", "grpo"]),
        ("report", ["report", str(out / "eval"), "--out", str(out / "report.html"), "--title", "ActRep CPU demo"]),
    ]


def run_stage(index: int, total: int, name: str, argv: list[str], done_dir: Path, console) -> None:
    marker = done_dir / f"{index:02d}"
    if marker.exists():
        console.print(f"[dim]({index}/{total}) {name}: done earlier, reused[/dim]")
        return
    console.rule(f"({index}/{total}) {name}")
    console.print(f"$ actrep {' '.join(shlex.quote(a) for a in argv)}", highlight=False)
    started = time.perf_counter()
    code = subprocess.call([sys.executable, "-m", "actrep", *argv])
    if code != 0:
        raise ActRepError(f"demo stage '{name}' failed (exit {code}); rerun the demo to continue from this stage")
    marker.write_text(f"{time.perf_counter() - started:.1f}\n")


def main(argv: list[str]) -> int:
    import shutil

    from rich.console import Console

    from actrep.evaluate.results import find_runs, load_run, print_comparison

    (args,) = parse_config([DemoArguments], argv, prog="actrep demo", description=__doc__.splitlines()[0])
    console = Console()
    out = Path(args.output_dir)
    if args.fresh and out.exists():
        shutil.rmtree(out)
    done_dir = out / ".done"
    done_dir.mkdir(parents=True, exist_ok=True)
    plan = stages(args)
    started = time.perf_counter()
    for index, (name, stage_argv) in enumerate(plan, 1):
        run_stage(index, len(plan), name, stage_argv, done_dir, console)
    runs = [(path.name, load_run(path)[0]) for path in find_runs([out / "eval"])]
    order = {"base": 0, "sft": 1, "grpo": 2}
    runs.sort(key=lambda run: order.get(run[0], 3))
    console.rule("results")
    print_comparison(runs, title="CPU demo: tiny model, synthetic test set")
    console.print(
        f"Report: {out / 'report.html'}   ({time.perf_counter() - started:.0f} s)\n"
        "These numbers come from a ~10M-parameter model (almost all of it the token embedding) trained for a minute or two on a CPU: they show that every\n"
        "stage runs, not that the method works. The README's results section has the GPU runs that learn to count.")
    return 0
