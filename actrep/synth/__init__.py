"""Synthetic repetitive-action videos with exact per-repetition ground truth (``actrep synth``).

Python API:
    sample_spec(seed, config, index=0, split="train", action=None) -> VideoSpec   (knobs + intervals)
    render_frames(spec) -> np.ndarray [T, H, W, 3] RGB uint8                       (no encoding)
    iter_frames(spec) / frame_phases(spec) / write_video(spec, path)
    write_dataset(config) -> summary dict                                           (mp4 + CSV + sidecar)
    make_preview(data_dir, out=None, rows=8, cols=8, tile=96) -> Path               (contact-sheet PNG)
    REP_DEFINITIONS[action], SCENE_DESCRIPTIONS[action], ACTIONS, PRESETS

A job (its command is cli.py). May import: foundations only (the actions' text is actrep.descriptions').
"""

from actrep.synth.dataset import csv_text, write_dataset
from actrep.synth.families import ACTIONS, FAMILIES, REP_DEFINITIONS, SCENE_DESCRIPTIONS
from actrep.synth.preview import decode, make_preview
from actrep.synth.render import frame_phases, iter_frames, render_frames, write_video
from actrep.synth.spec import PRESETS, SynthConfig, VideoSpec, count_probabilities, sample_spec, validate

__all__ = [
    "ACTIONS", "FAMILIES", "PRESETS", "REP_DEFINITIONS", "SCENE_DESCRIPTIONS", "SynthConfig", "VideoSpec",
    "count_probabilities", "csv_text", "decode", "frame_phases", "iter_frames", "make_preview", "render_frames",
    "sample_spec", "validate", "write_dataset", "write_video",
]
