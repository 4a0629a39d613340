"""Decode a video (or a clip of it) into the small, decimated frames the counter analyses.

Frames are numbered in decode order from the start of the file (`actrep.video.iter_frames`, the
loop every reader shares, which also reports a file whose frames stop decoding), and every kept
frame is scaled down by the decoder itself while it is converted to RGB, so a long 480p or 1080p
video never sits in memory at full size.
"""

from __future__ import annotations

import numpy as np

from actrep.errors import ActRepError
from actrep.video import VideoInfo, clip_frame_range, iter_frames, probe


def read_frames(path, step: int, size: int, clip_start: float | None = None, clip_end: float | None = None,
                info: VideoInfo | None = None) -> tuple[np.ndarray, VideoInfo, int]:
    """Every `step`-th frame of the clip, longest side at most `size`: (frames uint8 [T, h, w, 3], info, first).

    `first` is the file index of the clip's first frame; frame j of the result is file frame
    first + j * step, at (j * step) / info.fps seconds on the clip's clock. A file that ends early
    is an error (`actrep.video.probe`) unless `info` comes from `probe(..., allow_partial=True)`:
    then the frames that decode are read and `info.partial` says so.
    """
    info = info or probe(path)
    first, last = clip_frame_range(info, clip_start, clip_end)
    scale = min(1.0, size / max(info.width, info.height))
    width, height = max(2, int(round(info.width * scale))), max(2, int(round(info.height * scale)))
    frames = [frame.to_ndarray(format="rgb24", width=width, height=height, interpolation="AREA")
              for index, frame in iter_frames(path, last, info) if index >= first and (index - first) % step == 0]
    if len(frames) < 2:
        raise ActRepError(f"{path}: only {len(frames)} frame(s) decoded in frames {first}-{last}; need at least 2")
    return np.stack(frames), info, first
