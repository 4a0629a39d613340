"""What the report's and `actrep count`'s pictures share: the palette and a video's frame strip.

One colour per run everywhere (HTML, plots, timelines), and `frame_strip`, a row of frames that is
itself a time axis (the report's per-video cards, count's timeline PNG).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from actrep.video import clip_frame_range, decode_frames, probe

# matplotlib's tab10: distinct, colour-blind-tolerant hues; a run keeps its colour on every picture.
RUN_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
              "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
GT_COLOR = "#374151"
DPI = 110
STRIP_TILE = (160, 120)  # (width, height) of one frame in a strip; 8 tiles = 1280 px, sharp on wide screens


def run_color(index: int) -> str:
    return RUN_COLORS[index % len(RUN_COLORS)]


def frame_strip(path: Path, video: str, clip_start: float | None, clip_end: float | None, tiles: int, info=None) -> float:
    """Write `tiles` frames side by side; return the clip's duration in seconds.

    Tile i shows the frame in the middle of the i-th equal slice of the clip, so the strip is itself
    a time axis: drawn at the width of the timeline below it, each frame sits above its own time.
    Frames are centre-cropped to the tile (no distortion, same layout for portrait videos).
    Times are on the clip's clock (file frame index minus the clip's first frame, over fps).
    `info`: the video's `probe` result (a partial read's covers only the readable part).
    """
    from PIL import Image, ImageDraw, ImageFont, ImageOps

    info = info or probe(video)
    first, last = clip_frame_range(info, clip_start, clip_end)
    length = last - first + 1
    offsets = ((np.arange(tiles) + 0.5) * length / tiles).astype(int)
    frames = decode_frames(video, first + offsets, info=info)
    tile_w, tile_h = STRIP_TILE
    strip = Image.new("RGB", (tile_w * tiles, tile_h), "white")
    draw = ImageDraw.Draw(strip)
    font = ImageFont.load_default(size=13)
    for i, (frame, offset) in enumerate(zip(frames, offsets)):
        strip.paste(ImageOps.fit(Image.fromarray(frame), (tile_w, tile_h)), (i * tile_w, 0))
        label = f"{offset / info.fps:.1f}s"
        left, top, right, bottom = draw.textbbox((i * tile_w + 5, tile_h - 19), label, font=font)
        draw.rectangle((left - 3, top - 2, right + 3, bottom + 2), fill=(17, 24, 39))
        draw.text((i * tile_w + 5, tile_h - 19), label, fill="white", font=font)
        if i:
            draw.line((i * tile_w, 0, i * tile_w, tile_h), fill="white", width=2)
    strip.save(path, quality=82)
    return length / info.fps
