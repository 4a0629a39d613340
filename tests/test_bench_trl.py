"""bench.trl_grpo through bench.e2e: TRL's GRPOTrainer on the toy model and clips, two steps timed into the results."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow  # ~1-3 min on 2 cores: without Triton, TRL's chunked log-probs score every prompt position
def test_e2e_tiny_runs_trl(bench_e2e_work, tmp_path, forked_python):
    done = subprocess.run([sys.executable, "-m", "bench.e2e", "--tiny", "--runs", "trl", "--work", str(bench_e2e_work),
                           "--frames", "4", "--size", "56",  # the harness, not the workload: ~18 -> 14 s a TRL step here
                           "--out", str(tmp_path / "results"), "--python", str(forked_python.shim(tmp_path / "python"))],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(next((tmp_path / "results").glob("*-e2e-*.json")).read_text())
    run = results["runs"]["trl"]
    assert run["exit"] == 0 and run["steps_logged"] == 2 and len(run["step_s_each"]) == 2
    assert run["s_per_step"] > 0 and run["s_per_step_median"] > 0
    assert "do not see the video" in run["note"] and run["tokens_per_s"] > run["completion_tokens_per_s"] > 0
    assert results["speedup"] is None  # no stock/defaults pair in this call
    assert "| trl | " in next((tmp_path / "results").glob("*-e2e-*.md")).read_text()
