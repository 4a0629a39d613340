"""Benchmark of the training-free periodicity counter (issue 12) against the naive reference row.

    python -m bench.periodicity                                  # hard + easy, 150 clips each, seed 7, 2 workers
    python -m bench.periodicity --presets hard --n 60 --seed 100 --tag tune   # the tuning set (never reported)
    python -m bench.periodicity --no_speed --no_pseudo           # counts only
    python -m bench.periodicity --presets --stickfigure_seed 3   # only the stick-figure set of another seed

Two independent sources: `actrep synth` presets, and the stick-figure renderer of bench/stickfigure
(another body model, motions, distractors and camera, written without looking at actrep.synth; 40
clips, half easy and half hard, plus 8 clips without repetitions, seed 2 by default; the counter
was tuned on seed 1). Clips without repetitions report how often the answer is 0 or uncertain.

Renders the synthetic sets it needs with `actrep synth` (cached under --data_root, one directory per
preset/seed/n), then per clip: decodes the frames once the way `actrep eval --baseline` does, counts
them with the periodicity counter (told, like eval, whether the clip's action alternates: see
docs/periodicity.md) and with the naive baseline, and (pseudo-intervals) runs the counter
constrained to the true count and scores its intervals against the true ones (mean IoU of the k-th
with the k-th interval). Metrics are `actrep.metrics.compute_metrics` (strict: MAE
is |p - g| / (g + 0.1), the TransRAC convention), overall, by count bin and by motion family.
Speed: `count_video` on a rendered 30 fps 640x480 clip, decode included, with OpenCV limited to
--threads threads. Writes <out>/periodicity-<tag>.json and .md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))



def parse(argv):
    p = argparse.ArgumentParser(prog="python -m bench.periodicity", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--presets", nargs="*", default=["hard", "easy"], choices=["easy", "medium", "hard"])
    p.add_argument("--n", type=int, default=150, help="clips per preset")
    p.add_argument("--seed", type=int, default=7, help="synth seed of the reported sets (tuning used seeds 100 and 101)")
    p.add_argument("--workers", type=int, default=2, help="clips counted in parallel (processes)")
    p.add_argument("--threads", type=int, default=2, help="OpenCV threads in the speed test")
    p.add_argument("--data_root", default="/tmp/actrep-periodicity")
    p.add_argument("--out", default=str(ROOT / "bench" / "results"))
    p.add_argument("--tag", default=None, help="result file name: periodicity-<tag> (default: the date)")
    p.add_argument("--no_pseudo", action="store_true", help="skip the constrained (count given) runs")
    p.add_argument("--no_speed", action="store_true", help="skip the 30 fps 480p speed test")
    p.add_argument("--stickfigure_n", type=int, default=40, help="stick-figure clips with repetitions (0: none)")
    p.add_argument("--stickfigure_negatives", type=int, default=8, help="stick-figure clips without repetitions")
    p.add_argument("--stickfigure_seed", type=int, default=2, help="stick-figure seed (tuning used seed 1)")
    return p.parse_args(argv)


def synth(out: Path, preset: str, n: int, seed: int, extra: list[str] = ()) -> Path:
    if not (out / "test.csv").exists():
        cmd = [sys.executable, "-m", "actrep", "synth", "--out", str(out), "--n", str(n), "--seed", str(seed),
               "--preset", preset, "--splits", "test=1", "--workers", "2", "--quiet", "--overwrite", *extra]
        subprocess.run(cmd, check=True, cwd=ROOT)
    return out


def one_clip(job):
    """Count one clip with both counters (and constrained); returns a record."""
    from actrep.descriptions import is_alternating
    from actrep.metrics import mean_interval_iou
    from actrep.periodicity import PeriodicityConfig, count_repetitions, naive_count
    from actrep.periodicity.reader import read_frames
    from actrep.video import probe

    sample, pseudo = job
    cfg = PeriodicityConfig()
    info = probe(sample.video_path)
    step = max(1, int(round(info.fps / cfg.max_fps)))
    frames, info, _ = read_frames(sample.video_path, step, cfg.size, None, None, info)
    fps = info.fps / step
    rec = {"video_id": sample.video_id, "action": sample.action, "count": sample.count,
           "duration_s": round(len(frames) * step / info.fps, 2)}
    # as `actrep eval --baseline periodicity` does: the row's action says whether it alternates
    alternating = is_alternating(sample.action, sample.video_path)
    t = time.perf_counter()
    res = count_repetitions(frames, fps, cfg, alternating=alternating)
    rec.update(pred=int(res.count), seconds=round(time.perf_counter() - t, 3), confidence=round(res.confidence, 3),
               uncertain=bool(res.uncertain), no_motion=bool(res.debug.get("no_motion")),
               periodicity=res.debug.get("periodicity"), margin=res.debug.get("margin"))
    if "mirror" in res.debug:
        rec["mirror"] = {k: (round(v, 3) if math.isfinite(v) else None) if isinstance(v, float) else v  # inf: no pair
                         for k, v in res.debug["mirror"].items()}
    t = time.perf_counter()
    rec.update(naive=int(naive_count(frames, fps).count), naive_seconds=round(time.perf_counter() - t, 3))
    if pseudo and sample.count > 0:
        true = sample.intervals_seconds(info.fps)
        fixed = count_repetitions(frames, fps, cfg, count=sample.count)
        rec.update(pseudo_iou=round(mean_interval_iou(fixed.intervals, true), 4), pseudo_count=int(fixed.count))
        rec["free_iou"] = round(mean_interval_iou(res.intervals, true), 4)
    return rec


def stickfigure(out: Path, n: int, negatives: int, seed: int) -> Path:
    if not (out / "test.csv").exists():
        cmd = [sys.executable, "-m", "bench.stickfigure", "--out", str(out), "--n", str(n), "--seed", str(seed),
               "--negatives", str(negatives), "--workers", "2"]
        subprocess.run(cmd, check=True, cwd=ROOT)
    return out


def evaluate_set(data: Path, workers: int, pseudo: bool) -> list[dict]:
    from multiprocessing import get_context

    from actrep.manifest import load_samples

    samples = load_samples(data)
    jobs = [(s, pseudo) for s in samples]
    if workers <= 1:
        return [one_clip(j) for j in jobs]
    with get_context("spawn").Pool(workers, initializer=_single_thread) as pool:
        return list(pool.imap(one_clip, jobs, chunksize=2))


def _single_thread():
    import cv2

    cv2.setNumThreads(1)


def speed_test(root: Path, threads: int) -> dict:
    """count_video on a 30 fps 640x480 synthetic clip: seconds of video per second of compute."""
    import cv2

    from actrep.periodicity import count_video
    from actrep.video import probe

    data = synth(root / "speed-480p30", "medium", 1, 3, ["--fps", "30", "--size", "640x480", "--duration", "40",
                                                         "--min_count", "12", "--max_count", "12"])
    video = next((data / "video").rglob("*.mp4"))
    cv2.setNumThreads(threads)
    info = probe(video)
    count_video(video)  # warm-up (imports, codec)
    t = time.perf_counter()
    res = count_video(video)
    seconds = time.perf_counter() - t
    duration = info.duration
    return {"video": f"{info.width}x{info.height} {info.fps:g} fps, {duration:.1f} s", "threads": threads,
            "seconds": round(seconds, 2), "x_real_time": round(duration / seconds, 1), "count": res.count, "true": 12}


def summarise(records: list[dict], key: str) -> dict:
    from actrep.metrics import compute_metrics

    return compute_metrics([{"count": r["count"], "pred": r[key], "action": r["action"]} for r in records])


def confident_line(records: list[dict]) -> str:
    """How often a count the counter calls confident is within one of the truth."""
    sure = [r for r in records if not r.get("uncertain")]
    within = sum(abs(r["pred"] - r["count"]) <= 1 for r in sure)
    unsure = [r for r in records if r.get("uncertain")]
    return (f"Confident counts: {len(sure)} of {len(records)}, {within / max(1, len(sure)):.3f} within one of the truth; "
            f"uncertain ones: {sum(abs(r['pred'] - r['count']) <= 1 for r in unsure) / max(1, len(unsure)):.3f} within one.")


def stickfigure_block(records: list[dict], seed: int) -> dict:
    """Metrics of the stick-figure set: clips with repetitions overall, by preset and exercise; those without."""
    positives = [r for r in records if r["count"] > 0]
    negatives = [r for r in records if r["count"] == 0]
    preset = lambda r: r["video_id"].rsplit("_", 2)[-2]  # noqa: E731  (<exercise>_<preset>_<index>.mp4)
    return {"n": len(positives), "negatives": len(negatives), "seed": seed,
            "periodicity": summarise(positives, "pred"), "naive": summarise(positives, "naive"),
            "by_preset": {p: summarise([r for r in positives if preset(r) == p], "pred") for p in ("easy", "hard")},
            "negatives_zero_or_uncertain": sum(r["pred"] == 0 or r["uncertain"] for r in negatives) / max(1, len(negatives)),
            "confident": confident_line(positives), "records": records}


def _f(x, digits=3):
    return "-" if x is None else f"{x:.{digits}f}"


def markdown(result: dict) -> str:
    lines = [f"# Periodicity counter benchmark ({result['date']})", "",
             f"Command: `{result['command']}`  ", f"Machine: {result['machine']}", ""]
    for preset, block in result["presets"].items():
        per, nai = block["periodicity"], block["naive"]
        lines += [f"## {preset} preset: {block['n']} clips, synth seed {block['seed']}", "",
                  "| counter | MAE | OBO | exact | abs MAE | s/clip |", "|---|---|---|---|---|---|",
                  f"| periodicity | {_f(per['mae'])} | {_f(per['obo'])} | {_f(per['exact'])} | {_f(per['abs_mae'], 2)} "
                  f"| {_f(block['seconds_per_clip'], 2)} |",
                  f"| naive (PCA peaks) | {_f(nai['mae'])} | {_f(nai['obo'])} | {_f(nai['exact'])} | {_f(nai['abs_mae'], 2)} "
                  f"| {_f(block['naive_seconds_per_clip'], 3)} |", ""]
        lines += [confident_line(block["records"]), ""]
        mirrored = [r["mirror"]["verdict"] for r in block["records"] if "mirror" in r]
        if mirrored:
            lines += [f"Alternating actions (mirror test, {len(mirrored)} clips): " + ", ".join(
                f"{v} {mirrored.count(v)}" for v in ("halves", "one-way", "unresolved")) + ".", ""]
        if "pseudo_iou" in block:
            lines += [f"Pseudo-intervals (count given): mean IoU {block['pseudo_iou']:.3f} "
                      f"(free counter's intervals: {block['free_iou']:.3f}).", ""]
        for title, key in (("count bin", "by_bin"), ("motion family", "by_action")):
            lines += [f"By {title}:", "", f"| {title} | n | periodicity MAE | periodicity OBO | naive MAE | naive OBO |"
                      + (" pseudo IoU |" if "pseudo_iou" in block else ""),
                      "|---|---|---|---|---|---|" + ("---|" if "pseudo_iou" in block else "")]
            for name, m in per[key].items():
                row = f"| {name} | {m['n']} | {_f(m['mae'])} | {_f(m['obo'])} | {_f(nai[key][name]['mae'])} | {_f(nai[key][name]['obo'])} |"
                if "pseudo_iou" in block:
                    row += f" {_f(block['pseudo_iou_' + key].get(name))} |"
                lines.append(row)
            lines.append("")
    if result.get("stickfigure"):
        sf = result["stickfigure"]
        per, nai = sf["periodicity"], sf["naive"]
        lines += [f"## Stick figures (bench/stickfigure): {sf['n']} clips + {sf['negatives']} without repetitions, seed {sf['seed']}",
                  "", "| counter | MAE | OBO | exact | abs MAE |", "|---|---|---|---|---|",
                  f"| periodicity | {_f(per['mae'])} | {_f(per['obo'])} | {_f(per['exact'])} | {_f(per['abs_mae'], 2)} |",
                  f"| naive (PCA peaks) | {_f(nai['mae'])} | {_f(nai['obo'])} | {_f(nai['exact'])} | {_f(nai['abs_mae'], 2)} |", "",
                  sf["confident"], "", "| preset / exercise | n | MAE | OBO | exact |", "|---|---|---|---|---|"]
        for name, m in [*sf["by_preset"].items(), *per["by_action"].items()]:
            lines.append(f"| {name} | {m['n']} | {_f(m['mae'])} | {_f(m['obo'])} | {_f(m['exact'])} |")
        negatives = [r for r in sf["records"] if r["count"] == 0]
        lines += ["", "Clips without repetitions (count, uncertain): " +
                  ", ".join(f"{r['video_id'].split('_none')[0]} {r['pred']}{'?' if r['uncertain'] else ''}" for r in negatives), ""]
    if result.get("speed"):
        s = result["speed"]
        lines += ["## Speed", "", f"`count_video` on {s['video']} (decode included, {s['threads']} OpenCV threads): "
                  f"{s['seconds']} s, **{s['x_real_time']}x real time** (count {s['count']}, true {s['true']}).", ""]
    lines += ["## Goals (issues 12 and 18)", "", "| goal | measured | met |", "|---|---|---|"]
    for goal, value, ok in result["goals"]:
        lines.append(f"| {goal} | {value} | {'yes' if ok else 'no'} |")
    return "\n".join(lines) + "\n"


def write(result: dict, out: Path, tag: str) -> None:
    (out / f"periodicity-{tag}.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / f"periodicity-{tag}.md").write_text(markdown(result))


def main(argv=None) -> int:
    import numpy as np

    args = parse(argv if argv is not None else sys.argv[1:])
    root, out = Path(args.data_root), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tag = args.tag or dt.date.today().isoformat()
    result = {"date": dt.datetime.now().isoformat(timespec="seconds"), "command": "python -m bench.periodicity " + " ".join(argv or sys.argv[1:]),
              "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, workers {args.workers}",
              "presets": {}, "goals": []}
    for preset in args.presets:
        data = synth(root / f"{preset}-s{args.seed}-n{args.n}", preset, args.n, args.seed)
        started = time.perf_counter()
        records = evaluate_set(data, args.workers, not args.no_pseudo)
        block = {"n": len(records), "seed": args.seed, "wall_s": round(time.perf_counter() - started, 1),
                 "periodicity": summarise(records, "pred"), "naive": summarise(records, "naive"),
                 "seconds_per_clip": float(np.mean([r["seconds"] for r in records])),
                 "naive_seconds_per_clip": float(np.mean([r["naive_seconds"] for r in records])),
                 "video_seconds_per_clip": float(np.mean([r["duration_s"] for r in records])), "records": records}
        if not args.no_pseudo:
            rows = [r for r in records if "pseudo_iou" in r]
            block["pseudo_iou"] = float(np.mean([r["pseudo_iou"] for r in rows]))
            block["free_iou"] = float(np.mean([r["free_iou"] for r in rows]))
            block["pseudo_exact_count"] = all(r["pseudo_count"] == r["count"] for r in rows)
            from actrep.metrics import bin_label

            for key, name_of in (("by_bin", lambda r: bin_label(r["count"])), ("by_action", lambda r: r["action"])):
                groups: dict = {}
                for r in rows:
                    groups.setdefault(name_of(r), []).append(r["pseudo_iou"])
                block["pseudo_iou_" + key] = {k: float(np.mean(v)) for k, v in groups.items()}
        result["presets"][preset] = block
        write(result, out, tag)  # after every section: a later failure keeps what was measured
        per = block["periodicity"]
        print(f"{preset}: periodicity MAE {per['mae']:.3f} OBO {per['obo']:.3f} | naive MAE {block['naive']['mae']:.3f} "
              f"OBO {block['naive']['obo']:.3f}" + (f" | pseudo IoU {block['pseudo_iou']:.3f}" if "pseudo_iou" in block else ""),
              flush=True)
    if args.stickfigure_n:
        name = f"stickfigure-s{args.stickfigure_seed}-n{args.stickfigure_n}-neg{args.stickfigure_negatives}"
        data = stickfigure(root / name, args.stickfigure_n, args.stickfigure_negatives, args.stickfigure_seed)
        result["stickfigure"] = stickfigure_block(evaluate_set(data, args.workers, False), args.stickfigure_seed)
        write(result, out, tag)
        sf = result["stickfigure"]["periodicity"]
        print(f"stickfigure: periodicity MAE {sf['mae']:.3f} OBO {sf['obo']:.3f}", flush=True)
    if not args.no_speed:
        result["speed"] = speed_test(root, args.threads)
        print(f"speed: {result['speed']}", flush=True)
    goals = result["goals"]
    if "hard" in result["presets"]:
        h = result["presets"]["hard"]["periodicity"]
        goals += [("hard OBO >= 0.88", f"{h['obo']:.3f}", h["obo"] >= 0.88), ("hard MAE <= 0.15", f"{h['mae']:.3f}", h["mae"] <= 0.15)]
    if "easy" in result["presets"]:
        e = result["presets"]["easy"]["periodicity"]
        worst = min(e["by_action"].items(), key=lambda kv: kv[1]["obo"])
        goals += [("easy OBO >= 0.95", f"{e['obo']:.3f}", e["obo"] >= 0.95),
                  ("easy: every family OBO >= 0.85", f"lowest {worst[0]} {worst[1]['obo']:.3f}", worst[1]["obo"] >= 0.85)]
    if "stickfigure" in result:
        sf = result["stickfigure"]
        goals += [("stick figures OBO >= 0.85", f"{sf['periodicity']['obo']:.3f}", sf["periodicity"]["obo"] >= 0.85),
                  ("stick figures MAE <= 0.15", f"{sf['periodicity']['mae']:.3f}", sf["periodicity"]["mae"] <= 0.15)]
        if sf["negatives"]:
            goals.append(("clips without repetitions: 0 or uncertain", f"{sf['negatives_zero_or_uncertain']:.2f}",
                          sf["negatives_zero_or_uncertain"] == 1.0))
    for preset, block in result["presets"].items():
        if "pseudo_iou" in block:
            goals.append((f"pseudo-interval mean IoU >= 0.7 ({preset})", f"{block['pseudo_iou']:.3f}", block["pseudo_iou"] >= 0.7))
    if result.get("speed"):
        x = result["speed"]["x_real_time"]
        goals.append((f"speed >= 10x real time, 30 fps 480p, {args.threads} threads", f"{x}x", x >= 10))
    write(result, out, tag)
    print(markdown(result).split("## Goals")[1] if goals else "")
    print(f"wrote {out}/periodicity-{tag}.json and .md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
