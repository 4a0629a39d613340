"""SFT's loss: peak memory and time of transformers' ForCausalLMLoss vs actrep's token_sum_loss, side by side.

    python -m bench.sft_loss                  # one GPU: the from-scratch SFT shape, bench/results/<date>-sft-loss-<gpu>.{json,md}
    python -m bench.sft_loss --tiny           # a smaller shape on the CPU (peak RSS per process), results in /tmp

The shape is one SFT micro-batch after the collator's logit window: `--batch` rows x `--window` positions x
Qwen's 151,936-token vocabulary, bf16 logits (bf16 autocast), `--labels` label tokens per row (the chain of
thought; the rest of the window is the video and prompt of the rows whose answer starts later, and
padding). Each loss runs forward + backward in its own process, so one's cached memory cannot hide the
other's peak. Both must give the same loss; the record says so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

VOCAB = 151_936
REPEATS = 5  # forward + backward calls per loss; "seconds" is the median of the 4 after the first


def one(loss_name: str, batch: int, window: int, labels: int, device: str) -> dict:
    import torch

    from actrep.train.sft import token_sum_loss  # first: importing actrep sets up torchvision for transformers
    from transformers.loss.loss_utils import ForCausalLMLoss

    torch.manual_seed(0)
    logits = torch.randn(batch, window, VOCAB, device=device, dtype=torch.bfloat16, requires_grad=True)
    targets = torch.randint(0, VOCAB, (batch, window), device=device)
    for row in range(batch):  # each row's answer ends at the window's end minus its padding
        padding = row % 7
        targets[row, : window - labels - padding] = -100
        if padding:
            targets[row, window - padding:] = -100
    count = (targets[:, 1:] != -100).sum()
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    seconds = []
    for _ in range(REPEATS):  # the first call pays for loading kernels; the record times the warm ones
        logits.grad = None
        start = time.perf_counter()
        if loss_name == "transformers":
            loss = ForCausalLMLoss(logits, targets, vocab_size=VOCAB, num_items_in_batch=count)
        else:
            loss = token_sum_loss({"logits": logits}, targets, count)
        loss.backward()
        if device == "cuda":
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - start)
    if device == "cuda":
        peak_gb = (torch.cuda.max_memory_allocated() - base) / 2**30
    else:
        peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB, the whole process
    return {"loss": loss_name, "value": loss.item(), "seconds": sorted(seconds[1:])[len(seconds[1:]) // 2],
            "first_call_seconds": seconds[0], "peak_gb": peak_gb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="CPU, a smaller shape")
    parser.add_argument("--batch", type=int)
    parser.add_argument("--window", type=int, default=500)
    parser.add_argument("--labels", type=int, default=200)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one loss in this process
    args = parser.parse_args()
    device = "cpu" if args.tiny else "cuda"
    batch = args.batch or (2 if args.tiny else 32)
    if args.one:
        print(json.dumps(one(args.one, batch, args.window, args.labels, device)))
        return
    runs = []
    for name in ("transformers", "actrep"):
        command = [sys.executable, "-m", "bench.sft_loss", "--one", name, "--batch", str(batch),
                   "--window", str(args.window), "--labels", str(args.labels)] + (["--tiny"] if args.tiny else [])
        runs.append(json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()[-1]))
    if device == "cuda":
        import torch

        machine = torch.cuda.get_device_name(0)
    else:
        machine = f"CPU, {os.cpu_count()} cores"
    same = abs(runs[0]["value"] - runs[1]["value"]) <= 1e-4 * abs(runs[0]["value"])
    record = {"date": dt.date.today().isoformat(), "machine": machine, "command": " ".join(["python -m bench.sft_loss"] + sys.argv[1:]),
              "shape": {"batch": batch, "window": args.window, "labels_per_row": args.labels, "vocab": VOCAB, "logits": "bf16"},
              "peak": "GPU memory allocated by the loss (torch)" if device == "cuda" else "peak RSS of the whole process",
              "same_loss": same, "runs": runs}
    lines = [f"# SFT loss memory, {record['date']}, {machine}", "", f"`{record['command']}`; shape {record['shape']}; peak = {record['peak']}", "",
             "| loss | peak GB | seconds (warm median) | first call s | value |", "|---|---|---|---|---|"]
    lines += [f"| {r['loss']} | {r['peak_gb']:.2f} | {r['seconds']:.3f} | {r['first_call_seconds']:.3f} | {r['value']:.5f} |" for r in runs]
    lines += ["", f"same loss: {same}"]
    out = args.out or (Path("/tmp/actrep-bench") if args.tiny else Path("bench/results"))
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"{record['date']}-sft-loss-{machine.split(',')[0].replace(' ', '-').lower()}"
    stem.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if not same:
        sys.exit("the two losses differ")


if __name__ == "__main__":
    main()
