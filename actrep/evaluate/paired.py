"""Is run B better than run A on the same clips, beyond the noise? Paired comparisons of evaluations.

Two checkpoints evaluated on one test set disagree on some clips; whether B's higher OBO is real depends
on how many clips changed, not on the two headline numbers. Every comparison here pairs the clips by
their key (a test set evaluated twice must list the same clips, else it is refused) and uses the
per-clip outcomes whose means are the run's metrics (metrics.clip_scores), so the differences add up to
the difference of the headline numbers exactly.

With several seeds per arm (seed s: A_s and B_s trained the same way but for the seed), a clip's
difference is the mean over seeds of B_s - A_s, and:
  * ``paired_ci``: a bootstrap interval over clips of the mean difference (scipy.stats.bootstrap, BCa):
    how much the result could move on another draw of test clips, for these seeds;
  * ``seed_ci``: a t interval over the per-seed differences: how much it could move with other seeds
    (wide with 3 seeds: 2 degrees of freedom);
  * ``mcnemar``: per seed, the exact McNemar test on the clips whose OBO verdict changed
    (scipy.stats.binomtest on the discordant pairs);
  * ``verdict_changes``: per seed, how many clips moved between exact, off by one and miss: whether a
    reward with off-by-one credit trades exact answers for near ones (exact -> off_by_one against
    off_by_one -> exact) shows here, not in the OBO headline, which counts both as right.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from actrep.errors import ActRepError
from actrep.metrics import clip_scores
from actrep.runs import load_run

METRICS = ("obo", "exact", "mae")


def run_scores(run_dir: str | Path) -> dict[str, dict]:
    """{clip key: {obo, exact, mae}} of a finished evaluation run (strict mode, as its headline)."""
    _, records = load_run(run_dir)
    return {record["key"]: clip_scores(record) for record in records}


def _paired_keys(runs: dict[str, dict[str, dict]]) -> list[str]:
    names = list(runs)
    keys = set(runs[names[0]])
    for name in names[1:]:
        if set(runs[name]) != keys:
            missing = sorted(keys ^ set(runs[name]))
            raise ActRepError(f"{name} and {names[0]} were not evaluated on the same clips "
                              f"({len(missing)} differ, e.g. {missing[0]}): a paired comparison needs one test set")
    return sorted(keys)


def _bootstrap_ci(differences: np.ndarray, level: float, seed: int) -> list[float]:
    from scipy.stats import bootstrap

    if np.all(differences == differences[0]):  # no spread: BCa is undefined, the interval is the point
        return [float(differences[0])] * 2
    result = bootstrap((differences,), np.mean, confidence_level=level, n_resamples=10_000, method="BCa",
                       random_state=np.random.default_rng(seed))
    return [float(result.confidence_interval.low), float(result.confidence_interval.high)]


def _t_ci(values: np.ndarray, level: float) -> list[float] | None:
    from scipy.stats import t

    if len(values) < 2:
        return None
    half = t.ppf(0.5 + level / 2, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
    return [float(values.mean() - half), float(values.mean() + half)]


def _mcnemar(a: dict[str, dict], b: dict[str, dict], keys: list[str]) -> dict:
    from scipy.stats import binomtest

    gained = sum(b[k]["obo"] > a[k]["obo"] for k in keys)
    lost = sum(b[k]["obo"] < a[k]["obo"] for k in keys)
    p = binomtest(gained, gained + lost, 0.5).pvalue if gained + lost else 1.0
    return {"clips_gained": gained, "clips_lost": lost, "p_value": float(p)}


VERDICTS = ("exact", "off_by_one", "miss")


def _verdict(score: dict) -> str:
    return "exact" if score["exact"] else "off_by_one" if score["obo"] else "miss"


def _verdict_changes(a: dict[str, dict], b: dict[str, dict], keys: list[str]) -> dict:
    """{"exact->off_by_one": clips, ...} for the six ways a clip's verdict can change from A to B, and the
    exact binomial test (two-sided) of exact -> off_by_one against off_by_one -> exact."""
    from scipy.stats import binomtest

    changes = {f"{x}->{y}": 0 for x in VERDICTS for y in VERDICTS if x != y}
    for k in keys:
        before, after = _verdict(a[k]), _verdict(b[k])
        if before != after:
            changes[f"{before}->{after}"] += 1
    lost, won = changes["exact->off_by_one"], changes["off_by_one->exact"]
    changes["exact_vs_off_by_one_p_value"] = float(binomtest(lost, lost + won, 0.5).pvalue) if lost + won else 1.0
    return changes


def compare_seeds(pairs: dict[int, tuple[str | Path, str | Path]], names: Sequence[str] = ("sft", "grpo"),
                  level: float = 0.95, bootstrap_seed: int = 0) -> dict:
    """The multi-seed comparison of arm B (``names[1]``) against arm A (``names[0]``) on one test set.

    ``pairs`` maps a seed to the (A, B) evaluation run directories of that seed. Returns the
    ``seeds_summary.json`` layout: per seed each arm's metrics, their mean and spread, and for every
    metric B - A with its paired (clips) and seed intervals, plus McNemar per seed on OBO.
    """
    if not pairs:
        raise ActRepError("no seeds to compare")
    a_name, b_name = names
    scores = {(seed, arm): run_scores(path) for seed, paths in pairs.items() for arm, path in zip(names, paths)}
    keys = _paired_keys({f"{arm} (seed {seed}, {pairs[seed][names.index(arm)]})": s for (seed, arm), s in scores.items()})

    def metric(seed, arm, name):
        return float(np.mean([scores[seed, arm][k][name] for k in keys]))

    seeds = [{"seed": seed, **{arm: {m: metric(seed, arm, m) for m in METRICS} for arm in names},
              "mcnemar_obo": _mcnemar(scores[seed, a_name], scores[seed, b_name], keys),
              "verdict_changes": _verdict_changes(scores[seed, a_name], scores[seed, b_name], keys)} for seed in pairs]
    arms = {arm: {m: {"mean": float(np.mean(v := [s[arm][m] for s in seeds])),
                      "std": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0} for m in METRICS} for arm in names}
    differences = {}
    for m in METRICS:
        per_clip = np.array([np.mean([scores[seed, b_name][k][m] - scores[seed, a_name][k][m] for seed in pairs]) for k in keys])
        per_seed = np.array([s[b_name][m] - s[a_name][m] for s in seeds])
        differences[m] = {"mean": float(per_clip.mean()), "per_seed": per_seed.tolist(),
                          "paired_ci": _bootstrap_ci(per_clip, level, bootstrap_seed), "seed_ci": _t_ci(per_seed, level)}
    return {"seeds": seeds, "arms": arms, "test_clips": len(keys), "confidence_level": level,
            "difference": {"of": f"{b_name} - {a_name}", **differences},
            "paired_ci": differences["obo"]["paired_ci"]}
