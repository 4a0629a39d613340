"""`actrep count`: window planning and stitching (exact with exact per-window answers), the three
backends' output shape (tiny model, fake API server, periodicity), text/JSON output, the timeline
PNG, the annotated mp4, inputs (folders, globs) and failures (unreadable files, exit 1)."""

from __future__ import annotations

import json
import random

import pytest

from actrep.cli import main
from actrep.count import VideoResult, expand_inputs, format_reps
from actrep.count.backends import ClipAnswer
from actrep.count.timeline import completed_at
from actrep.count.windows import (Rep, Window, WindowAnswer, needs_windows, overlap_share, owned_ranges, plan_frames,
                                  plan_windows, stitch)
from actrep.errors import ActRepError
from actrep.video import VideoSettings, probe
from helpers import write_video

SMALL = ["--fps", "4", "--max_frames", "16", "--min_pixels", "784", "--max_pixels", "3136",
         "--min_total_pixels", "4096", "--max_total_pixels", "65536"]


# ------------------------------------------------------------------------------------ fake counters


def exact_answer(truth: list[Rep], window: Window, mode: str = "whole", decimals: int | None = None) -> WindowAnswer:
    """What a perfect counter says about one window, on the window's clock.

    whole: the repetitions wholly inside the window; half: also those at least half visible, clipped
    to the window; any: also any visible part, clipped. `decimals` rounds times like model output.
    """
    reps = []
    for rep in truth:
        start, end = max(rep.start, window.start), min(rep.end, window.end)
        inside = rep.start >= window.start - 1e-9 and rep.end <= window.end + 1e-9
        if not inside:
            if mode == "whole" or end <= start or (mode == "half" and end - start < 0.5 * (rep.end - rep.start)):
                continue
        start, end = start - window.start, end - window.start
        if decimals is not None:
            start, end = round(start, decimals), round(end, decimals)
        reps.append(Rep(start, end))
    return WindowAnswer(len(reps), reps)


def back_to_back(first: int, length: int, frames: int, fps: float) -> list[Rep]:
    """Repetitions of `length` frames from frame `first` on, sharing boundaries, within `frames`."""
    reps, start = [], first
    while start + length <= frames - 1:
        reps.append(Rep(start / fps, (start + length) / fps))
        start += length
    return reps


def shortest_overlap(windows: list[Window]) -> float:
    return min(windows[k].end - windows[k + 1].start for k in range(len(windows) - 1))


class FakeBackend:
    """Answers every clip exactly from known repetitions (video clock)."""

    backend, model_name = "fake", "exact"

    def __init__(self, truth: list[Rep], settings: VideoSettings, mode: str = "whole"):
        self.truth, self.video_settings, self.mode, self.clips = truth, settings, mode, []

    def describe(self) -> dict:
        return {"backend": self.backend, "model": self.model_name}

    def count_clip(self, path, info, clip, action) -> ClipAnswer:
        self.clips.append(clip)
        first, last = (0, info.num_frames - 1) if clip is None else (round(clip[0] * info.fps), round(clip[1] * info.fps))
        answer = exact_answer(self.truth, Window(0, first, last, info.fps), self.mode)
        text = "<think>\nTracking each repetition: " + format_reps(answer.reps) + f"\n</think>\n<answer>\n{answer.count}\n</answer>"
        return ClipAnswer(answer.count, answer.reps, text, "Tracking each repetition: " + format_reps(answer.reps))


# ------------------------------------------------------------------------------------ planning


def test_windows_fit_the_budget_and_cover_the_video():
    settings = VideoSettings(fps=4.0, max_frames=16)
    assert plan_windows(32, 8.0, settings) == [Window(0, 0, 31, 8.0)]  # 4 s at 4 fps: 16 frames, within budget
    assert not needs_windows(32, 8.0, settings) and not needs_windows(33, 8.0, settings) and needs_windows(34, 8.0, settings)
    for native in (6.0, 8.0, 25.0, 29.97, 30.0):
        for frames in (33, 100, 1000, 4321):
            windows = plan_windows(frames, native, settings, 0.25)
            if not needs_windows(frames, native, settings):
                assert len(windows) == 1
                continue
            assert windows[0].first == 0 and windows[-1].last == frames - 1
            for w in windows:
                assert not needs_windows(w.frames, native, settings)  # sampled at the full fps
                assert w.frames == windows[0].frames
            for a, b in zip(windows, windows[1:]):
                assert b.first > a.first and a.last - b.first >= round(0.25 * (a.frames - 1))
    assert len(plan_windows(10_000, 30.0, VideoSettings(num_frames=16))) == 1  # fixed frame count: no fps budget
    with pytest.raises(ActRepError, match="overlap"):
        plan_windows(100, 8.0, settings, 0.0)


def test_owned_ranges_split_overlaps_at_their_midpoints():
    windows = plan_frames(100, 40, 0.25, 10.0)
    ranges = owned_ranges(windows)
    assert ranges[0][0] == float("-inf") and ranges[-1][1] == float("inf")
    for (low, high), (a, b) in zip(ranges[1:], zip(windows, windows[1:])):
        assert low == pytest.approx((b.start + a.end) / 2)


# ------------------------------------------------------------------------------------ stitching


COMBOS = [(fps, length, overlap, frames)
          for fps in (4.0, 8.0, 25.0, 30.0)
          for length in (8, 17, 64)
          for overlap in (0.1, 0.25, 0.5)
          for frames in (length + 1, 2 * length, 3 * length + 5, 7 * length)]


@pytest.mark.parametrize("mode", ["whole", "half", "any"])
def test_stitching_exact_answers_gives_exact_totals(mode):
    """Every window length / overlap / repetition length / phase, repetitions up to the overlap."""
    checked = 0
    for fps, length, overlap, frames in COMBOS:
        windows = plan_frames(frames, length, overlap, fps)
        longest = max(1, int(shortest_overlap(windows) * fps + 1e-9)) if len(windows) > 1 else length
        for rep_frames in sorted(n for n in {1, 2, 3, max(1, longest // 2), longest} if n <= longest):
            for first in range(0, rep_frames + 1):
                truth = back_to_back(first, rep_frames, frames, fps)
                stitched = stitch(windows, [exact_answer(truth, w, mode) for w in windows])
                assert stitched.count == len(truth), (fps, length, overlap, frames, rep_frames, first)
                assert [t for r in stitched.reps for t in (r.start, r.end)] == pytest.approx([t for r in truth for t in (r.start, r.end)])
                checked += 1
    assert checked > 1000


@pytest.mark.parametrize("mode", ["whole", "half", "any"])
def test_repetitions_exactly_on_window_edges(mode):
    for fps, length, overlap, frames in COMBOS:
        windows = plan_frames(frames, length, overlap, fps)
        if len(windows) == 1:
            continue
        edges = sorted({w.start for w in windows} | {w.end for w in windows})
        limit = shortest_overlap(windows) + 1e-9
        truth = [Rep(a, b) for a, b in zip(edges, edges[1:]) if b - a <= limit]
        stitched = stitch(windows, [exact_answer(truth, w, mode) for w in windows])
        assert stitched.count == len(truth), (fps, length, overlap, frames)


def test_stitching_random_lengths_gaps_and_one_decimal_times():
    """Random repetition lengths (up to the overlap), pauses, and times rounded like model output."""
    rng = random.Random(0)
    for trial in range(400):
        fps = rng.choice([4.0, 6.0, 8.0, 25.0, 30.0])
        windows = plan_frames(rng.randint(300, 4000), rng.choice([128, 256, 512]), rng.choice([0.2, 0.25, 0.33, 0.5]), fps)
        if len(windows) == 1 or shortest_overlap(windows) < 2.0:
            continue
        decimals = rng.choice([None, 1])
        truth, t = [], rng.uniform(0, 2)
        while True:
            length = rng.uniform(0.6, shortest_overlap(windows))
            if t + length > windows[-1].end:
                break
            truth.append(Rep(t, t + length))
            t += length + (rng.uniform(0, 3) if rng.random() < 0.3 else 0.0)
        mode = rng.choice(["whole", "half", "any"])
        stitched = stitch(windows, [exact_answer(truth, w, mode, decimals) for w in windows])
        assert stitched.count == len(truth), trial


def test_groups_are_split_for_stitching_and_joined_again():
    fps, truth = 10.0, [Rep(i * 0.5, (i + 1) * 0.5) for i in range(120)]  # 60 s of 0.5 s repetitions
    windows = plan_frames(601, 200, 0.25, fps)

    def grouped(window):  # the CoT's notation above 20 repetitions: groups of 10
        reps = exact_answer(truth, window).reps
        items = [Rep(reps[i].start, reps[min(i + 9, len(reps) - 1)].end, min(10, len(reps) - i)) for i in range(0, len(reps), 10)]
        return WindowAnswer(len(reps), items)

    stitched = stitch(windows, [grouped(w) for w in windows])
    assert stitched.count == 120 and stitched.method == "intervals"
    assert any(r.n > 1 for r in stitched.reps) and sum(r.n for r in stitched.reps) == 120


def test_inconsistent_or_missing_window_answers():
    windows = plan_frames(200, 80, 0.25, 10.0)
    truth = back_to_back(0, 10, 200, 10.0)
    answers = [exact_answer(truth, w) for w in windows]
    answers[1] = WindowAnswer(answers[1].count, [])  # a count without a listing: stitched by its share
    stitched = stitch(windows, answers)
    assert stitched.method == "proportional" and abs(stitched.count - len(truth)) <= 1
    answers[1] = WindowAnswer(None, [])
    assert stitch(windows, answers).count is None
    one = plan_frames(50, 80, 0.25, 10.0)
    assert stitch(one, [WindowAnswer(7, [Rep(0, 1)])]).count == 7  # one window: the answer, as in eval


def test_overlap_share_and_running_count():
    assert overlap_share(Rep(2.5, 2.75), Rep(2.5, 3.25)) == 1.0  # a clipped copy is the same repetition
    assert overlap_share(Rep(0, 1), Rep(1, 2)) == 0.0
    reps = [Rep(0.0, 1.0), Rep(1.0, 2.0), Rep(2.0, 12.0, 10)]
    assert [completed_at(reps, t) for t in (0.5, 1.0, 2.0, 7.0, 12.0)] == [0, 1, 2, 7, 12]


# ------------------------------------------------------------------------------------ the command


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("count")
    write_video(root / "a.mp4", n_frames=24, fps=8, seed=1)
    write_video(root / "b.mp4", n_frames=20, fps=8, seed=2)
    write_video(root / "long" / "long.mp4", n_frames=160, fps=8, seed=3)  # 20 s: 80 frames at 4 fps > 16
    (root / "broken.mp4").write_bytes(b"this is not a video")
    return root


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_tiny_model_text_and_json_png_and_annotated_video(tiny_checkpoints, videos, tmp_path, capsys):
    model = str(tiny_checkpoints["qwen2_5_vl"])
    base = ["count", str(videos / "a.mp4"), str(videos / "long" / "long.mp4"), "--model", model, "--action", "push_up",
            "--max_new_tokens", "6", "--quiet", *SMALL]
    assert main([*base, "--out", str(tmp_path / "text"), "--annotate"]) == 0
    out = capsys.readouterr().out
    assert out.count("a.mp4: ") == 1 and "long.mp4: " in out and "intervals:" in out and "output:" in out
    assert "counted in 7 overlapping windows" in out
    for stem in ("a", "long"):
        assert (tmp_path / "text" / f"{stem}.timeline.png").read_bytes()[:4] == b"\x89PNG"
        source = videos / "a.mp4" if stem == "a" else videos / "long" / "long.mp4"
        annotated = probe(tmp_path / "text" / f"{stem}.annotated.mp4", count_frames=True)
        original = probe(source, count_frames=True)
        assert (annotated.num_frames, annotated.fps) == (original.num_frames, original.fps)

    assert main([*base, "--out", str(tmp_path / "json"), "--json", "--no_timeline"]) == 0
    captured = capsys.readouterr()
    records = _json_lines(captured.out)  # nothing but JSON on stdout
    assert [r["video"] for r in records] == [str(videos / "a.mp4"), str(videos / "long" / "long.mp4")]
    for r in records:
        assert r["backend"] == "local" and r["model"] == model and r["family"] == "qwen2_5_vl"
        assert r["action"] == "push_up" and r["error"] is None and r["timeline"] is None
        assert r["count"] is None or isinstance(r["count"], int)
        assert isinstance(r["intervals"], list) and isinstance(r["raw"], str) and r["time_s"] > 0
        assert all(w["prompt_tokens"] > 0 for w in r["windows"])
    assert len(records[0]["windows"]) == 1 and records[0]["stitch"] == "single"
    assert len(records[1]["windows"]) == 7 and records[1]["duration_s"] == 20.0
    assert not (tmp_path / "json").exists()


def test_unreadable_and_missing_files_fail_alone(videos, tmp_path, capsys, monkeypatch):
    import actrep.count.cli as count

    monkeypatch.setattr(count, "make_backend", lambda *a: FakeBackend([Rep(0.5, 1.0), Rep(1.0, 1.5)], VideoSettings(fps=4, max_frames=16)))
    args = ["count", str(videos / "a.mp4"), str(videos / "broken.mp4"), str(videos / "gone.mp4"), str(videos / "b.mp4"),
            "--out", str(tmp_path), "--json", "--quiet"]
    assert main(args) == 1
    captured = capsys.readouterr()
    records = _json_lines(captured.out)
    assert [r["count"] for r in records] == [2, None, None, 2]
    assert "not a readable video" in records[1]["error"] and "not found" in records[2]["error"]
    errors = [line for line in captured.err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2 and "broken.mp4" in errors[0] and "gone.mp4" in errors[1]
    assert "2 of 4 video(s) failed" in captured.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.timeline.png", "b.timeline.png"]


def test_long_video_is_windowed_and_stitched_exactly(videos, tmp_path, capsys, monkeypatch):
    import actrep.count.cli as count

    truth = back_to_back(3, 7, 160, 8.0)  # 0.875 s repetitions over the whole 20 s
    fake = FakeBackend(truth, VideoSettings(fps=4, max_frames=16), mode="any")
    monkeypatch.setattr(count, "make_backend", lambda *a: fake)
    assert main(["count", str(videos / "long"), "--out", str(tmp_path), "--quiet", "--annotate"]) == 0
    out = capsys.readouterr().out
    assert f"long.mp4: {len(truth)} repetitions" in out and "7 overlapping windows" in out and "stitched by intervals" in out
    assert "rep1: 0.4s-1.2s" in out and "[window 2:" in out
    assert len(fake.clips) == 7 and fake.clips[0] == (0.0, 31 / 8)
    assert probe(tmp_path / "long.annotated.mp4", count_frames=True).num_frames == 160


def test_api_backend_with_a_compatible_server(videos, tmp_path, capsys, monkeypatch):
    from fake_chat_server import FakeChatServer

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with FakeChatServer() as server:
        code = main(["count", str(videos / "a.mp4"), "--provider", "openai-compatible", "--model", "qwen", "--base_url",
                     server.url + "/v1", "--action", "squat", "--fps", "2", "--json", "--quiet", "--no_timeline",
                     "--out", str(tmp_path)])
    assert code == 0
    (record,) = _json_lines(capsys.readouterr().out)
    sent = server.requests[0]
    assert record["backend"] == "api" and record["provider"] == "openai-compatible" and record["model"] == "qwen"
    assert record["count"] == sent["images"] == 6 and record["listed_count"] == 6  # the server lists one rep per frame
    assert record["intervals"][0] == [0.0, pytest.approx(0.5)] and record["windows"][0]["retries"] == 0
    assert "squat" in json.dumps(sent["body"])


def test_inputs_folders_globs_and_errors(videos, tmp_path):
    found = expand_inputs([str(videos), str(videos / "*.mp4"), str(videos / "long"), str(videos / "nothing*.mp4"),
                           str(tmp_path)])
    paths = [p for p, e in found if e is None]
    assert paths == [str(videos / n) for n in ("a.mp4", "b.mp4", "broken.mp4")] + [str(videos / "long" / "long.mp4")]
    errors = [e for _, e in found if e]
    assert "no file matches" in errors[0] and "no video files" in errors[1]


def test_missing_action_and_bad_overlap_are_one_line_errors(tiny_checkpoints, videos, capsys):
    assert main(["count", str(videos / "a.mp4"), "--model", str(tiny_checkpoints["qwen2_5_vl"])]) == 1
    assert "--action" in capsys.readouterr().err
    assert main(["count", str(videos / "a.mp4"), "--provider", "openai", "--action", "x"]) == 1
    assert "--model" in capsys.readouterr().err


def test_text_output_of_a_result():
    from actrep.count import format_text

    result = VideoResult(video="v.mp4", action="squat", count=12, reps=[Rep(0, 1), Rep(1, 2), Rep(2, 12, 10)],
                         reasoning="The video shows squats.", time_s=1.25, windows=[{}])
    text = format_text(result, show_reasoning=True)
    assert text.splitlines()[0] == "v.mp4: 12 repetitions  (1.2 s)"
    assert "rep1: 0.0s-1.0s, rep2: 1.0s-2.0s, reps 3-12: 2.0s-12.0s" in text and "The video shows squats." in text
    assert "reasoning" not in format_text(result, show_reasoning=False)


def test_an_uncertain_count_is_marked_in_text_and_json():
    from actrep.count import format_text

    result = VideoResult(video="v.mp4", action="", count=7, reps=[Rep(0, 1)] * 7, time_s=1.0, uncertain=True,
                         windows=[{"confidence": 0.42}], raw="periodicity counter: ~7? repetitions")
    text = format_text(result, show_reasoning=False)
    assert text.splitlines()[0] == "v.mp4: ~7? repetitions  (1.0 s)  UNCERTAIN"
    assert "confidence 0.42" in text.splitlines()[1]
    record = result.to_json({"backend": "periodicity", "model": "periodicity"}, hide_reasoning=False)
    assert record["status"] == "uncertain" and record["count"] == 7
    sure = VideoResult(video="v.mp4", action="", count=7, reps=[Rep(0, 1)] * 7, windows=[{}])
    assert sure.to_json({}, False)["status"] == "ok" and "~" not in format_text(sure, False)
    assert VideoResult(video="v.mp4", action="", error="v.mp4: gone").status == "failed"


def test_periodicity_backend_counts_windows_on_their_own_clock(videos, tmp_path, capsys, monkeypatch):
    """The glue to actrep.periodicity (a stand-in here): clips passed through, times shifted back."""
    import sys
    import types

    truth, calls = back_to_back(2, 6, 160, 8.0), []

    def count_video(path, config=None, count=None, clip_start=None, clip_end=None, info=None, alternating=False):
        calls.append((clip_start, clip_end))
        window = Window(0, round((clip_start or 0) * 8), round(clip_end * 8) if clip_end is not None else 159, 8.0)
        answer = exact_answer(truth, window, "half")
        return types.SimpleNamespace(count=answer.count, intervals=[(r.start, r.end) for r in answer.reps], confidence=0.9,
                                     uncertain=False)

    fake = types.SimpleNamespace(count_video=count_video, PeriodicityConfig=lambda: types.SimpleNamespace(confident_level=0.8))
    monkeypatch.setitem(sys.modules, "actrep.periodicity", fake)
    assert main(["count", str(videos / "long" / "long.mp4"), "--out", str(tmp_path), "--json", "--quiet",
                 "--fps", "4", "--max_frames", "32"]) == 0
    (record,) = _json_lines(capsys.readouterr().out)
    assert record["backend"] == "periodicity" and record["count"] == len(truth) and record["stitch"] == "intervals"
    assert len(calls) == len(record["windows"]) == 4 and calls[0] == (0.0, 63 / 8)
    assert record["intervals"][0] == [0.25, 1.0] and record["windows"][0]["confidence"] == 0.9 and record["status"] == "ok"
    assert record["reasoning"] is None and record["raw"].startswith("[window 1: 0.0-7.9 s]\nperiodicity counter:")


def test_periodicity_counter_on_a_long_synthetic_video(tmp_path, capsys):
    """The real training-free counter, no stand-in, on a 96 s synthetic clip (61 arm curls filling it):
    counted in two 64 s windows and stitched, it agrees with the clip counted at once."""
    try:
        from actrep.periodicity.counter import count_video  # noqa: F401
    except ImportError:
        pytest.skip("actrep.periodicity.count_video is not available yet (issue 12)")
    from actrep.synth import SynthConfig, sample_spec, write_video as render_video

    config = SynthConfig(fps=8.0, size="64", duration=96.0, min_count=55, max_count=70, preset="easy")
    spec = sample_spec(5, config, index=2, split="test")
    video = str(tmp_path / "curls.mp4")
    render_video(spec, video)
    assert main(["count", video, "--out", str(tmp_path / "out"), "--json", "--quiet"]) == 0
    assert main(["count", video, "--max_frames", "512", "--json", "--quiet", "--no_timeline"]) == 0
    windowed, whole = _json_lines(capsys.readouterr().out)
    assert windowed["backend"] == "periodicity" and len(windowed["windows"]) == 2 and windowed["stitch"] == "intervals"
    assert len(whole["windows"]) == 1 and whole["stitch"] == "single"
    assert windowed["listed_count"] == windowed["count"] == sum(w["kept"] for w in windowed["windows"])
    assert all(w["kept"] <= w["count"] for w in windowed["windows"])
    assert (tmp_path / "out" / "curls.timeline.png").exists()
    # The stitching is exact only when each window's own answer is right; the counter's confidence says
    # when it trusts its answer (a window of mostly idle frames can lock onto half the period).
    confident = all(w["confidence"] >= 0.5 for w in windowed["windows"] + whole["windows"])
    if confident:
        assert abs(windowed["count"] - whole["count"]) <= 1, (windowed["count"], whole["count"], spec.count)
