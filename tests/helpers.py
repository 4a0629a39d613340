"""Small test-only utilities: write short videos and datasets with known properties."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np


def write_video(path, n_frames: int = 24, fps: int = 8, width: int = 64, height: int = 48, seed: int = 0,
                faststart: bool = False) -> Path:
    """An H.264 mp4 whose frames differ (a bar sweeping over a random background colour).

    `faststart` puts the index (moov) first, so a truncated copy still opens but ends early.
    """
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    background = rng.integers(0, 200, 3)
    with av.open(str(path), "w", options={"movflags": "faststart"} if faststart else {}) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(n_frames):
            frame = np.empty((height, width, 3), np.uint8)
            frame[:] = background
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
