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
    return {f: build_tiny_checkpoint(TinyModelArguments(family=f, out=str(root / f))) for f in FAMILIES}


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
