"""The seeds mode of results/scratch/run.sh: pick GRPO's learning rate, then summarise SFT vs GRPO over seeds.

    python results/scratch/seeds_summary.py pick_lr LR=EVAL_RUN ... [--reference SFT_EVAL_RUN] --out OUT/sweep.json
        prints the learning rate whose validation run has the highest OBO (ties: lower MAE); the SFT they start
        from, if given, is recorded beside them
    python results/scratch/seeds_summary.py summary --out OUT --seed 0 SFT_RUN GRPO_RUN --seed 1 ...
        reads OUT/eval/<test set>/<run> for every test set there, writes OUT/seeds_summary.{json,md}

The statistics (paired bootstrap over clips, t interval over seeds, McNemar) are actrep's
(actrep/evaluate/paired.py), so a user comparing two of their own checkpoints gets the same numbers.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from actrep.evaluate.paired import compare_seeds
from actrep.runs import load_run

TEST_SETS = {"test_id": "in-distribution (training preset, held-out seed)", "test_hard": "harder preset"}


def pick_lr(runs: list[str], out: Path, reference: str | None = None) -> str:
    """The rate of the best validation run; `reference` (the SFT the runs start from) is recorded beside it,
    with how far the pick is above it, and never picked: the protocol measures GRPO."""
    def scores(path: str) -> dict:
        strict = load_run(path)[0]["strict"]
        return {"obo": strict["obo"], "mae": strict["mae"], "run": path}

    scored = [{"learning_rate": lr, **scores(path)} for lr, _, path in (spec.partition("=") for spec in runs)]
    best = max(scored, key=lambda r: (r["obo"], -r["mae"]))
    record = {"picked": best["learning_rate"], "by": "validation OBO, then MAE", "runs": scored}
    if reference:
        record["sft"] = scores(reference)
        record["picked_minus_sft_obo_points"] = round(100 * (best["obo"] - record["sft"]["obo"]), 1)
    out.write_text(json.dumps(record, indent=2) + "\n")
    return best["learning_rate"]


def _pct(x: float) -> str:
    return f"{100 * x:+.1f}"


def markdown(summaries: dict[str, dict], lr: str | None) -> str:
    lines = ["# GRPO vs SFT over seeds", ""]
    if lr:
        lines += [f"GRPO learning rate {lr}, picked on the validation split (sweep.json).", ""]
    for name, s in summaries.items():
        d = s["difference"]
        missing = s.get("missing_seeds")
        lines += [f"## {name}: {TEST_SETS.get(name, name)}, {s['test_clips']} clips", ""]
        if missing:
            lines += [f"Seed(s) {', '.join(map(str, missing))}: no evaluation on this set; the rows and intervals "
                      "below are the other seeds only.", ""]
        lines += ["| seed | SFT OBO | GRPO OBO | SFT exact | GRPO exact | SFT MAE | GRPO MAE | McNemar (OBO) gained / lost, p |",
                  "|---|---|---|---|---|---|---|---|"]
        for e in s["seeds"]:
            m = e["mcnemar_obo"]
            lines.append(f"| {e['seed']} | {e['sft']['obo']:.3f} | {e['grpo']['obo']:.3f} | {e['sft']['exact']:.3f} | "
                         f"{e['grpo']['exact']:.3f} | {e['sft']['mae']:.3f} | {e['grpo']['mae']:.3f} | "
                         f"{m['clips_gained']} / {m['clips_lost']}, {m['p_value']:.3g} |")
        arms = s["arms"]
        lines.append("| mean (std) | " + " | ".join(f"{arms[a][m]['mean']:.3f} ({arms[a][m]['std']:.3f})"
                                                  for m in ("obo", "exact", "mae") for a in ("sft", "grpo")) + " | |")
        lines += ["", "Clips whose verdict changed from SFT to GRPO (exact / off by one / miss; p: exact binomial test of "
                  "exact -> off by one against off by one -> exact, i.e. whether exact answers were traded for near ones):", "",
                  "| seed | exact -> off by one | off by one -> exact | p | miss -> exact / off by one | exact / off by one -> miss |",
                  "|---|---|---|---|---|---|"]
        for e in s["seeds"]:
            v = e["verdict_changes"]
            lines.append(f"| {e['seed']} | {v['exact->off_by_one']} | {v['off_by_one->exact']} | {v['exact_vs_off_by_one_p_value']:.3g} | "
                         f"{v['miss->exact']} / {v['miss->off_by_one']} | {v['exact->miss']} / {v['off_by_one->miss']} |")
        lines += ["", "GRPO - SFT, points (95% intervals: over clips for these seeds / over seeds):", ""]
        for m in ("obo", "exact", "mae"):
            seed_ci = d[m]["seed_ci"]
            lines.append(f"- {m}: {_pct(d[m]['mean'])} (clips {_pct(d[m]['paired_ci'][0])} to {_pct(d[m]['paired_ci'][1])}; "
                         + (f"seeds {_pct(seed_ci[0])} to {_pct(seed_ci[1])})" if seed_ci else "one seed)"))
        lines.append("")
    return "\n".join(lines)


def summary(out: Path, seeds: list[tuple[int, str, str]]) -> dict:
    summaries = {}
    for test_set in TEST_SETS:
        runs = {seed: (out / "eval" / test_set / sft, out / "eval" / test_set / grpo) for seed, sft, grpo in seeds}
        # a seed whose evaluation on this set did not finish is left out of this set only, and named
        done = {seed: pair for seed, pair in runs.items() if all((run / "metrics.json").exists() for run in pair)}
        if done:
            summaries[test_set] = compare_seeds(done)
            summaries[test_set]["missing_seeds"] = sorted(set(runs) - set(done))
    if "test_id" not in summaries:
        sys.exit(f"no evaluations under {out}/eval/test_id")
    sweep = out / "sweep.json"
    lr = json.loads(sweep.read_text())["picked"] if sweep.exists() else None
    head = summaries["test_id"]
    record = {"seeds": head["seeds"], "test_set": f"test_id: {TEST_SETS['test_id']}, {head['test_clips']} clips",
              "paired_ci": head["paired_ci"], "grpo_learning_rate": lr, "by_test_set": summaries}
    (out / "seeds_summary.json").write_text(json.dumps(record, indent=2) + "\n")
    text = markdown(summaries, lr)
    (out / "seeds_summary.md").write_text(text)
    print(text)
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    pick = sub.add_parser("pick_lr")
    pick.add_argument("runs", nargs="+", help="LR=EVAL_RUN_DIR")
    pick.add_argument("--reference", help="the validation run of the SFT the sweep starts from (recorded, never picked)")
    pick.add_argument("--out", type=Path, required=True)
    summ = sub.add_parser("summary")
    summ.add_argument("--out", type=Path, required=True)
    summ.add_argument("--seed", nargs=3, action="append", metavar=("SEED", "SFT_RUN", "GRPO_RUN"), required=True)
    args = parser.parse_args()
    if args.command == "pick_lr":
        print(pick_lr(args.runs, args.out, args.reference))
    else:
        summary(args.out, [(int(seed), sft, grpo) for seed, sft, grpo in args.seed])


if __name__ == "__main__":
    main()
