"""The training-configuration matrix: every launch configuration trains what one float32 process trains.

For SFT and GRPO, each cell runs 3 optimiser steps with the same global batch, data order and seed as
a single-process float32 reference, exports the weights in float32 (`--save_dtype float32`), and must
give (docs/precision.md):
  * the same weights: relative error of the update, ||d_cell - d_ref|| / ||d_ref|| with d = final -
    initial weights over the whole model, below the cell's tolerance (cosine too for bf16 cells);
  * the same learning rate at every step (metrics.jsonl), and exactly one optimiser step per step.
Tolerances come from measurements (CPU, 2026-12-05): float32 cells differ from the reference by at
most 3.5e-6 (summation order) -> 1e-4. bf16 cells are compared with the float32 truth: 0.7-6.4%
(bf16 autocast 0.7-1%, DeepSpeed bf16 5.8%, LoRA on a bf16 base 4-6.4%) -> 0.15 and cosine >= 0.99.
The bugs this matrix exists for are far outside both: one optimiser step per micro-batch under ZeRO-2
148%, Trainer's per-micro-batch loss mean 19%, unseeded LoRA adapters 105%, pure bf16 at lr 1e-6 ~100%.

GRPO references run the stock path (`--fast_path false`); every other GRPO cell runs the defaults, so
each launch configuration checks what the fast path resolves to there (actrep/train/grpo_fast.py).
Cells replay the reference's rollouts (tests/matrix_worker.py), so they differ only in how they train;
`defaults` records its own rollouts (the fast decoder's) and is compared with the stock path replaying them.
Every cell is its own process (two: `torch.distributed.run` with gloo, DeepSpeed on the CPU), forked from a
server that has imported torch & co. once (tests/forked_python.py; a fresh interpreter spends ~6 of a one-
process cell's ~12 s importing; the same weights bit for bit as fresh interpreters, measured 2026-12-08 for
`actrep sft` on one process and on two with ZeRO-2), with OMP_NUM_THREADS=1 and DS_ACCELERATOR=cpu.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from conftest import cot_text
from helpers import write_video

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
WORKER = Path(__file__).resolve().parent / "matrix_worker.py"
CELL_ENV = {"OMP_NUM_THREADS": "1", "DS_ACCELERATOR": "cpu"}
FLOAT32_TOLERANCE = 1e-4
BF16_TOLERANCE, BF16_MIN_COSINE = 0.15, 0.99
VIDEO_FLAGS = ["--fps", "4", "--max_frames", "8", "--min_pixels", "784", "--max_pixels", "3136"]
BF16 = ["--dtype", "bfloat16", "--bf16", "true"]  # every shipped sft_*/grpo_* recipe
AUTOCAST = ["--dtype", "float32", "--bf16", "true"]  # the scratch recipes on a GPU
LORA = ["--use_lora", "--lora_dropout", "0"]  # dropout masks would differ between process layouts
ZERO2, ZERO3 = ["--deepspeed", "recipes/deepspeed/zero2.json"], ["--deepspeed", "recipes/deepspeed/zero3.json"]
STOCK = ["--fast_path", "false"]
UINT8 = ["--uint8_pixels", "true"]  # SFT's default on a GPU: uint8 from the loader, normalised on the device


@dataclass(frozen=True)
class Cell:
    processes: int
    flags: tuple = ()
    reference: str = "reference"
    bf16: bool = False
    micro: tuple = ()  # how the global batch is cut (stage-specific flags for this layout)


# Global batch per step: SFT 4 samples, GRPO 2 videos x 4 completions.
SFT_CELLS = {
    "reference": Cell(1, micro=("--per_device_train_batch_size", "4")),
    "accumulation_4x1": Cell(1, micro=("--per_device_train_batch_size", "1", "--gradient_accumulation_steps", "4")),
    "recipe_precision": Cell(1, tuple(BF16), bf16=True, micro=("--per_device_train_batch_size", "4")),
    "float32_weights_autocast": Cell(1, tuple(AUTOCAST), bf16=True, micro=("--per_device_train_batch_size", "4")),
    "ddp_2x2": Cell(2, micro=("--per_device_train_batch_size", "2")),
    "zero2_2x1x2": Cell(2, tuple(ZERO2), micro=("--per_device_train_batch_size", "1", "--gradient_accumulation_steps", "2")),
    "zero3_2x2": Cell(2, tuple(ZERO3 + UINT8), micro=("--per_device_train_batch_size", "2")),
    "zero2_recipe_precision": Cell(2, tuple(ZERO2 + BF16 + UINT8), bf16=True, micro=("--per_device_train_batch_size", "2")),
    "lora": Cell(1, tuple(LORA), micro=("--per_device_train_batch_size", "4")),
    "lora_zero3": Cell(2, tuple(LORA + ZERO3), reference="lora", micro=("--per_device_train_batch_size", "2")),
    "lora_recipe_precision": Cell(1, tuple(LORA + BF16), reference="lora", bf16=True, micro=("--per_device_train_batch_size", "4")),
}
GRPO_CELLS = {
    "reference": Cell(1, tuple(STOCK)),
    "micro_batch_1": Cell(1, ("--micro_batch_size", "1")),
    "recipe_precision": Cell(1, tuple(BF16), bf16=True),
    "float32_weights_autocast": Cell(1, tuple(AUTOCAST), bf16=True),
    "ddp": Cell(2),
    "zero2_micro_batch_1": Cell(2, tuple(ZERO2) + ("--micro_batch_size", "1")),
    "zero3": Cell(2, tuple(ZERO3)),
    "zero2_recipe_precision": Cell(2, tuple(ZERO2 + BF16), bf16=True),
    "recipe_precision_stock": Cell(1, tuple(BF16 + STOCK), bf16=True),
    "lora": Cell(1, tuple(LORA + STOCK)),
    "lora_zero3": Cell(2, tuple(LORA + ZERO3), reference="lora"),
    "lora_recipe_precision": Cell(1, tuple(LORA + BF16), reference="lora", bf16=True),
    "defaults": Cell(1, reference="defaults_rollouts_on_the_stock_path"),
}


@pytest.fixture(scope="module")
def matrix_inputs(tmp_path_factory, request, forked_python):
    """A tiny Qwen2.5-VL whose float32 weights are bf16-exact (every cell starts from the same values) + 8 clips,
    and the single-process cells the selected tests need, already run (two at a time); the inputs are
    (folder, the cells run so far, the forked-python server)."""
    from safetensors.torch import load_file, save_file

    from actrep.models.tiny import TinyModelArguments, build_tiny_checkpoint

    root = tmp_path_factory.mktemp("matrix")
    model = build_tiny_checkpoint(TinyModelArguments(family="qwen2_5_vl", output_dir=str(root / "model")))
    weights = load_file(model / "model.safetensors")
    save_file({k: v.to(torch.bfloat16).float() for k, v in weights.items()}, model / "model.safetensors", metadata={"format": "pt"})
    rows = []
    for i in range(8):
        video = write_video(root / "videos" / f"v{i}.mp4", n_frames=24, seed=i)
        count = i % 4 + 1
        rows.append({"video_id": video.name, "split": "train", "action": "bar_sweep", "gt_count": count, "video": str(video),
                     "cot": cot_text(count)})
    (root / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    inputs = (root, {}, forked_python)
    _run_one_process_cells(inputs, _one_process_cells_needed(request.session.items))
    return inputs


def _one_process_cells_needed(items) -> set[tuple[str, str]]:
    """(stage, name) of the single-process cells that the selected tests of this module run or compare with."""
    needed = set()
    for item in items:
        if Path(str(item.path)).resolve() != Path(__file__).resolve() or not hasattr(item, "callspec"):
            continue
        stage, name = ("sft" if "sft" in item.originalname else "grpo"), item.callspec.params["name"]
        cells = SFT_CELLS if stage == "sft" else GRPO_CELLS
        group = {name, cells[name].reference} | ({"reference", "defaults"} if stage == "grpo" else set())
        needed |= {(stage, n) for n in group if n not in cells or cells[n].processes == 1}
    return needed


def _run_one_process_cells(inputs, needed: set[tuple[str, str]]) -> None:
    """Each single-process cell is one thread (OMP_NUM_THREADS=1), so two side by side use both cores and
    halve the matrix's ~3 minutes of them on 2 cores. First the SFT cells and the two GRPO runs that record
    rollouts, then the GRPO cells that replay those. Two-process cells run in their own tests, one at a
    time. A cell that fails here is run again by its test, which reports the failure."""
    from concurrent.futures import ThreadPoolExecutor

    runners = {"sft": run_sft, "grpo": run_grpo}
    recorders = {("grpo", "reference"), ("grpo", "defaults")}
    first = sorted(c for c in needed if c[0] == "sft" or c in recorders)
    later = sorted(needed - set(first))

    def attempt(cell):
        try:
            runners[cell[0]](inputs, cell[1])
        except AssertionError:
            pass

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(attempt, first))
        # a replaying cell whose recording failed would rerun the recording from two threads at once: left to its test
        done = inputs[1]
        ready = [c for c in later if ("grpo", "defaults" if c[1] == "defaults_rollouts_on_the_stock_path" else "reference") in done]
        list(pool.map(attempt, ready))


def _common(root: Path, out: Path) -> list[str]:
    return ["--model_name_or_path", str(root / "model"), "--train_data", str(root / "train.jsonl"), "--output_dir", str(out),
            "--max_steps", "3", "--learning_rate", "1e-3", "--lr_scheduler_type", "cosine", "--report_to", "none",
            "--save_dtype", "float32", "--seed", "0", *VIDEO_FLAGS]


def _execute(server, processes: int, argv: list[str], out: Path) -> None:
    """`python ARGV` on PROCESSES processes; its output lands in OUT/stdout.txt (the run's header, checked
    against the cell's layout)."""
    command = [*(server.python if processes == 1 else server.torchrun(processes)), *argv]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=900, env=dict(os.environ, **CELL_ENV), cwd=ROOT)
    except subprocess.TimeoutExpired as error:  # a cell that hangs fails itself, not the matrix
        raise AssertionError(f"timed out: {error}") from error
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    (out / "stdout.txt").write_text(result.stdout)


def run_sft(matrix_inputs, name: str) -> Path:
    root, done, server = matrix_inputs
    key = ("sft", name)
    if key not in done:
        cell, out = SFT_CELLS[name], root / "sft" / name
        _execute(server, cell.processes, ["-m", "actrep", "sft", *_common(root, out), "--effective_batch_size", "0",
                  "--warmup_steps", "0", "--logging_steps", "1", "--save_strategy", "no", "--dataloader_num_workers", "0",
                  "--rcs", "false", *cell.micro, *cell.flags], out)
        done[key] = out
    return done[key]


def run_grpo(matrix_inputs, name: str) -> Path:
    root, done, server = matrix_inputs
    key = ("grpo", name)
    if key in done:
        return done[key]
    out = root / "grpo" / name
    if name == "defaults_rollouts_on_the_stock_path":
        run_grpo(matrix_inputs, "defaults")
        cell, mode, rollouts = Cell(1, tuple(STOCK)), "replay", root / "rollouts_defaults.pt"
    else:
        cell = GRPO_CELLS[name]
        records = name in ("reference", "defaults")
        if not records:
            run_grpo(matrix_inputs, "reference")
        mode, rollouts = ("record", root / f"rollouts_{name}.pt") if records else ("replay", root / "rollouts_reference.pt")
    videos_per_step = "2" if cell.processes == 1 else "1"
    _execute(server, cell.processes, [str(WORKER), str(rollouts), mode, "--", *_common(root, out), "--num_generations", "4",
              "--videos_per_step", videos_per_step, "--micro_batch_size", "4", "--max_completion_length", "6", "--beta", "0.04",
              "--warmup_ratio", "0", "--save_steps", "1000", "--dataloader_num_workers", "1", *cell.flags], out)
    done[key] = out
    return out


def _weights(directory: Path) -> torch.Tensor:
    from transformers import AutoModelForImageTextToText

    model = AutoModelForImageTextToText.from_pretrained(directory, dtype=torch.float32)
    return torch.cat([p.detach().flatten() for _, p in sorted(model.state_dict().items())])


def _log(directory: Path) -> list[dict]:
    return [json.loads(line) for line in (directory / "metrics.jsonl").read_text().splitlines()]


def assert_trains_like(cell_dir: Path, reference_dir: Path, start: Path, bf16: bool, processes: int) -> None:
    header = " ".join((cell_dir / "stdout.txt").read_text().split())
    assert f"{processes} process(es)" in header, header[:600]
    assert (cell_dir / "actrep_settings.json").exists()  # saved next to the weights, from rank 0 under every layout
    initial = _weights(start)
    update, expected = _weights(cell_dir) - initial, _weights(reference_dir) - initial
    error = float((update - expected).norm() / expected.norm())
    cosine = float(torch.nn.functional.cosine_similarity(update.double(), expected.double(), dim=0))
    assert error < (BF16_TOLERANCE if bf16 else FLOAT32_TOLERANCE), f"update differs by {error:.2e} (cosine {cosine:.5f})"
    if bf16:
        assert cosine > BF16_MIN_COSINE, cosine
    cell_log, reference_log = _log(cell_dir), _log(reference_dir)
    assert [r["step"] for r in cell_log] == [1, 2, 3]
    assert [r["optimizer_steps"] for r in cell_log] == [1, 2, 3], "not exactly one optimiser step per step"
    rates, expected_rates = [r["learning_rate"] for r in cell_log], [r["learning_rate"] for r in reference_log]
    assert rates == pytest.approx(expected_rates, rel=1e-9), (rates, expected_rates)
    assert rates[0] > rates[1] > rates[2] > 0  # cosine from 1e-3, no warm-up, over 3 steps


@pytest.mark.parametrize("name", [n for n in SFT_CELLS if n not in ("reference", "lora")])
def test_sft_cell_trains_like_its_reference(name, matrix_inputs):
    cell = SFT_CELLS[name]
    assert_trains_like(run_sft(matrix_inputs, name), run_sft(matrix_inputs, cell.reference), matrix_inputs[0] / "model", cell.bf16,
                       cell.processes)
    _discard(matrix_inputs, "sft", name, SFT_CELLS)


@pytest.mark.parametrize("name", [n for n in GRPO_CELLS if n not in ("reference", "lora")])
def test_grpo_cell_trains_like_its_reference(name, matrix_inputs):
    cell = GRPO_CELLS[name]
    assert_trains_like(run_grpo(matrix_inputs, name), run_grpo(matrix_inputs, cell.reference), matrix_inputs[0] / "model", cell.bf16,
                       cell.processes)
    _discard(matrix_inputs, "grpo", name, GRPO_CELLS)


def _discard(matrix_inputs, stage: str, name: str, cells: dict) -> None:
    """Delete a compared cell's checkpoint unless another cell compares against it: the matrix would
    otherwise hold ~1.4 GB of checkpoints until the module ends (CI's disk ran out)."""
    root, done, _ = matrix_inputs
    if name not in {cell.reference for cell in cells.values()}:
        shutil.rmtree(done.pop((stage, name)))
