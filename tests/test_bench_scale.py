"""bench.scale: the classification of each run, its stop, the launch commands, and the whole command on a toy model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from bench import scale

ROOT = Path(__file__).resolve().parent.parent

CUDA_OOM = """step 1
torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.07 GiB. GPU 0 has a total capacity of 79.19 GiB of which 1.2 GiB is free.
"""
HOST_OOM = "RuntimeError: [enforce fail at alloc_cpu.cpp:121] data. DefaultCPUAllocator: can't allocate memory: you tried to allocate 30453 bytes.\n"
ELASTIC_KILLED = """torch.distributed.elastic.multiprocessing.errors.ChildFailedError:
  exitcode  : -9 (pid: 4242)
  error_file: <N/A>
  traceback : Signal 9 (SIGKILL) received by PID 4242
"""


@pytest.mark.parametrize("outcome, code, text, logged, fits, note", [
    ("done", None, "", 3, True, ""),
    ("exited", 0, "", 3, True, ""),
    ("exited", 1, "FileNotFoundError: x", 3, True, "exit 1 after the last step"),
    ("exited", 1, CUDA_OOM, 0, False, "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.07 GiB."),
    ("exited", 1, HOST_OOM, 1, False, "DefaultCPUAllocator: can't allocate memory"),
    ("timeout", None, "step 1\n", 1, "timeout", "1 of 3 steps logged when the time ran out"),
    ("timeout", None, CUDA_OOM, 1, False, "CUDA out of memory"),  # a run that hung after its OOM still did not fit
    ("exited", 1, ELASTIC_KILLED, 0, False, "killed (SIGKILL"),
    ("exited", -9, "loading\n", 0, False, "exit -9"),
    ("exited", 1, "Traceback\nValueError: bad flag\n  more context\n", 0, None, "exit 1: ValueError: bad flag"),
])
def test_classify(outcome, code, text, logged, fits, note):
    got_fits, got_note = scale.classify(outcome, code, text, logged, 3)
    assert got_fits == fits
    assert note in got_note


def test_a_timed_out_run_is_stopped_with_its_whole_tree(tmp_path):
    """The worker `accelerate launch` starts must not outlive the run: it would hold the next run's GPU memory."""
    child = "import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); " \
            "print(p.pid, flush=True); time.sleep(120)"
    code, outcome, seconds = scale.run_until_logged([sys.executable, "-c", child], tmp_path / "log", {}, tmp_path / "metrics.jsonl", 3, 2)
    assert (code, outcome) == (None, "timeout") and seconds < 30
    grandchild = int((tmp_path / "log").read_text().split()[0])
    assert not psutil.pid_exists(grandchild) or psutil.Process(grandchild).status() == psutil.STATUS_ZOMBIE


def test_a_run_is_stopped_once_its_last_step_is_logged(tmp_path):
    metrics = tmp_path / "metrics.jsonl"
    child = f"import time; open({str(metrics)!r}, 'w').write('{{}}\\n{{}}\\n'); time.sleep(120)"
    code, outcome, seconds = scale.run_until_logged([sys.executable, "-c", child], tmp_path / "log", {}, metrics, 2, 60)
    assert (code, outcome) == (None, "done") and seconds < 30


def test_commands_launch_the_shipped_recipes():
    model, data, run = Path("m"), Path("d"), Path("r")
    zero3 = scale.build_command("python", "grpo_zero3_offload", model, data, run, ["--max_steps", "3"])
    assert zero3[:8] == ["python", "-m", "accelerate.commands.launch", "--config_file", "recipes/accelerate/zero3_offload.yaml",
                         "--num_processes", "1", "-m"]
    assert zero3[8:12] == ["actrep", "grpo", "--config", "recipes/grpo_qwen2_5_vl.yaml"]
    assert (ROOT / "recipes/accelerate/zero3_offload.yaml").exists()
    lora = scale.build_command("python", "sft_lora", model, data, run, [])
    assert lora[:5] == ["python", "-m", "actrep", "sft", "--config"] and lora[-2:] == ["--use_lora", "true"]
    assert "--use_lora" not in scale.build_command("python", "sft_full", model, data, run, [])


@pytest.mark.slow
def test_tiny_scale_run(tmp_path, forked_python):
    """The whole command on a toy model on the CPU, one SFT and one GRPO configuration (LoRA and full): the harness end
    to end (the commands of every configuration are checked above; DeepSpeed's offload ops would compile first)."""
    configs = ["sft_lora", "grpo_full"]
    result = subprocess.run([sys.executable, "-m", "bench.scale", "--tiny", "--steps", "2", "--frames", "4", "--size", "56", "--configs", ",".join(configs),
                             "--work", str(tmp_path), "--python", str(forked_python.shim(tmp_path / "python"))], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    results = json.loads(next((tmp_path / "results").glob("*-scale-*-tiny.json")).read_text())
    assert list(results["runs"]) == configs
    for name, run in results["runs"].items():
        assert run["fits"] is True, (name, run.get("log_tail"))
        assert run["s_per_step"] > 0 and run["steps_logged"] == 2
    assert results["settings"]["params_b"] > 0
    assert "| sft_lora | True |" in next((tmp_path / "results").glob("*-scale-*-tiny.md")).read_text()
    assert all(f"[{name}] fits True" in result.stdout for name in configs)
