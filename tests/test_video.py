"""The video pipeline: bit-identical to the processor's own path, token formulas, bad files."""

import math

import numpy as np
import pytest
import torch
from transformers.video_utils import VideoMetadata

from actrep.errors import ActRepError
from actrep.models.registry import get_family, load_processor
from actrep.prompts import render_prompt
from actrep.video import (VideoSettings, configure_processor, decode_all, encode, load_video, probe, processor_video_kwargs,
                          visual_token_count)
from conftest import FAMILIES
from helpers import write_video


@pytest.fixture(scope="module")
def video_40(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("v") / "v40.mp4", n_frames=40, fps=8, width=96, height=80)


@pytest.mark.parametrize("family_name", FAMILIES)
@pytest.mark.parametrize("clip", [(None, None), (1.0, 3.5)])
def test_bit_identical_to_the_processors_own_path(family_name, clip, tiny_checkpoints, video_40, small_video_settings):
    family = get_family(family_name)
    processor = load_processor(str(tiny_checkpoints[family_name]))
    ours_video = load_video(video_40, family, small_video_settings, *clip)
    prompt = render_prompt(processor, "push_up")
    ours = encode(processor, [prompt], [ours_video], small_video_settings)
    # The processor's own path: every frame of the clip, the processor samples them itself. Qwen3-VL's
    # sample_frames reads min/max frames from the instance only, so the instance is configured first.
    configure_processor(processor, small_video_settings, family)
    frames = decode_all(video_40)[ours_video.clip_offset : ours_video.clip_offset + ours_video.clip_frames]
    metadata = VideoMetadata(total_num_frames=len(frames), fps=8.0, duration=len(frames) / 8.0)
    kwargs = dict(processor_video_kwargs(small_video_settings, family), do_sample_frames=True)
    theirs = processor(text=[prompt], videos=[frames], video_metadata=[metadata], fps=small_video_settings.fps,
                       min_frames=small_video_settings.min_frames, max_frames=small_video_settings.max_frames,
                       return_tensors="pt", **kwargs)
    for key in ("input_ids", "pixel_values_videos", "video_grid_thw", "mm_token_type_ids"):
        assert torch.equal(ours[key], theirs[key]), key
    if family.second_per_grid_ts:
        assert torch.equal(torch.as_tensor(ours["second_per_grid_ts"]), torch.as_tensor(theirs["second_per_grid_ts"]))


@pytest.mark.parametrize("family_name", ["qwen2_vl", "qwen2_5_vl"])
def test_qwen2_token_formula(family_name, video_40):
    """tokens = (T/2) * (H'/28) * (W'/28); T = even(clamp(duration * fps, 4, max_frames, total))."""
    settings = VideoSettings(fps=2.0, min_pixels=28 * 28, max_pixels=56 * 84)
    from actrep.models.tiny import build_processor

    family = get_family(family_name)
    processor = build_processor(family)
    video = load_video(video_40, family, settings)
    batch = encode(processor, [render_prompt(processor, "x")], [video], settings)
    duration, total = 5.0, 40
    expected_t = math.floor(min(max(duration * 2.0, 4), settings.max_frames, total) / 2) * 2
    assert len(video.indices) == expected_t == 10
    np.testing.assert_array_equal(video.indices, np.arange(0, total, total / expected_t).astype(int))
    t, h, w = batch["video_grid_thw"][0].tolist()
    assert visual_token_count(batch["video_grid_thw"]) == [(expected_t // 2) * (h * 14 // 28) * (w * 14 // 28)]
    assert h * w * 14 * 14 <= settings.max_pixels


def test_qwen3_total_budget_and_timestamps(video_40):
    """Qwen3-VL: the pixel budget is shared by all frames; timestamps come from frame indices / fps."""
    from actrep.models.tiny import build_processor

    family = get_family("qwen3_vl")
    processor = build_processor(family)
    few = VideoSettings(fps=1.0, min_total_pixels=4 * 32 * 32, max_total_pixels=40 * 32 * 32)
    many = VideoSettings(fps=4.0, min_total_pixels=4 * 32 * 32, max_total_pixels=40 * 32 * 32)
    grids = []
    for settings in (few, many):
        video = load_video(video_40, family, settings)
        np.testing.assert_array_equal(video.indices, np.linspace(0, 39, len(video.indices)).round().astype(int))
        batch = encode(processor, [render_prompt(processor, "x")], [video], settings)
        grids.append(batch["video_grid_thw"][0].tolist())
        text = processor.decode(batch["input_ids"][0])
        first_pair = (video.indices[0] + video.indices[1]) / 2 / 8.0
        assert f"<{first_pair:.1f} seconds>" in text
    assert grids[1][0] > grids[0][0] and grids[1][1] * grids[1][2] < grids[0][1] * grids[0][2]


def test_clip_is_rebased(video_40, small_video_settings):
    video = load_video(video_40, get_family("qwen2_5_vl"), small_video_settings, clip_start=1.0, clip_end=3.5)
    assert video.clip_offset == 8 and video.clip_frames == 21 and video.indices[0] == 0
    assert video.timestamps[0] == 0.0
    np.testing.assert_array_equal(video.frames[0], decode_all(video_40)[8])
    with pytest.raises(ActRepError, match="not inside the video"):
        load_video(video_40, get_family("qwen2_5_vl"), small_video_settings, clip_start=3.0, clip_end=9.0)


def test_bad_video_files(tmp_path, small_video_settings):
    family = get_family("qwen2_5_vl")
    good = write_video(tmp_path / "good.mp4", n_frames=40)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "text.mp4"
    text.write_text("this is not a video\n" * 20)
    truncated = tmp_path / "truncated.mp4"  # index at the end: the cut file does not open
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    faststart = write_video(tmp_path / "faststart.mp4", n_frames=40, faststart=True)
    cut = tmp_path / "cut.mp4"  # index first: opens, claims 40 frames, ends early
    cut.write_bytes(faststart.read_bytes()[: faststart.stat().st_size * 2 // 3])
    one = write_video(tmp_path / "one.mp4", n_frames=1)
    cases = {tmp_path / "missing.mp4": "not found", empty: "empty", text: "not a readable video",
             truncated: "not a readable video", cut: "truncated", one: "at least 2 frames"}
    for path, message in cases.items():
        with pytest.raises(ActRepError, match=message) as info:
            load_video(path, family, small_video_settings)
        assert str(info.value).startswith(str(path)), info.value
        assert "\n" not in str(info.value)


def test_settings_validation():
    with pytest.raises(ActRepError):
        VideoSettings(fps=0)
    with pytest.raises(ActRepError):
        VideoSettings(min_pixels=100, max_pixels=10)
    with pytest.raises(ActRepError):
        VideoSettings(decoder="ffmpeg-cli")


@pytest.mark.parametrize("family_name", ["qwen2_vl", "qwen2_5_vl", "qwen3_vl"])
@pytest.mark.parametrize("frames,file_fps,fps", [(59, 8.0, 8.0), (41, 8.0, 3.0)])
def test_sampled_indices_never_pass_the_last_frame(family_name, frames, file_fps, fps):
    # transformers' float arange yields index == frames for these lengths; we clamp to the last frame
    from actrep.video import sample_indices

    indices = sample_indices(get_family(family_name), frames, file_fps, VideoSettings(fps=fps))
    assert indices.max() == frames - 1
    assert (np.diff(indices) >= 0).all()
