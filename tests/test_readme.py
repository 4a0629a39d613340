"""The README's command blocks run as written: the stage-by-stage block end to end at toy size.

Each command of the block is run literally, in order, in a scratch folder (with `recipes/` linked in),
with toy-size flags appended (argparse: the last value wins); the hub model is replaced by a tiny
offline one and the API by a local fake server. A flag the CLI no longer knows, a file one stage
writes and the next cannot read, or a stage that fails makes this test fail.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from actrep.cli import COMMANDS, main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
VIDEO = ["--fps", "2", "--max_frames", "8", "--min_pixels", "784", "--max_pixels", "3136"]


def readme_blocks() -> dict[str, list[list[str]]]:
    """Section title -> the `actrep ...` commands of its indented code blocks (continuations joined)."""
    blocks: dict[str, list[list[str]]] = {}
    for section in re.split(r"^## ", README, flags=re.M)[1:]:
        title, _, body = section.partition("\n")
        text = re.sub(r"\\\n\s*", " ", body)
        commands = [line.strip() for line in text.splitlines() if line.startswith("    actrep ")]
        blocks[title.strip()] = [shlex.split(c, comments=True) for c in commands]
    return blocks


def toy_flags(command: str, tiny: str, server_url: str) -> list[str]:
    # the recipes load bf16 weights, which train as float32 masters under bf16 autocast (on by default on a
    # GPU); on this CPU it has to be asked for, exactly as a CPU user would be told to by the one-line error
    train = ["--bf16", "true", "--report_to", "none", *VIDEO]
    return {
        "synth": ["--n", "12", "--size", "64", "--fps", "4", "--max_count", "4", "--splits", "train=0.5,valid=0.25,test=0.25",
                  "--workers", "1", "--quiet"],
        "data": ["--workers", "1"],
        "cot": ["--workers", "1"],
        "rcs": ["--workers", "1", "--strata", "1-2,3-4"],
        "sft": ["--model_name_or_path", tiny, "--max_steps", "2", "--per_device_train_batch_size", "2",
                "--effective_batch_size", "2", "--gradient_checkpointing", "false", "--dataloader_num_workers", "0",
                "--rcs_strata", "1-2,3-4", *train],
        "grpo": ["--max_steps", "1", "--num_generations", "2", "--videos_per_step", "1", "--max_completion_length", "8",
                 "--micro_batch_size", "2", "--gradient_checkpointing", "false", "--dataloader_num_workers", "0",
                 "--rcs_strata", "1-2,3-4", *train],
        "eval": ["--max_new_tokens", "8", "--batch_size", "3"],
        "eval-api": ["--base_url", server_url + "/v1", "--fps", "2", "--timeout", "5"],
        "report": ["--max_videos", "2", "--frames", "2"],
    }.get(command, [])


def test_every_readme_command_is_a_known_command():
    blocks = readme_blocks()
    assert blocks["The pipeline, stage by stage"], "the stage-by-stage block was not found"
    for title, commands in blocks.items():
        for argv in commands:
            assert argv[1] in COMMANDS, f"README section '{title}': unknown command {argv[1]!r}"


@pytest.mark.slow
def test_stage_by_stage_block_runs_at_toy_size(tmp_path, monkeypatch, tiny_checkpoints):
    from fake_chat_server import FakeChatServer

    commands = readme_blocks()["The pipeline, stage by stage"]
    assert [argv[1] for argv in commands] == ["synth", "data", "cot", "rcs", "sft", "grpo", "eval", "eval-api", "report", "compare"]
    (tmp_path / "recipes").symlink_to(ROOT / "recipes")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with FakeChatServer() as server:
        for argv in commands:
            full = argv[1:] + toy_flags(argv[1], str(tiny_checkpoints["qwen2_5_vl"]), server.url)
            assert main(full) == 0, f"README command failed: {shlex.join(argv)}"
    runs = {p.parent.name for p in Path("runs/eval").glob("*/metrics.json")}
    assert {"grpo", "sft", "baseline-periodicity", "baseline-naive", "openai-gpt-4.1-mini"} <= runs
    assert Path("runs/eval/report.html").exists()
    assert json.loads(Path("runs/grpo/actrep_settings.json").read_text())["video"]["max_pixels"] == 3136


@pytest.mark.slow
def test_count_quick_start_gives_the_count_the_readme_promises(tmp_path, monkeypatch, capsys):
    commands = readme_blocks()["Count repetitions now (no model needed)"]
    assert [argv[1] for argv in commands] == ["synth", "count"]
    promised = re.search(r"-> (\d+) repetitions \(truth (\d+)\)", README)
    monkeypatch.chdir(tmp_path)
    for argv in commands:
        argv = [str(tmp_path / a[len("/tmp/"):]) if a.startswith("/tmp/") else a for a in argv]  # keep /tmp clean
        assert main(argv[1:] + (["--overwrite"] if argv[1] == "synth" else [])) == 0, shlex.join(argv)
    out = capsys.readouterr().out
    assert f": {promised.group(1)} repetitions" in out
    assert list(Path("runs/count").glob("*.timeline.png"))
    truth = json.loads(next((tmp_path / "clip" / "meta").glob("test.jsonl")).read_text().splitlines()[0])
    assert truth["count"] == int(promised.group(2))
