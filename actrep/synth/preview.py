"""Contact sheet of a generated (or any RepCount-layout) dataset: one row per video, frames across,
labelled with action and count, with a timeline bar of the annotated repetitions under each row.
"""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np

from actrep.errors import ActRepError

SPLITS = ("train", "valid", "test")
REP_COLORS = ((60, 180, 75), (0, 130, 200))  # alternate so back-to-back repetitions stay distinguishable


def _rows(data_dir: Path) -> list[dict]:
    rows = []
    for split in SPLITS:
        for folder in (data_dir, data_dir / "annotation"):
            path = folder / f"{split}.csv"
            if not path.exists():
                continue
            with open(path, newline="", encoding="utf-8") as fh:
                for n, rec in enumerate(csv.DictReader(fh), start=1):
                    try:
                        count = int(rec["count"])
                        bounds = [int(float(rec[f"L{i}"])) for i in range(1, 2 * count + 1) if rec.get(f"L{i}")]
                    except (KeyError, ValueError, TypeError) as err:
                        raise ActRepError(f"{path} row {n}: cannot read count/boundaries ({err})") from None
                    rows.append({"split": split, "action": rec["type"], "name": rec["name"], "count": count,
                                 "intervals": list(zip(bounds[0::2], bounds[1::2]))})
            break
    if not rows:
        raise ActRepError(f"{data_dir}: no train.csv/valid.csv/test.csv found")
    return rows


def _pick(rows: list[dict], n: int) -> list[dict]:
    """Round-robin over actions (in order of first appearance) so the sheet shows every family."""
    by_action: dict[str, list[dict]] = {}
    for r in rows:
        by_action.setdefault(r["action"], []).append(r)
    out, depth = [], 0
    while len(out) < min(n, len(rows)):
        for group in by_action.values():
            if depth < len(group) and len(out) < n:
                out.append(group[depth])
        depth += 1
    return out


def decode(path: str | Path, keep=None) -> tuple[np.ndarray, float]:
    """Frames of a video as [T, H, W, 3] RGB uint8 (all, or only the indices in ``keep``) and its fps."""
    import av

    keep = None if keep is None else set(int(i) for i in keep)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for i, f in enumerate(container.decode(stream)) if keep is None or i in keep]
        fps = float(stream.average_rate or stream.guessed_rate or 0)
    if not frames:
        raise ActRepError(f"{path}: no video frames")
    return np.stack(frames), fps


def _frame_count(path: Path) -> int:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if stream.frames:
            return int(stream.frames)
        return sum(1 for packet in container.demux(stream) if packet.size)


def _text(img, lines, x, y, scale):
    for i, (txt, bold) in enumerate(lines):
        cv2.putText(img, txt, (x, y + int(i * 26 * scale * 2)), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (20, 20, 20), 2 if bold else 1, cv2.LINE_AA)


def make_preview(data_dir: str | Path, out: str | Path | None = None, rows: int = 8, cols: int = 8, tile: int = 96,
                 colors: int = 0) -> Path:
    """Write the contact-sheet PNG (default DATA/preview.png) and return its path.

    ``colors`` > 0 quantises to a palette of that many colours (2-256): a 3-4x smaller file.
    """
    data_dir = Path(data_dir)
    out = Path(out) if out else data_dir / "preview.png"
    if rows < 1 or cols < 1 or tile < 16 or not (colors == 0 or 2 <= colors <= 256):
        raise ActRepError("synth --preview: rows and cols must be >= 1, the tile >= 16 pixels, colors 0 or 2-256")
    picked = _pick(_rows(data_dir), rows)
    scale = tile / 96 * 0.42
    label_w = int(tile * 1.7)
    bar_h = max(6, tile // 12)
    row_imgs = []
    for r in picked:
        path = data_dir / "video" / r["split"] / r["name"]
        if not path.exists():
            raise ActRepError(f"{path}: video file not found")
        T = _frame_count(path)
        idx = np.unique(np.linspace(0, max(0, T - 1), cols).round().astype(int))
        frames, fps = decode(path, keep=idx)  # only the frames shown: long videos stay cheap
        idx = idx[: len(frames)]
        H, W = frames.shape[1:3]
        tw = max(2, int(round(tile * W / H)))
        tiles = [cv2.resize(f, (tw, tile), interpolation=cv2.INTER_AREA if H > tile else cv2.INTER_LINEAR) for f in frames]
        strip = np.concatenate(tiles + [np.full((tile, tw, 3), 255, np.uint8)] * (cols - len(tiles)), axis=1)
        bar = np.full((bar_h, strip.shape[1], 3), 70, np.uint8)
        px = strip.shape[1] / max(1, T - 1)
        for k, (s, e) in enumerate(r["intervals"]):
            cv2.rectangle(bar, (int(s * px), 1), (max(int(s * px), int(e * px) - 1), bar_h - 2), REP_COLORS[k % 2], -1)
        for j, i in enumerate(idx):
            x = int(round(j * tw + tw / 2))
            cv2.line(bar, (x, 0), (x, bar_h - 1), (255, 255, 255), 1)
        body = np.concatenate([strip, bar], axis=0)
        label = np.full((body.shape[0], label_w, 3), 245, np.uint8)
        dur = T / fps if fps else 0.0
        _text(label, [(r["action"], True), (f"count {r['count']}", True), (f"{dur:.1f} s {fps:g} fps", False),
                      (r["name"], False)], 4, int(18 * scale * 2), scale)
        row_imgs.append(np.concatenate([label, body], axis=1))
    width = max(im.shape[1] for im in row_imgs)
    sep = np.full((3, width, 3), 255, np.uint8)
    sheet = np.concatenate([x for im in row_imgs for x in (_pad(im, width), sep)][:-1], axis=0)
    out.parent.mkdir(parents=True, exist_ok=True)
    if colors:
        from PIL import Image

        pal = Image.fromarray(sheet).quantize(colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        pal.save(out, format="PNG", optimize=True)
    elif not cv2.imwrite(str(out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise ActRepError(f"{out}: could not write PNG")
    return out


def _pad(img: np.ndarray, width: int) -> np.ndarray:
    if img.shape[1] == width:
        return img
    return np.concatenate([img, np.full((img.shape[0], width - img.shape[1], 3), 255, np.uint8)], axis=1)
