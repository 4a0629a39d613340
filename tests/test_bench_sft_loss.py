"""bench.sft_loss --tiny: both losses run in their own process, agree, and the record is written."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_sft_loss_tiny(tmp_path):
    subprocess.run([sys.executable, "-m", "bench.sft_loss", "--tiny", "--batch", "1", "--window", "40", "--labels", "10",
                    "--out", str(tmp_path)], cwd=ROOT, check=True, capture_output=True, text=True, timeout=300)
    (record_file,) = tmp_path.glob("*-sft-loss-cpu.json")
    record = json.loads(record_file.read_text())
    assert record["same_loss"] is True and [r["loss"] for r in record["runs"]] == ["transformers", "actrep"]
    assert all(r["peak_gb"] > 0 for r in record["runs"])
