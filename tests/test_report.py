"""`actrep report`: a self-contained HTML page with plots and per-video cards from two real-format runs."""

import re

import numpy as np
import pytest
from PIL import Image

from actrep.answer import parse_completion
from actrep.cli import main as cli_main
from actrep.manifest import Sample
from actrep.errors import ActRepError
from actrep.runs import PredictionLog, failed_prediction, finalize_run, prediction_from_parsed, sample_key
from actrep.report import Run, load_runs, main, select_cards
from actrep.figures import STRIP_TILE, frame_strip
from helpers import write_video

FPS = 8
PLANTED = "<script>alert('x')</script>"


def _raw(intervals, count, action="squat"):
    reps = ", ".join(f"rep{i}: {s:.1f}s-{e:.1f}s" for i, (s, e) in enumerate(intervals, 1))
    return (f"<think>\nThe video shows a person doing {action}.\nTracking each repetition: {reps}\n"
            f"Total count: {count}.\n</think>\n<answer>\n{count}\n</answer>")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Six samples: plain videos, a missing video file, and an RCS clip (file frames 8-32 = 1.0-4.0 s)."""
    root = tmp_path_factory.mktemp("data")
    specs = [  # video_id, action, count, boundaries (file frames), frames in the file
        ("squat_1.mp4", "squat", 3, [(2, 8), (8, 14), (14, 20)], 24),
        ("pushup_1.mp4", "pushup", 5, [(0, 4), (4, 8), (8, 12), (12, 16), (16, 20)], 24),
        ("jump_1.mp4", "jump", 2, [(3, 11), (11, 19)], 24),
        ("squat_2.mp4", "squat", 4, [(1, 5), (5, 9), (9, 13), (13, 17)], None),  # no file: the video failed
        ("pushup_2.mp4", "pushup", 12, [(2 * i, 2 * i + 2) for i in range(12)], 32),
    ]
    samples = []
    for video_id, action, count, bounds, frames in specs:
        path = root / video_id
        if frames:
            write_video(path, n_frames=frames, fps=FPS, seed=len(samples))
        samples.append(Sample(video_id=video_id, action=action, count=count, video_path=path, boundaries=bounds, fps=FPS))
    write_video(root / "long.mp4", n_frames=48, fps=FPS, seed=9)
    samples.append(Sample(video_id="long.mp4", action="jump", count=2, video_path=root / "long.mp4",
                          boundaries=[(10, 18), (18, 26)], fps=FPS, clip_start=1.0, clip_end=4.0))
    return samples


def _write_run(run_dir, samples, preds, info):
    """A run in the real on-disk format: PredictionLog lines, then finalize_run's metrics.json."""
    log = PredictionLog(run_dir / "predictions.jsonl")
    for sample, pred in zip(samples, preds):
        if pred == "fail":
            log.append(failed_prediction(sample, "video file not found", time_s=0.01))
            continue
        gt = sample.intervals_seconds()
        listed = gt[: pred] if isinstance(pred, int) and pred <= len(gt) else gt + [(gt[-1][1], gt[-1][1] + 0.5)]
        raw = PLANTED + " I cannot count this." if pred is None else _raw(listed, pred, sample.action)
        parsed = parse_completion(raw)
        log.append(prediction_from_parsed(sample, parsed, raw=raw, time_s=0.5, completion_tokens=40))
    return finalize_run(run_dir, [sample_key(s) for s in samples], info)


@pytest.fixture(scope="module")
def runs(dataset, tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    metrics = {
        "qwen-sft": _write_run(root / "qwen-sft", dataset, [3, 4, None, 4, 12, 2],
                               {"model": "ckpt/sft", "video": {"fps": 4.0, "max_frames": 64}}),
        "qwen-grpo": _write_run(root / "qwen-grpo", dataset, [3, 5, 2, "fail", 9, 3],
                                {"model": "ckpt/grpo", "video": {"fps": 4.0, "max_frames": 64}}),
    }
    return root, metrics


@pytest.fixture(scope="module")
def report(runs, tmp_path_factory):
    root, _ = runs
    out = tmp_path_factory.mktemp("report") / "report.html"
    assert main([str(root / "qwen-sft"), str(root / "qwen-grpo"), "--out", str(out), "--title", "Test <report>"]) == 0
    return out


def test_html_is_self_contained(report):
    page = report.read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page
    assert "<link" not in page and "<script" not in page and "url(" not in page
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) == 3 + 5  # three plots, five frame strips (one video has no file)
    assert all(s.startswith(("data:image/png;base64,", "data:image/jpeg;base64,")) for s in sources)


def test_html_shows_runs_and_metrics(report, runs):
    page = report.read_text(encoding="utf-8")
    assert "Test &lt;report&gt;" in page
    for name, metrics in runs[1].items():
        assert name in page
        for mode in ("strict", "parsed_only"):
            for key in ("parse_rate", "obo", "exact", "mae", "rmse"):
                assert f"{metrics[mode][key]:.3f}" in page, (name, mode, key)
    assert "reference-compatible" in page
    assert "ckpt/sft" in page and "ckpt/grpo" in page  # the settings each run recorded


def test_raw_output_is_escaped_and_failures_are_cards(report):
    page = report.read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "<details>" in page and "unparseable" in page
    assert "video unavailable" in page and "error: video file not found" in page
    assert page.count('class="card"') == 6
    assert "All 6 videos" in page


def test_clip_card_uses_the_clip_clock(report):
    page = report.read_text(encoding="utf-8")
    card = page[page.index("<h3>long.mp4</h3>"):]
    card = card[: card.index('<div class="card">')] if '<div class="card">' in card else card
    assert "clip 1.0 s to 4.0 s of the file" in card
    # Clip frames 8..32 at 8 fps last 3.125 s; the ground truth's second rep is 1.25-2.25 s on that clock.
    assert 'title="2: 1.2-2.2 s"' in card
    assert ">3 s</span>" in card and ">3.5 s</span>" not in card


def test_pictures_are_valid(report):
    files = report.with_name("report_files")
    for name in ("scatter.png", "by_bin.png", "by_action.png"):
        with Image.open(files / name) as image:
            image.verify()
        with Image.open(files / name) as image:
            assert image.width >= 400 and image.height >= 250
            assert len(image.convert("L").getcolors(1 << 16)) > 20  # a drawing, not a blank canvas
        assert (files / name).stat().st_size > 10_000
    strips = sorted((files / "cards").glob("card_*.jpg"))
    assert len(strips) == 5
    with Image.open(strips[0]) as image:
        assert image.size == (STRIP_TILE[0] * 8, STRIP_TILE[1])


def test_frame_strip_decodes_the_clip_frames(dataset, tmp_path):
    """Tile 0 of the 1.0-4.0 s clip shows file frame 9 (the middle of the first 1/8 of frames 8-32)."""
    clip = dataset[-1]
    duration = frame_strip(tmp_path / "s.jpg", str(clip.video_path), clip.clip_start, clip.clip_end, 8)
    assert duration == pytest.approx(25 / FPS)
    tile = np.asarray(Image.open(tmp_path / "s.jpg").convert("L"))[:60, : STRIP_TILE[0]]
    bar = int(np.argmax(tile.mean(axis=0) > 230))  # write_video's white bar starts at x = i * 64 / 48 px
    assert abs(bar - 9 * 64 / 48 * STRIP_TILE[0] / 64) <= 3


def test_card_selection_worst_first_then_best(runs, tmp_path):
    loaded = load_runs([runs[0]])  # a folder of runs: both found
    assert sorted(r.name for r in loaded) == ["qwen-grpo", "qwen-sft"]
    keys, best, sentence = select_cards(loaded, 2)
    # Largest strict error over the runs: squat_2 (failed video, error 4), then pushup_2 (12 vs 9).
    assert [k.rsplit("/", 1)[1] for k in keys] == ["squat_2.mp4", "pushup_2.mp4"]
    assert best == [] and "2 of 6 videos" in sentence and "best-predicted" not in sentence  # 2 // 6 = 0 best slots

    many = Run("many", tmp_path, {}, [{"key": f"v{i}", "count": 10, "pred": 10 + i} for i in range(30)], "#000")
    worst, best, sentence = select_cards([many], 12)
    assert worst == [f"v{i}" for i in range(29, 19, -1)] and best == ["v1", "v0"]
    assert "12 of 30 videos: the 10 with the largest" in sentence and "then the 2 best-predicted" in sentence


def test_bad_input_is_one_line_error(tmp_path, runs, capsys):
    (tmp_path / "empty").mkdir()
    assert cli_main(["report", str(tmp_path / "empty"), "--out", str(tmp_path / "r.html")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no evaluation run found" in err and err.count("\n") == 1
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "metrics.json").write_text('{"strict": {"n": 3,')
    with pytest.raises(ActRepError, match="metrics.json: not valid JSON"):
        main([str(corrupt), "--out", str(tmp_path / "r.html")])
    (corrupt / "metrics.json").write_text('{"n": 3}')
    with pytest.raises(ActRepError, match="no 'strict' and 'parsed_only'"):
        main([str(corrupt), "--out", str(tmp_path / "r.html")])
    (corrupt / "metrics.json").write_text('{"strict": {}, "parsed_only": {}}')
    (corrupt / "predictions.jsonl").write_text('{"video_id": "a.mp4"}\n')
    with pytest.raises(ActRepError, match="predictions.jsonl line 1: not a prediction record"):
        main([str(corrupt), "--out", str(tmp_path / "r.html")])
