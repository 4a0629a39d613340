"""Training curves, a metrics plot and the summary table of a from-scratch run (results/scratch/run.sh).

    python results/scratch/plot_curves.py --out OUT --work WORK --stage0 WORK/stage0 \
        --sft sft=WORK/sft --grpo grpo=WORK/grpo [--mode main] [--elapsed SECONDS]

Reads: stage 0's metrics.jsonl + stage0_metrics.json, SFT's TensorBoard events (Trainer logs),
GRPO's metrics.jsonl, every evaluation run under OUT/eval/<test set>/<run>/metrics.json and
OUT/timings.tsv. Writes OUT/curves/{stage0,sft,grpo,metrics}.png, the curve data as CSV beside them,
OUT/summary.json and OUT/summary.md (the tables for docs/from_scratch.md and the README), and prints
the summary table.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path

RUN_ORDER = ["base", "stage0", "sft", "sft_norcs", "sft_nostage0", "grpo", "grpo_norcs", "grpo_nostage0", "grpo_linear", "grpo_exact"]
GOALS = {"obo": 0.80, "mae": 0.10, "grpo_gain": 0.05, "parse_rate": 0.99}


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_csv(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    keys = list(dict.fromkeys(k for row in rows for k in row))
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)


def tensorboard_scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """{tag: [(step, value)]} from the Trainer's TensorBoard event files under run_dir (any depth)."""
    files = sorted(run_dir.rglob("events.out.tfevents.*")) if run_dir.exists() else []
    if not files:
        return {}
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out: dict[str, list[tuple[int, float]]] = {}
    for path in files:
        acc = EventAccumulator(str(path), size_guidance={"scalars": 0})
        acc.Reload()
        for tag in acc.Tags().get("scalars", []):
            out.setdefault(tag, []).extend((e.step, e.value) for e in acc.Scalars(tag))
    return {tag: sorted(values) for tag, values in out.items()}


def named(values: list[str]) -> list[tuple[str, Path]]:
    out = []
    for value in values or []:
        name, _, path = value.partition("=")
        out.append((name, Path(path)) if path else (Path(name).name, Path(name)))
    return out


def plot(path: Path, panels: list[tuple[str, list[tuple[str, list, list]]]], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [p for p in panels if any(xs for _, xs, _ in p[1])]
    if not panels:
        return
    cols = min(3, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, (name, series) in zip(axes.flat, panels):
        for label, xs, ys in series:
            if xs:
                ax.plot(xs, ys, label=label, linewidth=1.4, marker="o" if len(xs) < 12 else None, markersize=3)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("step", fontsize=8)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
        if len(series) > 1:
            ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def smooth(values: list[float], window: int = 5) -> list[float]:
    out = []
    for i in range(len(values)):
        part = values[max(0, i - window + 1) : i + 1]
        out.append(sum(part) / len(part))
    return out


def stage0_curves(directory: Path, curves: Path) -> dict:
    rows = read_jsonl(directory / "metrics.jsonl")
    write_csv(curves / "stage0.csv", rows)
    steps = [r["step"] for r in rows]
    panels = [
        ("stage 0 loss", [("total", steps, [r["loss"] for r in rows])]),
        ("stage 0 loss parts", [(k.split("/")[1], steps, [r[k] for r in rows]) for k in ("loss/phase", "loss/active", "loss/boundary") if rows and k in rows[0]]),
        ("throughput (clips/s)", [("clips/s", steps, [r["clips_per_s"] for r in rows])]),
    ]
    plot(curves / "stage0.png", panels, "Stage 0: vision alignment (phase, active, boundaries)")
    summary_path = directory / "stage0_metrics.json"
    return json.loads(summary_path.read_text()) if summary_path.exists() else {}


def sft_curves(runs: list[tuple[str, Path]], curves: Path) -> dict:
    loss, lr, norm, info = [], [], [], {}
    for name, directory in runs:
        scalars = tensorboard_scalars(directory / "runs") or tensorboard_scalars(directory)
        rows = {}
        for tag, values in scalars.items():
            for step, value in values:
                rows.setdefault(step, {"step": step})[tag] = value
        write_csv(curves / f"{name}.csv", [rows[k] for k in sorted(rows)])
        series = scalars.get("train/loss", [])
        loss.append((name, [s for s, _ in series], smooth([v for _, v in series], 3)))
        for target, tag in ((lr, "train/learning_rate"), (norm, "train/grad_norm")):
            values = scalars.get(tag, [])
            target.append((name, [s for s, _ in values], [v for _, v in values]))
        final = {tag.split("/", 1)[1]: values[-1][1] for tag, values in scalars.items() if values}
        info[name] = {"steps": max((s for s, _ in series), default=0), "first_loss": series[0][1] if series else None,
                      "final_loss": series[-1][1] if series else None,
                      **{k: final.get(k) for k in ("train_runtime", "train_samples_per_second", "train_steps_per_second")}}
    plot(curves / "sft.png", [("SFT loss (CoT tokens)", loss), ("learning rate", lr), ("gradient norm", norm)], "SFT")
    return info


def grpo_curves(runs: list[tuple[str, Path]], curves: Path) -> dict:
    keys = [("reward/mean", "reward (mean)"), ("rollout/obo", "rollout OBO"), ("rollout/exact", "rollout exact"),
            ("rollout/parse_rate", "rollout parse rate"), ("completion/length_mean", "completion length"),
            ("groups/zero_std_share", "groups with equal rewards")]
    panels = {k: [] for k, _ in keys}
    info = {}
    for name, directory in runs:
        rows = read_jsonl(directory / "metrics.jsonl")
        write_csv(curves / f"{name}.csv", rows)
        steps = [r["step"] for r in rows]
        for key, _ in keys:
            panels[key].append((name, steps, smooth([r.get(key, float("nan")) for r in rows], 3)))
        if rows:
            half = max(1, len(rows) // 2)
            info[name] = {"steps": steps[-1], "reward_first_half": sum(r["reward/mean"] for r in rows[:half]) / half,
                          "reward_second_half": sum(r["reward/mean"] for r in rows[half:]) / max(1, len(rows) - half),
                          "rollout_obo_first_half": sum(r["rollout/obo"] for r in rows[:half]) / half,
                          "rollout_obo_second_half": sum(r["rollout/obo"] for r in rows[half:]) / max(1, len(rows) - half),
                          "seconds_per_step": sum(r.get("time/generation", 0) + r.get("time/scoring", 0) + r.get("time/training", 0) for r in rows) / len(rows)}
    plot(curves / "grpo.png", [(title, panels[key]) for key, title in keys], "GRPO (smoothed over 3 steps)")
    return info


def error_shares(errors: list[int]) -> dict:
    """Mean and median signed error (answer - truth), and the shares too low (< -1), within one, too high (> +1).

    The mean alone misleads on sampled answers: one runaway list of 900 repetitions moves a bin's mean by
    ~20; the shares and the median do not move with it."""
    if not errors:
        return {"answers": 0, "signed_error": 0.0, "median_error": 0.0, "under": 0.0, "obo": 0.0, "over": 0.0}
    ordered = sorted(errors)
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return {"answers": len(errors), "signed_error": sum(errors) / len(errors), "median_error": median,
            "under": sum(e < -1 for e in errors) / len(errors), "obo": sum(abs(e) <= 1 for e in errors) / len(errors),
            "over": sum(e > 1 for e in errors) / len(errors)}


def error_sides(predictions: Path) -> dict[str, dict[str, float]]:
    """Per count bin, error_shares' under / over of the parsed answers: where OBO only says "missed", these
    say which way. GRPO moves them together across bins (results/scratch/2026-12-07-h100-count-mix)."""
    from actrep.metrics import bin_label

    errors: dict[str, list[int]] = {}
    for row in read_jsonl(predictions):
        parsed = errors.setdefault(bin_label(row["count"]), [])
        if row.get("pred") is not None:
            parsed.append(row["pred"] - row["count"])
    return {b: {k: error_shares(e)[k] for k in ("under", "over")} for b, e in errors.items()}


def eval_results(out: Path) -> dict:
    results: dict = {}
    for metrics_path in sorted((out / "eval").glob("*/*/metrics.json")):
        metrics = json.loads(metrics_path.read_text())
        strict = metrics["strict"]
        predictions = metrics_path.with_name("predictions.jsonl")
        sides = error_sides(predictions) if predictions.exists() else {}
        results.setdefault(metrics_path.parent.parent.name, {})[metrics_path.parent.name] = {
            **{k: strict.get(k) for k in ("n", "parse_rate", "obo", "exact", "mae", "abs_mae", "rmse")},
            "by_bin": {b: {**{k: v.get(k) for k in ("n", "obo", "exact", "mae")}, **sides.get(b, {})}
                       for b, v in strict.get("by_bin", {}).items()},
            "parsed_only": {k: metrics["parsed_only"].get(k) for k in ("obo", "exact", "mae")},
            "failed_videos": metrics.get("failed_videos"),
            "max_new_tokens": metrics.get("generation", {}).get("max_new_tokens"),
        }
    return {s: dict(sorted(r.items(), key=lambda kv: RUN_ORDER.index(kv[0]) if kv[0] in RUN_ORDER else 99)) for s, r in results.items()}


def metrics_plot(results: dict, curves: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not results:
        return
    fig, axes = plt.subplots(1, len(results), figsize=(5.5 * len(results), 3.4), squeeze=False)
    for ax, (set_name, runs) in zip(axes.flat, results.items()):
        names = list(runs)
        width = 0.25
        for i, (key, label) in enumerate([("obo", "OBO"), ("exact", "exact"), ("mae", "MAE")]):
            values = [runs[n][key] if runs[n][key] is not None else 0 for n in names]
            bars = ax.bar([x + (i - 1) * width for x in range(len(names))], values, width, label=label)
            for bar, value in zip(bars, values):
                ax.text(bar.get_x() + bar.get_width() / 2, min(value, 1.45) + 0.01, f"{value:.2f}", ha="center", fontsize=6)
        ax.set_xticks(range(len(names)), names, fontsize=8)
        ax.set_ylim(0, 1.5)
        ax.set_title(set_name, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("Strict metrics (unparseable = miss); MAE = mean |p-g|/(g+0.1)", fontsize=10)
    fig.tight_layout()
    fig.savefig(curves / "metrics.png", dpi=110)
    plt.close(fig)


def fmt(value, digits: int = 3) -> str:
    return "-" if value is None else (f"{value:.{digits}f}" if isinstance(value, float) else str(value))


def markdown(summary: dict) -> str:
    lines = [f"# From-scratch run: mode {summary['mode']}, scale {summary.get('scale', '?')}", ""]
    lines += [f"Wall time {fmt(summary.get('elapsed_s'), 0)} s. Machine: see machine.txt; commands: commands.sh.", ""]
    for set_name, runs in summary["eval"].items():
        lines += [f"## {set_name} (strict)", "", "| run | n | parse rate | OBO | exact | MAE | RMSE |", "|---|---|---|---|---|---|---|"]
        for name, m in runs.items():
            lines.append(f"| {name} | {m['n']} | {fmt(m['parse_rate'])} | {fmt(m['obo'])} | {fmt(m['exact'])} | {fmt(m['mae'])} | {fmt(m['rmse'])} |")
        bins = sorted({b for m in runs.values() for b in m["by_bin"]}, key=lambda b: int(b.split("-")[0].rstrip("+")))
        if bins:
            lines += ["", "OBO by count bin:", "", "| run | " + " | ".join(bins) + " |", "|---|" + "---|" * len(bins)]
            for name, m in runs.items():
                lines.append(f"| {name} | " + " | ".join(fmt(m["by_bin"].get(b, {}).get("obo")) for b in bins) + " |")
            lines += ["", "Parsed answers too low (< truth - 1) / too high (> truth + 1) by count bin:", "",
                      "| run | " + " | ".join(bins) + " |", "|---|" + "---|" * len(bins)]
            for name, m in runs.items():
                cells = [m["by_bin"].get(b, {}) for b in bins]
                lines.append(f"| {name} | " + " | ".join(f"{fmt(c.get('under'), 2)} / {fmt(c.get('over'), 2)}" for c in cells) + " |")
        lines.append("")
    probe = summary.get("stage0", {}).get("probe", {})
    if probe:
        lines += ["## Stage 0 probe (count read off the head, no language model)", "",
                  "| test set | phase error (deg) | active acc | start F1 | OBO (starts) | exact (starts) | MAE (starts) | OBO (phase) |",
                  "|---|---|---|---|---|---|---|---|"]
        for name, p in probe.items():
            c, ph = p["count_from_starts"], p["count_from_phase"]
            lines.append(f"| {name} | {fmt(p['phase_error_deg'], 1)} | {fmt(p['active_accuracy'])} | {fmt(p['start_f1'])} | "
                         f"{fmt(c['obo'])} | {fmt(c['exact'])} | {fmt(c['mae'])} | {fmt(ph['obo'])} |")
        lines.append("")
    if summary.get("goals"):
        lines += ["## Goals (issue 8)", "", "| goal | value | met |", "|---|---|---|"]
        for goal in summary["goals"]:
            lines.append(f"| {goal['goal']} | {fmt(goal['value'])} | {'yes' if goal['met'] else 'no'} |")
        lines.append("")
    if summary.get("timings"):
        lines += ["## Wall time per stage (s)", "", "| stage | seconds |", "|---|---|"]
        lines += [f"| {t['stage']} | {t['seconds']}{' (reused)' if t['note'] else ''} |" for t in summary["timings"]]
        lines.append("")
    return "\n".join(lines)


def goals(results: dict) -> list[dict]:
    """Issue 8's goals on the in-distribution test, for the run's SFT and GRPO models."""
    runs = results.get("test_id", {})
    sft = next((n for n in runs if n.startswith("sft")), None)
    grpo = next((n for n in runs if n.startswith("grpo")), None)
    out = []
    if grpo:
        obo, mae = runs[grpo]["obo"], runs[grpo]["mae"]
        out.append({"goal": f"in-distribution OBO >= 0.80 after GRPO ({grpo})", "value": obo, "met": (obo or 0) >= GOALS["obo"]})
        out.append({"goal": f"in-distribution MAE <= 0.10 after GRPO ({grpo})", "value": mae, "met": mae is not None and mae <= GOALS["mae"]})
    if grpo and sft:
        gain = float((runs[grpo]["obo"] or 0) - (runs[sft]["obo"] or 0))
        out.append({"goal": "GRPO improves OBO over SFT by >= 5 points", "value": gain, "met": gain >= GOALS["grpo_gain"] - 1e-9})
    if sft:
        out.append({"goal": f"parse rate >= 0.99 after SFT ({sft})", "value": runs[sft]["parse_rate"], "met": (runs[sft]["parse_rate"] or 0) >= GOALS["parse_rate"]})
    return out


def print_table(summary: dict) -> None:
    print()
    for set_name, runs in summary["eval"].items():
        print(f"{set_name} (strict: unparseable = miss)")
        print(f"  {'run':<12} {'n':>5} {'parse':>7} {'OBO':>7} {'exact':>7} {'MAE':>7} {'RMSE':>7}")
        for name, m in runs.items():
            print(f"  {name:<12} {m['n']:>5} {fmt(m['parse_rate']):>7} {fmt(m['obo']):>7} {fmt(m['exact']):>7} {fmt(m['mae']):>7} {fmt(m['rmse']):>7}")
    for name, p in summary.get("stage0", {}).get("probe", {}).items():
        c = p["count_from_starts"]
        print(f"stage-0 probe on {name}: phase error {p['phase_error_deg']:.1f} deg, start F1 {p['start_f1']:.3f}, "
              f"count from starts OBO {fmt(c['obo'])} exact {fmt(c['exact'])} MAE {fmt(c['mae'])}")
    for goal in summary.get("goals", []):
        print(f"goal: {goal['goal']}: {fmt(goal['value'])} -> {'met' if goal['met'] else 'NOT met'}")
    timings = summary.get("timings", [])
    if timings:
        print("wall time per stage (s): " + ", ".join(f"{t['stage']} {t['seconds']}{'*' if t['note'] else ''}" for t in timings)
              + ("   (* reused)" if any(t["note"] for t in timings) else ""))
    print(f"total wall time: {fmt(summary.get('elapsed_s'), 0)} s")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--work", default=None)
    parser.add_argument("--mode", default="main")
    parser.add_argument("--scale", default=None)
    parser.add_argument("--elapsed", type=float, default=None)
    parser.add_argument("--stage0", default=None)
    parser.add_argument("--sft", action="append", default=[])
    parser.add_argument("--grpo", action="append", default=[])
    args = parser.parse_args(argv)
    out = Path(args.out)
    curves = out / "curves"
    curves.mkdir(parents=True, exist_ok=True)
    summary: dict = {"mode": args.mode, "scale": args.scale or (Path(args.work).name if args.work else None), "elapsed_s": args.elapsed}
    if args.stage0 and Path(args.stage0).exists():
        stage0 = stage0_curves(Path(args.stage0), curves)
        summary["stage0"] = {"train": stage0.get("train"), "probe": stage0.get("probe"), "visual_token_scale": stage0.get("visual_token_scale")}
    sft = [(n, p) for n, p in named(args.sft) if p.exists()]
    if sft:
        summary["sft"] = sft_curves(sft, curves)
    grpo = [(n, p) for n, p in named(args.grpo) if p.exists()]
    if grpo:
        summary["grpo"] = grpo_curves(grpo, curves)
    summary["eval"] = eval_results(out)
    metrics_plot(summary["eval"], curves)
    summary["goals"] = goals(summary["eval"]) if args.mode == "main" else []
    timings_path = out / "timings.tsv"
    if timings_path.exists():
        summary["timings"] = []
        for line in timings_path.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) >= 2:
                summary["timings"].append({"stage": parts[0], "seconds": float(parts[1]), "note": parts[2] if len(parts) > 2 else ""})
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "summary.md").write_text(markdown(summary) + "\n")
    print_table(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
