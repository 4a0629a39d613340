"""A checkpoint's generation_config.json never decides how we decode (actrep/models/generation.py).

The same weights with two generation configs, transformers' plain one and a Qwen-VL-Instruct-like one
made strong enough to change any answer, must give the same evaluation answers (greedy and sampled), the
same `actrep count`, and the same GRPO rollouts on the stock path as on the fast decoder, which reads
only the config it is given. The first test shows that plain `generate` does take the checkpoint's config,
so the others can fail.
"""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from transformers import AutoModelForImageTextToText

from actrep.cli import main
from actrep.models.generation import generation_config, without_checkpoint_defaults
from actrep.models.registry import get_family, load_processor
from actrep.prompts import render_prompt
from actrep.runs import read_predictions
from actrep.video import VideoSettings, encode, load_video

VIDEO = VideoSettings(fps=4.0, max_frames=8, min_pixels=784, max_pixels=3136, min_total_pixels=4096, max_total_pixels=65536)
VIDEO_FLAGS = ["--fps", "4", "--max_frames", "8", "--min_pixels", "784", "--max_pixels", "3136",
               "--min_total_pixels", "4096", "--max_total_pixels", "65536"]
# Qwen2.5-VL-7B-Instruct ships repetition_penalty 1.05, top_k 1, top_p 0.001, temperature 0.1; stronger here
OPINIONS = {"do_sample": True, "repetition_penalty": 50.0, "no_repeat_ngram_size": 1, "top_k": 1, "top_p": 0.001,
            "temperature": 0.1, "min_new_tokens": 8}


@pytest.fixture(scope="module")
def checkpoints(tiny_checkpoints, tmp_path_factory):
    """(plain, opinionated): one tiny Qwen2.5-VL's weights under both generation configs."""
    plain = tiny_checkpoints["qwen2_5_vl"]
    opinionated = tmp_path_factory.mktemp("opinionated") / "model"
    shutil.copytree(plain, opinionated)
    config = json.loads((opinionated / "generation_config.json").read_text())
    (opinionated / "generation_config.json").write_text(json.dumps({**config, **OPINIONS}))
    return plain, opinionated


def _batch(path, video_path):
    model, processor = AutoModelForImageTextToText.from_pretrained(path).eval(), load_processor(str(path))
    video = load_video(video_path, get_family("qwen2_5_vl"), VIDEO)
    return model, processor, encode(processor, [render_prompt(processor, "squat")], [video], VIDEO)


def test_plain_generate_takes_the_checkpoint_config_and_ours_does_not(checkpoints, short_video):
    answers = {}
    for name, path in zip(("plain", "opinionated"), checkpoints):
        model, processor, batch = _batch(path, short_video)
        config = generation_config(processor, max_new_tokens=10, do_sample=False)
        with torch.no_grad():
            stock = model.generate(**batch, max_new_tokens=10, do_sample=False)
            with without_checkpoint_defaults(model):
                ours = model.generate(**batch, generation_config=config)
        assert model.generation_config.repetition_penalty == (50.0 if name == "opinionated" else None)  # restored
        answers[name] = (stock[0, batch["input_ids"].shape[1]:].tolist(), ours[0, batch["input_ids"].shape[1]:].tolist())
    assert answers["plain"][0] != answers["opinionated"][0]  # the checkpoint's config changes plain generate
    assert answers["plain"][1] == answers["opinionated"][1]


@pytest.mark.parametrize("decoding", [[], ["--do_sample", "--temperature", "1.0", "--seed", "3"]], ids=["greedy", "sampled"])
def test_eval_answers_do_not_depend_on_the_checkpoint_generation_config(decoding, checkpoints, cot_data, tmp_path):
    assert main(["eval", "--model", *map(str, checkpoints), "--run_names", "plain", "opinionated", "--data", str(cot_data),
                 "--splits", "train", "--out", str(tmp_path), "--max_new_tokens", "10", *VIDEO_FLAGS, *decoding]) == 0
    plain, opinionated = (read_predictions(tmp_path / name / "predictions.jsonl") for name in ("plain", "opinionated"))
    assert [r["raw"] for r in plain] == [r["raw"] for r in opinionated]
    metrics = json.loads((tmp_path / "plain" / "metrics.json").read_text())
    assert metrics["generation"]["top_k"] == 0 and metrics["dtype"] == "float32"  # what decided the answers is recorded
    assert metrics["generation"].get("seed") == (3 if decoding else None)


def test_count_does_not_depend_on_the_checkpoint_generation_config(checkpoints, short_video, capsys):
    outputs = []
    for path in checkpoints:
        assert main(["count", str(short_video), "--model", str(path), "--action", "squat", "--max_new_tokens", "10",
                     "--json", *VIDEO_FLAGS]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[0]["raw"] == outputs[1]["raw"]


def test_stock_rollouts_equal_the_fast_decoder_under_an_opinionated_checkpoint(checkpoints, short_video):
    from actrep.train.rollout import generate, vision_features

    model, processor, batch = _batch(checkpoints[1], short_video)
    features = vision_features(model, batch)
    config = generation_config(processor, max_new_tokens=8, do_sample=False)
    stock = generate(model, batch, features, 1, config)
    fast = generate(model, batch, features, 1, config, fast=True)
    assert torch.equal(fast[:, : stock.shape[1]], stock)
