"""GRPO rewards: one registry dict, plain TRL-style functions, weights from a spec string.

Every reward is ``fn(completions, **columns) -> list[float | None]`` (TRL's convention: dataset
columns arrive as keyword lists, one value per completion, plus extras such as ``prompts`` that are
ignored). Completions may be strings or conversational message lists (``actrep.answer.completion_text``).
Formulas (DESIGN.md "Rewards"), with p the parsed answer, g the ground truth ``count`` and e = |p - g|:

    count_hybrid   exp(-(e/(g+0.1))^2 / (2*0.2^2)) + 0.5*[e <= 1]     range 0..1.5 (default)
    count          exp(-e^2 / (2*sigma^2)), sigma = max(1, 0.2*g)      normalized Gaussian
    count_linear   max(0, 1 - e/max(g, 1))
    count_fixed    exp(-e^2 / 18)                                       (sigma = 3)
    count_interval 1 if listed reps == answer, else 0.5*min/max; 0 if either is absent
    count_format   1 if the output is exactly <think>...</think><answer>...</answer>, else 0

Conventions:
* An unparseable answer (``actrep.answer.parse_count`` gives None) scores 0.0 in every reward that
  reads the answer (the four count rewards and count_interval).
* A sample whose ground truth ``count`` is None (or NaN) is unscorable: the four count rewards
  return None for it (TRL turns None into NaN and ignores it). count_interval and count_format never
  read the ground truth, so they score every sample and do not require a ``count`` column.
* count_interval and count_format read the reasoning variant from the ``prompt_variant`` keyword
  (one string for all samples or a per-sample list; default "think").
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

from actrep.answer import format_exact, parse_completion, parse_count
from actrep.errors import ActRepError
from actrep.prompts import reasoning_tags

RewardFn = Callable[..., list]

HYBRID_SIGMA = 0.2
HYBRID_BONUS = 0.5  # added when the answer is within one repetition
MAE_EPS = 0.1  # the TransRAC relative-error denominator g + 0.1
FIXED_SIGMA = 3.0


# --- column helpers ------------------------------------------------------------------------------


def _per_sample(value, n: int, name: str) -> list:
    """A column as a list of n values: a list/tuple of length n, or one scalar broadcast to all."""
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ActRepError(f"column {name!r} has {len(value)} values for {n} completions")
        return list(value)
    return [value] * n


def _ground_truth(value, i: int) -> int | None:
    """One ground-truth count: a non-negative integer, or None (None/NaN) when unscorable."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if value < 0:
            raise ActRepError(f"sample {i}: ground truth count {value!r} is not a non-negative integer")
        return int(value)
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        raise ActRepError(f"sample {i}: ground truth count {value!r} is not a number") from None
    if isinstance(value, bool) or not as_float.is_integer() or as_float < 0:
        raise ActRepError(f"sample {i}: ground truth count {value!r} is not a non-negative integer")
    return int(as_float)


def _counts(completions, columns: dict) -> list[tuple[int | None, int | None]]:
    """(parsed answer, ground truth) per completion."""
    if "count" not in columns:
        raise ActRepError("count rewards need the ground-truth column 'count'")
    n = len(completions)
    gts = _per_sample(columns["count"], n, "count")
    return [(parse_count(c), _ground_truth(g, i)) for i, (c, g) in enumerate(zip(completions, gts))]


def _variants(completions, columns: dict) -> list[str]:
    variants = _per_sample(columns.get("prompt_variant") or "think", len(completions), "prompt_variant")
    out = []
    for v in variants:
        v = v or "think"
        reasoning_tags(v)  # ActRepError on an unknown variant
        out.append(v)
    return out


def _count_reward(completions, columns: dict, formula: Callable[[int, int], float]) -> list[float | None]:
    rewards: list[float | None] = []
    for p, g in _counts(completions, columns):
        if g is None:
            rewards.append(None)
        elif p is None:
            rewards.append(0.0)
        else:
            rewards.append(float(formula(p, g)))
    return rewards


# --- the formulas --------------------------------------------------------------------------------


def hybrid_formula(p: int, g: int) -> float:
    """exp(-(e/(g+0.1))^2 / (2*0.2^2)) + 0.5*[e <= 1], e = |p - g|."""
    e = abs(p - g)
    return math.exp(-((e / (g + MAE_EPS)) ** 2) / (2 * HYBRID_SIGMA**2)) + HYBRID_BONUS * (e <= 1)


def gaussian_formula(p: int, g: int) -> float:
    """exp(-e^2 / (2*sigma^2)), sigma = max(1, 0.2*g)."""
    e = abs(p - g)
    sigma = max(1.0, 0.2 * g)
    return math.exp(-(e**2) / (2 * sigma**2))


def linear_formula(p: int, g: int) -> float:
    """max(0, 1 - e/max(g, 1))."""
    return max(0.0, 1.0 - abs(p - g) / max(g, 1))


def exact_formula(p: int, g: int) -> float:
    """1 if p == g else 0 (the exact-only arm of the reward ablation: no partial credit)."""
    return float(p == g)


def fixed_formula(p: int, g: int) -> float:
    """exp(-e^2 / 18) (a Gaussian with fixed sigma 3)."""
    return math.exp(-(abs(p - g) ** 2) / (2 * FIXED_SIGMA**2))


def interval_formula(listed: int, answer: int) -> float:
    """1 if listed == answer, else 0.5*min/max (0 when either is 0)."""
    if listed == answer:
        return 1.0
    return 0.5 * min(listed, answer) / max(listed, answer)


# --- the rewards (TRL reward functions) ----------------------------------------------------------


def count_hybrid(completions, **columns) -> list[float | None]:
    """exp(-(e/(g+0.1))^2 / (2*0.2^2)) + 0.5*[e <= 1]; unparseable 0; gt None -> None."""
    return _count_reward(completions, columns, hybrid_formula)


def count(completions, **columns) -> list[float | None]:
    """Normalized Gaussian exp(-e^2 / (2*max(1, 0.2*g)^2)); unparseable 0; gt None -> None."""
    return _count_reward(completions, columns, gaussian_formula)


def count_linear(completions, **columns) -> list[float | None]:
    """max(0, 1 - e/max(g, 1)); unparseable 0; gt None -> None."""
    return _count_reward(completions, columns, linear_formula)


def count_fixed(completions, **columns) -> list[float | None]:
    """exp(-e^2 / 18); unparseable 0; gt None -> None."""
    return _count_reward(completions, columns, fixed_formula)


def count_exact(completions, **columns) -> list[float | None]:
    """1 if the answer equals the ground truth else 0; unparseable 0; gt None -> None."""
    return _count_reward(completions, columns, exact_formula)


def count_interval(completions, **columns) -> list[float | None]:
    """1 if #listed reps == answer else 0.5*min/max; 0 if no answer or nothing listed (no gt needed)."""
    rewards: list[float | None] = []
    for c, variant in zip(completions, _variants(completions, columns)):
        parsed = parse_completion(c, variant)
        if parsed.count is None or not parsed.items:
            rewards.append(0.0)
        else:
            rewards.append(interval_formula(parsed.listed_count, parsed.count))
    return rewards


def count_format(completions, **columns) -> list[float | None]:
    """1 if exactly <think>...</think> then <answer>...</answer> (per prompt_variant), else 0."""
    variants = _variants(completions, columns)
    return [1.0 if format_exact(c, v) else 0.0 for c, v in zip(completions, variants)]


REWARDS: dict[str, RewardFn] = {
    "count_hybrid": count_hybrid,
    "count": count,
    "count_linear": count_linear,
    "count_fixed": count_fixed,
    "count_exact": count_exact,
    "count_interval": count_interval,
    "count_format": count_format,
}
DEFAULT_REWARD = "count_hybrid"


# --- weights -------------------------------------------------------------------------------------


def parse_reward_spec(spec: str | Sequence[str]) -> list[tuple[str, float]]:
    """``"count_hybrid:1.0,count_format:0.5"`` -> ``[("count_hybrid", 1.0), ("count_format", 0.5)]``.

    Also accepts a list of ``name[:weight]`` entries (e.g. from YAML). A missing weight is 1.0.
    Weights must be finite and non-negative; names must be in REWARDS and appear once.
    """
    entries = spec.split(",") if isinstance(spec, str) else list(spec)
    known = ", ".join(REWARDS)
    out: list[tuple[str, float]] = []
    for raw in entries:
        if not isinstance(raw, str):
            raise ActRepError(f"reward spec entry {raw!r} is not a 'name[:weight]' string")
        entry = raw.strip()
        if not entry:
            raise ActRepError(
                f"empty entry in reward spec {spec!r}; expected 'name[:weight],...' with names from: {known}"
            )
        name, sep, weight_text = entry.partition(":")
        name = name.strip()
        if name not in REWARDS:
            raise ActRepError(f"unknown reward {name!r} in reward spec {spec!r}; known rewards: {known}")
        if any(name == seen for seen, _ in out):
            raise ActRepError(f"reward {name!r} appears twice in reward spec {spec!r}")
        weight = 1.0
        if sep:
            try:
                weight = float(weight_text.strip())
            except ValueError:
                raise ActRepError(f"reward {name!r}: weight {weight_text.strip()!r} is not a number") from None
            if not math.isfinite(weight) or weight < 0:
                raise ActRepError(f"reward {name!r}: weight {weight_text.strip()!r} must be a finite number >= 0")
        out.append((name, weight))
    if not out:
        raise ActRepError(f"empty reward spec; known rewards: {known}")
    return out


def score(
    completions, specs: str | Sequence[str] | Sequence[tuple[str, float]], **columns
) -> tuple[list[float | None], dict[str, list[float | None]]]:
    """Weighted sum of rewards: ``(total per completion, {name: per-completion rewards})``.

    ``specs`` is a spec string/list (parse_reward_spec) or already parsed ``(name, weight)`` pairs.
    A completion's total is None if any component is None for it (a partial sum would not be
    comparable with the other completions' totals).
    """
    if isinstance(specs, str) or (specs and isinstance(next(iter(specs)), str)):
        specs = parse_reward_spec(specs)
    else:
        specs = parse_reward_spec([f"{name}:{weight}" for name, weight in specs])
    per_reward = {name: REWARDS[name](completions, **columns) for name, _ in specs}
    total: list[float | None] = []
    for i in range(len(completions)):
        parts = [(weight, per_reward[name][i]) for name, weight in specs]
        total.append(None if any(r is None for _, r in parts) else sum(w * r for w, r in parts))
    return total, per_reward
