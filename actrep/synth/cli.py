"""``actrep synth``: render a synthetic dataset, or (``--preview DIR``) a contact sheet of one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from actrep.config import option, parse_config
from actrep.synth.spec import SynthConfig

DESCRIPTION = (
    "Render synthetic repetitive-action videos (H.264 mp4) with exact per-repetition boundaries, in the "
    "RepCount-A layout: OUT/{train,valid,test}.csv, OUT/video/<split>/, OUT/meta/<split>.jsonl. "
    "With --preview DIR, write a contact-sheet PNG of an existing dataset instead."
)


@dataclass
class PreviewOptions:
    preview: Optional[str] = option(
        None, help="Dataset directory to preview: writes a contact-sheet PNG (to --out, default PREVIEW/preview.png).")
    preview_rows: int = option(8, help="Videos (rows) in the contact sheet.")
    preview_cols: int = option(8, help="Frames (columns) per video in the contact sheet.")
    preview_tile: int = option(96, help="Height of one frame in the contact sheet, in pixels.")
    preview_colors: int = option(0, help="Quantise the contact sheet to this many colours (2-256; 0 = full colour).")


def main(argv: list[str]) -> int:
    cfg, pv = parse_config([SynthConfig, PreviewOptions], argv, prog="actrep synth", description=DESCRIPTION)
    if pv.preview:
        from actrep.synth.preview import make_preview

        path = make_preview(pv.preview, cfg.output_dir or None, rows=pv.preview_rows, cols=pv.preview_cols,
                            tile=pv.preview_tile, colors=pv.preview_colors)
        print(f"wrote {path}")
        return 0
    from actrep.synth.dataset import write_dataset

    s = write_dataset(cfg)
    splits = " ".join(f"{k}={v}" for k, v in s["splits"].items())
    print(f"wrote {s['videos']} videos ({s['frames']} frames, {s['video_seconds']} s of video) to {s['out']} "
          f"in {s['seconds']} s with {s['workers']} workers: {s['videos_per_s']} videos/s, {s['frames_per_s']} frames/s; "
          f"splits {splits}; counts {s['counts']['min']}-{s['counts']['max']} (mean {s['counts']['mean']})")
    return 0
