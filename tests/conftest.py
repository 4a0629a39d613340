"""Shared fixtures. `import actrep` first: it installs the torchvision fix before anything else."""

from __future__ import annotations

import actrep  # noqa: F401
import pytest

from helpers import write_video

FAMILIES = ["qwen2_vl", "qwen2_5_vl", "qwen3_vl"]


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory):
    """One ~10M-parameter random-init checkpoint per family, built once per test session."""
    from actrep.models.tiny import TinyModelArguments, build_tiny_checkpoint

    root = tmp_path_factory.mktemp("tiny")
    return {f: build_tiny_checkpoint(TinyModelArguments(family=f, output_dir=str(root / f))) for f in FAMILIES}


@pytest.fixture(scope="session")
def short_video(tmp_path_factory):
    """3 s at 8 fps, 64x48: 24 frames."""
    return write_video(tmp_path_factory.mktemp("videos") / "short.mp4", n_frames=24, fps=8)


@pytest.fixture
def small_video_settings():
    """Small enough for fast CPU tests (<= ~100 visual tokens), valid for every family."""
    from actrep.video import VideoSettings

    return VideoSettings(fps=4.0, max_frames=16, min_pixels=28 * 28, max_pixels=56 * 56,
                         min_total_pixels=32 * 32 * 4, max_total_pixels=16 * 64 * 64)


def cot_text(count: int, rep_seconds: float = 0.5) -> str:
    """A CoT in the project's format (docs/conventions.md) for `count` back-to-back repetitions."""
    reps = ", ".join(f"rep{k + 1}: {k * rep_seconds:.1f}s-{(k + 1) * rep_seconds:.1f}s" for k in range(count))
    return (f"<think>\nThe video shows a bar sweeping. One repetition of bar sweep is one pass.\n"
            f"Tracking each repetition: {reps}\nCheck: {count} repetitions listed.\nTotal count: {count}.\n"
            f"</think>\n<answer>\n{count}\n</answer>")


@pytest.fixture(scope="session")
def cot_data(tmp_path_factory):
    """A 4-video CoT training set (JSONL rows as `actrep cot` writes them)."""
    import json

    root = tmp_path_factory.mktemp("cot")
    rows = []
    for i in range(4):
        path = write_video(root / f"v{i}.mp4", n_frames=24, seed=i)
        rows.append({"video_id": path.name, "split": "train", "action": "bar_sweep", "gt_count": i + 1,
                     "video": str(path), "cot": cot_text(i + 1)})
    (root / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root / "train.jsonl"


@pytest.fixture(scope="session")
def synth_data(tmp_path_factory):
    """A tiny `actrep synth` dataset: 8 annotated videos (64x64, 4 fps) in RepCount-A layout, no CoT."""
    from actrep.synth import SynthConfig, write_dataset

    out = tmp_path_factory.mktemp("synth") / "data"
    write_dataset(SynthConfig(output_dir=str(out), n=8, seed=1, fps=4.0, size="64", min_count=2, max_count=6,
                              preset="easy", splits="train=1", workers=1, quiet=True))
    return out


@pytest.fixture(scope="session")
def forked_python(tmp_path_factory):
    """A `python` whose every call is a fresh process forked from one server that imported torch, transformers,
    TRL, PEFT, DeepSpeed and actrep once (tests/forked_python.py): `.python` (a command), `.shim(path)` (an
    executable), `.torchrun(n)` (ranks forked too). On 2 cores a fresh interpreter spends ~6-8 s importing.
    DS_ACCELERATOR=cpu when DeepSpeed is imported, as in every DeepSpeed call of the tests."""
    from forked_python import Server

    server = Server(tmp_path_factory.mktemp("forked_python") / "server.log", env={"DS_ACCELERATOR": "cpu"}, extra=("deepspeed",))
    yield server
    server.close()


@pytest.fixture(scope="session")
def bench_e2e_work(tmp_path_factory):
    """`python -m bench.e2e --tiny --work` shared by its tests: the toy checkpoint and clips are built once and
    reused (each test writes its results with its own --out)."""
    return tmp_path_factory.mktemp("bench_e2e")
