"""Small test-only utilities: write short videos and datasets with known properties."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np


def write_video(path, n_frames: int = 24, fps: int = 8, width: int = 64, height: int = 48, seed: int = 0,
                faststart: bool = False, noise: bool = False, gop: int | None = None) -> Path:
    """An H.264 video (mp4, or matroska for a .mkv name) whose frames differ (a bar sweeping over a
    random background colour).

    `faststart` puts the index (moov) first, so a truncated copy still opens but ends early.
    `noise` fills the background with fresh noise every frame, so every frame takes many bytes (a
    file cut at half its size then keeps about half its frames); `gop`: a keyframe every gop frames.
    """
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    background = rng.integers(0, 200, 3)
    with av.open(str(path), "w", options={"movflags": "faststart"} if faststart else {}) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if gop:
            stream.codec_context.gop_size = gop
        for i in range(n_frames):
            frame = np.empty((height, width, 3), np.uint8)
            frame[:] = rng.integers(0, 200, (height, width, 3)) if noise else background
            x = int(i * width / max(1, n_frames))
            frame[:, x : x + max(2, width // 8)] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_repcount(root, rows: dict[str, list[list]], make_videos: bool = True, n_frames: int = 24) -> Path:
    """A RepCount-A folder: root/<split>.csv + root/video/<split>/<name>; rows are [type, name, count, *L]."""
    root = Path(root)
    for split, split_rows in rows.items():
        width = max((len(r) - 3 for r in split_rows), default=0)
        root.mkdir(parents=True, exist_ok=True)
        with open(root / f"{split}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["type", "name", "count"] + [f"L{i}" for i in range(1, width + 1)])
            for r in split_rows:
                writer.writerow(list(r) + [""] * (width - (len(r) - 3)))
                if make_videos:
                    write_video(root / "video" / split / r[1], n_frames=n_frames, seed=hash(r[1]) % 1000)
    return root


# ------------------------------------------------------------------------------ damaged files


def cut_copy(source, target, share: float) -> Path:
    """The first `share` of the file's bytes: a download or copy that stopped early."""
    data = Path(source).read_bytes()
    Path(target).write_bytes(data[: int(len(data) * share)])
    return Path(target)


def garbled_copy(source, target, share: float, seed: int = 0) -> Path:
    """Random bytes from `share` of the file on (the last 16 bytes kept): the size and, for a faststart
    mp4, the index stay intact, so every packet is there but the frames stop decoding."""
    data = bytearray(Path(source).read_bytes())
    start, end = int(len(data) * share), len(data) - 16
    data[start:end] = np.random.default_rng(seed).integers(0, 256, end - start, dtype=np.uint8).tobytes()
    Path(target).write_bytes(bytes(data))
    return Path(target)


def header_only_copy(source, target) -> Path:
    """A faststart mp4 cut right after its index: it declares every frame and holds none."""
    data = Path(source).read_bytes()
    mdat = data.index(b"mdat")
    assert data.index(b"moov") < mdat, "needs a faststart mp4 (index first)"
    Path(target).write_bytes(data[: mdat + 4])
    return Path(target)


def with_matroska_duration(source, target, seconds: float) -> Path:
    """A copy of a matroska file whose header declares another duration (the Info Duration element,
    an 8-byte float in TimecodeScale units of 1 ms as ffmpeg writes it)."""
    import struct

    data = bytearray(Path(source).read_bytes())
    at = data.index(b"\x44\x89\x88")  # element id 0x4489, size 8
    data[at + 3 : at + 11] = struct.pack(">d", seconds * 1000.0)
    Path(target).write_bytes(bytes(data))
    return Path(target)


def empty_video_stream(path) -> Path:
    """A matroska file with a video stream that holds no frame (only audio packets)."""
    import av

    with av.open(str(path), "w", format="matroska") as container:
        video = container.add_stream("libx264", rate=8)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = container.add_stream("aac", rate=16000)
        for i in range(20):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1024
            container.mux(audio.encode(frame))
        container.mux(audio.encode())
    return Path(path)
