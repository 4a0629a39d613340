"""`actrep eval`: metrics + JSONL + table, resume after an interruption, batching, 2 processes."""

import json
import os
import subprocess

import pytest

from actrep.cli import main
from actrep.evaluate import local
from actrep.runs import read_predictions
from helpers import write_repcount

VIDEO_FLAGS = ["--fps", "4", "--max_frames", "16", "--min_pixels", "784", "--max_pixels", "3136",
               "--min_total_pixels", "4096", "--max_total_pixels", "65536"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    rows = [["squat", f"v{i}.mp4", 2, 1, 5, 5, 10] for i in range(5)] + [["squat", "gone.mp4", 1, 1, 5]]
    root = write_repcount(tmp_path_factory.mktemp("data") / "ds", {"test": rows})
    (root / "video" / "test" / "gone.mp4").unlink()  # an unreadable video must become a recorded miss
    return root


def _eval(model, data, out, *extra, allow_failures=True):
    """`actrep eval` on the dataset, whose missing video is a recorded failure (accepted unless told otherwise)."""
    return main(["eval", "--model", str(model), "--data", str(data), "--out", str(out), "--max_new_tokens", "6",
                 *VIDEO_FLAGS, *extra, *(["--allow_failures"] if allow_failures else [])])


def _strip(records):
    return [{k: v for k, v in r.items() if k != "time_s"} for r in records]


def test_eval_writes_predictions_metrics_and_table(tiny_checkpoints, dataset, tmp_path, capsys):
    assert _eval(tiny_checkpoints["qwen2_5_vl"], dataset, tmp_path, "--run_names", "tiny", allow_failures=False) == 1
    captured = capsys.readouterr()
    assert "parse_rate" in captured.out and "failed" in captured.out  # a failed-videos column
    table, listed = captured.out.split("failed videos (1; each counts as a miss in the strict metrics):\n")
    assert listed.splitlines()[0] == "  tiny: test/gone.mp4: video file not found"
    assert captured.err.strip().splitlines()[-1] == ("error: 1 video(s) could not be read (listed above; saved as misses); "
                                                     "--allow_failures accepts that (exit 0)")
    records = read_predictions(tmp_path / "tiny" / "predictions.jsonl")
    assert [r["video_id"] for r in records] == [f"v{i}.mp4" for i in range(5)] + ["gone.mp4"]
    assert records[-1]["pred"] is None and "not found" in records[-1]["error"]
    assert all(r["prompt_tokens"] > 0 and r["completion_tokens"] >= 1 for r in records[:5])
    metrics = json.loads((tmp_path / "tiny" / "metrics.json").read_text())
    assert metrics["strict"]["n"] == 6 and metrics["failed_videos"] == 1
    assert metrics["parsed_only"]["mode"].startswith("parsed_only")
    assert metrics["settings_source"] == "flags" and metrics["video_settings"]["max_pixels"] == 3136
    assert (tmp_path / "tiny" / "actrep_settings.json").exists()


def test_interrupted_run_resumes_without_duplicates(tiny_checkpoints, dataset, tmp_path, monkeypatch, capsys):
    model = tiny_checkpoints["qwen3_vl"]
    assert _eval(model, dataset, tmp_path / "straight", "--batch_size", "1") == 0
    real_generate, calls = local.LocalModelCounter.generate, []

    def dies_on_third_batch(self, samples, videos):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # like a kill between two videos
        return real_generate(self, samples, videos)

    monkeypatch.setattr(local.LocalModelCounter, "generate", dies_on_third_batch)
    capsys.readouterr()
    assert _eval(model, dataset, tmp_path / "resumed", "--batch_size", "1") == 130
    partial = read_predictions(tmp_path / "resumed" / model.name / "predictions.jsonl")
    assert 0 < len(partial) < 6
    run_dir = tmp_path / "resumed" / model.name
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"interrupted: {len(partial)} of 6 results of {model.name} are saved in {run_dir}; rerun the same command to resume")
    with open(tmp_path / "resumed" / model.name / "predictions.jsonl", "a") as handle:
        handle.write('{"key": "test/v4.mp4", "vid')  # and a torn line, as if killed mid-write
    monkeypatch.setattr(local.LocalModelCounter, "generate", real_generate)
    assert _eval(model, dataset, tmp_path / "resumed", "--batch_size", "1") == 0
    assert f"resuming {run_dir}: reusing {len(partial)} of 6 results saved by an earlier run" in capsys.readouterr().err
    resumed = read_predictions(tmp_path / "resumed" / model.name / "predictions.jsonl")
    straight = read_predictions(tmp_path / "straight" / model.name / "predictions.jsonl")
    assert len({r["key"] for r in resumed}) == len(resumed) == 6
    assert _strip(resumed) == _strip(straight)
    metric = lambda run: json.loads((tmp_path / run / model.name / "metrics.json").read_text())["strict"]
    assert metric("resumed") == metric("straight")


def test_batched_equals_unbatched(tiny_checkpoints, dataset, tmp_path):
    model = tiny_checkpoints["qwen2_vl"]
    assert _eval(model, dataset, tmp_path / "b1", "--batch_size", "1", "--max_new_tokens", "12") == 0
    assert _eval(model, dataset, tmp_path / "b4", "--batch_size", "4", "--max_new_tokens", "12") == 0
    one = read_predictions(tmp_path / "b1" / model.name / "predictions.jsonl")
    four = read_predictions(tmp_path / "b4" / model.name / "predictions.jsonl")
    assert [r["raw"] for r in one] == [r["raw"] for r in four]


def test_saved_settings_win_over_flags(tiny_checkpoints, dataset, tmp_path):
    import shutil

    from actrep.settings import PipelineSettings, save_settings
    from actrep.video import VideoSettings

    model = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoints["qwen2_5_vl"], model)
    save_settings(model, PipelineSettings("qwen2_5_vl", "think", VideoSettings(fps=2.0, max_frames=8, min_pixels=784, max_pixels=1568)))
    assert _eval(model, dataset, tmp_path / "out", "--limit", "1") == 0
    metrics = json.loads((tmp_path / "out" / "ckpt" / "metrics.json").read_text())
    assert metrics["settings_source"] == "checkpoint" and metrics["video_settings"]["max_pixels"] == 1568


@pytest.mark.slow
def test_two_processes_equal_one_with_a_late_rank(tiny_checkpoints, dataset, tmp_path, forked_python):
    """Rank 1 reads the finished videos only after rank 0 has started writing (tests/late_rank.py)."""
    model = tiny_checkpoints["qwen2_5_vl"]
    assert _eval(model, dataset, tmp_path / "one", "--batch_size", "1") == 0
    late_rank = os.path.join(os.path.dirname(os.path.abspath(__file__)), "late_rank.py")
    command = [*forked_python.torchrun(2), late_rank, "eval", "--batch_size", "1",
               "--model", str(model), "--data", str(dataset), "--out", str(tmp_path / "two"), "--max_new_tokens", "6", *VIDEO_FLAGS,
               "--allow_failures"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert result.returncode == 0, result.stderr[-2000:]
    two = json.loads((tmp_path / "two" / model.name / "metrics.json").read_text())
    one = json.loads((tmp_path / "one" / model.name / "metrics.json").read_text())
    assert two["processes"] == 2 and two["strict"] == one["strict"]
    assert _strip(read_predictions(tmp_path / "two" / model.name / "predictions.jsonl")) == \
        _strip(read_predictions(tmp_path / "one" / model.name / "predictions.jsonl"))
    assert not list((tmp_path / "two" / model.name).glob("predictions.rank*"))


def test_one_process_resume_merges_the_rank_files_of_an_interrupted_two_process_run(tiny_checkpoints, dataset, tmp_path):
    model = tiny_checkpoints["qwen2_vl"]
    assert _eval(model, dataset, tmp_path / "one") == 0
    finished = read_predictions(tmp_path / "one" / model.name / "predictions.jsonl")
    run = tmp_path / "resumed" / model.name
    run.mkdir(parents=True)
    for rank in (0, 1):  # what two killed ranks leave behind: a few predictions each, no merged file
        (run / f"predictions.rank{rank}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in finished[rank:4:2]))
    assert _eval(model, dataset, tmp_path / "resumed") == 0
    assert _strip(read_predictions(run / "predictions.jsonl")) == _strip(finished)
    assert not list(run.glob("predictions.rank*"))
