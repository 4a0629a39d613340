"""`python -m torch.distributed.run --nproc_per_node 2 tests/late_rank.py eval ...`: actrep with rank 1 late.

Rank 1 takes its snapshot of the finished videos only after rank 0 has either written its first
prediction or reached a barrier after taking its own snapshot. Without the barrier rank 0 writes
first and this reproduces "videos evaluated by nobody" deterministically; with it rank 0 waits at the
barrier, says so through a marker file, and rank 1 goes on at once (it used to sit out a 30 s deadline).
"""

import os
import sys
import time

from accelerate import PartialState

from actrep.cli import main
from actrep.evaluate import local

MARKER = ".rank0_at_barrier"
on_time = local.finished_keys

if os.environ.get("RANK") == "0":
    snapshots = []
    barrier = PartialState.wait_for_everyone

    def snapshot(run_dir):
        snapshots.append(run_dir)
        return on_time(run_dir)

    def marked_barrier(self):
        while snapshots:  # only the barrier right after a snapshot
            (snapshots.pop() / MARKER).touch()
        return barrier(self)

    local.finished_keys = snapshot
    PartialState.wait_for_everyone = marked_barrier

if os.environ.get("RANK") == "1":

    def late(run_dir):
        first, marker = run_dir / "predictions.rank0.jsonl", run_dir / MARKER
        deadline = time.monotonic() + 300  # only if rank 0 never gets there: a failure, not a wait
        while time.monotonic() < deadline and not marker.exists() and not (first.exists() and first.stat().st_size > 0):
            time.sleep(0.1)
        keys = on_time(run_dir)
        marker.unlink(missing_ok=True)
        return keys

    local.finished_keys = late

sys.exit(main(sys.argv[1:]))
