"""CoT builder: exact text, grouped form, variants, rounding, clip-clock timestamps per family, CLI."""

import json
import re

import numpy as np
import pytest

from actrep.answer import count_listed, format_exact, parse_count, parse_listed_reps
from actrep.cli import main
from actrep.data.cot import cot_sample
from actrep.reasoning import build_cot, format_time
from actrep.descriptions import describe, is_synthetic_video
from actrep.manifest import Sample, load_manifest
from actrep.data.rcs import RCSConfig, rcs_clips
from actrep.errors import ActRepError
from conftest import FAMILIES
from helpers import write_repcount

SQUAT = ("The video shows a person doing squats. One repetition of squat is going from standing upright down into a "
         "squat, hips back and knees bent, and back up to standing.")


def _roundtrip(text, count, variant="think"):
    assert format_exact(text, variant)
    assert parse_count(text) == count
    assert count_listed(parse_listed_reps(text)) == count


def test_three_rep_cot_reads_exactly_as_designed():
    text = build_cot(3, [(1.0, 5.0), (5.0, 8.8), (8.8, 11.8)], "squat")
    assert text == (
        "<think>\n" + SQUAT + "\n"
        "Tracking each repetition: rep1: 1.0s-5.0s, rep2: 5.0s-8.8s, rep3: 8.8s-11.8s\n"
        "Check: 3 repetitions listed between 1.0s and 11.8s.\n"
        "Total count: 3.\n"
        "</think>\n<answer>\n3\n</answer>"
    )
    _roundtrip(text, 3)
    assert [(i.start, i.end) for i in parse_listed_reps(text)] == [(1.0, 5.0), (5.0, 8.8), (8.8, 11.8)]


def test_thinking_variant_and_single_rep():
    text = build_cot(1, [(0.25, 1.04)], "squat", variant="thinking")
    assert text == ("<thinking>\n" + SQUAT + "\nTracking each repetition: rep1: 0.3s-1.0s\n"
                    "Check: 1 repetition listed between 0.3s and 1.0s.\nTotal count: 1.\n</thinking>\n<answer>\n1\n</answer>")
    _roundtrip(text, 1, "thinking")
    assert not format_exact(text, "think")
    with pytest.raises(ActRepError, match="unknown prompt variant"):
        build_cot(1, [(0, 1)], "squat", variant="reason")


def test_grouped_form_above_the_threshold():
    reps = [(0.5 + 1.2 * i, 1.7 + 1.2 * i) for i in range(21)]
    text = build_cot(21, reps, "squat")
    assert "Tracking each repetition: reps 1-10: 0.5s-12.5s, reps 11-20: 12.5s-24.5s, rep21: 24.5s-25.7s\n" in text
    assert "Check: 21 repetitions listed between 0.5s and 25.7s." in text
    _roundtrip(text, 21)
    exactly = build_cot(20, reps[:20], "squat")
    assert "rep20: 23.3s-24.5s" in exactly and "reps " not in exactly  # 20 is not above the threshold
    small = build_cot(7, reps[:7], "squat", group_threshold=5, group_size=3)
    assert "reps 1-3: 0.5s-4.1s, reps 4-6: 4.1s-7.7s, rep7: 7.7s-8.9s" in small
    for n in (25, 100, 302):
        for variant in ("think", "thinking"):
            text = build_cot(n, [(i, i + 1) for i in range(n)], "pushups", variant=variant)
            _roundtrip(text, n, variant)
            assert len(text) < 1200  # a 300-rep video stays short
    assert "reps 21-25: 20.0s-25.0s" in build_cot(25, [(i, i + 1) for i in range(25)], "squat")


def test_count_zero():
    text = build_cot(0, [], "squat")
    assert text == ("<think>\nOne repetition of squat is going from standing upright down into a squat, hips back and "
                    "knees bent, and back up to standing.\nTracking each repetition: none; no complete repetition of squat "
                    "is seen.\nCheck: 0 repetitions listed.\nTotal count: 0.\n</think>\n<answer>\n0\n</answer>")
    _roundtrip(text, 0)


def test_rounding_is_half_up_shared_and_monotonic():
    assert [format_time(t) for t in (0.0, 0.05, 0.25, 1.04, 3.6999999999, 37 / 10, 12.95)] == \
        ["0.0", "0.1", "0.3", "1.0", "3.7", "3.7", "13.0"]
    rng = np.random.default_rng(0)
    for _ in range(200):
        fps = float(rng.choice([6, 7.5, 24, 25, 29.97, 30]))
        edges = np.cumsum(rng.integers(1, 40, size=9))
        reps = [(a / fps, b / fps) for a, b in zip(edges[:-1], edges[1:])]  # back-to-back: shared frames
        items = parse_listed_reps(build_cot(len(reps), reps, "squat"))
        assert all(i.start <= i.end for i in items)
        assert all(a.end == b.start for a, b in zip(items, items[1:]))


@pytest.mark.parametrize("count, reps, message", [
    (2, [(0, 1)], "count 2 but 1 intervals"),
    (2, [(0, 1), (2, 1.5)], "rep 2 ends"),
    (2, [(3, 4), (1, 2)], "not in order"),
    (1, [(-1, 2)], "before the clip starts"),
    (1, [(0, float("nan"))], "non-finite"),
    (-1, [], "non-negative"),
])
def test_malformed_intervals_raise(count, reps, message):
    with pytest.raises(ActRepError, match=message):
        build_cot(count, reps, "squat")


def test_cot_sample_names_file_and_row():
    bad = Sample("v.mp4", "squat", 2, "train", boundaries=[(8, 16), (4, 12)], fps=8.0, source="data/train.csv", row=7)
    with pytest.raises(ActRepError, match=r"^data/train.csv row 7: rep 2 starts .* not in order$"):
        cot_sample(bad)
    assert cot_sample(Sample("v.mp4", "squat", 2, fps=8.0)) is None  # no boundaries: no CoT
    clip = Sample("v.mp4", "squat", 1, boundaries=[(12, 20)], fps=8.0, clip_start=1.0, clip_end=3.0)
    row = cot_sample(clip)
    assert row.intervals == [(0.5, 1.5)] and "rep1: 0.5s-1.5s" in row.cot and row.extra["prompt_variant"] == "think"


def test_descriptions_lookup():
    assert describe("pushups") == describe("Push-Ups") == describe("push_up")
    assert describe("squant") == describe("Squats") == describe("squat")
    assert describe("jump_jack") == describe("jumping jacks")
    assert describe("bench_pressing").name == "bench press" and describe("pull_ups").name == "pull-up"
    assert describe("others").name == "the movement"
    assert "stick-figure" in describe("push_up", synthetic=True).scene and "stick" not in describe("push_up").scene
    assert describe("rope_skipping").sentence().startswith("The video shows repeated rope skipping. One repetition of rope skipping is")
    for action in ("squat", "pommelhorse", "battle_rope", "front_raise", "situp", "rope_skipping"):
        for synthetic in (False, True):  # no description may read as a listed repetition
            _roundtrip(build_cot(2, [(0, 1), (1, 2)], action, description=describe(action, synthetic)), 2)


# ------------------------------------------------------------------------------------- CLI


@pytest.fixture(scope="module")
def synth_data(tmp_path_factory):
    from actrep.synth import SynthConfig, write_dataset

    out = tmp_path_factory.mktemp("synth") / "data"
    write_dataset(SynthConfig(output_dir=str(out), n=6, size="64", duration=3.0, max_count=5, workers=1, quiet=True, seed=3))
    return out


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_cli_on_synthetic_data(synth_data, tmp_path, capsys):
    out = tmp_path / "cot" / "train.jsonl"
    assert main(["cot", str(synth_data), "--out", str(out), "--prompt_variant", "thinking"]) == 0
    manifest = load_manifest(out)
    assert manifest.problems == [] and len(manifest.samples) == 6
    for row, sample in zip(_rows(out), manifest.samples):
        assert {"video_id", "split", "action", "gt_count", "video", "fps", "boundaries", "intervals", "clip_start",
                "clip_end", "cot", "prompt_variant"} <= set(row)
        assert row["prompt_variant"] == "thinking" and sample.video_path.exists() and is_synthetic_video(sample.video_path)
        assert describe(row["action"], synthetic=True).scene in row["cot"]
        _roundtrip(row["cot"], row["gt_count"], "thinking")
        assert sample.cot == row["cot"] and sample.intervals_seconds() == [tuple(i) for i in row["intervals"]]
    assert "wrote 6 row(s)" in capsys.readouterr().out


def test_cli_on_repcount_folder_reports_skips(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    root = write_repcount(tmp_path / "rc", {"train": [
        ["squat", "a.mp4", 2, 1, 5, 5, 10],
        ["pushups", "b.mp4", 2, 1, 5],          # count 2 but 1 pair: the loader's error
        ["situp", "c.mp4", 2],                  # no boundaries
        ["others", "d.mp4", 0],                 # count 0: written
        ["squant", "e.mp4", 1, 4, 30],          # past the last frame (23)
    ]}, n_frames=24)
    out = tmp_path / "rc.jsonl"
    assert main(["cot", str(root), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "2 row(s) skipped" in text and "count 2 but 1 boundary pairs" in text and "after the clip ends" in text
    assert "skipped 1 row(s) without repetition boundaries" in text
    rows = {r["video_id"]: r for r in _rows(out)}
    assert set(rows) == {"a.mp4", "d.mp4"}
    assert "rep1: 0.1s-0.6s, rep2: 0.6s-1.3s" in rows["a.mp4"]["cot"]  # frames 1, 5, 10 at 8 fps
    assert rows["a.mp4"]["cot"].startswith("<think>\n" + SQUAT)  # a real folder: real-video descriptions
    assert rows["d.mp4"]["gt_count"] == 0 and parse_count(rows["d.mp4"]["cot"]) == 0
    assert load_manifest(out).problems == []


# ------------------------------------------------------------------------------------- clock


def _marker_video(path, n_frames=70, fps=10, marked=range(27, 41)):
    """64x64 grey frames with a bright square only in the frames of `marked` (one repetition)."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        for i in range(n_frames):
            frame = np.full((64, 64, 3), 60, np.uint8)
            if i in marked:
                frame[16:48, 16:48] = 250
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture(scope="module")
def processors():
    from actrep.models.registry import get_family
    from actrep.models.tiny import build_processor

    return {name: build_processor(get_family(name)) for name in FAMILIES}


@pytest.mark.parametrize("family_name", FAMILIES)
def test_cot_clock_matches_sampled_frames(family_name, processors, tmp_path, small_video_settings):
    """In RCS clips with offsets, the CoT interval of the marked rep holds exactly the marked sampled frames
    (up to one sampling step), and Qwen3-VL's prompt timestamps / Qwen2.5-VL's seconds-per-grid share the clock."""
    from actrep.models.registry import get_family
    from actrep.prompts import render_prompt
    from actrep.video import encode, load_video, probe

    family, fps = get_family(family_name), 10.0
    path = _marker_video(tmp_path / "marker.mp4")
    info = probe(path)
    source = Sample("marker.mp4", "squat", 5, "train", path, [(3, 15), (15, 27), (27, 40), (40, 52), (52, 66)], fps=fps)
    clips = rcs_clips([source], RCSConfig(strata="1-5", per_video=15, pad_max=0.3), np.random.default_rng(0), {str(path): 70})
    clips = [c for c in clips if c.extra["rcs"]["first_rep"] <= 3 < c.extra["rcs"]["first_rep"] + c.count]
    assert len(clips) == 9 and len({c.clip_start for c in clips}) > 2
    processor = processors[family_name]
    for clip in clips:
        video = load_video(path, family, small_video_settings, clip.clip_start, clip.clip_end, info=info)
        first = round(clip.clip_start * fps)
        assert video.clip_offset == first and video.clip_offset + video.clip_frames - 1 == round(clip.clip_end * fps)
        item = parse_listed_reps(cot_sample(clip, info).cot)[3 - clip.extra["rcs"]["first_rep"]]
        assert abs(item.start - (27 - first) / fps) <= 0.05 and abs(item.end - (40 - first) / fps) <= 0.05
        t = np.array(video.timestamps)
        step = float(np.diff(t).max())
        marked = video.frames[:, 20:44, 20:44].mean(axis=(1, 2, 3)) > 150
        assert marked.tolist() == [27 <= first + i <= 40 for i in video.indices]  # the right frames were decoded
        inside = (t >= item.start) & (t <= item.end)
        near = np.minimum(abs(t - item.start), abs(t - item.end)) <= step
        assert marked.any() and np.all((marked == inside) | near)
        if family_name == "qwen2_vl":
            continue
        batch = encode(processor, [render_prompt(processor, clip.action)], [video], small_video_settings)
        padded = np.append(t, t[-1]) if len(t) % 2 else t  # an odd last frame is repeated (one temporal patch = 2 frames)
        pair_times = (padded[0::2] + padded[1::2]) / 2
        if family_name == "qwen3_vl":
            stamps = [float(s) for s in re.findall(r"<(\d+\.\d) seconds>", processor.decode(batch["input_ids"][0]))]
            assert stamps and stamps == [float(f"{p:.1f}") for p in pair_times]
            marked_pairs = marked[0::2] | np.append(marked, marked[-1])[1::2]
            assert all(item.start - step <= s <= item.end + step for s in np.array(stamps)[marked_pairs])
        else:
            grid_times = float(batch["second_per_grid_ts"][0]) * np.arange(len(pair_times))
            assert np.all(abs(grid_times - t[0::2]) <= step)
