"""bench.loader_exit: both arms run in their own process, and only the actrep arm stops the workers before exit."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_loader_exit_two_workers(tmp_path):
    subprocess.run([sys.executable, "-m", "bench.loader_exit", "--workers", "2", "--item_ms", "1", "--out", str(tmp_path)],
                   cwd=ROOT, check=True, capture_output=True, text=True, timeout=300)
    (record_file,) = tmp_path.glob("*-loader-exit-*.json")
    record = json.loads(record_file.read_text())
    assert [(r["arm"], r["stopped_workers"]) for r in record["runs"]] == [("stock", 0), ("actrep", 2)]
    assert all(r["loop_end_to_exit_s"] >= 0 for r in record["runs"])
