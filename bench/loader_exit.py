"""Exit after training with persistent DataLoader workers: torch's own exit handlers vs `stop_loader_workers`, side by side.

    python -m bench.loader_exit                 # one GPU: 14 workers as the from-scratch SFT, bench/results/<date>-loader-exit-<gpu>.{json,md}
    python -m bench.loader_exit --workers 2     # anywhere (on a CPU torch pins no memory and registers no exit handler)

Why: with persistent workers and pinned memory, torch < 2.13 registers one exit handler per worker that
waits 5 s for a worker nobody told to stop, then kills it; `actrep sft` with 14 loader workers took 70 s to
exit after saving its checkpoint on an H100 (results/scratch/2026-12-06-h100-seeds4). Each arm runs in its
own process: a DataLoader with persistent workers (pinned memory where CUDA is) over items that take
`--item_ms` each, left mid-epoch after a few batches as Trainer leaves it, and still referenced (accelerate
keeps its prepared loaders). The "actrep" arm then calls `actrep.train.common.stop_loader_workers`, as
`actrep sft` and stage 0 do. Measured: seconds from the end of the loop to the process's exit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ARMS = ("stock", "actrep")
KEPT = []  # the loader stays referenced until exit, as accelerate's list of prepared loaders keeps it


class SlowItems:
    """Items that take a while to make, like decoded clips."""

    def __init__(self, item_ms: float):
        self.item_ms = item_ms

    def __len__(self):
        return 100_000

    def __getitem__(self, index):
        import torch

        time.sleep(self.item_ms / 1000)
        return torch.zeros(3, 84, 84)


def child(arm: str, workers: int, item_ms: float) -> None:
    import torch

    from actrep.train.common import stop_loader_workers

    cuda = torch.cuda.is_available()
    if cuda:
        torch.zeros(1, device="cuda")  # the training process has a CUDA context
    loader = torch.utils.data.DataLoader(SlowItems(item_ms), batch_size=4, num_workers=workers, persistent_workers=True,
                                         pin_memory=cuda)
    for step, _ in enumerate(loader):
        if step == 2 * workers:
            break
    KEPT.append(loader)
    started = time.time()
    stopped = stop_loader_workers(loader) if arm == "actrep" else 0
    print(json.dumps({"loop_done": started, "stop_s": time.time() - started, "stopped": stopped, "pinned": cuda}), flush=True)


def run_arm(arm: str, workers: int, item_ms: float) -> dict:
    command = [sys.executable, "-m", "bench.loader_exit", "--one", arm, "--workers", str(workers), "--item_ms", str(item_ms)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    process.wait()
    ended = time.time()
    if process.returncode != 0 or not line:
        sys.exit(f"bench.loader_exit: the {arm} arm failed (exit status {process.returncode})")
    report = json.loads(line)
    return {"arm": arm, "stopped_workers": report["stopped"], "pinned_memory": report["pinned"],
            "stop_s": report["stop_s"], "loop_end_to_exit_s": ended - report["loop_done"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=14, help="loader workers (the from-scratch SFT on 16 cores uses 14)")
    parser.add_argument("--item_ms", type=float, default=20.0, help="milliseconds to make one item")
    parser.add_argument("--out", type=Path, help="where the record goes (default bench/results)")
    parser.add_argument("--one", choices=ARMS, help=argparse.SUPPRESS)  # internal: run one arm in this process
    args = parser.parse_args()
    if args.one:
        child(args.one, args.workers, args.item_ms)
        return
    import torch

    machine = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU, {os.cpu_count()} cores"
    runs = [run_arm(arm, args.workers, args.item_ms) for arm in ARMS]
    record = {"date": dt.date.today().isoformat(), "machine": machine, "torch": torch.__version__,
              "command": " ".join(["python -m bench.loader_exit"] + sys.argv[1:]), "workers": args.workers,
              "item_ms": args.item_ms, "runs": runs}
    lines = [f"# Exit with persistent loader workers, {record['date']}, {machine}, torch {torch.__version__}", "",
             f"`{record['command']}`; {args.workers} workers, persistent, pinned memory: {runs[0]['pinned_memory']}", "",
             "| arm | workers stopped before exit | stop s | loop end to process exit, s |", "|---|---|---|---|"]
    lines += [f"| {r['arm']} | {r['stopped_workers']} | {r['stop_s']:.2f} | {r['loop_end_to_exit_s']:.2f} |" for r in runs]
    out = args.out or Path("bench/results")
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"{record['date']}-loader-exit-{machine.split(',')[0].replace(' ', '-').lower()}"
    stem.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
