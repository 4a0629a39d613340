"""`python -m torch.distributed.run --nproc_per_node 2 tests/late_rank.py eval ...`: actrep with rank 1 late.

Rank 1 takes its snapshot of the finished videos only after rank 0 has written its first prediction
(or after 30 s: with the barrier in place rank 0 cannot write before rank 1 has read, so rank 1
stops waiting). Without the barrier this reproduces "videos evaluated by nobody" deterministically.
"""

import os
import sys
import time

from actrep.cli import main
from actrep.evaluate import local

if os.environ.get("RANK") == "1":
    on_time = local.finished_keys

    def late(run_dir):
        deadline = time.monotonic() + 30
        first = run_dir / "predictions.rank0.jsonl"
        while time.monotonic() < deadline and not (first.exists() and first.stat().st_size > 0):
            time.sleep(0.2)
        return on_time(run_dir)

    local.finished_keys = late

sys.exit(main(sys.argv[1:]))
