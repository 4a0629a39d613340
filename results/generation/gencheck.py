"""GPU check of actrep/models/generation.py: on CUDA in bf16 (eval's dtype auto), the same weights under a
plain and a Qwen-VL-Instruct-like generation_config.json give the same greedy and sampled eval answers, and
GRPO's stock rollouts equal the fast decoder's under the opinionated config.

    python results/generation/gencheck.py > OUT/gencheck_stdout.txt    # from the repository root; last line: JSON

A tiny random checkpoint and 8 synthetic clips (tests/helpers.py, tests/conftest.py), ~20 s on an H100.
The CPU version of the same comparisons is tests/test_generation.py.
"""
import json, shutil, sys, time
from pathlib import Path
sys.path.insert(0, "tests")
import torch
from helpers import write_video
from conftest import cot_text
from actrep.cli import main
from actrep.models.tiny import TinyModelArguments, build_tiny_checkpoint
from actrep.runs import read_predictions

root = Path("/tmp/gencheck"); shutil.rmtree(root, ignore_errors=True); root.mkdir()
t0 = time.time()
plain = build_tiny_checkpoint(TinyModelArguments(family="qwen2_5_vl", output_dir=str(root / "plain")))
opinionated = root / "opinionated"; shutil.copytree(plain, opinionated)
config = json.loads((opinionated / "generation_config.json").read_text())
config.update(do_sample=True, repetition_penalty=50.0, no_repeat_ngram_size=1, top_k=1, top_p=0.001, temperature=0.1, min_new_tokens=8)
(opinionated / "generation_config.json").write_text(json.dumps(config))
rows = []
for i in range(8):
    v = write_video(root / f"v{i}.mp4", n_frames=32, seed=i)
    rows.append({"video_id": v.name, "split": "test", "action": "squat", "gt_count": i % 4 + 1, "video": str(v), "cot": cot_text(i % 4 + 1)})
(root / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
flags = ["--fps", "4", "--max_frames", "8", "--min_pixels", "3136", "--max_pixels", "3136", "--max_new_tokens", "24", "--batch_size", "4"]
dev = "cuda" if torch.cuda.is_available() else "cpu"
result = {"device": torch.cuda.get_device_name(0) if dev == "cuda" else "cpu", "torch": torch.__version__}
for name, extra in [("greedy", []), ("sampled", ["--do_sample", "--temperature", "1.0", "--seed", "3"])]:
    out = root / name
    assert main(["eval", "--model", str(plain), str(opinionated), "--run_names", "plain", "opinionated", "--data", str(root / "data.jsonl"),
                 "--out", str(out), *flags, *extra]) == 0
    a, b = (read_predictions(out / n / "predictions.jsonl") for n in ("plain", "opinionated"))
    metrics = json.loads((out / "plain" / "metrics.json").read_text())
    result[name] = {"same_answers": [r["raw"] for r in a] == [r["raw"] for r in b], "n": len(a), "dtype": metrics.get("dtype"),
                    "generation": metrics.get("generation"), "first_answer": a[0]["raw"][:80]}
# stock vs fast rollouts under the opinionated config, on CUDA in bf16
from transformers import AutoModelForImageTextToText
from actrep.models.generation import generation_config
from actrep.models.registry import get_family, load_processor
from actrep.prompts import render_prompt
from actrep.train.rollout import generate, vision_features
from actrep.video import VideoSettings, encode, load_video
settings = VideoSettings(fps=4.0, max_frames=8, min_pixels=3136, max_pixels=3136)
model = AutoModelForImageTextToText.from_pretrained(opinionated, dtype=torch.bfloat16 if dev == "cuda" else torch.float32).to(dev).eval()
processor = load_processor(str(opinionated))
batch = encode(processor, [render_prompt(processor, "squat")], [load_video(root / "v0.mp4", get_family("qwen2_5_vl"), settings)], settings).to(dev)
features = vision_features(model, batch)
cfg = generation_config(processor, max_new_tokens=16, do_sample=False)
stock = generate(model, batch, features, 1, cfg)
fast = generate(model, batch, features, 1, cfg, fast=True)
with torch.no_grad():
    hf_plain = model.generate(**batch, max_new_tokens=16, do_sample=False)[:, batch["input_ids"].shape[1]:]
result["rollouts"] = {"stock_equals_fast": bool(torch.equal(fast[:, : stock.shape[1]], stock)), "stock": stock[0].tolist(),
                      "fast": fast[0, : stock.shape[1]].tolist(), "plain_generate_with_checkpoint_config": hf_plain[0].tolist(),
                      "checkpoint_config_changes_plain_generate": hf_plain[0].tolist() != stock[0].tolist()}
result["seconds"] = round(time.time() - t0, 1)
print(json.dumps(result))
