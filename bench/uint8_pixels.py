"""float32 pixels from the loader workers vs uint8 normalised on the GPU: the loader, stage 0 and SFT, side by side.

    python -m bench.uint8_pixels                          # one GPU, 16 cores: 14 workers, batch 32, 150 stage-0 and 60 SFT steps per arm, ~6 min
    python -m bench.uint8_pixels --workers 2 --stage0_steps 0 --sft_steps 0   # a CPU: the loader alone (results in bench/results)

Why: on an H100 stage 0 ran at 13-28 % GPU utilisation and replayed 20 % of its steps because no fresh
batch was ready, and two SFTs side by side kept it at ~50 % (results/scratch/2026-12-07-h100-seeds-medium):
a batch of 32 medium clips is ~217 MB of float32 `pixel_values_videos`, normalised by a worker, written
into shared memory, copied into pinned memory by the training process and then to the GPU. The uint8 arm
(`--uint8_pixels true` of `actrep stage0` and `actrep sft`, their default on a GPU since 2026-12-07) ships
the resized patches before normalisation and normalises them on the device to the same values
(tests/test_stage0.py and tests/test_sft.py check that the two arms train bit-identically on a CPU).

Workload: `actrep synth --preset medium` clips as results/scratch/run.sh makes them (84x84, 8 fps, 10 s), the
video settings of recipes/scratch/stage0.yaml, a random-init Qwen2.5-VL with run.sh's GPU sizes
(`actrep model tiny`), all built once in --work. Arms run in the order float32, uint8, uint8, float32
(--repeats 2) so that neither gains from a warmer page cache or a cooler machine. Measured per arm:

- collate: ms to turn one batch of decoded clips into tensors, one thread (the workers' share besides decoding);
- loader: clips/s the DataLoader delivers to a loop that only moves each batch to the device (and normalises
  it there), MB per batch, the main process's ms per batch for that and for freeing the batch;
- stage 0 (--stage0_steps): `actrep stage0` as run.sh runs it (data echoing on) for that many steps: steps/s,
  clips/s of fresh batches, the share of the loop spent waiting for data and of the steps replayed;
- SFT (--sft_steps): `actrep sft --config recipes/scratch/sft.yaml` on the clips' CoT rows (no RCS), batch
  --batch_size, --workers loader workers: steps/s by the wall clock (metrics.jsonl `time/elapsed_s`, first
  step left out) and peak GPU memory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

ARMS = ("float32", "uint8")
RECIPE = Path("recipes/scratch/stage0.yaml")
SFT_RECIPE = Path("recipes/scratch/sft.yaml")
MODEL_FLAGS = ["--layers", "6", "--hidden", "384", "--heads", "6", "--kv_heads", "2", "--vision_depth", "4",
               "--vision_hidden", "256", "--vision_heads", "4"]  # results/scratch/run.sh, SCALE=gpu


def build(work: Path, clips: int, model: Path | None, cot: bool) -> tuple[Path, Path, Path]:
    """The checkpoint (unless given), the clips and their CoT rows, made once per --work (a marker guards the clips);
    by the commands' own `main`s, in this process."""
    from actrep.commands.model import main as model_main
    from actrep.data.cot import main as cot_main
    from actrep.synth.cli import main as synth_main

    model, data = model or work / "model", work / f"data_{clips}"
    if not (model / "config.json").exists():
        model_main(["tiny", "--family", "qwen2_5_vl", "--out", str(model), *MODEL_FLAGS])
    if not (data / "done").exists():
        synth_main(["--out", str(data), "--n", str(clips), "--seed", "0", "--splits", "train=1", "--preset", "medium", "--families",
                    "squat", "--size", "84", "--fps", "8", "--duration", "10", "--min_count", "1", "--max_count", "12",
                    "--workers", str(os.cpu_count()), "--quiet", "--overwrite"])
        (data / "done").write_text("")
    rows = data / "train_cot.jsonl"
    if cot and not rows.exists():
        cot_main([str(data), "--out", str(rows)])
    return model, data, rows


def video_settings():
    from actrep.video import VideoSettings

    recipe = yaml.safe_load(RECIPE.read_text())
    return VideoSettings(fps=float(recipe["fps"]), max_frames=int(recipe["max_frames"]), min_pixels=int(recipe["min_pixels"]),
                         max_pixels=int(recipe["max_pixels"]))


def measure_loader(arm: str, dataset, processor, settings, args, device) -> dict:
    import torch

    from actrep.train.common import stop_loader_workers
    from actrep.train.stage0_data import Stage0Collator, make_loader, to_device
    from actrep.video import normalize_pixels

    collator = Stage0Collator(processor, settings, raw_pixels=arm == "uint8")
    items = [dataset[i] for i in range(args.batch_size)]
    collate_ms = []
    for _ in range(5):
        t0 = time.perf_counter()
        batch = collator(items)
        collate_ms.append(1000 * (time.perf_counter() - t0))
    megabytes = batch["pixel_values_videos"].numel() * batch["pixel_values_videos"].element_size() / 1e6
    loader = make_loader(dataset, collator, args.batch_size, args.workers, 2, shuffle=True, seed=0, drop_last=True)
    batches = iter(loader)
    next(batches)  # the workers are up and one batch is made before the clock starts
    main_s, started = 0.0, time.perf_counter()
    for _ in range(args.batches):
        batch = next(batches)
        t0 = time.perf_counter()
        moved = to_device(batch, device)
        if arm == "uint8":
            moved["pixel_values_videos"] = normalize_pixels(moved["pixel_values_videos"], moved["pixel_mean"], moved["pixel_std"])
        if device.type == "cuda":
            torch.cuda.synchronize()
        del batch, moved  # freeing is part of the cost: unmapping a batch's shared memory takes ~55 ms for 217 MB on a CPU
        main_s += time.perf_counter() - t0
    elapsed = time.perf_counter() - started
    stop_loader_workers(loader)
    return {"arm": arm, "collate_ms": statistics.median(collate_ms), "mb_per_batch": megabytes,
            "clips_per_s": args.batches * args.batch_size / elapsed, "main_ms_per_batch": 1000 * main_s / args.batches}


def same_pixels(dataset, processor, settings, batch_size: int, device) -> bool:
    """Whether one batch's uint8 pixels, normalised on `device`, equal the processor's float32 ones bit for bit."""
    import torch

    from actrep.train.stage0_data import Stage0Collator
    from actrep.video import normalize_pixels

    items = [dataset[i] for i in range(batch_size)]
    raw = Stage0Collator(processor, settings, raw_pixels=True)(items)
    stock = Stage0Collator(processor, settings, raw_pixels=False)(items)
    normalized = normalize_pixels(raw["pixel_values_videos"].to(device), raw["pixel_mean"].to(device), raw["pixel_std"].to(device))
    return torch.equal(normalized.cpu(), stock["pixel_values_videos"])


def run(name: str, command: list[str], work: Path) -> None:
    log = work / f"{name}.log"
    with open(log, "w") as handle:
        code = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT).returncode
    if code != 0:
        sys.exit(f"bench.uint8_pixels: {name} failed with exit status {code}; see {log}")


def uint8_flag(arm: str) -> list[str]:
    return ["--uint8_pixels", "true" if arm == "uint8" else "false"]


def run_stage0(arm: str, model: Path, data: Path, args) -> dict:
    out = args.work / f"stage0_{arm}"
    run(f"stage0_{arm}", [args.python, "-m", "actrep", "stage0", "--config", str(RECIPE), "--model_name_or_path", str(model),
                          "--train_data", str(data), "--output_dir", str(out), "--max_steps", str(args.stage0_steps),
                          "--num_workers", str(args.workers), "--batch_size", str(args.batch_size), "--max_replay", "4",
                          "--match_text_rms", "false", "--logging_steps", "10", *uint8_flag(arm)], args.work)
    last = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    return {"arm": arm, "steps": last["step"], "steps_per_s": last["step"] / last["elapsed_s"], "clips_per_s": last["clips_per_s"],
            "data_wait_share": last["data_wait_share"], "replay_share": last["replay_share"], "loss": last["loss"]}


def run_sft(arm: str, model: Path, cot: Path, args) -> dict:
    out = args.work / f"sft_{arm}"
    run(f"sft_{arm}", [args.python, "-m", "actrep", "sft", "--config", str(SFT_RECIPE), "--model_name_or_path", str(model),
                       "--train_data", str(cot), "--output_dir", str(out), "--max_steps", str(args.sft_steps), "--rcs", "false",
                       "--per_device_train_batch_size", str(args.batch_size), "--effective_batch_size", str(args.batch_size),
                       "--dataloader_num_workers", str(args.workers), "--logging_steps", "1", "--save_strategy", "no",
                       "--report_to", "none", *uint8_flag(arm)], args.work)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    first, last = rows[0], rows[-1]
    return {"arm": arm, "steps": last["step"], "loss": last["loss"], "peak_gb": last.get("memory/peak_gb") or 0.0,
            "steps_per_s": (last["step"] - first["step"]) / max(1e-9, last["time/elapsed_s"] - first["time/elapsed_s"])}


def mean_by_arm(runs: list[dict]) -> list[dict]:
    rows = []
    for arm in ARMS:
        mine = [r for r in runs if r["arm"] == arm]
        rows.append({"arm": arm, "runs": len(mine), **{k: statistics.fmean(r[k] for r in mine) for k in mine[0] if k != "arm"}})
    return rows


def table(rows: list[dict], columns: list[tuple[str, str, str]]) -> list[str]:
    lines = ["| arm | " + " | ".join(title for _, title, _ in columns) + " |", "|---" * (len(columns) + 1) + "|"]
    lines += [f"| {r['arm']} | " + " | ".join(format(r[key], fmt) for key, _, fmt in columns) + " |" for r in rows]
    return lines


def report(record: dict, args, device_type: str) -> list[str]:
    """The markdown summary: one table per section, means over runs."""
    lines = [f"# float32 vs uint8 pixels: {record['date']}, {record['machine']}, torch {record['torch']}", "",
             f"`{record['command']}`: {args.workers} workers, batch {args.batch_size}, {args.batches} timed batches per loader run, "
             f"arms in the order {' '.join(record['order'])}; decoding one clip: {record['decode_ms_per_clip']:.1f} ms (one thread). "
             "Means over runs.", "",
             f"uint8 pixels normalised on the {device_type.upper()} equal the processor's float32 pixels bit for bit: "
             f"{record['device_normalisation_bit_identical']}.", "", "## Loader (a loop that only moves each batch to the device)", ""]
    if device_type == "cpu":
        lines += ["On a CPU the device is the host: the uint8 arm normalises in the main process (its last column), one",
                  "thread instead of the workers; `actrep stage0` and `actrep sft` ship uint8 only when they train on a GPU.", ""]
    lines += table(mean_by_arm(record["loader"]), [("collate_ms", "collate ms / batch (one thread)", ".1f"), ("mb_per_batch", "MB / batch", ".1f"),
                                                   ("clips_per_s", "clips/s delivered", ".1f"),
                                                   ("main_ms_per_batch", "main process ms / batch (move, normalise, free)", ".1f")])
    if len({r["arm"] for r in record["stage0"]}) == len(ARMS):
        lines += ["", f"## `actrep stage0`, {args.stage0_steps} steps, data echoing on (--max_replay 4)", ""]
        lines += table(mean_by_arm(record["stage0"]), [("steps_per_s", "steps/s", ".2f"), ("clips_per_s", "fresh clips/s", ".1f"),
                                                       ("data_wait_share", "share waiting for data", ".2f"),
                                                       ("replay_share", "share of steps replayed", ".2f"), ("loss", "last loss", ".4f")])
    if len({r["arm"] for r in record["sft"]}) == len(ARMS):
        lines += ["", f"## `actrep sft`, {args.sft_steps} steps of {args.batch_size} clips", ""]
        lines += table(mean_by_arm(record["sft"]), [("steps_per_s", "steps/s (wall clock, first step left out)", ".2f"),
                                                    ("peak_gb", "peak GPU GB", ".2f"), ("loss", "last loss", ".4f")])
    return lines


def save(record: dict, args, device_type: str) -> None:
    """Both result files (and copies in $OUT), rewritten after every run so a cut-short run keeps what it measured."""
    lines = report(record, args, device_type)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"{record['date']}-uint8-pixels-{record['machine'].split(',')[0].replace(' ', '-').lower()}"
    stem.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    if os.environ.get("OUT"):
        for suffix in (".json", ".md"):
            Path(os.environ["OUT"], stem.name + suffix).write_text(stem.with_suffix(suffix).read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 2), help="loader workers (run.sh: cores - 2)")
    parser.add_argument("--batch_size", type=int, default=32, help="clips per batch (the stage-0 and SFT recipes')")
    parser.add_argument("--batches", type=int, default=0, help="batches timed per loader run (0: 3 per worker, at least 8)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per arm (orders: float32 uint8, then uint8 float32, ...)")
    parser.add_argument("--stage0_steps", type=int, default=150, help="`actrep stage0` steps per arm and run (0: none)")
    parser.add_argument("--sft_steps", type=int, default=60, help="`actrep sft` steps per arm and run (0: none)")
    parser.add_argument("--python", default=sys.executable, help="interpreter of the stage-0 and SFT runs (default: this one)")
    parser.add_argument("--model", type=Path, help="a Qwen2.5-VL checkpoint to use (default: run.sh's GPU sizes, built in --work)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/actrep-uint8-pixels"), help="checkpoint, clips, CoT rows and the runs")
    parser.add_argument("--out", type=Path, default=Path("bench/results"), help="where the two result files go")
    args = parser.parse_args()
    args.batches = args.batches or max(8, 3 * args.workers)
    import torch

    import actrep  # noqa: F401  (the torchvision fix, before transformers' video processors load)
    from actrep.models.registry import get_family, load_processor
    from actrep.train.stage0_data import Stage0Dataset, load_stage0_samples

    args.work.mkdir(parents=True, exist_ok=True)
    clips = args.batch_size * (args.batches + 2 + args.workers * 2)  # one epoch covers the timed batches and the prefetch
    model, data, cot = build(args.work, clips, args.model, cot=args.sft_steps > 0)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    settings = video_settings()
    processor = load_processor(str(model))
    dataset = Stage0Dataset(load_stage0_samples([str(data)], None, ["train"]), get_family("qwen2_5_vl"), settings)
    t0 = time.perf_counter()
    for i in range(args.batch_size):
        dataset[i]
    order = [arm for k in range(args.repeats) for arm in (ARMS if k % 2 == 0 else ARMS[::-1])]
    record = {"date": dt.date.today().isoformat(), "torch": torch.__version__,
              "machine": (torch.cuda.get_device_name(0) if device.type == "cuda" else "CPU") + f", {os.cpu_count()} cores",
              "command": " ".join(["python -m bench.uint8_pixels"] + sys.argv[1:]), "workers": args.workers, "order": order,
              "batch_size": args.batch_size, "batches": args.batches, "decode_ms_per_clip": 1000 * (time.perf_counter() - t0) / args.batch_size,
              "device_normalisation_bit_identical": same_pixels(dataset, processor, settings, args.batch_size, device),
              "loader": [], "stage0": [], "sft": []}
    for arm in order:
        record["loader"].append(measure_loader(arm, dataset, processor, settings, args, device))
    save(record, args, device.type)
    for arm in order if args.stage0_steps else []:
        record["stage0"].append(run_stage0(arm, model, data, args))
        save(record, args, device.type)
    for arm in order if args.sft_steps else []:
        record["sft"].append(run_sft(arm, model, cot, args))
        save(record, args, device.type)
    print("\n".join(report(record, args, device.type)))


if __name__ == "__main__":
    main()
