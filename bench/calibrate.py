"""Calibrate the periodicity counter's confidence (issue 18) and record how well it is calibrated.

    python -m bench.calibrate                       # fit on the tuning sets, report on held-out sets
    python -m bench.calibrate --tag 2026-12-05      # result file name: bench/results/calibration-<tag>.{json,md}
    python -m bench.calibrate --records bench/results/calibration-2026-12-05.json   # refit/report, no counting

The confidence is the estimated probability that a count is within one of the truth: a logistic
model of two numbers the counter computes anyway (actrep/periodicity/counter.py `_evidence`: the
periodicity of the repetitions found, and the margin by which their segmentation beats the best one
with a clearly different count). This script counts every clip of the tuning sets, fits the model
(scipy.optimize, L2-regularised), prints the `CONFIDENCE_MODEL` line for counter.py, and applies the
fitted model to held-out sets of both renderers: per confidence bin how often counts are within one,
and at `PeriodicityConfig.confident_level` the share of counts called confident and how often those
are within one. Clips where nothing moves (count 0 without segmentation) are left out of the fit.

Tuning: synth hard and easy seed 100, stick figures seed 1. Held out: synth hard and easy seed 103,
stick figures seed 4 (never used for tuning the counter either).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.periodicity import evaluate_set, stickfigure, synth  # noqa: E402

TUNING = [("synth", "hard", 100, 60), ("synth", "easy", 100, 40), ("stickfigure", None, 1, 48)]
HELD_OUT = [("synth", "hard", 103, 60), ("synth", "easy", 103, 40), ("stickfigure", None, 4, 40)]
FEATURES = ("periodicity", "margin")
BINS = (0.0, 0.5, 0.65, 0.8, 0.9, 1.0001)


def render(root: Path, source: str, preset: str | None, seed: int, n: int) -> Path:
    if source == "synth":
        return synth(root / f"{preset}-s{seed}-n{n}", preset, n, seed)
    return stickfigure(root / f"stickfigure-s{seed}-n{n}-neg8", n, 8, seed)


def counted(root: Path, sets, workers: int) -> list[dict]:
    records = []
    for source, preset, seed, n in sets:
        name = f"{source}-{preset or 'mixed'}-s{seed}"
        records += [{**r, "set": name} for r in evaluate_set(render(root, source, preset, seed, n), workers, False)]
    return records


def fit(records: list[dict], l2: float = 0.02) -> dict:
    """Logistic regression of 'within one' on the evidence (scipy's BFGS on the mean log loss)."""
    from scipy.optimize import minimize

    X = np.array([[1.0] + [r[f] for f in FEATURES] for r in records])
    y = np.array([abs(r["pred"] - r["count"]) <= 1 for r in records], float)

    def loss(w):
        z = X @ w
        return float(np.mean(np.logaddexp(0, z) - y * z) + l2 * (w[1:] ** 2).sum())

    w = minimize(loss, np.zeros(X.shape[1]), method="BFGS").x
    return {"intercept": round(float(w[0]), 3), **{f: round(float(v), 3) for f, v in zip(FEATURES, w[1:])}}


def confidence(model: dict, record: dict) -> float:
    z = model["intercept"] + sum(model[f] * record[f] for f in FEATURES)
    return float(1 / (1 + np.exp(-z)))


def table(model: dict, records: list[dict], level: float) -> dict:
    scored = [(confidence(model, r), abs(r["pred"] - r["count"]) <= 1) for r in records]
    bins = []
    for low, high in zip(BINS, BINS[1:]):
        inside = [ok for p, ok in scored if low <= p < high]
        bins.append({"bin": f"{low:.2f}-{min(high, 1.0):.2f}", "n": len(inside),
                     "within_one": round(float(np.mean(inside)), 3) if inside else None})
    sure = [ok for p, ok in scored if p >= level]
    unsure = [ok for p, ok in scored if p < level]
    return {"n": len(scored), "bins": bins, "confident_share": round(len(sure) / max(1, len(scored)), 3),
            "confident_within_one": round(float(np.mean(sure)), 3) if sure else None,
            "uncertain_within_one": round(float(np.mean(unsure)), 3) if unsure else None,
            "all_within_one": round(float(np.mean([ok for _, ok in scored])), 3)}


def markdown(result: dict) -> str:
    m = result["model"]
    lines = [f"# Periodicity counter: confidence calibration ({result['date']})", "",
             f"Command: `{result['command']}`  ", f"Machine: {result['machine']}", "",
             "Confidence = P(count within one of the truth) = sigmoid("
             f"{m['intercept']} + {m['periodicity']} x periodicity + {m['margin']} x margin), fitted on "
             f"{result['tuning_n']} tuning clips ({', '.join(result['tuning'])}). A count is called **confident** at "
             f"confidence >= {result['level']}, else uncertain (`~7?`).", ""]
    for name, block in result["held_out"].items():
        lines += [f"## Held out: {name} ({block['n']} clips with motion)", "",
                  f"Confident: {block['confident_share']:.0%} of counts, **{block['confident_within_one']} within one**; "
                  f"uncertain: {block['uncertain_within_one']} within one; all: {block['all_within_one']}.", "",
                  "| confidence | n | within one |", "|---|---|---|"]
        lines += [f"| {b['bin']} | {b['n']} | {'-' if b['within_one'] is None else b['within_one']} |" for b in block["bins"]]
        lines.append("")
    lines += [f"Clips without motion (count 0, not in the tables): {result['no_motion']}. Clips without repetitions "
              f"that moved (count, confidence): {result['negatives']}.", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    from actrep.periodicity.counter import CONFIDENCE_MODEL, PeriodicityConfig

    p = argparse.ArgumentParser(prog="python -m bench.calibrate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--data_root", default="/tmp/actrep-periodicity")
    p.add_argument("--out", default=str(ROOT / "bench" / "results"))
    p.add_argument("--tag", default=None)
    p.add_argument("--records", default=None, help="a previous result JSON: refit and report its counts (the counter is not run)")
    args = p.parse_args(argv)
    root, out = Path(args.data_root), Path(args.out)
    level = PeriodicityConfig().confident_level
    if args.records:
        saved = json.loads(Path(args.records).read_text())["records"]
        tuning, held = saved["tuning"], saved["held_out"]
    else:
        tuning = [r for r in counted(root, TUNING, args.workers) if not r["no_motion"]]
        held = counted(root, HELD_OUT, args.workers)
    model = fit(tuning)
    result = {"date": dt.datetime.now().isoformat(timespec="seconds"),
              "command": "python -m bench.calibrate " + " ".join(argv if argv is not None else sys.argv[1:]),
              "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, workers {args.workers}",
              "model": model, "installed_model": CONFIDENCE_MODEL, "level": level, "tuning_n": len(tuning),
              "tuning": [f"{s} {p or ''} seed {seed}".replace("  ", " ") for s, p, seed, _ in TUNING],
              "held_out": {}, "no_motion": sum(r["no_motion"] for r in held),
              "negatives": ", ".join(f"{r['pred']} ({confidence(model, r):.2f})" for r in held if r["count"] == 0 and not r["no_motion"])}
    for name in sorted({r["set"] for r in held}):
        rows = [r for r in held if r["set"] == name and not r["no_motion"]]
        result["held_out"][name] = table(model, rows, level)
    result["held_out"]["all held-out sets"] = table(model, [r for r in held if not r["no_motion"]], level)
    tag = args.tag or dt.date.today().isoformat()
    out.mkdir(parents=True, exist_ok=True)
    (out / f"calibration-{tag}.json").write_text(json.dumps({**result, "records": {"tuning": tuning, "held_out": held}}, indent=1) + "\n")
    (out / f"calibration-{tag}.md").write_text(markdown(result))
    print(markdown(result))
    print(f"CONFIDENCE_MODEL = {json.dumps(model)}  (installed: {json.dumps(CONFIDENCE_MODEL)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
