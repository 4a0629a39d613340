"""Single-process cells of the training matrix, each in a fresh process forked from a server that has
already imported torch, transformers, TRL, PEFT, DeepSpeed and actrep.

A cell launched as `python -m actrep ...` spends ~6 of its ~12 s on a 2-core machine importing; the
matrix runs 15 such cells. Forking from a preloaded server (multiprocessing's forkserver, one task per
child) keeps what the cells are compared for: every cell is its own process with no training state
inherited (same weights, bit for bit, as a fresh `python -m actrep sft`, measured 2026-12-07), started
with the environment the subprocess cells get (OMP_NUM_THREADS=1, DS_ACCELERATOR=cpu). Two-process cells
still go through `torch.distributed.run`.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from forked_python import run_as_python

ROOT = Path(__file__).resolve().parent.parent
CELL_ENV = {"OMP_NUM_THREADS": "1", "DS_ACCELERATOR": "cpu"}
PRELOAD = ["torch", "transformers", "trl", "peft", "deepspeed", "actrep.cli", "actrep.train.sft", "actrep.train.grpo",
           "matrix_worker", "forked_cells"]


def start_pool(workers: int = 2) -> ProcessPoolExecutor:
    """A pool whose every task runs in a new child of one preloaded server, started with CELL_ENV."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    saved = {key: os.environ.get(key) for key in CELL_ENV}
    os.environ.update(CELL_ENV)  # the server (and so every child) starts with the cells' environment
    try:
        pool = ProcessPoolExecutor(workers, mp_context=context, max_tasks_per_child=1)
        pool.submit(os.getpid).result()  # starts the server now, while the environment is set
    finally:
        for key, value in saved.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)
    return pool


def run_cell(argv: list[str], log: str) -> int:
    """In the child: `python ARGV...` (`-m module ...` or `script.py ...`) with stdout and stderr in LOG;
    returns the exit status."""
    import torch

    torch.set_num_threads(1)
    os.chdir(ROOT)
    descriptor = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(descriptor, 1)
    os.dup2(descriptor, 2)
    code = run_as_python(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    return code
