"""The ActRep performance suite in one command.

    python -m bench.run                  # GPU: Qwen2.5-VL-3B (+ Qwen3-VL-4B), ~6-8 min on one H100
    python -m bench.run --tiny           # CPU smoke test of every section on toy models (~1-2 min)
    python -m bench.run --only grpo,correctness --models qwen2_5_vl_3b

Sections (primary model): grpo (baseline vs ours, step split, memory, MFU), correctness (loss and
gradients of ours vs the baseline on the same completions), eval (batched vs per-video), decode
(ms/token vs the HBM floor), ablation (ours with one optimisation off at a time). Secondary models
(Qwen3-VL-4B): grpo + correctness. A time budget (--budget_s) skips what no longer fits, and says so.
Writes <out>/<date>-<device>.json and .md after every section (and copies them to $OUT if set), and
prints the summary table last.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import re
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SECTIONS = ("grpo", "correctness", "eval", "decode", "ablation")


def parse(argv):
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tiny", action="store_true", help="toy models on the CPU, few tokens: a smoke test of the whole suite")
    p.add_argument("--only", default=",".join(SECTIONS), help=f"sections to run: {','.join(SECTIONS)}")
    p.add_argument("--models", default=None, help="comma list (default qwen2_5_vl_3b,qwen3_vl_4b; --tiny: tiny_qwen2_5_vl,tiny_qwen3_vl)")
    p.add_argument("--secondary_sections", default="grpo,correctness", help="sections for models after the first")
    p.add_argument("--frames", type=int, default=None, help="video frames (default 64; tiny 8)")
    p.add_argument("--size", type=int, default=None, help="frame side in pixels (default 336; tiny 112)")
    p.add_argument("--group", type=int, default=None, help="G, completions per video (default 8; tiny 4)")
    p.add_argument("--new_tokens", type=int, default=None, help="completion tokens per rollout (default 256; tiny 8)")
    p.add_argument("--micro_batch", type=int, default=4, help="sequences per forward on the per-sequence (baseline) path")
    p.add_argument("--repeats", type=int, default=None, help="timed repeats of ours (default 3; tiny 1)")
    p.add_argument("--baseline_repeats", type=int, default=None, help="timed repeats of the baseline (default 2; tiny 1)")
    p.add_argument("--ablation_repeats", type=int, default=None, help="timed repeats per ablation (default 2; tiny 1)")
    p.add_argument("--eval_videos", type=int, default=None, help="videos in the eval batch (default 8; tiny 3)")
    p.add_argument("--eval_tokens", type=int, default=None, help="greedy tokens per video in eval (default 128; tiny 6)")
    p.add_argument("--eval_loop_videos", type=int, default=2, help="videos timed one by one for the per-video loop")
    p.add_argument("--budget_s", type=float, default=None, help="wall-clock budget of the suite (default 450; tiny: none)")
    p.add_argument("--no_compile", action="store_true", help="no torch.compile in the decoder")
    p.add_argument("--no_cuda_graph", action="store_true", help="no CUDA graphs in the decoder")
    p.add_argument("--device", default=None, help="cuda or cpu (default: cuda when available)")
    p.add_argument("--dtype", default=None, choices=["bfloat16", "float32"], help="weights dtype (default: bfloat16 on cuda, float32 on cpu)")
    p.add_argument("--out", default=None, help="results folder (default bench/results; tiny: /tmp/actrep-bench)")
    args = p.parse_args(argv)
    tiny = args.tiny
    defaults = dict(models="tiny_qwen2_5_vl,tiny_qwen3_vl" if tiny else "qwen2_5_vl_3b,qwen3_vl_4b", frames=8 if tiny else 64,
                    size=112 if tiny else 336, group=4 if tiny else 8, new_tokens=8 if tiny else 256, repeats=1 if tiny else 3,
                    baseline_repeats=1 if tiny else 2, ablation_repeats=1 if tiny else 2, eval_videos=3 if tiny else 8,
                    eval_tokens=6 if tiny else 128, budget_s=1e9 if tiny else 450.0,
                    out="/tmp/actrep-bench" if tiny else str(ROOT / "bench" / "results"))
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.only = [s for s in args.only.split(",") if s]
    args.models = [m for m in args.models.split(",") if m]
    args.secondary_sections = [s for s in args.secondary_sections.split(",") if s]
    return args


class Budget:
    def __init__(self, seconds: float):
        self.seconds, self.start = seconds, time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def remaining(self) -> float:
        return self.seconds - self.elapsed()

    def fits(self, estimate: float) -> bool:
        return estimate <= self.remaining()


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def main(argv=None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    budget = Budget(args.budget_s)
    import warnings

    import actrep  # noqa: F401 - installs the torchvision fix before transformers' video processors load
    import torch
    import transformers

    transformers.logging.set_verbosity_error()  # keep the output short: the run tool returns its last 12K characters
    warnings.filterwarnings("ignore")

    from bench import measure, report

    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    cuda = device.type == "cuda"
    if cuda and device.index is not None:
        torch.cuda.set_device(device)
    info = measure.device_info(device)
    date = dt.datetime.now().strftime("%Y-%m-%d")
    label = f"{date}-{_slug(info['name']) if cuda else 'cpu'}{'-tiny' if args.tiny else ''}"
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = {"suite": "actrep-bench", "date": date, "label": label, "command": "python -m bench.run " + " ".join(sys.argv[1:] if argv is None else argv),
               "device": info, "settings": {k: v for k, v in vars(args).items()}, "models": {}, "skipped": [], "errors": []}
    print(f"actrep bench: {info['name']}, torch {info['torch']}, transformers {info['transformers']}; budget {args.budget_s:.0f} s", flush=True)
    if not args.tiny and not info["transformers"].startswith("5.23"):
        print(f"warning: transformers {info['transformers']} (the project pins 5.23.0)", flush=True)

    ceilings = measure.measure_ceilings(device) if cuda else {}
    results["ceilings"] = ceilings
    nominal_flops, nominal_bw = (info.get("nominal_bf16_flops"), info.get("nominal_hbm_bytes_per_s")) if cuda else (None, None)
    results["peak_flops"] = nominal_flops or ceilings.get("matmul_bf16_flops")
    bandwidth = ceilings.get("hbm_bytes_per_s") or nominal_bw
    results["bandwidth_for_floor"] = bandwidth

    def save():
        results["total_wall_s"] = budget.elapsed()
        return report.save_results(out_dir, label, results, report.markdown(results))

    previous = None
    for index, name in enumerate(args.models):
        sections = args.only if index == 0 else [s for s in args.only if s in args.secondary_sections]
        if not sections:
            continue
        if previous is not None:
            scale = 1.25  # the 4B model vs the 3B one, roughly
            estimate = 45 + scale * previous.get("core_estimate_s", 0)
            if not budget.fits(estimate):
                results["skipped"].append(f"{name}: needs ~{estimate:.0f} s, {budget.remaining():.0f} s left")
                print(f"skipping {name}: needs ~{estimate:.0f} s, {budget.remaining():.0f} s left", flush=True)
                continue
        try:
            previous = run_model(name, sections, args, device, budget, results, bandwidth, save)
        except Exception as err:  # noqa: BLE001 - a whole model failed: record, go on
            results["errors"].append(f"{name}: {err!r}")
            traceback.print_exc()
        gc.collect()
        if cuda:
            torch.cuda.empty_cache()
        save()
    json_path, md_path = save()
    print(f"\nresults: {json_path} and {md_path} ({budget.elapsed():.0f} s)\n", flush=True)
    print(report.summary_table(results), flush=True)
    return 0


def run_model(name, sections, args, device, budget, results, bandwidth, save) -> dict:
    import torch

    from bench import measure
    from bench.decode import decode_benchmark
    from bench.eval_throughput import eval_benchmark
    from bench.grpo_step import BASELINE, OURS, Flags, GRPOStepBench, StepSettings, correctness
    from bench.models import ARCHS, build_model, parameter_counts, synthetic_inputs

    cuda = device.type == "cuda"
    arch = ARCHS[name]
    started = time.perf_counter()
    print(f"\n== {name}: building on {device} ==", flush=True)
    measure.reset_memory(device)
    dtype = getattr(torch, args.dtype or ("bfloat16" if cuda else "float32"))
    model = build_model(arch, device, dtype)
    measure.sync(device)
    counts = parameter_counts(model)
    inputs = synthetic_inputs(arch, args.frames, args.size, device)
    grid = inputs["video_grid_thw"]
    prompt_tokens = int(inputs["input_ids"].shape[1])
    grads_gb = sum(p.numel() * p.element_size() for n, p in model.named_parameters() if ".visual." not in f".{n}") / 2**30
    r = {"note": arch.note, "family": arch.family, "dtype": str(dtype).replace("torch.", ""), "params": counts, "params_total_b": counts["total"] / 1e9,
         "weights_gb": measure.allocated_gb(device), "grads_gb": grads_gb if cuda else None, "init_s": time.perf_counter() - started, "grid": grid[0].tolist(),
         "prompt_tokens": prompt_tokens, "visual_tokens": int((inputs["input_ids"] == 151656).sum()), "group": args.group,
         "new_tokens": args.new_tokens, "frames": args.frames, "size": args.size, "skipped": [], "errors": []}
    results["models"][name] = r
    print(f"{counts['total'] / 1e9:.2f}B params in {r['init_s']:.1f} s; prompt {prompt_tokens} tokens ({r['visual_tokens']} visual)", flush=True)
    settings = StepSettings(group=args.group, new_tokens=args.new_tokens, micro_batch=args.micro_batch,
                            decode_compile=cuda and not args.no_compile, cuda_graph=cuda and not args.no_cuda_graph)
    bench = GRPOStepBench(model, inputs, settings)
    cost = measure.CostModel(model, grid, prompt_tokens)
    flops = cost.step_flops(args.group, args.new_tokens)
    r["step_flops"] = flops
    peak = results.get("peak_flops")
    G, N = args.group, args.new_tokens
    shared_floor = cost.decode_step_bytes(1, G, N, True) / bandwidth if bandwidth else None
    replicated_floor = cost.decode_step_bytes(G, G, N, False) / bandwidth if bandwidth else None

    def enrich(v: dict, flags: Flags) -> dict:
        if "step_s" not in v:
            return v
        v["tokens_per_s"] = G * v["new_tokens"] / v["step_s"]
        if v.get("peak_memory_gb") and r["weights_gb"] is not None:  # what is left after weights + language-model gradients
            v["peak_minus_static_gb"] = v["peak_memory_gb"] - r["weights_gb"] - r["grads_gb"]
        v["mfu"] = flops["total"] / (v["step_s"] * peak) if peak else None
        decode = v["phases_s"].get("decode")
        if decode:
            v["decode_ms_per_token"] = 1000 * decode / max(1, v["new_tokens"] - 1)
            floor = shared_floor if flags.prefill_once else replicated_floor
            v["decode_floor_ms_per_token"] = 1000 * floor if floor else None
            v["decode_x_floor"] = v["decode_ms_per_token"] / (1000 * floor) if floor else None
        return v

    def attempt(section: str, fn):
        try:
            return fn()
        except Exception as err:  # noqa: BLE001 - OOM or a bug in one section must not lose the others
            r["errors"].append(f"{section}: {err!r}")
            print(f"[{section}] failed: {err!r}", flush=True)
            traceback.print_exc()
            if cuda:
                torch.cuda.empty_cache()
            return None
        finally:
            save()

    grpo = r.setdefault("grpo", {})
    if "grpo" in sections:
        print("[grpo] ours ...", flush=True)
        ours = attempt("grpo/ours", lambda: bench.measure(OURS, repeats=args.repeats, warmup=1, warmup_tokens=N))
        if ours:
            grpo["ours"] = enrich(ours, OURS)
            print(f"  ours {ours['step_s']:.2f} s  {_phases(ours)}  peak {_gb(ours['peak_memory_gb'])}  decode {ours['decode_mode']}", flush=True)
        print("[grpo] baseline ...", flush=True)
        base = attempt("grpo/baseline", lambda: bench.measure(BASELINE, repeats=args.baseline_repeats, warmup=1,
                                                              warmup_tokens=min(N, 8)))
        if base:
            grpo["baseline"] = enrich(base, BASELINE)
            print(f"  baseline {base['step_s']:.2f} s  {_phases(base)}  peak {_gb(base['peak_memory_gb'])}", flush=True)
        if ours and base:
            grpo["step_speedup"] = base["step_s"] / ours["step_s"]
            if ours["peak_memory_gb"] and base["peak_memory_gb"]:
                grpo["memory_ratio"] = ours["peak_memory_gb"] / base["peak_memory_gb"]
                if ours.get("peak_minus_static_gb") and base.get("peak_minus_static_gb"):
                    grpo["activation_memory_ratio"] = ours["peak_minus_static_gb"] / base["peak_minus_static_gb"]
            grpo["phase_step_speedup"] = {p: base["phases_s"][p] / ours["phases_s"][p] for p in base["phases_s"]
                                          if ours["phases_s"].get(p)}
            grpo["mfu_ours"], grpo["mfu_baseline"] = ours.get("mfu"), base.get("mfu")
            print(f"  step_speedup {grpo['step_speedup']:.2f}x  memory_ratio {_f(grpo.get('memory_ratio'))}", flush=True)
    ours_s = grpo.get("ours", {}).get("step_s", 5.0)
    base_s = grpo.get("baseline", {}).get("step_s", 25.0)
    estimate = (1 + args.repeats) * ours_s + (1 + args.baseline_repeats) * base_s

    if "correctness" in sections:
        if budget.fits(base_s + ours_s + 5):
            print("[correctness] ...", flush=True)
            L = model.config.text_config.num_hidden_layers
            names = ["model.language_model.embed_tokens.weight", "model.language_model.layers.0.self_attn.q_proj.weight",
                     f"model.language_model.layers.{L // 2}.mlp.down_proj.weight",
                     f"model.language_model.layers.{L - 1}.mlp.gate_proj.weight", "model.language_model.norm.weight"]
            c = attempt("correctness", lambda: correctness(bench, names))
            if c:
                # Loss and log-probs must match the float32 truth to bf16 accuracy. Gradients: at the 3B scale both
                # bf16 paths are ~16-18% from float32 (H100, 2026-12-05; 0.8% on the tiny CPU model), so ours must
                # be no farther from the truth than the reference-like baseline's own bf16 arithmetic.
                tol = {"loss": 1e-2, "logps": 1e-2, "grad_vs_baseline": 1.1} if dtype == torch.bfloat16 else \
                    {"loss": 1e-4, "logps": 1e-4, "grad": 1e-3}
                o, b = c["ours"], c["baseline"]
                c["tolerance"] = tol
                grads_ok = ((o["grad_rel_err_max"] or 0) <= tol["grad_vs_baseline"] * (b["grad_rel_err_max"] or 0)
                            if "grad_vs_baseline" in tol else (o["grad_rel_err_max"] or 0) <= tol["grad"])
                c["pass"] = o["loss_rel_err"] <= tol["loss"] and o["logps_rel_err"] <= tol["logps"] and grads_ok
                r["correctness"] = c
                for path in ("ours", "baseline"):
                    p = c[path]
                    print(f"  {path} vs float32: loss rel err {p['loss_rel_err']:.1e}, logps {p['logps_rel_err']:.1e}, "
                          f"grads max rel err {_f(p['grad_rel_err_max'], 3)} (min cosine {_f(p['grad_cosine_min'], 5)})", flush=True)
                print(f"  -> {'PASS' if c['pass'] else 'FAIL'}", flush=True)
            estimate += base_s + ours_s
        else:
            r["skipped"].append("correctness (time budget)")
    r["core_estimate_s"] = estimate

    base_phases = grpo.get("baseline", {}).get("phases_s", {})
    ours_phases = grpo.get("ours", {}).get("phases_s", {})
    hf_token_s = base_phases.get("decode", 0.03 * N) / max(1, N)
    vision_copy_s = base_phases.get("vision", 3.0) / (3 * G)

    if "eval" in sections:
        V, NE = args.eval_videos, args.eval_tokens
        est = (args.eval_loop_videos + 0.2) * (vision_copy_s + NE * hf_token_s) + V * vision_copy_s + NE * hf_token_s + \
            3 * (V * ours_phases.get("vision", 0.2) + V * ours_phases.get("prefill", 0.1) + NE * hf_token_s / 4) + 10
        if budget.fits(est):
            print(f"[eval] ~{est:.0f} s ...", flush=True)
            e = attempt("eval", lambda: eval_benchmark(model, arch, args.frames, args.size, device, videos=V, new_tokens=NE,
                                                        loop_videos=args.eval_loop_videos, repeats=2 if cuda else 1,
                                                        decoder=bench.decoder_for()))
            if e:
                r["eval"] = e
                print(f"  videos/s: loop {e['variants']['loop']['videos_per_s']:.3f}, batched HF {e['variants']['batched_hf']['videos_per_s']:.3f}, "
                      f"batched fast {e['variants']['batched_fast']['videos_per_s']:.3f} -> {e['speedup_batched_fast_vs_loop']:.1f}x", flush=True)
            estimate += est
        else:
            r["skipped"].append(f"eval (needs ~{est:.0f} s)")

    if "decode" in sections:
        est = 8 + N * hf_token_s / 2 + 8 * N * (ours_phases.get("decode", N * 0.006) / max(1, N))
        if budget.fits(est):
            print(f"[decode] ~{est:.0f} s ...", flush=True)
            d = attempt("decode", lambda: decode_benchmark(model, inputs, cost, G, N, device, bandwidth, repeats=3 if cuda else 1,
                                                            existing=bench.decoder if settings.decode_compile else None,
                                                            variants=("cuda_graph+compile", "cuda_graph", "eager") if cuda else ("eager",)))
            if d:
                floor_ms = d.get("floor_ms_per_token")
                r["decode"] = d
                print("  " + ", ".join(f"{k} {v.get('ms_per_token', 0):.2f} ms/tok" for k, v in d["variants"].items() if "ms_per_token" in v)
                      + (f" (floor {floor_ms:.2f})" if floor_ms else ""), flush=True)
            estimate += est
        else:
            r["skipped"].append(f"decode (needs ~{est:.0f} s)")

    if "ablation" in sections and "ours" in grpo:
        ablation = r.setdefault("ablation", {})
        penalty = {
            "vision_once": 2 * ours_phases.get("vision", 0.2),
            "fast_vision_attn": 3 * max(0.0, vision_copy_s - ours_phases.get("vision", 0.0)),
            "prefill_once": (G - 1) * ours_phases.get("prefill", 0.07),
            "fast_decode": base_phases.get("decode", 0.0) + base_phases.get("prefill", 0.0),
            "shared_prefix": base_phases.get("train", 2.0) + base_phases.get("ref", 0.7),
            "lean_logps": 0.2 * ours_s,
        }
        for flag in ("fast_decode", "shared_prefix", "vision_once", "fast_vision_attn", "prefill_once", "lean_logps"):
            flags = OURS.without(flag)
            repeats = args.ablation_repeats
            est = (1 + repeats) * (ours_s + penalty[flag])
            if not budget.fits(est):
                repeats = 1
                est = 2 * (ours_s + penalty[flag])
            if not budget.fits(est):
                r["skipped"].append(f"ablation without {flag} (needs ~{est:.0f} s)")
                continue
            print(f"[ablation] without {flag} ~{est:.0f} s ...", flush=True)
            warm_tokens = N if flags.fast_decode else min(N, 8)
            v = attempt(f"ablation/{flag}", lambda: bench.measure(flags, repeats=repeats, warmup=1, warmup_tokens=warm_tokens))
            if v:
                v = enrich(v, flags)
                v["step_speedup_of_flag"] = v["step_s"] / grpo["ours"]["step_s"]  # how much slower ours is without it
                if v.get("peak_memory_gb") and grpo["ours"].get("peak_memory_gb"):
                    v["memory_ratio_of_flag"] = grpo["ours"]["peak_memory_gb"] / v["peak_memory_gb"]
                ablation[f"without_{flag}"] = v
                print(f"  without {flag}: {v['step_s']:.2f} s ({v['step_speedup_of_flag']:.2f}x ours)  {_phases(v)}  "
                      f"peak {_gb(v['peak_memory_gb'])}", flush=True)
            estimate += est
    if "decode" in r:  # HF generate's decode speed, from the steps that used it
        d, floor_ms = r["decode"], r["decode"].get("floor_ms_per_token")
        d["hf_reference"] = {}
        for label, v in (("HF generate, G replicated prompts (baseline step)", grpo.get("baseline")),
                         ("HF generate, cached features (ours without fast_decode)", r.get("ablation", {}).get("without_fast_decode"))):
            if v and v.get("decode_ms_per_token"):
                d["hf_reference"][label] = {"ms_per_token": v["decode_ms_per_token"], "tokens_per_s": G / (v["decode_ms_per_token"] / 1000),
                                            "x_floor": v["decode_ms_per_token"] / floor_ms if floor_ms else None}
    r["total_s"] = time.perf_counter() - started
    r["estimate_s"] = estimate
    return r  # the model, its decoders and graphs go with this frame (main() collects and empties the cache)


def _f(x, digits=2):
    return "-" if x is None else f"{x:.{digits}f}"


def _gb(x):
    return "-" if x is None else f"{x:.1f} GB"


def _phases(v: dict) -> str:
    return " ".join(f"{k} {s:.2f}" for k, s in v.get("phases_s", {}).items())


if __name__ == "__main__":
    raise SystemExit(main())
