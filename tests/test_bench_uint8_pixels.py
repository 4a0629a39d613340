"""bench.uint8_pixels on a toy checkpoint: both arms through the loader, stage 0 and SFT."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_uint8_pixels_runs_both_arms(tmp_path, tiny_checkpoints, forked_python):
    # the bench's four stage-0 and SFT runs start in about a second each from the forked-python server
    python = forked_python.shim(tmp_path / "python")
    subprocess.run([sys.executable, "-m", "bench.uint8_pixels", "--model", str(tiny_checkpoints["qwen2_5_vl"]), "--workers", "1",
                    "--batch_size", "2", "--batches", "2", "--repeats", "1", "--stage0_steps", "2", "--sft_steps", "2",
                    "--python", str(python), "--work", str(tmp_path / "work"), "--out", str(tmp_path)],
                   cwd=ROOT, check=True, capture_output=True, text=True, timeout=600)
    (record_file,) = tmp_path.glob("*-uint8-pixels-cpu.json")
    record = json.loads(record_file.read_text())
    assert record["device_normalisation_bit_identical"] is True
    assert [r["arm"] for r in record["loader"]] == ["float32", "uint8"]
    megabytes = {r["arm"]: r["mb_per_batch"] for r in record["loader"]}
    assert megabytes["float32"] == 4 * megabytes["uint8"]
    assert [(r["arm"], r["steps"]) for r in record["stage0"] + record["sft"]] == [("float32", 2), ("uint8", 2)] * 2
    summary = (tmp_path / (record_file.stem + ".md")).read_text()
    assert "## `actrep stage0`" in summary and "## `actrep sft`" in summary and "| uint8 |" in summary
