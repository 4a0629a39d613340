"""Damaged videos: every reader reports a file that ends before its declared length or whose frames
stop decoding, as a one-line error naming the file; `--allow_partial` reads the readable part and
marks every result built on it partial. The files are damaged here: a faststart mp4 cut in half, a
cut inside a group of pictures, a file cut right after its header, garbage in the frame data, a
video stream without frames, a matroska header that declares three times the real duration."""

from __future__ import annotations

import json

import numpy as np
import pytest

from actrep.cli import main
from actrep.errors import ActRepError
from actrep.models.registry import get_family
from actrep.video import IncompleteVideoError, VideoSettings, decode_all, load_video, probe
from helpers import (cut_copy, empty_video_stream, garbled_copy, header_only_copy, with_matroska_duration, write_repcount,
                     write_video)

FRAMES, GOP = 80, 10  # 10 s at 8 fps, a keyframe every 10 frames


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("damaged")
    good = write_video(root / "good.mp4", n_frames=FRAMES, fps=8, seed=1, faststart=True, noise=True, gop=GOP)
    good_mkv = write_video(root / "good.mkv", n_frames=FRAMES, fps=8, seed=1, noise=True, gop=GOP)
    return {
        "good": good,
        "good_mkv": good_mkv,
        "short_header": with_matroska_duration(good_mkv, root / "short_header.mkv", 4.0),  # declares less than it holds
        "faststart_cut": cut_copy(good, root / "faststart_cut.mp4", 0.5),
        "mid_gop_cut": cut_copy(good, root / "mid_gop_cut.mp4", 0.55),
        "mkv_cut": cut_copy(good_mkv, root / "mkv_cut.mkv", 0.5),
        "header_only": header_only_copy(good, root / "header_only.mp4"),
        "garbled": garbled_copy(good, root / "garbled.mp4", 0.5),
        "no_frames": empty_video_stream(root / "no_frames.mkv"),
        "lying_duration": with_matroska_duration(good_mkv, root / "lying_duration.mkv", 30.0),
    }


ENDS_EARLY = {  # case -> what the one-line error says (probe, no decoding needed)
    "faststart_cut": "truncated: the file declares 80 frames but holds",
    "mid_gop_cut": "truncated: the file declares 80 frames but holds",
    "mkv_cut": "truncated: the file declares 10.0 s but its streams end at",
    "header_only": r"the video stream holds no frames \(the file declares 80 frames but holds 0\)",
    "no_frames": "the video stream holds no frames",
    "lying_duration": "truncated: the file declares 30.0 s but its streams end at 10.0 s",
}


def _one_line_naming(err, path) -> None:
    message = str(err)
    assert message.startswith(str(path)) and "\n" not in message, message


@pytest.mark.parametrize("case", list(ENDS_EARLY))
def test_a_file_that_ends_early_is_an_error_naming_it(files, case):
    with pytest.raises(IncompleteVideoError, match=ENDS_EARLY[case]) as err:
        probe(files[case])
    _one_line_naming(err.value, files[case])


def test_healthy_files_pass_and_a_short_header_loses_no_frame(files):
    for case in ("good", "good_mkv", "short_header"):
        info = probe(files[case])
        assert (info.num_frames, info.partial, info.partial_note()) == (FRAMES, False, None), case
        assert probe(files[case], count_frames=True).num_frames == FRAMES
        assert len(decode_all(files[case])) == FRAMES


def test_frames_that_stop_decoding(files, small_video_settings):
    """Every packet is there (the index is intact), the data is garbage: caught while decoding."""
    path = files["garbled"]
    assert probe(path).num_frames == FRAMES  # demuxing alone cannot see it
    with pytest.raises(IncompleteVideoError, match="damaged: frames stop decoding at frame") as err:
        probe(path, count_frames=True)
    _one_line_naming(err.value, path)
    from actrep.periodicity import count_video

    for read in (lambda: load_video(path, get_family("qwen2_5_vl"), small_video_settings), lambda: count_video(path),
                 lambda: decode_all(path)):
        with pytest.raises(IncompleteVideoError, match="frames stop decoding") as err:
            read()
        _one_line_naming(err.value, path)


def _readers(tmp_path):
    """Every way the project reads a video: name -> function(path) that reads it."""
    from actrep.count.timeline import annotate_video
    from actrep.data.cot import probe_videos
    from actrep.manifest import Sample
    from actrep.periodicity import count_video
    from actrep.evaluate.baseline import BaselineCounter
    from actrep.figures import frame_strip
    from actrep.train.data import VideoSampleDataset

    settings = VideoSettings(fps=4.0, max_frames=16, min_pixels=784, max_pixels=3136)

    def sample(path):
        return Sample(path.name, "squat", 2, video_path=path, source=str(path))

    def probed_for_cot(path):
        _, failures = probe_videos([sample(path)], workers=1)
        raise IncompleteVideoError(failures[str(path)])

    def training_item(path):
        return VideoSampleDataset([sample(path)], get_family("qwen2_vl"), settings)[0]

    return {
        "model and API frames (load_video)": lambda p: load_video(p, get_family("qwen3_vl"), settings),
        "periodicity counter": count_video,
        "eval baseline periodicity": lambda p: BaselineCounter("periodicity", settings).load(sample(p)),
        "eval baseline naive": lambda p: BaselineCounter("naive", settings).load(sample(p)),
        "CoT / RCS probe": probed_for_cot,
        "training data loader": training_item,
        "timeline strip": lambda p: frame_strip(tmp_path / "strip.jpg", str(p), None, None, 4),
        "annotated copy": lambda p: annotate_video(p, tmp_path / "annotated.mp4", [], 0, "squat"),
    }


@pytest.mark.parametrize("case", ["faststart_cut", "mid_gop_cut"])
def test_every_reader_refuses_a_cut_file(files, case, tmp_path, capsys):
    path = files[case]
    for name, read in _readers(tmp_path).items():
        with pytest.raises(ActRepError, match="truncated|no readable video") as err:
            read(path)
        if name == "training data loader":  # skips the file and says so, then has nothing left
            assert f"warning: skipping {path}: {path}: truncated:" in capsys.readouterr().err
        else:
            _one_line_naming(err.value, path)
    assert not (tmp_path / "annotated.mp4").exists()


def test_data_validate_reports_the_cut_file(files, tmp_path):
    import shutil

    from actrep.data.validate import validate

    root = write_repcount(tmp_path / "ds", {"test": [["squat", "ok.mp4", 1, 0, 5], ["squat", "cut.mp4", 1, 0, 5]]},
                          make_videos=False)
    (root / "video" / "test").mkdir(parents=True)
    shutil.copy(files["good"], root / "video" / "test" / "ok.mp4")
    shutil.copy(files["faststart_cut"], root / "video" / "test" / "cut.mp4")
    (problem,) = validate(root, progress=False).errors
    assert problem.row == 2 and "cut.mp4: truncated: the file declares 80 frames but holds" in problem.message


@pytest.mark.parametrize("case", ["faststart_cut", "mid_gop_cut", "mkv_cut", "garbled", "lying_duration"])
def test_allow_partial_reads_exactly_the_readable_part(files, case, small_video_settings):
    path = files[case]
    info = probe(path, allow_partial=True)
    assert info.partial and 2 <= info.num_frames < info.declared_frames
    assert info.declared_frames == (240 if case == "lying_duration" else FRAMES)
    assert info.partial_note().startswith(f"only {info.duration:.1f} s of the {info.declared_s:.1f} s the file declares")
    if case == "mid_gop_cut":
        assert info.num_frames % GOP != 0  # the cut is inside a group of pictures
    video = load_video(path, get_family("qwen2_5_vl"), small_video_settings, info=info)
    assert video.partial == info.partial_note() and video.indices.max() <= info.num_frames - 1
    reference = decode_all(files["good_mkv" if path.suffix == ".mkv" else "good"])
    np.testing.assert_array_equal(video.frames, reference[video.indices])  # the frames read are the right ones


@pytest.mark.parametrize("case", ["header_only", "no_frames"])
def test_allow_partial_with_nothing_readable_is_still_an_error(files, case):
    with pytest.raises(IncompleteVideoError, match="no frame could be decoded") as err:
        probe(files[case], allow_partial=True)
    _one_line_naming(err.value, files[case])


def test_actrep_count_refuses_then_marks_partial_everywhere(files, tmp_path, capsys):
    path = str(files["faststart_cut"])
    for extra in ([], ["--no_timeline"], ["--json"]):
        assert main(["count", path, "--out", str(tmp_path / "refused"), "--quiet", *extra]) == 1
        captured = capsys.readouterr()
        (error,) = [line for line in captured.err.splitlines() if line.startswith("error: ")]
        assert error.startswith(f"error: {path}: truncated:") and "--allow_partial" in error
        assert "repetition" not in captured.out
    assert not (tmp_path / "refused").exists()

    assert main(["count", path, "--out", str(tmp_path / "out"), "--quiet", "--allow_partial", "--annotate"]) == 0
    text = capsys.readouterr().out
    first, *notes = text.splitlines()
    assert first.startswith(f"{path}: ") and first.endswith("PARTIAL")  # half a clip may also be UNCERTAIN
    (partial,) = [line for line in notes if line.startswith("  partial: ")]
    assert partial.startswith("  partial: only ") and "of the 10.0 s the file declares could be read" in partial
    assert (tmp_path / "out" / "faststart_cut.timeline.png").exists()
    info = probe(path, allow_partial=True)
    assert probe(tmp_path / "out" / "faststart_cut.annotated.mp4").num_frames == info.num_frames

    assert main(["count", path, "--out", str(tmp_path / "json"), "--quiet", "--allow_partial", "--json"]) == 0
    (record,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert record["error"] is None and isinstance(record["count"], int)
    assert record["partial"]["declared_frames"] == FRAMES and record["partial"]["readable_frames"] == info.num_frames
    assert record["partial"]["declared_s"] == 10.0 and record["duration_s"] == record["partial"]["readable_s"] < 10.0


def test_eval_baseline_fails_the_cut_file_or_marks_its_row_partial(files, tmp_path, capsys):
    import shutil

    from actrep.runs import read_predictions

    root = write_repcount(tmp_path / "ds", {"test": [["squat", "ok.mp4", 1, 0, 5], ["squat", "cut.mp4", 1, 0, 5]]},
                          make_videos=False)
    (root / "video" / "test").mkdir(parents=True)
    shutil.copy(files["good"], root / "video" / "test" / "ok.mp4")
    shutil.copy(files["faststart_cut"], root / "video" / "test" / "cut.mp4")
    base = ["eval", "--baseline", "periodicity", "--data", str(root)]
    assert main([*base, "--out", str(tmp_path / "strict")]) == 1
    out = capsys.readouterr().out
    assert "test/cut.mp4: truncated: the file declares 80 frames but holds" in out
    ok, cut = read_predictions(tmp_path / "strict" / "baseline-periodicity" / "predictions.jsonl")
    assert cut["pred"] is None and "truncated" in cut["error"] and ok["error"] is None and ok["partial"] is None

    assert main([*base, "--out", str(tmp_path / "partial"), "--allow_partial"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    ok, cut = read_predictions(tmp_path / "partial" / "baseline-periodicity" / "predictions.jsonl")
    assert cut["error"] is None and isinstance(cut["pred"], int) and ok["partial"] is None
    assert cut["partial"].startswith("only ") and "of the 10.0 s the file declares could be read" in cut["partial"]
    assert "partial videos (1; counted on their readable part, --allow_partial):" in out and "test/cut.mp4: only" in out
