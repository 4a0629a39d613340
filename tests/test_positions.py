"""Training forwards score completions at the rope positions generation sampled them at.

transformers 5.23's generate() continues decoding from the last prompt text position, like a plain
forward over prompt + completion (the original Qwen code and vLLM resume at max(video positions) + 1
instead: DESIGN.md). These tests pin that agreement on a long, sparsely sampled video, where the
video's temporal positions run past the text, with models whose attention is sharp enough for
positions to matter.
"""

import pytest
import torch
from transformers import AutoModelForImageTextToText

from actrep.models.generation import generation_config
from actrep.models.registry import get_family, load_processor
from actrep.prompts import render_prompt
from actrep.train.rollout import completion_logps, vision_features
from actrep.video import VideoSettings, encode, load_video
from conftest import FAMILIES
from helpers import write_video

# A long video sampled sparsely: Qwen2.5-VL's temporal positions (4 per frame pair at 1 fps) run past
# the text that follows the video, which is where generate() and a plain forward part ways.
LONG = VideoSettings(fps=1.0, max_frames=64, min_pixels=784, max_pixels=784, min_total_pixels=4096, max_total_pixels=64 * 1024)


@pytest.fixture(scope="module")
def sharp_checkpoints(tmp_path_factory):
    """Tiny models with a large init scale: sharp attention, so their outputs depend on rope positions."""
    from actrep.models.tiny import TinyModelArguments, build_tiny_checkpoint

    root = tmp_path_factory.mktemp("sharp")
    return {f: build_tiny_checkpoint(TinyModelArguments(family=f, output_dir=str(root / f), init_std=0.3)) for f in FAMILIES}


@pytest.fixture(scope="module")
def long_video(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("long") / "long.mp4", n_frames=128, fps=2, width=32, height=32)


@pytest.mark.parametrize("family", FAMILIES)
def test_training_logps_equal_generation_logps(family, sharp_checkpoints, long_video):
    path = sharp_checkpoints[family]
    model, processor = AutoModelForImageTextToText.from_pretrained(path).eval(), load_processor(str(path))
    video = load_video(long_video, get_family(family), LONG)
    batch = encode(processor, [render_prompt(processor, "squat")], [video], LONG)
    features = vision_features(model, batch)
    config = generation_config(processor, max_new_tokens=6, temperature=1.0, top_p=1.0, top_k=0, do_sample=False)
    config.output_logits, config.return_dict_in_generate = True, True
    from actrep.fast.features import select_features
    from actrep.train.rollout import TEXT_KEYS, VIDEO_KEYS

    inputs = {k: batch[k] for k in TEXT_KEYS + VIDEO_KEYS if k in batch}
    with torch.no_grad():
        out = model.generate(**inputs, mm_encoder_outputs=select_features(features, [0]), generation_config=config)
    completion = out.sequences[:, batch["input_ids"].shape[1]:]
    generated = torch.stack(out.logits, dim=1).log_softmax(-1).gather(-1, completion.unsqueeze(-1)).squeeze(-1)
    mask = torch.ones_like(completion)
    with torch.no_grad():
        ours, _ = completion_logps(model, batch, torch.tensor([0]), completion, mask, features, 1.0)
    torch.testing.assert_close(ours, generated, rtol=1e-4, atol=1e-4)

    if family == "qwen2_5_vl":  # the video's temporal positions do run past the text that follows it
        positions, _ = model.model.get_rope_index(batch["input_ids"], batch["mm_token_type_ids"], None, batch["video_grid_thw"],
                                                  batch["second_per_grid_ts"], batch["attention_mask"])
        assert positions.max() > positions[:, 0, -1].max()


@pytest.mark.parametrize("family", FAMILIES)
def test_fast_decoder_follows_generate(family, sharp_checkpoints, long_video):
    from actrep.train.rollout import generate

    path = sharp_checkpoints[family]
    model, processor = AutoModelForImageTextToText.from_pretrained(path).eval(), load_processor(str(path))
    batch = encode(processor, [render_prompt(processor, "squat")], [load_video(long_video, get_family(family), LONG)], LONG)
    features = vision_features(model, batch)
    config = generation_config(processor, max_new_tokens=8, temperature=1.0, top_p=1.0, top_k=0, do_sample=False)
    plain = generate(model, batch, features, 1, config)  # greedy: one rollout
    fast = generate(model, batch, features, 1, config, fast=True)
    assert torch.equal(fast[:, : plain.shape[1]], plain)


@pytest.mark.parametrize("family", FAMILIES)
def test_shared_prefix_logps_equal_the_plain_forward(family, sharp_checkpoints, long_video):
    from actrep.fast.prefix import grouped_completion_logps
    from actrep.train.rollout import generate

    path = sharp_checkpoints[family]
    model, processor = AutoModelForImageTextToText.from_pretrained(path).eval(), load_processor(str(path))
    batch = encode(processor, [render_prompt(processor, "squat")], [load_video(long_video, get_family(family), LONG)], LONG)
    features = vision_features(model, batch)
    torch.manual_seed(0)
    completion = generate(model, batch, features, 3, generation_config(processor, max_new_tokens=6, temperature=1.0, top_p=1.0, top_k=0))
    mask, index = torch.ones_like(completion), torch.zeros(3, dtype=torch.long)
    with torch.no_grad():
        plain, _ = completion_logps(model, batch, index, completion, mask, features, 1.0)
        shared, _ = grouped_completion_logps(model, batch, index, completion, mask, features, 1.0)
    torch.testing.assert_close(shared, plain, rtol=1e-4, atol=1e-4)
