"""Which way would each count reward have pushed the counts, on the rollouts a GRPO run actually sampled?

    python results/scratch/reward_push.py RUN/artifacts/grpo/completions.jsonl [--rewards count_hybrid count_fixed ...]
        [--bins 1-5 6-10 11-20] [--steps 1-50] [--eval NAME=EVAL_RUN ...] [--out push.json]

For every logged group (one clip, its G sampled completions) and every count reward R, the group's
advantages are computed as the run computed them (actrep's `group_advantages`, R + count_format, each
weight 1), and the group's push on the count is

    push = mean_i A_i * (p_i - mean p)      (p_i: the completion's parsed count; unparseable ones left out)

GRPO's update raises the probability of completions with A_i > 0, so to first order the expected count
of that clip moves in the direction of `push` (zero when the rewards in the group are all equal). One
runaway completion (hundreds of repetitions listed) dominates that mean, so the same push is also given
for the share of under-counts (p_i < truth - 1 in place of p_i), which no single completion can dominate.
Printed per ground-truth bin: the rollouts' signed error, and per reward the mean push and the share of
groups that carry any count signal. A reward whose pushes are strong on small counts and weak on large
ones moves a shared count bias towards what the small clips ask for: the hypothesis for the count shift
of results/scratch/2026-12-06-h100-medium-grpo, tested here without a GPU on the same rollouts.

`--eval` adds, per bin, the same error figures for evaluation runs (their predictions.jsonl; the decoder
read from their metrics.json), to set the sampled rollouts beside what a decoder answers on the test clips.
Per bin, rollouts and evaluations alike: the shares of answers too low (< truth - 1), within one, and too
high (> truth + 1), and the median and mean signed error (the mean moves with one runaway answer).

Counterfactual by construction: the rollouts are count_hybrid's policy's, so this shows the direction of
each reward's first update from that policy, not where a whole run with another reward would end.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch

from actrep.answer import parse_count
from actrep.rewards import REWARDS
from actrep.train.grpo_loss import group_advantages

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the run summaries' error shares, one definition
from plot_curves import error_shares  # noqa: E402


def load_groups(path: Path) -> list[dict]:
    """Groups of one step and clip, in file order: {"step", "video_id", "count", "completions"}."""
    groups: dict[tuple, dict] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        try:
            row = json.loads(line)
            key = (row["step"], row["video_id"])
            groups.setdefault(key, {"step": row["step"], "video_id": row["video_id"], "count": int(row["count"]), "completions": []})
            groups[key]["completions"].append(row["completion"])
        except (ValueError, KeyError, TypeError) as error:
            sys.exit(f"error: {path}:{number}: not a completions.jsonl row ({error})")
    # a clip drawn twice in one step logs two groups under one key: cut them at the group size
    size = math.gcd(*(len(g["completions"]) for g in groups.values()))
    return [{**g, "completions": g["completions"][i:i + size]} for g in groups.values() for i in range(0, len(g["completions"]), size)]


MEASURES = {"count": lambda p, truth: p, "under": lambda p, truth: float(p < truth - 1)}


def group_pushes(completions: list[str], count: int, reward: str) -> dict[str, float]:
    """Per measure m in MEASURES: mean_i A_i (m_i - mean m) over the parsable completions, advantages from
    REWARD + count_format. m is the parsed count ("count") or whether it is too low, below truth - 1
    ("under": its push is the first-order change of the share of under-counts, which one runaway
    completion cannot dominate)."""
    columns = {"count": [count] * len(completions)}
    total = [a + b for a, b in zip(REWARDS[reward](completions, **columns), REWARDS["count_format"](completions, **columns))]
    advantages, _ = group_advantages(torch.tensor(total, dtype=torch.float64), len(completions))
    parsed = [(a, p) for a, p in zip(advantages.tolist(), map(parse_count, completions)) if p is not None and not math.isnan(a)]
    pushes = {}
    for measure, value in MEASURES.items():
        if len(parsed) < 2:
            pushes[measure] = 0.0
            continue
        values = [value(p, count) for _, p in parsed]
        mean_value = sum(values) / len(values)
        pushes[measure] = sum(a * (m - mean_value) for (a, _), m in zip(parsed, values)) / len(parsed)
    return pushes


def group_push(completions: list[str], count: int, reward: str, measure: str = "count") -> float:
    """One measure of group_pushes."""
    return group_pushes(completions, count, reward)[measure]


def summarize(groups: list[dict], rewards: list[str], bins: list[tuple[int, int]]) -> dict:
    rows = []
    for low, high in bins:
        members = [g for g in groups if low <= g["count"] <= high]
        if not members:
            continue
        errors = [p - g["count"] for g in members for p in map(parse_count, g["completions"]) if p is not None]
        row = {"bin": f"{low}-{high}", "groups": len(members), **error_shares(errors), "rewards": {}}
        for reward in rewards:
            both = [group_pushes(g["completions"], g["count"], reward) for g in members]
            pushes, under = [b["count"] for b in both], [b["under"] for b in both]
            row["rewards"][reward] = {"mean_push": sum(pushes) / len(pushes), "under_push": sum(under) / len(under),
                                      "groups_with_signal": sum(abs(p) > 1e-9 for p in pushes) / len(pushes)}
        rows.append(row)
    return {"groups": len(groups), "rewards": rewards, "bins": rows}


def decoder(path: Path) -> str:
    """How an evaluation run decoded, from its metrics.json: "greedy" or "sampled T=<temperature>"."""
    try:
        generation = json.loads((path / "metrics.json").read_text()).get("generation") or {}
    except (OSError, ValueError):
        return "decoder unknown"
    return f"sampled T={generation.get('temperature')}" if generation.get("do_sample") else "greedy"


def eval_bins(path: Path, bins: list[tuple[int, int]]) -> dict:
    """Per ground-truth bin of an evaluation run: error_shares of its parsed answers (unparseable ones left
    out, their number kept as clips - answers)."""
    file = path / "predictions.jsonl"
    if not file.is_file():
        sys.exit(f"error: {path}: no predictions.jsonl (an `actrep eval` output folder?)")
    rows = [json.loads(line) for line in file.read_text().splitlines() if line.strip()]
    out = []
    for low, high in bins:
        members = [r for r in rows if low <= r["count"] <= high]
        if members:
            errors = [r["pred"] - r["count"] for r in members if r.get("pred") is not None]
            out.append({"bin": f"{low}-{high}", "clips": len(members), **error_shares(errors)})
    return {"decoder": decoder(path), "bins": out}


def print_table(summary: dict) -> None:
    rewards = summary["rewards"]
    print(f"{summary['groups']} groups; push = mean_i A_i (p_i - mean p): the first-order direction of each clip's expected count")
    print("| counts | groups | rollouts' signed error (median) | under / OBO / over | "
          + " | ".join(f"{r} push (groups with signal)" for r in rewards) + " |")
    print("|---|---|---|---|" + "---|" * len(rewards))
    for row in summary["bins"]:
        cells = [f"{row['rewards'][r]['mean_push']:+.3f} ({row['rewards'][r]['groups_with_signal']:.0%})" for r in rewards]
        print(f"| {row['bin']} | {row['groups']} | {row['signed_error']:+.2f} ({row['median_error']:+g}) | "
              f"{row['under']:.2f} / {row['obo']:.2f} / {row['over']:.2f} | " + " | ".join(cells) + " |")
    print("\npush on the share of under-counts (answer < truth - 1; negative: the reward makes them rarer)")
    print("| counts | " + " | ".join(rewards) + " |")
    print("|---|" + "---|" * len(rewards))
    for row in summary["bins"]:
        print(f"| {row['bin']} | " + " | ".join(f"{row['rewards'][r]['under_push']:+.4f}" for r in rewards) + " |")
    if summary.get("eval"):
        print("\n| evaluation run | decoder | counts | clips (parsed) | under / OBO / over | median error | mean error |")
        print("|---|---|---|---|---|---|---|")
        for name, run in summary["eval"].items():
            for row in run["bins"]:
                print(f"| {name} | {run['decoder']} | {row['bin']} | {row['clips']} ({row['answers']}) | {row['under']:.2f} / "
                      f"{row['obo']:.2f} / {row['over']:.2f} | {row['median_error']:+g} | {row['signed_error']:+.2f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("completions", type=Path, help="a GRPO run's completions.jsonl")
    parser.add_argument("--rewards", nargs="+", default=["count_hybrid", "count_fixed", "count_linear", "count_exact"])
    parser.add_argument("--bins", nargs="+", default=["1-5", "6-10", "11-20"], help="ground-truth count ranges, LOW-HIGH")
    parser.add_argument("--steps", help="only the groups of these training steps, LOW-HIGH")
    parser.add_argument("--eval", nargs="+", default=[], metavar="NAME=EVAL_RUN", help="evaluation runs to set beside the rollouts")
    parser.add_argument("--out", type=Path, help="also write the table as JSON here")
    args = parser.parse_args(argv)
    unknown = [r for r in args.rewards if r not in REWARDS]
    if unknown:
        parser.error(f"unknown reward(s) {unknown}; registered: {sorted(REWARDS)}")
    if not args.completions.is_file():
        parser.error(f"{args.completions}: no such file")
    bins = [tuple(int(x) for x in b.split("-")) for b in args.bins]
    groups = load_groups(args.completions)
    if args.steps:
        first, last = (int(x) for x in args.steps.split("-"))
        groups = [g for g in groups if first <= g["step"] <= last]
    summary = summarize(groups, args.rewards, bins)
    summary["steps"] = args.steps or "all"
    summary["eval"] = {name: eval_bins(Path(path), bins) for name, _, path in (spec.partition("=") for spec in args.eval)}
    print_table(summary)
    if args.out:
        args.out.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
