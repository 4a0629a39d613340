"""The dataset writer behind `python -m bench.stickfigure`:

    python -m bench.stickfigure --out DIR --n 40 --seed 1 [--presets easy hard] [--negatives 8] [--workers 2]

Writes a RepCount-A folder: DIR/test.csv (type,name,count,L1,L2,...: repetition k runs from frame
L(2k-1) to frame L(2k)), DIR/video/test/<name>.mp4 (H.264) and DIR/meta/test.jsonl (every random
choice of each clip). Exercises take turns and presets alternate, so any n is balanced; clip i of a
seed is the same whatever n is. `--negatives K` adds K clips without repetitions (count 0).
"""

from __future__ import annotations

import argparse
import csv
import json
from multiprocessing import get_context
from pathlib import Path

def clip_job(job):
    """(index, preset, exercise, seed, max_count, out) -> the CSV row and meta record of one rendered clip."""
    import av
    import numpy as np

    from bench.stickfigure.scene import boundaries, render, sample_clip

    index, preset, exercise, seed, max_count, out = job
    rng = np.random.default_rng([seed, index])
    spec = sample_clip(rng, preset, exercise, seed=seed * 100_003 + index, max_count=max_count)
    name = f"{exercise.replace('none:', 'none_')}_{preset}_{index:04d}.mp4"
    path = Path(out) / "video" / "test" / name
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=int(spec.fps))
        stream.width, stream.height, stream.pix_fmt = spec.width, spec.height, "yuv420p"
        stream.options = {"crf": "23", "preset": "veryfast"}
        for frame in render(spec):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    bounds = boundaries(spec)
    row = [exercise.replace("none:", "none_"), name, len(bounds)] + [b for pair in bounds for b in pair]
    return row, {"name": name, **spec.to_json()}


def main(argv=None) -> int:
    from bench.stickfigure.body import EXERCISES
    from bench.stickfigure.scene import NEGATIVES

    p = argparse.ArgumentParser(prog="python -m bench.stickfigure", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--n", type=int, default=40, help="clips with repetitions")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--presets", nargs="+", default=["easy", "hard"], choices=["easy", "hard"])
    p.add_argument("--negatives", type=int, default=0, help="clips without repetitions (count 0)")
    p.add_argument("--max_count", type=int, default=25, help="most repetitions in a clip")
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args(argv)
    out = Path(args.out)
    (out / "video" / "test").mkdir(parents=True, exist_ok=True)
    (out / "meta").mkdir(exist_ok=True)
    names = list(EXERCISES)
    jobs = [(i, args.presets[(i // len(names)) % len(args.presets)], names[i % len(names)], args.seed, args.max_count, str(out))
            for i in range(args.n)]
    jobs += [(args.n + k, "none", f"none:{NEGATIVES[k % len(NEGATIVES)]}", args.seed, 0, str(out)) for k in range(args.negatives)]
    if args.workers > 1:
        with get_context("spawn").Pool(args.workers) as pool:
            results = pool.map(clip_job, jobs, chunksize=1)
    else:
        results = [clip_job(j) for j in jobs]
    width = max(len(row) for row, _ in results) - 3
    with open(out / "test.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["type", "name", "count"] + [f"L{k}" for k in range(1, width + 1)])
        writer.writerows(row + [""] * (width + 3 - len(row)) for row, _ in results)
    (out / "meta" / "test.jsonl").write_text("".join(json.dumps(meta) + "\n" for _, meta in results))
    counts = [row[2] for row, _ in results]
    print(f"wrote {len(results)} clips to {out} (counts {min(counts)}-{max(counts)}, {sum(counts)} repetitions)")
    return 0
