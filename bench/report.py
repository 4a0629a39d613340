"""Markdown tables and the short summary printed last."""

from __future__ import annotations

PHASES = ("vision", "prefill", "decode", "train", "ref")


def _f(value, digits=2, suffix=""):
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return f"{value:.{digits}f}{suffix}"


def step_rows(model_result: dict) -> list[tuple[str, dict]]:
    grpo = model_result.get("grpo", {})
    rows = [(name, grpo[name]) for name in ("baseline", "ours") if name in grpo and "step_s" in grpo[name]]
    for name, value in model_result.get("ablation", {}).items():
        if isinstance(value, dict) and "step_s" in value:
            rows.append((name, value))
    return rows


def model_markdown(name: str, r: dict) -> str:
    lines = [f"### {name} ({r.get('note', '')})", "",
             f"{r.get('params_total_b', 0):.2f}B parameters; prompt {r.get('prompt_tokens')} tokens "
             f"({r.get('visual_tokens')} visual, grid {r.get('grid')}); G = {r.get('group')}, "
             f"{r.get('new_tokens')} completion tokens per rollout.", ""]
    rows = step_rows(r)
    if rows:
        base = r.get("grpo", {}).get("baseline", {}).get("step_s")
        lines += ["| variant | step s | vision | prefill | decode | train fwd+bwd | ref | decode ms/tok | tokens/s | peak GB | MFU | x baseline |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for label, v in rows:
            p = v.get("phases_s", {})
            speed = base / v["step_s"] if base and v.get("step_s") else None
            lines.append("| " + " | ".join([label, _f(v.get("step_s")), *(_f(p.get(k)) for k in PHASES),
                                           _f(v.get("decode_ms_per_token"), 1), _f(v.get("tokens_per_s"), 0),
                                           _f(v.get("peak_memory_gb"), 1), _f(100 * v["mfu"] if v.get("mfu") else None, 1, "%"),
                                           _f(speed, 2, "x")]) + " |")
        grpo = r.get("grpo", {})
        lines += ["", f"step_speedup (baseline / ours): **{_f(grpo.get('step_speedup'), 2, 'x')}**; "
                      f"memory_ratio (ours / baseline peak): **{_f(grpo.get('memory_ratio'), 2)}**; "
                      f"weights {_f(r.get('weights_gb'), 1)} GB + language-model gradients {_f(r.get('grads_gb'), 1)} GB in both; "
                      f"the rest (activation_memory_ratio): {_f(grpo.get('activation_memory_ratio'), 2)}.", ""]
    c = r.get("correctness")
    if c and "ours" in c:
        lines += [f"Correctness: each path vs the truth ({c['truth']}), same completions; gradients of "
                  f"{len(c['ours']['grads'])} weight matrices. {'PASS' if c.get('pass') else 'FAIL'} "
                  f"(ours within: loss {c['tolerance']['loss']}, log-probs {c['tolerance']['logps']}, gradients "
                  + (f"at most {c['tolerance']['grad_vs_baseline']}x the baseline's error" if "grad_vs_baseline" in c["tolerance"]
                     else str(c["tolerance"].get("grad"))) + ").", "",
                  "| path | loss rel. err | log-prob rel. err | max abs | gradient rel. err (max) | cosine (min) |", "|---|---|---|---|---|---|"]
        for path in ("ours", "baseline"):
            p = c[path]
            lines.append(f"| {path} ({c['dtype']}) | {p['loss_rel_err']:.1e} | {p['logps_rel_err']:.1e} | {p['logps_max_abs_diff']:.3f} | "
                         f"{_f(p['grad_rel_err_max'], 4)} | {_f(p['grad_cosine_min'], 5)} |")
        lines.append("")
    d = r.get("decode")
    if d and d.get("variants"):
        lines += [f"Decode at G = {d['group']}: floor {_f(d.get('floor_ms_per_token'))} ms/token "
                  f"({d['floor_bytes_per_step'] / 1e9:.2f} GB per step at the measured bandwidth).", "",
                  "| decoder | ms/token | x floor | tokens/s |", "|---|---|---|---|"]
        for label, v in d.get("hf_reference", {}).items():
            lines.append(f"| {label} | {_f(v.get('ms_per_token'))} | {_f(v.get('x_floor'), 1, 'x')} | {_f(v.get('tokens_per_s'), 0)} |")
        for label, v in d["variants"].items():
            if "error" in v:
                lines.append(f"| ours: {label} | error: {v['error'][:80]} | | |")
            else:
                lines.append(f"| ours: {label} ({v.get('mode')}) | {_f(v.get('ms_per_token'))} | {_f(v.get('x_floor'), 1, 'x')} | "
                             f"{_f(v.get('tokens_per_s'), 0)} |")
        lines.append("")
    e = r.get("eval")
    if e and e.get("variants"):
        lines += [f"Evaluation, {e['videos']} videos x {e['new_tokens']} greedy tokens:", "",
                  "| variant | videos/s | x loop |", "|---|---|---|"]
        loop = e["variants"]["loop"]["videos_per_s"]
        for label, v in e["variants"].items():
            lines.append(f"| {label} | {_f(v['videos_per_s'], 3)} | {_f(v['videos_per_s'] / loop, 1, 'x')} |")
        lines.append("")
    for key in ("skipped", "errors"):
        if r.get(key):
            lines += [f"{key}: " + "; ".join(r[key]), ""]
    return "\n".join(lines)


def markdown(results: dict) -> str:
    d = results["device"]
    c = results.get("ceilings", {})
    def tera(x, digits):
        return _f(x / 1e12 if x else None, digits)

    head = [f"# ActRep benchmark {results['date']} on {d.get('name')}", "",
            f"torch {d.get('torch')}, transformers {d.get('transformers')}, trl {d.get('trl')}; measured HBM "
            f"{tera(c.get('hbm_bytes_per_s'), 2)} TB/s, bf16 matmul {tera(c.get('matmul_bf16_flops'), 0)} TFLOP/s; "
            f"MFU against {tera(results.get('peak_flops'), 0)} TFLOP/s (useful FLOPs of the minimal step). "
            f"Command: `{results.get('command')}`; total {results.get('total_wall_s', 0):.0f} s.", ""]
    body = [model_markdown(name, r) for name, r in results["models"].items()]
    return "\n".join(head + body + ["## Summary", "", summary_table(results), ""])


def summary_table(results: dict) -> str:
    lines = ["| model | step speedup (goal >= 5x) | memory ratio (goal <= 0.6) | ours vs float32: loss / grad rel. err | decode x floor (goal <= 2x) | eval x loop (goal >= 8x) |",
             "|---|---|---|---|---|---|"]
    for name, r in results["models"].items():
        grpo, c, d, e = r.get("grpo", {}), r.get("correctness", {}), r.get("decode", {}), r.get("eval", {})
        decode_x = None
        for variant in ("cuda_graph+compile", "cuda_graph", "eager"):
            v = d.get("variants", {}).get(variant)
            if v and v.get("x_floor"):
                decode_x = v["x_floor"]
                break
        if decode_x is None:
            decode_x = grpo.get("ours", {}).get("decode_x_floor")
        ours = c.get("ours", {})
        err = f"{ours['loss_rel_err']:.1e} / {ours['grad_rel_err_max']:.1e}" if ours.get("grad_rel_err_max") is not None else "-"
        lines.append(f"| {name} | {_f(grpo.get('step_speedup'), 2, 'x')} | {_f(grpo.get('memory_ratio'), 2)} | {err} | "
                     f"{_f(decode_x, 2, 'x')} | {_f(e.get('speedup_batched_fast_vs_loop'), 1, 'x')} |")
    return "\n".join(lines)


def save_results(out_dir, label: str, results: dict, markdown_text: str):
    """<out_dir>/<label>.json and .md, copied to $OUT too when it is set (the GPU machines return what is there)."""
    import json
    import os
    import shutil
    from pathlib import Path

    json_path, md_path = Path(out_dir) / f"{label}.json", Path(out_dir) / f"{label}.md"
    json_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    md_path.write_text(markdown_text)
    target = os.environ.get("OUT")
    if target and Path(target).resolve() != Path(out_dir).resolve():
        Path(target).mkdir(parents=True, exist_ok=True)
        for path in (json_path, md_path):
            shutil.copy(path, Path(target) / path.name)
    return json_path, md_path
