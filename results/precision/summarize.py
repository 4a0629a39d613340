"""Summarise results/precision/run_gpu.sh: per run, what changed and what it cost.

    python results/precision/summarize.py --model INITIAL --work WORK --logs LOGS --out OUT RUN [RUN ...]

Share of language-model weights changed: the run's float32 export against the initial checkpoint in
the dtype the run loaded it (bf16), element by element. Loss, learning rates, optimiser steps, s/step
and peak GPU memory come from each run's metrics.jsonl; the precision line from its log's header.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import torch


def language_model(path: Path, dtype: torch.dtype, device: str) -> dict:
    from transformers import AutoModelForImageTextToText

    model = AutoModelForImageTextToText.from_pretrained(path, dtype=dtype, device_map=device)
    return {n: p.detach() for n, p in model.named_parameters() if "language_model" in n}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--logs", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("runs", nargs="*")
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    initial = language_model(Path(args.model), torch.bfloat16, device)  # what every run started from
    total = sum(t.numel() for t in initial.values())
    summary = {}
    for run in args.runs:
        trained = language_model(Path(args.work) / run, torch.float32, device)
        changed = sum(int((trained[n] != initial[n].float()).sum()) for n in initial)
        del trained
        log = [json.loads(line) for line in (Path(args.work) / run / "metrics.jsonl").read_text().splitlines() if line.strip()]
        text = (Path(args.logs) / f"{run}.log").read_text(errors="replace")
        header = re.search(r"precision: [^;\n]*(;[^\n]*)?", text)
        step_s = [r.get("time/step_s") or sum(r.get(k, 0.0) for k in ("time/generation", "time/scoring", "time/training")) for r in log]
        summary[run] = {
            "lm_weights_changed_share": changed / total, "lm_weights": total,
            "loss": [r.get("loss") for r in log], "reward_mean": [r.get("reward/mean") for r in log],
            "learning_rate": [r.get("learning_rate") for r in log], "optimizer_steps": [r.get("optimizer_steps") for r in log],
            "s_per_step": step_s, "peak_memory_gb": max((r.get("memory/peak_gb") or 0.0 for r in log), default=None),
            "precision": header.group(0) if header else None,
        }
    out = Path(args.out)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    lines = ["| run | LM weights changed | optimiser steps | learning rates | loss (first -> last) | s/step (last) | peak GPU memory |",
             "|---|---|---|---|---|---|---|"]
    for run, r in summary.items():
        losses = [x for x in r["loss"] if x is not None]
        loss = f"{losses[0]:.4f} -> {losses[-1]:.4f}" if losses else "-"
        lines.append(f"| {run} | {100 * r['lm_weights_changed_share']:.1f}% | {r['optimizer_steps']} | "
                     f"{', '.join(f'{x:.2e}' for x in r['learning_rate'] if x is not None)} | {loss} | "
                     f"{r['s_per_step'][-1]:.1f} | {r['peak_memory_gb'] or 0:.1f} GB |")
    lines += [""] + [f"- {run}: {r['precision']}" for run, r in summary.items()]
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
