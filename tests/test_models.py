"""Offline tiny checkpoints: build, reload with plain transformers, generate on a video."""

import pytest
import torch
from transformers import AutoModelForImageTextToText, AutoProcessor

from actrep.errors import ActRepError
from actrep.models.registry import ModelArguments, get_family, load_model, resolve_family
from actrep.models.tiny import TinyModelArguments, build_config, build_tiny_checkpoint
from actrep.prompts import render_prompt
from actrep.video import VideoSettings, encode, load_video
from conftest import FAMILIES


@pytest.mark.parametrize("family", FAMILIES)
def test_tiny_reloads_and_generates_on_a_video(family, tiny_checkpoints, short_video, small_video_settings):
    path = tiny_checkpoints[family]
    for name in ("config.json", "model.safetensors", "tokenizer.json", "chat_template.jinja", "processor_config.json"):
        assert (path / name).exists(), name
    model = AutoModelForImageTextToText.from_pretrained(path)  # plain transformers, no actrep
    processor = AutoProcessor.from_pretrained(path)
    assert type(model).__name__ == get_family(family).model_class
    assert processor.tokenizer.convert_tokens_to_ids(["<|video_pad|>", "<|im_end|>", "<think>"]) == [151656, 151645, 151667]
    video = load_video(short_video, get_family(family), small_video_settings)
    batch = encode(processor, [render_prompt(processor, "squat")], [video], small_video_settings)
    assert (batch["mm_token_type_ids"] == 2).sum() == (batch["input_ids"] == 151656).sum() > 0
    out = model.generate(**batch, max_new_tokens=4, do_sample=False)
    assert out.shape[1] == batch["input_ids"].shape[1] + 4 or out[0, -1] == 151645


def test_load_model_reads_family_from_config(tiny_checkpoints):
    model, processor, family = load_model(ModelArguments(model_name_or_path=str(tiny_checkpoints["qwen3_vl"])))
    assert family.name == "qwen3_vl" and model.dtype == torch.float32
    with pytest.raises(ActRepError, match="does not match"):
        resolve_family(str(tiny_checkpoints["qwen3_vl"]), "qwen2_vl")


def test_moe_family_builds_and_reloads(tmp_path):
    path = build_tiny_checkpoint(TinyModelArguments(family="qwen3_vl_moe", output_dir=str(tmp_path / "moe")))
    model = AutoModelForImageTextToText.from_pretrained(path)
    assert type(model).__name__ == "Qwen3VLMoeForConditionalGeneration"


def test_sizes_are_parameters():
    config = build_config(TinyModelArguments(family="qwen2_5_vl", layers=6, hidden=384, heads=6, kv_heads=2, vision_depth=4, vision_hidden=256, vision_heads=4))
    text = config.text_config
    assert (text.num_hidden_layers, text.hidden_size, config.vision_config.depth) == (6, 384, 4)
    assert sum(text.rope_parameters["mrope_section"]) == text.head_dim // 2
    assert config.vision_config.out_hidden_size == text.hidden_size
    with pytest.raises(ActRepError, match="divisible"):
        build_config(TinyModelArguments(hidden=65))


def test_unknown_family_and_missing_model():
    with pytest.raises(ActRepError, match="unknown model family"):
        get_family("llava")
    with pytest.raises(ActRepError):
        load_model(ModelArguments(model_name_or_path="./does/not/exist"))


def test_qwen2_5_temporal_positions_increase_at_4fps(tiny_checkpoints, tmp_path):
    """transformers 5.17 truncated seconds-per-grid with int(): above 2 fps every frame got one position."""
    from helpers import write_video

    path = tiny_checkpoints["qwen2_5_vl"]
    model = AutoModelForImageTextToText.from_pretrained(path)
    processor = AutoProcessor.from_pretrained(path)
    settings = VideoSettings(fps=4.0, min_pixels=28 * 28, max_pixels=56 * 56)
    video = load_video(write_video(tmp_path / "v.mp4", n_frames=32, fps=8), get_family("qwen2_5_vl"), settings)
    batch = encode(processor, [render_prompt(processor, "squat")], [video], settings)
    assert float(batch["second_per_grid_ts"][0]) == pytest.approx(0.5)  # 4 fps -> 2 frames per 0.5 s
    positions, _ = model.model.get_rope_index(batch["input_ids"], batch["mm_token_type_ids"], None,
                                              batch["video_grid_thw"], batch["second_per_grid_ts"], batch["attention_mask"])
    temporal = positions[0, 0][batch["mm_token_type_ids"][0] == 2]
    t, h, w = batch["video_grid_thw"][0].tolist()
    per_pair = temporal.view(t, (h // 2) * (w // 2))
    assert (per_pair == per_pair[:, :1]).all()  # one temporal position per frame pair
    steps = per_pair[1:, 0] - per_pair[:-1, 0]
    assert t == 8 and (steps > 0).all(), per_pair[:, 0].tolist()


def test_unresolvable_hub_reads_the_cache_at_once(monkeypatch, capsys):
    import socket

    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)

    def no_dns(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    with pytest.raises(ActRepError, match=r"cannot read a model config from nobody/no-such-model: .*offline: give a local checkpoint"):
        resolve_family("nobody/no-such-model")
    assert constants.HF_HUB_OFFLINE and "cannot be resolved" in capsys.readouterr().err
