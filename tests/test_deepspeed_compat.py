"""DeepSpeed on a CPU (DS_ACCELERATOR=cpu, as the multi-process tests run it) builds no shared-memory
all-reduce op; anywhere else DeepSpeed's own `build_shm_op` stays."""

import os
import subprocess
import sys

PROBE = ("import actrep, importlib; m = importlib.import_module('deepspeed.comm.torch'); "
         "print(m.build_shm_op.__module__, m.build_shm_op() if m.build_shm_op.__module__ != m.__name__ else '-')")


def probe(**env) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "DS_ACCELERATOR"}
    result = subprocess.run([sys.executable, "-c", PROBE], env={**environment, **env}, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1]


def test_deepspeed_on_the_cpu_builds_no_shm_op():
    assert probe(DS_ACCELERATOR="cpu") == "actrep._deepspeed_compat None"


def test_deepspeed_elsewhere_keeps_its_own_build_shm_op():
    assert probe() == "deepspeed.comm.torch -"
