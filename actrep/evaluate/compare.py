"""``actrep compare``: is one checkpoint better than another beyond the noise, on the same test clips?

    actrep compare runs/sft runs/grpo                                 # one pair of evaluation runs
    actrep compare sft_s0 grpo_s0 sft_s1 grpo_s1 sft_s2 grpo_s2      # several seeds: pairs in order
    actrep compare runs/sft runs/grpo --labels sft grpo --output_file cmp.json

Two headline OBOs a point or two apart say nothing on 256 clips (one standard error is ~2 points). This
prints, per metric, the difference with a bootstrap interval over clips (and over seeds when several
pairs are given), McNemar's exact test per seed on the clips whose OBO verdict changed, and the clips
that moved between exact, off by one and miss: OBO counts an exact answer and a near one alike, so a
change that trades one for the other shows only there. The statistics are actrep/evaluate/paired.py,
the same as the from-scratch experiments' seeds_summary.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from actrep.config import option, parse_config, save_json
from actrep.errors import ActRepError
from actrep.evaluate.paired import compare_seeds


@dataclass
class CompareArguments:
    runs: list[str] = option([], help="Evaluation run directories (each with predictions.jsonl and metrics.json) in pairs: "
                                      "BASE NEW, or BASE NEW BASE NEW ... one pair per seed; every run on the same clips.")
    labels: list[str] = option(["base", "new"], help="Names of the two arms in the output (BASE's first).")
    confidence: float = option(0.95, help="Confidence level of the intervals.")
    output_file: str = option("", help="Also write the whole comparison (per seed, per metric, verdict changes) as JSON here.")


def _pairs(runs: list[str]) -> dict[int, tuple[Path, Path]]:
    if len(runs) < 2 or len(runs) % 2:
        raise ActRepError(f"actrep compare takes evaluation runs in pairs (BASE NEW, one pair per seed); got {len(runs)}")
    for run in runs:
        if not (Path(run) / "predictions.jsonl").is_file():
            raise ActRepError(f"{run}: no predictions.jsonl (not an evaluation run directory of actrep eval / eval-api)")
    return {seed: (Path(runs[2 * seed]), Path(runs[2 * seed + 1])) for seed in range(len(runs) // 2)}


def _signed(x: float, metric: str) -> str:
    """A difference as printed: OBO and exact in percentage points, MAE (a fraction of the truth) as is."""
    return f"{x:+.3f}" if metric == "mae" else f"{100 * x:+.1f}"


def _interval(values: list[float] | None, metric: str) -> str:
    return "-" if values is None else f"{_signed(values[0], metric)} to {_signed(values[1], metric)}"


def format_comparison(result: dict, labels: tuple[str, str]) -> str:
    """The comparison as text: one line per metric, then one per seed (a pure function of compare_seeds' record)."""
    base, new = labels
    level = round(100 * result["confidence_level"])
    lines = [f"{new} - {base}: {len(result['seeds'])} pair(s) of runs on the same {result['test_clips']} clips",
             f"{'metric':<6} {base:>10} {new:>10} {'difference':>11}  {level}% over clips{'':>6}  {level}% over seeds"]
    for metric in ("obo", "exact", "mae"):
        d = result["difference"][metric]
        difference = _signed(d["mean"], metric) + ("" if metric == "mae" else " pts")
        lines.append(f"{metric.upper():<6} {result['arms'][base][metric]['mean']:>10.3f} {result['arms'][new][metric]['mean']:>10.3f} "
                     f"{difference:>11}  {_interval(d['paired_ci'], metric):<19}  {_interval(d['seed_ci'], metric)}")
    lines.append("")
    for entry in result["seeds"]:
        m, v = entry["mcnemar_obo"], entry["verdict_changes"]
        lines.append(f"pair {entry['seed']}: OBO {entry[base]['obo']:.3f} -> {entry[new]['obo']:.3f} "
                     f"(clips gained {m['clips_gained']}, lost {m['clips_lost']}, McNemar p {m['p_value']:.3g}); "
                     f"exact -> off by one {v['exact->off_by_one']}, off by one -> exact {v['off_by_one->exact']} "
                     f"(p {v['exact_vs_off_by_one_p_value']:.3g}); to a miss {v['exact->miss'] + v['off_by_one->miss']}, "
                     f"from a miss {v['miss->exact'] + v['miss->off_by_one']}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    (args,) = parse_config([CompareArguments], argv, prog="actrep compare", positional=["runs"],
                           description="Paired comparison of evaluation runs on the same clips: intervals, McNemar, verdict changes.")
    if len(args.labels) != 2 or args.labels[0] == args.labels[1]:
        raise ActRepError(f"--labels takes two different names (BASE's first), got {args.labels}")
    if not 0 < args.confidence < 1:
        raise ActRepError(f"--confidence must be between 0 and 1, got {args.confidence}")
    labels = (args.labels[0], args.labels[1])
    pairs = _pairs(args.runs)
    result = compare_seeds(pairs, names=labels, level=args.confidence)
    print(format_comparison(result, labels))
    if args.output_file:
        save_json(args.output_file, {"runs": [[str(a), str(b)] for a, b in pairs.values()], **result})
        print(f"wrote {args.output_file}")
    return 0
