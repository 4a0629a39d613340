"""`actrep rcs`: Random Count Sampling, sub-clips of whole repetitions that rebalance the counts.

Counting data is long-tailed. A video annotated with N reps gives clips of k whole reps, from the
first frame of rep j to the last frame of rep j+k-1 (count k), with k drawn from strata (count bins
`1-5,6-10,11-20,21+`, binned as in actrep.metrics, or ratio bins of N `0-0.25N,...,0.75N-N`)
so that the output approaches a target histogram. Quotas: stratum s may hold target share w_s of
(slots + kept originals); slots (`per_video` per video) are filled in rounds, the most constrained
videos first, each with the feasible stratum furthest below its quota; a slot whose strata are all
full stays empty. docs/data.md describes the algorithm and options.

Invariants: a clip never holds part of another rep (cuts only between non-overlapping reps; padding
only into idle gaps, never past the video or source clip); boundaries stay in FILE frames, intervals
are on the clip clock, clip_start/clip_end = frame/fps (round(clip_start*fps) gives the frame back);
provenance in extra["rcs"]; no CoT (a whole video's CoT is wrong for a clip: run `actrep cot` after).
On the fly (GRPO redraws each epoch): `rcs_epoch` / `rcs_clips`, pure given the samples' fps.

Over 400 lines on purpose: the sampler, its histogram and the command that writes both are one
algorithm whose invariants above hold across all of it; apart, they would be read apart.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from actrep.config import option, parse_config
from actrep.manifest import Sample, _check_boundaries, load_manifest
from actrep.errors import ActRepError
from actrep.metrics import DEFAULT_BINS, bin_label, bin_labels


@dataclass
class RCSConfig:
    strata: str = option("1-5,6-10,11-20,21+",
                         help="Count bins (1-5,6-10,11-20,21+) or ratio bins of N (0-0.25N,0.25N-0.5N,0.5N-0.75N,0.75N-N).")
    per_video: int = option(1, help="Clips cut from each annotated video (fewer when it has fewer distinct whole-rep clips).")
    seed: int = option(0, help="Random seed: the same seed gives the same clips.")
    target: str = option("uniform", help="Target share per stratum: uniform, or a YAML/JSON file {stratum label: weight}.")
    keep_originals: bool = option(False, help="Also keep the source rows (they count toward the target histogram).")
    pad_max: float = option(0.0, help="Pad each end by a random 0..pad_max seconds, only into the idle gap next to the clip.")


@dataclass(frozen=True)
class Stratum:
    label: str
    lo: Fraction  # count: the smallest k; ratio: a in a*N < k
    hi: Fraction | None  # count: the largest k (None: open); ratio: b in k <= b*N
    ratio: bool

    def ks(self, n: int) -> range:
        """The clip counts k (1..n) of this stratum for a video of n reps."""
        if self.ratio:
            return range(math.floor(self.lo * n) + 1, math.floor(self.hi * n) + 1)
        return range(max(int(self.lo), 1), (n if self.hi is None else min(int(self.hi), n)) + 1)


def _count_strata(items: list[str], text: str) -> list[Stratum]:
    bounds = []
    for item in items:
        m = re.fullmatch(r"(\d+)(?:-(\d+)|(\+))?", item)
        if not m:
            raise ActRepError(f"rcs: stratum {item!r} of --strata {text!r} is not A-B, A or A+")
        lo = int(m[1])
        bounds.append((lo, None if m[3] else int(m[2] or lo)))
    for i, (lo, hi) in enumerate(bounds):
        if lo < 1 or (hi is not None and hi < lo):
            raise ActRepError(f"rcs: --strata {text!r}: stratum {items[i]!r} must hold counts >= 1")
        if i + 1 < len(bounds) and (hi is None or bounds[i + 1][0] != hi + 1):
            raise ActRepError(f"rcs: --strata {text!r}: strata must be contiguous and ascending, only the last open (A+)")
    edges = tuple(lo for lo, _ in bounds)
    last = bounds[-1][1]
    labels = bin_labels(edges if last is None else edges + (last + 1,))[: len(edges)]
    return [Stratum(label, Fraction(lo), None if hi is None else Fraction(hi), False) for label, (lo, hi) in zip(labels, bounds)]


def _ratio(part: str, text: str) -> Fraction:
    p = part.strip().lower()
    try:
        if p.endswith("n"):
            return Fraction(p[:-1].strip() or "1")
        if Fraction(p) == 0:
            return Fraction(0)
    except ValueError:
        pass
    raise ActRepError(f"rcs: --strata {text!r}: {part!r} is not a multiple of N such as 0.25N (or 0)")


def _ratio_label(x: Fraction) -> str:
    return "0" if x == 0 else "N" if x == 1 else f"{float(x):g}N"


def _ratio_strata(items: list[str], text: str) -> list[Stratum]:
    out = []
    for item in items:
        a, dash, b = item.partition("-")
        if not dash:
            raise ActRepError(f"rcs: --strata {text!r}: ratio stratum {item!r} is not aN-bN")
        lo, hi = _ratio(a, text), _ratio(b, text)
        if not 0 <= lo < hi <= 1 or (out and out[-1].hi != lo):
            raise ActRepError(f"rcs: --strata {text!r}: ratio strata need 0 <= a < b <= 1, contiguous and ascending")
        out.append(Stratum(f"{_ratio_label(lo)}-{_ratio_label(hi)}", lo, hi, True))
    return out


def parse_strata(text: str) -> list[Stratum]:
    """`1-5,6-10,11-20,21+` (count bins) or `0-0.25N,...,0.75N-N` (ratio bins of the source count N)."""
    items = [t.replace(" ", "") for t in str(text).split(",") if t.strip()]
    if not items:
        raise ActRepError("rcs: --strata is empty")
    ratio = ["n" in t.lower() for t in items]
    if any(ratio) != all(ratio):
        raise ActRepError(f"rcs: --strata {text!r} mixes count bins and ratio bins (of N)")
    return _ratio_strata(items, text) if all(ratio) else _count_strata(items, text)


def parse_target(target: str, strata: Sequence[Stratum]) -> np.ndarray:
    """Target share per stratum (sums to 1): `uniform`, or a YAML/JSON mapping {label: weight} (missing = 0)."""
    if target == "uniform":
        return np.full(len(strata), 1.0 / len(strata))
    import yaml

    path = Path(target)
    if not path.is_file():
        raise ActRepError(f"rcs: --target {target!r} is neither 'uniform' nor a file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ActRepError(f"{path}: not YAML/JSON ({str(err).splitlines()[0]})") from None
    if not isinstance(data, dict) or not data:
        raise ActRepError(f"{path}: expected a mapping {{stratum label: weight}}")
    labels = [s.label for s in strata]
    weights = np.zeros(len(strata))
    for key, value in data.items():
        label = str(key).replace(" ", "")
        if label not in labels:
            raise ActRepError(f"{path}: unknown stratum {key!r}; the strata are {', '.join(labels)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ActRepError(f"{path}: weight of {key!r} must be a number >= 0 (got {value!r})")
        weights[labels.index(label)] = value
    if weights.sum() <= 0:
        raise ActRepError(f"{path}: the weights sum to 0")
    return weights / weights.sum()


def stratum_index(k: int, n: int, strata: Sequence[Stratum]) -> int | None:
    """Index of the stratum of a k-rep clip of an n-rep video (None: outside every stratum)."""
    return next((i for i, s in enumerate(strata) if k in s.ks(n)), None)


def stratum_shares(samples: Sequence[Sample], strata: Sequence[Stratum]) -> np.ndarray:
    """Share of samples per stratum, plus a last entry for those outside every stratum.

    An RCS clip is placed by its count k and its source count (extra["rcs"]["source_count"]); any
    other row is a whole video (k = N).
    """
    shares = np.zeros(len(strata) + 1)
    for s in samples:
        provenance = s.extra.get("rcs")
        n = provenance.get("source_count", s.count) if isinstance(provenance, dict) else s.count
        i = stratum_index(s.count, n, strata)
        shares[len(strata) if i is None else i] += 1
    return shares / max(1, len(samples))


def target_distance(shares: np.ndarray, weights: np.ndarray) -> float:
    """Total variation distance between a stratum histogram (with its 'outside' entry) and the target."""
    return 0.5 * float(np.abs(shares[:-1] - weights).sum() + shares[-1])


# ------------------------------------------------------------------------------------- cutting


@dataclass
class _Source:
    sample: Sample
    fps: float
    bounds: list[tuple[int, int]]
    reach: list[int]  # reach[i]: the last frame any of reps 0..i covers
    first: int  # first frame a clip may use (the source clip's first frame)
    last: int | None  # last frame a clip may use; None: unknown (no padding past the last rep)
    valid: np.ndarray  # valid[p]: a clip may start/end between rep p-1 and rep p (p = 0..N)
    avail: np.ndarray  # avail[k]: distinct unused clips of k reps
    used: set

    def feasible(self, stratum: Stratum) -> bool:
        r = stratum.ks(len(self.bounds))
        return r.stop > r.start and bool(self.avail[r.start : r.stop].any())


def _source(sample: Sample, num_frames: Mapping[str, int] | None) -> _Source | None:
    """Checked cutting state of an annotated sample; None when it has no reps to cut."""
    if not sample.boundaries or sample.count == 0:
        return None
    errors = [m for severity, m in _check_boundaries(sample.count, sample.boundaries) if severity == "error"]
    if errors:
        raise ActRepError(f"{sample.where}: {errors[0]}")
    if not sample.fps:
        raise ActRepError(f"{sample.where}: the frame rate of {sample.video_id} is needed to cut clips (probe the video)")
    fps, bounds, n = sample.fps, list(sample.boundaries), sample.count
    first = round(sample.clip_start * fps) if sample.clip_start is not None else 0
    frames = (num_frames or {}).get(str(sample.video_path))
    last = round(sample.clip_end * fps) if sample.clip_end is not None else (frames - 1 if frames else None)
    lo, hi = min(s for s, _ in bounds), max(e for _, e in bounds)
    if lo < first or (last is not None and hi > last):
        raise ActRepError(f"{sample.where}: repetitions span frames {lo}-{hi}, outside the video/clip (frames {first}-{last})")
    reach = np.maximum.accumulate([e for _, e in bounds])  # reach[i]: last frame of reps 0..i (overlaps nest)
    valid = np.ones(n + 1, dtype=np.int64)
    valid[1:n] = [reach[p - 1] <= bounds[p][0] for p in range(1, n)]  # overlapping reps cannot be cut apart
    # avail[k] = #{j : valid[j] and valid[j + k]}: the autocorrelation of `valid` at lag k.
    avail = np.correlate(valid, valid, "full")[n:].copy()
    avail[0] = 0
    return _Source(sample, fps, bounds, [int(e) for e in reach], first, last, valid.astype(bool), avail, set())


def _cut(src: _Source, j: int, k: int, stratum: str, pad: int, rng: np.random.Generator) -> Sample:
    b, n, fps = src.bounds, len(src.bounds), src.fps
    start, end = b[j][0], src.reach[j + k - 1]  # a valid cut: no earlier rep reaches past `end`
    lo = src.first if j == 0 else max(src.first, src.reach[j - 1] + 1)  # idle frames after the previous reps
    hi = (src.last if src.last is not None else end) if j + k == n else b[j + k][0] - 1
    first = start - int(rng.integers(0, min(pad, max(0, start - lo)) + 1))
    last = end + int(rng.integers(0, min(pad, max(0, hi - end)) + 1))
    extra = {key: v for key, v in src.sample.extra.items() if key not in ("prompt_variant", "rcs")}
    extra["rcs"] = {"source": src.sample.where, "source_count": n, "first_rep": j + 1, "k": k, "stratum": stratum,
                    "pad_s": [round((start - first) / fps, 3), round((last - end) / fps, 3)]}
    reps = b[j : j + k]
    return replace(src.sample, count=k, boundaries=reps, intervals=[((s - first) / fps, (e - first) / fps) for s, e in reps],
                   clip_start=first / fps, clip_end=last / fps, cot=None, extra=extra)


def rcs_clips(samples: Sequence[Sample], config: RCSConfig, rng: np.random.Generator,
              num_frames: Mapping[str, int] | None = None) -> list[Sample]:
    """RCS clips of `samples` (after each source when `config.keep_originals`), in input order.

    Samples need fps and file-frame boundaries; those without boundaries or with count 0 give no
    clips. `num_frames` ({str(video_path): frames}) lets clips pad into the idle tail of a video.
    """
    strata = parse_strata(config.strata)
    weights = parse_target(config.target, strata)
    if config.per_video < 0 or not config.pad_max >= 0:
        raise ActRepError(f"rcs: need per_video >= 0 and pad_max >= 0 (got {config.per_video}, {config.pad_max})")
    sources = [_source(s, num_frames) for s in samples]
    active = [i for i, src in enumerate(sources) if src is not None]
    current = np.zeros(len(strata) + 1)
    if config.keep_originals:
        current += stratum_shares(samples, strata) * len(samples)
    # Quotas: target share x output size. A stratum no video can feed gets none (its share goes to the others).
    reachable = np.array([any(sources[i].feasible(s) for i in active) for s in strata])
    weights = weights * reachable
    weights = weights / weights.sum() if weights.sum() > 0 else weights
    slots = sum(min(config.per_video, sum(int(sources[i].avail[r.start : r.stop].sum()) for r in
                                          (s.ks(len(sources[i].bounds)) for s in strata))) for i in active)
    quota = weights * (slots + (len(samples) if config.keep_originals else 0))
    tiebreak = rng.permutation(len(samples))
    order = sorted(active, key=lambda i: (sum(sources[i].feasible(s) for s in strata), tiebreak[i]))
    clips: dict[int, list[Sample]] = {}
    for _ in range(config.per_video):  # rounds of one slot per video: clips from as many videos as possible
        for i in order:
            src = sources[i]
            open_ = [si for si, s in enumerate(strata) if current[si] < quota[si] - 1e-9 and src.feasible(s)]
            if not open_:
                continue  # every stratum this video can feed has its share: the slot stays empty
            deficit = quota[open_] - current[open_]
            best = [si for si, d in zip(open_, deficit) if d >= deficit.max() - 1e-9]
            si = best[int(rng.integers(len(best)))]
            n = len(src.bounds)
            r = strata[si].ks(n)
            ks = np.flatnonzero(src.avail[r.start : r.stop] > 0) + r.start
            k = int(ks[rng.integers(len(ks))])
            starts = [int(j) for j in np.flatnonzero(src.valid[: n - k + 1] & src.valid[k:]) if (k, int(j)) not in src.used]
            j = starts[int(rng.integers(len(starts)))]
            src.used.add((k, j))
            src.avail[k] -= 1
            current[si] += 1
            pad = math.floor(config.pad_max * src.fps + 1e-9)
            clips.setdefault(i, []).append(_cut(src, j, k, strata[si].label, pad, rng))
    out = []
    for i, sample in enumerate(samples):
        if config.keep_originals:
            out.append(sample)
        out.extend(clips.get(i, []))
    return out


def rcs_epoch(samples: Sequence[Sample], config: RCSConfig, epoch: int = 0,
              num_frames: Mapping[str, int] | None = None) -> list[Sample]:
    """The clips of one epoch: `rcs_clips` with the generator seeded by (config.seed, epoch); `actrep rcs` is epoch 0."""
    return rcs_clips(samples, config, np.random.default_rng([config.seed, epoch]), num_frames)


# ------------------------------------------------------------------------------------- report + CLI


def _count_bins(strata: Sequence[Stratum]) -> tuple[int, ...]:
    """Count-histogram bins (metrics' lower edges): the count strata themselves, else metrics' defaults."""
    if strata[0].ratio:
        return DEFAULT_BINS
    edges = [int(s.lo) for s in strata] + ([int(strata[-1].hi) + 1] if strata[-1].hi is not None else [])
    return tuple(([0] if edges[0] > 0 else []) + edges)


def histograms(before: Sequence[Sample], after: Sequence[Sample], strata: Sequence[Stratum]) -> tuple[list[str], list[int], list[int]]:
    """(labels, before, after) count histograms; bins outside the strata are dropped when empty in both."""
    bins = _count_bins(strata)
    labels = bin_labels(bins)
    counts = [[sum(bin_label(s.count, bins) == label for s in rows) for label in labels] for rows in (before, after)]
    keep = [i for i, label in enumerate(labels) if counts[0][i] or counts[1][i] or label in {s.label for s in strata}]
    return [labels[i] for i in keep], [counts[0][i] for i in keep], [counts[1][i] for i in keep]


def save_histogram_png(path: Path, before, after, strata, weights) -> None:
    """Before/after count histogram and stratum shares vs the target, as a PNG (Agg; no global backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    labels, b, a = histograms(before, after, strata)
    fig = Figure(figsize=(11, 4), dpi=100)
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    x = np.arange(len(labels))
    left.bar(x - 0.2, b, 0.4, label=f"before ({len(before)} rows)", color="#9aa5b1")
    left.bar(x + 0.2, a, 0.4, label=f"after ({len(after)} rows)", color="#2f7ed8")
    left.set_xticks(x, labels)
    left.set(xlabel="repetition count", ylabel="rows", title="count histogram")
    left.legend()
    names = [s.label for s in strata]
    sb, sa = stratum_shares(before, strata)[:-1], stratum_shares(after, strata)[:-1]
    x = np.arange(len(names))
    right.bar(x - 0.27, sb, 0.27, label="before", color="#9aa5b1")
    right.bar(x, sa, 0.27, label="after", color="#2f7ed8")
    right.bar(x + 0.27, weights, 0.27, label="target", color="#f0a030")
    right.set_xticks(x, names)
    right.set(xlabel="stratum", ylabel="share of rows",
              title=f"distance to target: {target_distance(stratum_shares(before, strata), weights):.2f} -> "
                    f"{target_distance(stratum_shares(after, strata), weights):.2f}")
    right.legend()
    fig.tight_layout()
    fig.savefig(path)


def print_histograms(console, before, after, strata, weights) -> None:
    from rich.table import Table

    labels, b, a = histograms(before, after, strata)
    table = Table(title="count histogram (rows)")
    table.add_column("")
    for label in labels + ["total"]:
        table.add_column(label, justify="right")
    table.add_row("before", *map(str, b + [len(before)]))
    table.add_row("after", *map(str, a + [len(after)]))
    console.print(table)
    sb, sa = stratum_shares(before, strata), stratum_shares(after, strata)
    table = Table(title="strata (share of rows)")
    for column in ("stratum", "target", "before", "after"):
        table.add_column(column, justify="right" if column != "stratum" else "left")
    for i, s in enumerate(strata):
        table.add_row(s.label, f"{weights[i]:.1%}", f"{sb[i]:.1%}", f"{sa[i]:.1%}")
    if sb[-1] or sa[-1]:
        table.add_row("(outside)", "0.0%", f"{sb[-1]:.1%}", f"{sa[-1]:.1%}")
    console.print(table)
    console.print("distance to target (total variation over strata): "
                  f"{target_distance(sb, weights):.3f} -> {target_distance(sa, weights):.3f}")
    short = [f"{s.label} ({sa[i]:.1%} of {weights[i]:.1%})" for i, s in enumerate(strata) if sa[i] < weights[i] - 0.01]
    if short:  # said out loud because the distance can grow: the other strata still fill their quotas
        console.print(f"short of target: {', '.join(short)}. A clip holds at most its source's repetitions, so only "
                      "videos with enough of them feed these strata; --per_video lets each give more clips.")


@dataclass
class RCSArguments:
    data: str = option(None, help="Dataset: a RepCount-A folder, a .csv or a .jsonl with per-repetition boundaries.")
    videos: str | None = option(None, help="Folder the video ids are resolved against (default: the dataset's folder).")
    output_file: str = option("rcs.jsonl", help="Output JSONL; the histogram PNG goes next to it (<stem>_histogram.png).")
    splits: list[str] = option([], help="Only these splits (default: all; clips keep their source's split).")
    workers: int = option(4, help="Videos probed in parallel.")


def main(argv: list[str]) -> int:
    from rich.console import Console

    from actrep.data.cot import probe_videos, report_skips, usable_samples, write_jsonl

    args, config = parse_config([RCSArguments, RCSConfig], argv, prog="actrep rcs", positional=["data"],
                                description="Random Count Sampling: cut sub-clips of whole repetitions to rebalance the counts.")
    strata = parse_strata(config.strata)
    weights = parse_target(config.target, strata)
    manifest = load_manifest(args.data, args.videos, args.splits or None)
    infos, failures = probe_videos(manifest.samples, args.workers)
    loaded, skipped = usable_samples(manifest, infos, failures)
    num_frames = {path: info.num_frames for path, info in infos.items()}
    samples = []
    for sample in loaded:
        sample = replace(sample, fps=sample.fps or infos[str(sample.video_path)].fps)
        try:
            _source(sample, num_frames)
        except ActRepError as err:
            skipped.append((sample.where, sample.video_id, str(err).removeprefix(f"{sample.where}: ")))
            continue
        samples.append(sample)
    if not samples:
        raise ActRepError(f"{args.data}: no usable rows; nothing written")
    out = rcs_epoch(samples, config, 0, num_frames)
    if not out:
        raise ActRepError(f"{args.data}: no clip could be cut (no row with repetition boundaries, or no video can feed "
                          "a stratum the target weighs); nothing written")
    path = Path(args.output_file)
    write_jsonl(path, out)
    plot = path.with_name(path.stem + "_histogram.png")
    save_histogram_png(plot, samples, out, strata, weights)

    console = Console()
    report_skips(console, "row(s) skipped (errors)", skipped)
    uncut = sum(1 for s in samples if not s.boundaries or s.count == 0)
    if uncut:
        console.print(f"[yellow]{uncut} row(s) without repetition boundaries (or count 0) give no clips"
                      f"{' (kept as originals)' if config.keep_originals else ''}[/yellow]")
    originals = {id(s) for s in samples}
    clips = [s for s in out if id(s) not in originals]
    per_source = Counter(clip.extra["rcs"]["source"] for clip in clips)
    short = sum(1 for s in samples if s.boundaries and s.count and per_source.get(s.where, 0) < config.per_video)
    if short:
        console.print(f"{short} video(s) gave fewer than {config.per_video} clip(s): too few distinct whole-repetition clips, "
                      "or every stratum they can feed reached its quota")
    print_histograms(console, samples, out, strata, weights)
    console.print(f"wrote {len(out)} row(s) ({len(clips)} clip(s) from {len(per_source)} video(s)"
                  f"{', originals kept' if config.keep_originals else ''}) to {path}; histogram plot {plot}")
    return 0
