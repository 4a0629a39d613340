"""Training data shared by SFT and GRPO: samples in, decoded clips out, messages built in code.

Rows stay plain `Sample` records (video path, action, count, intervals, clip range, cot) in a plain
torch Dataset. Chat messages are built from them at collate time by `actrep.prompts`, never stored
in a `datasets.Dataset` (Arrow merges the content dicts and the chat template then renders text
parts as videos; DESIGN.md). Videos are decoded by the project's one video pipeline inside
DataLoader workers, so training sees exactly the frames evaluation sees.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import torch

from actrep.config import option
from actrep.data.manifest import Sample, load_samples
from actrep.errors import ActRepError
from actrep.video import VideoSettings, load_video


@dataclass
class DataArguments:
    train_data: list[str] = option([], help="Training data: CoT JSONL from `actrep cot` / `actrep rcs`, or any dataset the manifest loader reads (several are concatenated).")
    videos: str | None = option(None, help="Folder video ids are resolved against (default: each dataset's folder).")
    train_splits: list[str] = option(["train"], help="Splits used for training.")
    max_train_samples: int = option(0, help="Use only the first N training samples (0: all).")


def load_training_samples(args: DataArguments) -> list[Sample]:
    if not args.train_data:
        raise ActRepError("no training data: give --train_data FILE [FILE ...]")
    samples = []
    for path in args.train_data:
        samples += load_samples(path, args.videos, args.train_splits or None)
    if args.max_train_samples:
        samples = samples[: args.max_train_samples]
    return samples


class VideoSampleDataset(torch.utils.data.Dataset):
    """Items are {"sample": Sample, "video": SampledVideo}; decoded in the DataLoader worker.

    A video that cannot be read is reported on stderr (file and row) and replaced by the next
    readable sample, so one damaged file does not stop a long run; run `actrep data validate`
    first to find such files up front.
    """

    def __init__(self, samples: list[Sample], family, settings: VideoSettings):
        if not samples:
            raise ActRepError("the training set is empty")
        self.samples = samples
        self.family = family
        self.settings = settings

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict:
        for offset in range(len(self.samples)):
            sample = self.samples[(index + offset) % len(self.samples)]
            try:
                video = load_video(sample.video_path, self.family, self.settings, sample.clip_start, sample.clip_end)
                return {"sample": sample, "video": video}
            except ActRepError as err:
                print(f"warning: skipping {sample.where}: {err}", file=sys.stderr)
        raise ActRepError("no readable video in the training set")
