"""`actrep app` without a browser: the page's words and tables for a result, a folder run with broken
files, the CSV/JSON downloads, cancel, the counters offered, the missing-extra error, and the app's
counts equal to `actrep count`'s on the same files (windowed ones included)."""

from __future__ import annotations

import csv
import json
import threading
from dataclasses import replace

import pytest

from actrep.app import jobs
from actrep.app.cli import MISSING_EXTRA, PRIVATE_ENV, AppArguments, CounterArguments
from actrep.cli import main
from actrep.count import CountArguments, VideoResult
from actrep.count import Rep
from actrep.errors import ActRepError
from actrep.inference.api import ApiSettings
from actrep.prompts import PromptSettings
from actrep.video import VideoSettings
from helpers import cut_copy, write_video as write_video_file

# 8 s windows at 4 fps: the 14 s clip below is counted in two windows and stitched.
WINDOWED = ["--max_frames", "32"]


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Two synthetic arm-curl clips (6 and 9 repetitions), a file that is not a video and a phone-style
    (index first) mp4 cut in half, which still declares its full length."""
    from actrep.synth import SynthConfig, sample_spec, write_video

    folder = tmp_path_factory.mktemp("clips")
    for i, (count, seconds) in enumerate([(6, 12.0), (9, 14.0)]):
        config = SynthConfig(fps=8.0, size="96", duration=seconds, min_count=count, max_count=count, preset="easy",
                             families=["arm_curl"])
        write_video(sample_spec(5, config, index=i, split="test"), folder / f"clip{i}.mp4")
    (folder / "broken.mp4").write_bytes(b"not a video" * 100)
    whole = write_video_file(tmp_path_factory.mktemp("whole") / "whole.mp4", n_frames=80, faststart=True, noise=True, gop=8)
    cut_copy(whole, folder / "cut.mp4", 0.5)
    return folder


def counters(**settings) -> jobs.Counters:
    return jobs.Counters(CountArguments(), VideoSettings(**settings), PromptSettings(), ApiSettings())


def job_args(tmp_path, **changes) -> CountArguments:
    return replace(CountArguments(output_dir=str(tmp_path)), timeline=False, **changes)


def test_table_rows_and_headline_show_the_marks():
    ok = VideoResult(video="a.mp4", action="squat", count=3, reps=[Rep(0, 1), Rep(1, 2), Rep(2, 3)], duration_s=3.0,
                     windows=[{"confidence": 0.93}], time_s=0.42)
    assert jobs.table_row(ok) == ["a.mp4", "3", "ok", 3, 3.0, 1, 0.4, ""]
    assert jobs.headline(ok).startswith("## 3 repetitions of squat\n\nconfidence 0.93 · 3.0 s video")
    unsure = replace(ok, uncertain=True, windows=[{"confidence": 0.4}])
    assert jobs.table_row(unsure)[1:3] == ["~3?", "uncertain"]
    assert "## ~3? repetitions" in jobs.headline(unsure) and "**UNCERTAIN**" in jobs.headline(unsure)
    note = "the file holds 5.0 s of the 10.0 s it declares"
    cut = replace(ok, partial={"note": note, "readable_s": 5.0})
    assert jobs.table_row(cut)[2] == "ok, partial" and jobs.table_row(cut)[-1] == note
    assert f"**PARTIAL**: {note}" in jobs.headline(cut)
    failed = VideoResult(video="b.mp4", action="", error="b.mp4: not a readable video")
    assert jobs.table_row(failed) == ["b.mp4", "failed", "failed", "", "", "", "", "b.mp4: not a readable video"]
    assert jobs.headline(failed) == "### Could not count b.mp4\n\nb.mp4: not a readable video"
    none = replace(ok, count=None, reps=[], warnings=["no parseable count in the answer"])
    assert jobs.table_row(none)[1:3] == ["no count", "no count"]
    assert jobs.headline(none).startswith("## no count of squat") and "note: no parseable count" in jobs.headline(none)


def test_interval_rows_number_groups_as_ranges():
    result = VideoResult(video="a.mp4", action="", count=13, reps=[Rep(0.5, 1.7), Rep(1.7, 14.0, 11), Rep(14.0, 15.25)])
    assert jobs.interval_rows(result) == [["1", 0.5, 1.7, 1.2], ["2-12", 1.7, 14.0, 12.3], ["13", 14.0, 15.25, 1.25]]


def test_a_folder_with_broken_files_counts_the_others_and_exports(clips, tmp_path):
    counter = counters()
    inputs = jobs.typed_inputs(f"{clips}\n{tmp_path}/missing.mp4\n")
    results = list(jobs.count_inputs(counter, jobs.TRAINING_FREE, inputs, job_args(tmp_path), threading.Event()))
    by_name = {r.video.rsplit("/", 1)[-1]: r for r in results}
    assert list(by_name) == ["broken.mp4", "clip0.mp4", "clip1.mp4", "cut.mp4", "missing.mp4"]
    assert "not a readable video" in by_name["broken.mp4"].error
    assert "truncated" in by_name["cut.mp4"].error and "--allow_partial" in by_name["cut.mp4"].error
    assert "not found" in by_name["missing.mp4"].error
    assert (by_name["clip0.mp4"].count, by_name["clip1.mp4"].count) == (6, 9)
    assert by_name["clip0.mp4"].video == f"{clips}/clip0.mp4"  # typed paths keep the path as typed

    rows = list(csv.DictReader(open(jobs.write_csv(results, tmp_path / "counts.csv"), encoding="utf-8")))
    assert [(row["count"], row["status"]) for row in rows] == [("", "failed"), ("6", "ok"), ("9", "ok"), ("", "failed"),
                                                                 ("", "failed")]
    assert rows[0]["error"] == by_name["broken.mp4"].error
    records = json.loads(jobs.write_json(results, counter.get(jobs.TRAINING_FREE), tmp_path / "counts.json").read_text())
    assert [r["count"] for r in records] == [None, 6, 9, None, None]
    assert records[1]["backend"] == "periodicity" and len(records[1]["intervals"]) == 6


def test_uploads_are_labelled_with_their_names_and_partial_counts_are_marked(clips, tmp_path):
    inputs = jobs.uploaded_inputs([str(clips / "cut.mp4")])
    (result,) = jobs.count_inputs(counters(), jobs.TRAINING_FREE, inputs, job_args(tmp_path, allow_partial=True),
                                  threading.Event())
    assert result.video == "cut.mp4" and result.partial and jobs.status(result).endswith(", partial")


def test_the_app_counts_equal_actrep_count(clips, tmp_path, capsys):
    """Same files, same settings: the same records, windows and stitching included, but the clock."""
    assert main(["count", str(clips), "--json", "--quiet", "--no_timeline", *WINDOWED]) == 1  # broken files: exit 1
    cli = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    counter = counters(max_frames=32)
    results = jobs.count_inputs(counter, jobs.TRAINING_FREE, jobs.typed_inputs(str(clips)), job_args(tmp_path),
                                threading.Event())
    app = [r.to_json(counter.get(jobs.TRAINING_FREE).describe(), hide_reasoning=False) for r in results]

    def same(record: dict) -> dict:
        windows = [{k: v for k, v in w.items() if k != "time_s"} for w in record["windows"]]
        return {**{k: v for k, v in record.items() if k != "time_s"}, "windows": windows}

    assert [same(r) for r in app] == [same(r) for r in cli]
    assert max(len(r["windows"]) for r in cli) > 1 and [r["count"] for r in cli] == [None, 6, 9, None]


def test_cancel_stops_before_the_next_window_and_the_next_video(clips, tmp_path):
    cancel, seen = threading.Event(), []

    def report(index: int, total: int) -> None:
        seen.append((index, total))
        cancel.set()  # pressed while the first window is being counted

    inputs = jobs.uploaded_inputs([str(clips / "clip1.mp4"), str(clips / "clip0.mp4")])
    with pytest.raises(jobs.Cancelled):
        list(jobs.count_inputs(counters(max_frames=32), jobs.TRAINING_FREE, inputs, job_args(tmp_path), cancel, report))
    assert len(seen) == 1 and seen[0][0] == 0 and seen[0][1] > 1  # one window of several, then nothing


def test_counters_offered_and_the_action_a_model_needs(tmp_path):
    assert counters().choices == [jobs.TRAINING_FREE]
    args = CountArguments(provider="openai-compatible", model_name_or_path="qwen", base_url="http://127.0.0.1:9/v1")
    offered = jobs.Counters(args, VideoSettings(), PromptSettings(), ApiSettings())
    assert offered.choices == [jobs.TRAINING_FREE, "openai-compatible qwen"]
    with pytest.raises(ActRepError, match="name the action"):
        offered.job_args("openai-compatible qwen", "  ", False, tmp_path, annotate=True)
    assert offered.job_args(jobs.TRAINING_FREE, "", False, tmp_path, annotate=True).annotate
    with pytest.raises(ActRepError, match="unknown counter"):
        offered.get("gpt-9")


def test_defaults_are_local_and_the_flags_are_actrep_counts(capsys):
    assert (AppArguments().host, AppArguments().share) == ("127.0.0.1", False)
    assert PRIVATE_ENV["GRADIO_ANALYTICS_ENABLED"] == "False"
    assert {"model_name_or_path", "provider", "overlap", "allow_partial"} <= set(CounterArguments.__dataclass_fields__)
    with pytest.raises(SystemExit):
        main(["app", "--help"])
    text = capsys.readouterr().out
    assert "--model_name_or_path, --model VALUE" in text and "--port N" in text and "counter arguments:" in text


def test_without_gradio_the_error_names_the_extra(monkeypatch, capsys):
    for name in (*PRIVATE_ENV, "GRADIO_TEMP_DIR"):  # main sets them; restored after the test
        monkeypatch.setenv(name, "")
    monkeypatch.setitem(__import__("sys").modules, "gradio", None)  # `import gradio` raises ImportError
    assert main(["app"]) == 1
    assert capsys.readouterr().err == f"error: {MISSING_EXTRA}\n"
    assert "pip install 'actrep[app]'" in MISSING_EXTRA
