"""Render a whole dataset: mp4 files, RepCount-A CSVs, JSONL sidecars; parallel and deterministic.

Layout (docs/conventions.md):
    OUT/train.csv valid.csv test.csv   header `type,name,count,L1,...,Ln`, rows padded with empty cells
    OUT/video/<split>/<name>.mp4
    OUT/meta/<split>.jsonl             one VideoSpec.to_dict() per video, in index order
    OUT/meta/config.json               the options that shaped the data (not workers/quiet/overwrite)
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing as mp
import os
import time
from pathlib import Path

from actrep.config import to_dict
from actrep.errors import ActRepError
from actrep.synth.render import write_video
from actrep.synth.spec import SynthConfig, VideoSpec, parse_splits, sample_spec, split_sizes, validate

RUNTIME_OPTIONS = ("workers", "quiet", "overwrite", "output_dir")


def assignments(cfg: SynthConfig) -> list[tuple[int, str]]:
    """(index, split) of every video: contiguous index ranges in train/valid/test order."""
    out, start = [], 0
    for split, size in split_sizes(cfg.n, parse_splits(cfg.splits)).items():
        out += [(i, split) for i in range(start, start + size)]
        start += size
    return out


def csv_text(specs: list[VideoSpec]) -> str:
    """RepCount-A CSV: `type,name,count,L1..Ln`, n = the largest 2*count; shorter rows padded empty."""
    width = max((2 * s.count for s in specs), default=0)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["type", "name", "count"] + [f"L{i}" for i in range(1, width + 1)])
    for s in specs:
        bounds = [str(b) for b in s.boundaries]
        writer.writerow([s.action, s.name, str(s.count)] + bounds + [""] * (width - len(bounds)))
    return buf.getvalue()


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _job(args) -> dict:
    cfg, index, split = args
    spec = sample_spec(cfg.seed, cfg, index, split)
    write_video(spec, Path(cfg.output_dir) / "video" / split / spec.name, crf=cfg.crf, preset=cfg.x264_preset)
    return spec.to_dict()


def _init_worker() -> None:
    import cv2

    cv2.setNumThreads(1)


def _prepare_out(cfg: SynthConfig, splits: list[str]) -> Path:
    out = Path(cfg.output_dir)
    if not cfg.output_dir:
        raise ActRepError("synth: --out DIR is required")
    if out.exists() and not out.is_dir():
        raise ActRepError(f"synth: --out {out} exists and is not a directory")
    existing = [p for p in ("train.csv", "valid.csv", "test.csv", "meta", "video") if (out / p).exists()]
    if existing and not cfg.overwrite:
        raise ActRepError(f"synth: {out} already holds a dataset ({', '.join(existing)}); pass --overwrite to replace it")
    if existing:
        for name in ("train.csv", "valid.csv", "test.csv"):
            (out / name).unlink(missing_ok=True)
        for split in ("train", "valid", "test"):
            (out / "meta" / f"{split}.jsonl").unlink(missing_ok=True)
            for mp4 in sorted((out / "video" / split).glob("*.mp4")):
                mp4.unlink()
    for split in splits:
        (out / "video" / split).mkdir(parents=True, exist_ok=True)
    return out


def write_dataset(cfg: SynthConfig, progress: bool | None = None) -> dict:
    """Render ``cfg.n`` videos into ``cfg.output_dir``; returns a summary (counts, timings, paths)."""
    validate(cfg)
    jobs = assignments(cfg)
    splits = list(parse_splits(cfg.splits))
    out = _prepare_out(cfg, splits)
    workers = cfg.workers or os.cpu_count() or 1
    workers = max(1, min(workers, len(jobs)))
    show = (not cfg.quiet) if progress is None else progress
    t0 = time.perf_counter()
    results: list[dict] = []
    args = [(cfg, i, s) for i, s in jobs]
    if workers == 1:
        _run(map(_job, args), len(args), results, show)
    else:
        # Never plain fork: OpenCV's thread pool in this process would deadlock forked children.
        methods = mp.get_all_start_methods()
        ctx = mp.get_context("forkserver" if "forkserver" in methods else "spawn")
        if ctx.get_start_method() == "forkserver":
            ctx.set_forkserver_preload(["actrep.synth.dataset"])
        with ctx.Pool(workers, initializer=_init_worker) as pool:
            chunk = max(1, min(8, len(args) // (workers * 8)))
            _run(pool.imap_unordered(_job, args, chunksize=chunk), len(args), results, show)
    elapsed = time.perf_counter() - t0
    results.sort(key=lambda d: d["index"])
    by_split: dict[str, list[dict]] = {s: [] for s in splits}
    for d in results:
        by_split[d["split"]].append(d)
    for split, rows in by_split.items():
        _write_text(out / f"{split}.csv", csv_text([VideoSpec.from_dict(d) for d in rows]))
        _write_text(out / "meta" / f"{split}.jsonl", "".join(json.dumps(d, sort_keys=True) + "\n" for d in rows))
    options = {k: v for k, v in to_dict(cfg).items() if k not in RUNTIME_OPTIONS}
    _write_text(out / "meta" / "config.json", json.dumps({"generator": "actrep synth", "options": options}, indent=2) + "\n")
    frames = sum(d["frames"] for d in results)
    summary = {
        "out": str(out), "videos": len(results), "frames": frames, "workers": workers,
        "seconds": round(elapsed, 2), "videos_per_s": round(len(results) / elapsed, 2) if elapsed else None,
        "frames_per_s": round(frames / elapsed, 1) if elapsed else None,
        "splits": {s: len(r) for s, r in by_split.items()},
        "actions": dict(sorted({a: sum(d["action"] == a for d in results) for a in {d["action"] for d in results}}.items())),
        "counts": {"min": min(d["count"] for d in results), "max": max(d["count"] for d in results),
                   "mean": round(sum(d["count"] for d in results) / len(results), 2)},
        "video_seconds": round(sum(d["duration_s"] for d in results), 1),
    }
    return summary


def _run(iterator, total: int, results: list, show: bool) -> None:
    if not show:
        results.extend(iterator)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = [TextColumn("synth"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
               TimeElapsedColumn(), TimeRemainingColumn()]
    t0 = time.perf_counter()
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task("render", total=total, rate="")
        for d in iterator:
            results.append(d)
            dt = max(1e-9, time.perf_counter() - t0)
            bar.update(task, advance=1, rate=f"{len(results) / dt:.1f} videos/s")

