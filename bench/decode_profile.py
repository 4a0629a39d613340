"""Where one rollout decode step spends its time: a kernel-level profile of the fast decoder (issue 19).

The end-to-end benchmark measures 12.4 ms per token at 16 rows (2 videos x G = 8) for the 3B model,
~5x the HBM floor (reading the bf16 weights once per step). This profiles the captured CUDA graph of
one decode step under Nsight Compute, kernel by kernel, and says which kernels take the time and how
close each runs to the memory bandwidth:

    ncu --nvtx --nvtx-include "decode_profile/" --clock-control none --csv --page raw \\
        --metrics gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum,\\
dram__throughput.avg.pct_of_peak_sustained_elapsed,sm__throughput.avg.pct_of_peak_sustained_elapsed \\
        --log-file /tmp/res/ncu.csv python -m bench.decode_profile run --out /tmp/res
    python -m bench.decode_profile summarize /tmp/res/ncu.csv --timing /tmp/res/decode_timing.json --out bench/results

`run` builds the random-init model, prefills the videos, decodes once to capture the graph, times whole
generations (outside the profiled range), then replays `--profiled_steps` graph steps inside the NVTX
range "decode_profile" (on a CPU: eager steps, a smoke test). Under ncu each of a step's ~950 kernels
is replayed per metric pass: one step took ~5 minutes on an H100 (2026-12-05), and the timing `run`
prints under ncu is the profiler's, not the decoder's (take it from a run without ncu or from bench.e2e). `summarize` turns ncu's CSV into a table per
kernel and per category (matrix products, fused Triton math, sampling, cache writes, other) with the
achieved bandwidth, and compares their sum with the measured step time and with the floor.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

METRICS = ("gpu__time_duration.sum", "dram__bytes_read.sum", "dram__bytes_write.sum",
           "dram__throughput.avg.pct_of_peak_sustained_elapsed", "sm__throughput.avg.pct_of_peak_sustained_elapsed")
RANGE = "decode_profile"
CATEGORIES = (  # first match wins; matched against the lower-cased kernel name
    ("sampling", ("sort", "topk", "multinomial", "exponential", "distribution", "cumsum", "scan", "argmax", "philox", "uniform")),
    ("matrix products", ("gemm", "gemv", "nvjet", "cutlass", "xmma", "splitk", "cublas")),
    ("cache writes", ("index_copy", "indexfunc", "index_put", "scatter")),
    ("fused math (Triton)", ("triton",)),
)


def category(kernel: str) -> str:
    name = kernel.lower()
    for label, keys in CATEGORIES:
        if any(key in name for key in keys):
            return label
    return "other"


# ------------------------------------------------------------------------------------------------ run


def run(args) -> int:
    import torch

    from actrep.fast.decode import FastDecoder, SamplingConfig, prefill
    from actrep.fast.vision_attention import video_features
    from bench import measure
    from bench.models import ARCHS, IM_END, PAD, build_model, stack_videos, synthetic_inputs

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    cuda = device.type == "cuda"
    arch = ARCHS[args.arch]
    model = build_model(arch, device, torch.bfloat16 if cuda else torch.float32)
    inputs = stack_videos([synthetic_inputs(arch, args.frames, args.size, device, seed=i) for i in range(args.videos)])
    with torch.no_grad():
        features = video_features(model, inputs["pixel_values_videos"], inputs["video_grid_thw"], fast=True)
        prefix = prefill(model, inputs, features)
    config = SamplingConfig(args.tokens, do_sample=True, min_new_tokens=args.tokens, eos_token_id=IM_END, pad_token_id=PAD)
    decoder = FastDecoder(model, compile=cuda, cuda_graph=cuda)
    decoder.generate(prefix, args.group, config)  # capture and compile
    times = []
    for _ in range(args.repeats):
        timer = measure.PhaseTimer(device)
        with timer.phase("decode"):
            decoder.generate(prefix, args.group, config)
        times.append(timer.seconds()["decode"])
    cost = measure.CostModel(model, inputs["video_grid_thw"], int(inputs["input_ids"].shape[1]))
    ceilings = measure.measure_ceilings(device)
    bandwidth = ceilings.get("hbm_bytes_per_s")
    floor_bytes = cost.decode_step_bytes(args.videos, args.videos * args.group, args.tokens, shared_prefix=True)
    ms = 1000 * measure.median(times) / (args.tokens - 1)
    (state,) = decoder._states.values()  # the one shape decoded above: its buffers and captured graph
    timing = {"arch": args.arch, "videos": args.videos, "group": args.group, "rows": args.videos * args.group,
              "tokens": args.tokens, "frames": args.frames, "size": args.size, "prompt_tokens": int(inputs["input_ids"].shape[1]),
              "mode": decoder.mode, "ms_per_token": ms, "generate_s": times, "floor_bytes_per_step": floor_bytes,
              "weight_bytes": cost.weight_bytes, "hbm_bytes_per_s": bandwidth,
              "floor_ms_per_token": 1000 * floor_bytes / bandwidth if bandwidth else None,
              "profiled_steps": args.profiled_steps, "machine": measure.device_info(device)}
    print(f"{decoder.mode}: {ms:.2f} ms/token at {timing['rows']} rows; floor "
          f"{timing['floor_ms_per_token'] or float('nan'):.2f} ms", flush=True)
    with torch.no_grad(), torch.autocast(device.type, enabled=False):
        state.step.zero_()  # replays write at step and step + 1: keep them inside the buffers
        measure.sync(device)
        torch.cuda.nvtx.range_push(RANGE) if cuda else None
        for _ in range(args.profiled_steps):
            state.graph.replay() if state.graph is not None else decoder._step(state, config)
        measure.sync(device)
        torch.cuda.nvtx.range_pop() if cuda else None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "decode_timing.json").write_text(json.dumps(timing, indent=1))
    return 0


# ------------------------------------------------------------------------------------------ summarize


UNITS = {"byte": 1, "kbyte": 1e3, "mbyte": 1e6, "gbyte": 1e9, "nsecond": 1, "usecond": 1e3, "msecond": 1e6, "second": 1e9,
         "ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9, "%": 1, "": 1}  # ncu 2025 writes "ns"; older ones "nsecond"


def read_ncu_csv(path: Path) -> list[dict]:
    """Kernels of ncu's `--csv --page raw` output, bytes in bytes and durations in ns (its "==PROF==" lines
    skipped; the units row read, since ncu scales units unless told `--print-units base`)."""
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.startswith('"')]
    if not lines:
        raise SystemExit(f"{path}: no CSV rows (did ncu profile any kernel inside the NVTX range {RANGE!r}?)")
    rows = list(csv.DictReader(lines))
    missing = [m for m in METRICS[:3] if m not in rows[0]]
    if missing:
        raise SystemExit(f"{path}: ncu's CSV lacks the metrics {', '.join(missing)}")
    scale = {m: 1.0 for m in METRICS}
    if rows and not rows[0].get("Kernel Name"):  # the units row
        units = rows.pop(0)
        for m in METRICS:
            unit = str(units.get(m) or "").strip().lower()
            if unit not in UNITS:
                raise SystemExit(f"{path}: unknown unit {unit!r} of {m}")
            scale[m] = UNITS[unit]
    kernels = []
    for row in rows:
        values = {m: float(str(row[m]).replace(",", "")) * scale[m] for m in METRICS if row.get(m) not in ("", None)}
        kernels.append({"name": row["Kernel Name"], "grid": row.get("Grid Size", ""), "block": row.get("Block Size", ""), **values})
    return kernels


def summarize(kernels: list[dict], timing: dict) -> dict:
    steps = timing["profiled_steps"]
    per_kernel: dict[tuple, dict] = {}
    for k in kernels:
        key = (k["name"], k["grid"])
        entry = per_kernel.setdefault(key, {"name": k["name"], "grid": k["grid"], "category": category(k["name"]),
                                            "calls": 0, "ns": 0.0, "bytes": 0.0})
        entry["calls"] += 1
        entry["ns"] += k.get("gpu__time_duration.sum", 0.0)
        entry["bytes"] += k.get("dram__bytes_read.sum", 0.0) + k.get("dram__bytes_write.sum", 0.0)
    total_ns = sum(e["ns"] for e in per_kernel.values())
    table = []
    for e in sorted(per_kernel.values(), key=lambda e: -e["ns"]):
        table.append({**e, "calls_per_step": e["calls"] / steps, "ms_per_step": e["ns"] / 1e6 / steps,
                      "share": e["ns"] / total_ns if total_ns else 0.0, "mb_per_call": e["bytes"] / e["calls"] / 1e6,
                      "tb_per_s": e["bytes"] / e["ns"] / 1e3 if e["ns"] else 0.0})
    categories: dict[str, dict] = {}
    for e in table:
        c = categories.setdefault(e["category"], {"kernels_per_step": 0.0, "ms_per_step": 0.0, "bytes_per_step": 0.0})
        c["kernels_per_step"] += e["calls_per_step"]
        c["ms_per_step"] += e["ms_per_step"]
        c["bytes_per_step"] += e["bytes"] / steps
    for c in categories.values():
        c["share"] = c["ms_per_step"] / (total_ns / 1e6 / steps) if total_ns else 0.0
        c["tb_per_s"] = c["bytes_per_step"] / (c["ms_per_step"] * 1e9) if c["ms_per_step"] else 0.0
    kernel_ms = total_ns / 1e6 / steps
    bandwidth = timing.get("hbm_bytes_per_s")
    return {"timing": timing, "kernels_per_step": len(kernels) / steps, "kernel_ms_per_step": kernel_ms,
            "bytes_per_step": sum(e["bytes"] for e in table) / steps,
            "idle_ms_per_step": timing["ms_per_token"] - kernel_ms,
            "x_floor_measured": timing["ms_per_token"] / timing["floor_ms_per_token"] if timing.get("floor_ms_per_token") else None,
            "x_floor_kernels": kernel_ms / timing["floor_ms_per_token"] if timing.get("floor_ms_per_token") else None,
            "hbm_tb_per_s": bandwidth / 1e12 if bandwidth else None,
            "categories": dict(sorted(categories.items(), key=lambda kv: -kv[1]["ms_per_step"])), "kernels": table}


def markdown(s: dict, command: str, top: int = 15) -> str:
    t = s["timing"]
    m = t["machine"]
    lines = [f"# Fast decoder, one step under Nsight Compute, {time.strftime('%Y-%m-%d')}", "", "    " + command, "",
             f"Machine: {m.get('name')}; torch {m.get('torch')}, transformers {m.get('transformers')}. "
             f"Workload: random-init {t['arch']}, {t['videos']} videos x G = {t['group']} = {t['rows']} rows, prompt "
             f"{t['prompt_tokens']} tokens ({t['frames']} frames at {t['size']}x{t['size']}), {t['tokens']} new tokens, "
             f"bf16 weights, decoder mode {t['mode']}; graph replays profiled: {t['profiled_steps']} "
             f"(ncu --clock-control none: kernels run one at a time, caches flushed between them).",
             *(["", t["note"]] if t.get("note") else []), "",
             "| | ms per step | x floor |", "|---|---|---|",
             f"| measured ({t.get('measured', 'whole generations, no profiler')}) | {t['ms_per_token']:.2f} | {_x(s['x_floor_measured'])} |",
             f"| sum of kernel durations (ncu) | {s['kernel_ms_per_step']:.2f} | {_x(s['x_floor_kernels'])} |",
             f"| HBM floor: {t['floor_bytes_per_step'] / 1e9:.2f} GB (weights {t['weight_bytes'] / 1e9:.2f} GB + KV) at "
             f"{_tb(s['hbm_tb_per_s'])} TB/s | {_f(t['floor_ms_per_token'])} | 1.00x |", "",
             f"{s['kernels_per_step']:.0f} kernels per step moving {s['bytes_per_step'] / 1e9:.2f} GB of DRAM traffic; "
             f"measured minus kernel sum: {s['idle_ms_per_step']:.2f} ms per step (gaps between graph nodes, and "
             "kernels that run faster with warm caches than under ncu's flushes).", "",
             "| category | kernels per step | ms per step | share | GB per step | TB/s |", "|---|---|---|---|---|---|"]
    for label, c in s["categories"].items():
        lines.append(f"| {label} | {c['kernels_per_step']:.0f} | {c['ms_per_step']:.2f} | {100 * c['share']:.0f}% | "
                     f"{c['bytes_per_step'] / 1e9:.3f} | {c['tb_per_s']:.2f} |")
    lines += ["", f"Top {top} kernels (name and grid) by time:", "",
              "| kernel | grid | category | calls per step | ms per step | share | MB per call | TB/s |",
              "|---|---|---|---|---|---|---|---|"]
    for e in s["kernels"][:top]:
        name = e["name"] if len(e["name"]) <= 90 else e["name"][:87] + "..."
        lines.append(f"| `{name}` | {e['grid']} | {e['category']} | {e['calls_per_step']:.0f} | {e['ms_per_step']:.3f} | "
                     f"{100 * e['share']:.1f}% | {e['mb_per_call']:.2f} | {e['tb_per_s']:.2f} |")
    return "\n".join(lines) + "\n"


def _f(x, digits=2):
    return "n/a" if x is None else f"{x:.{digits}f}"


def _x(x):
    return "n/a" if x is None else f"{x:.2f}x"


def _tb(x):
    return "n/a" if x is None else f"{x:.2f}"


def summarize_command(args) -> int:
    timing = json.loads(Path(args.timing).read_text())
    s = summarize(read_ncu_csv(Path(args.csv)), timing)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{time.strftime('%Y-%m-%d')}-decode-profile-{args.label}"
    command = args.command or "python -m bench.decode_profile (see the module docstring for the ncu line)"
    (out / f"{stem}.json").write_text(json.dumps({"command": command, **s}, indent=1))
    text = markdown(s, command)
    (out / f"{stem}.md").write_text(text)
    print(text)
    return 0


def parse(argv):
    p = argparse.ArgumentParser(prog="python -m bench.decode_profile", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="verb", required=True)
    r = sub.add_parser("run", help="decode once, time it, replay the profiled steps inside the NVTX range")
    r.add_argument("--arch", default="qwen2_5_vl_3b", help="a bench.models architecture (tiny_qwen2_5_vl: CPU smoke test)")
    r.add_argument("--videos", type=int, default=2, help="videos decoded together (the e2e workload: 2)")
    r.add_argument("--group", type=int, default=8, help="completions per video (G)")
    r.add_argument("--tokens", type=int, default=256, help="new tokens per completion in the timed generations")
    r.add_argument("--frames", type=int, default=64)
    r.add_argument("--size", type=int, default=336)
    r.add_argument("--repeats", type=int, default=3, help="timed generations (median)")
    r.add_argument("--profiled_steps", type=int, default=1, help="decode steps replayed inside the profiled range")
    r.add_argument("--out", required=True, help="folder for decode_timing.json")
    s = sub.add_parser("summarize", help="ncu's CSV -> per-kernel and per-category tables (.json + .md)")
    s.add_argument("csv", help="ncu --csv --page raw output")
    s.add_argument("--timing", required=True, help="decode_timing.json written by `run`")
    s.add_argument("--out", default="bench/results", help="folder for <date>-decode-profile-<label>.{json,md}")
    s.add_argument("--label", default="h100", help="file name suffix (the GPU)")
    s.add_argument("--command", default=None, help="the command line recorded in the results")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse(argv)
    return run(args) if args.verb == "run" else summarize_command(args)


if __name__ == "__main__":
    sys.exit(main())
