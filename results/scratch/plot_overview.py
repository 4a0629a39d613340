"""One figure for the README: what the from-scratch H100 runs of 2026-11-24 measured.

    python results/scratch/plot_overview.py results/scratch/2026-11-24-h100

Reads the strict metrics of each run's evaluations (metrics.json written by `actrep eval`) and
draws OBO and exact per model on the in-distribution test, grouped by experiment.
"""

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# (group label, run folder, evaluation run) in display order
BARS = [
    ("all 8 families", "all_families_main", "sft"),
    ("all 8 families", "all_families_main", "grpo"),
    ("squat, no stage 0", "squat_control_no_stage0", "sft_nostage0"),
    ("squat, no stage 0", "squat_control_no_stage0", "grpo_nostage0"),
    ("squat, stage 0, no RCS", "squat_ablation_rcs", "sft_norcs"),
    ("squat, stage 0, no RCS", "squat_ablation_rcs", "grpo_norcs"),
    ("squat, stage 0 + RCS", "squat_main", "sft"),
    ("squat, stage 0 + RCS", "squat_main", "grpo"),
]


def strict(root: Path, run: str, name: str) -> dict:
    return json.loads((root / run / "eval" / "test_id" / name / "metrics.json").read_text())["strict"]


def main(root: Path) -> Path:
    fig, ax = plt.subplots(figsize=(11, 4.2))
    x = []
    for i, (group, run, name) in enumerate(BARS):
        m = strict(root, run, name)
        pos = i + (i // 2) * 0.6  # a gap between experiments
        ax.bar(pos - 0.2, m["obo"], 0.4, color="tab:blue", label="OBO" if i == 0 else None)
        ax.bar(pos + 0.2, m["exact"], 0.4, color="tab:orange", label="exact" if i == 0 else None)
        ax.text(pos - 0.2, m["obo"] + 0.01, f"{m['obo']:.2f}", ha="center", fontsize=8)
        x.append(pos)
    ax.set_xticks(x, [("SFT" if i % 2 == 0 else "GRPO") for i in range(len(BARS))])
    for i in range(0, len(BARS), 2):
        ax.text((x[i] + x[i + 1]) / 2, -0.16, BARS[i][0], ha="center", va="top", fontsize=9, transform=ax.get_xaxis_transform())
    ax.axhline(0.8, color="grey", lw=0.8, ls="--")
    ax.text(x[0] - 0.4, 0.82, "goal: OBO 0.80", fontsize=8, color="grey")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("in-distribution test (256 clips)")
    ax.set_title("Random-init Qwen2.5-VL (77M), one H100, ~8 min per run: stage 0 is what makes it count")
    ax.legend(loc="upper center")
    fig.tight_layout()
    out = root / "overview.png"
    fig.savefig(out, dpi=110)
    return out


if __name__ == "__main__":
    print(main(Path(sys.argv[1])))
