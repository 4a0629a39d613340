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
from actrep.manifest import Sample, load_samples
from actrep.errors import ActRepError
from actrep.video import VideoSettings, load_video


@dataclass
class DataArguments:
    train_data: list[str] = option([], help="Training data: CoT JSONL from `actrep cot` / `actrep rcs`, or any dataset the manifest loader reads (several are concatenated).")
    videos: str | None = option(None, help="Folder video ids are resolved against (default: each dataset's folder).")
    train_splits: list[str] = option(["train"], help="Splits used for training.")
    max_train_samples: int = option(0, help="Use only the first N training samples (0: all).")
    rcs: bool = option(False, help="Random Count Sampling on the fly: train on sub-clips of whole repetitions that rebalance the counts (SFT draws them once; GRPO draws new ones every epoch). To train on clips from `actrep rcs` instead, pass that file as --train_data.")
    rcs_strata: str = option("1-5,6-10,11-20,21+", help="RCS count strata (or ratio strata such as 0-0.5N,0.5N-N).")
    rcs_per_video: int = option(1, help="RCS clips drawn per annotated video per epoch.")
    rcs_target: str = option("uniform", help="RCS target share per stratum: uniform, or a YAML/JSON file {stratum: weight}.")
    rcs_keep_originals: bool = option(True, help="Keep the whole videos next to their RCS clips.")
    rcs_pad_max: float = option(0.0, help="Pad RCS clips by up to this many seconds, only into idle gaps.")


def load_training_samples(args: DataArguments) -> list[Sample]:
    if not args.train_data:
        raise ActRepError("no training data: give --train_data FILE [FILE ...]")
    samples = []
    for path in args.train_data:
        samples += load_samples(path, args.videos, args.train_splits or None)
    if args.max_train_samples:
        samples = samples[: args.max_train_samples]
    return samples


class TrainingSamples:
    """The training samples of each epoch: the loaded rows, RCS clips when asked (a new draw per
    epoch, seeded by (seed, epoch), the same rule as `actrep rcs`), and a chain of thought built from
    the repetition intervals for rows that have none (RCS clips, plain annotations) when `need_cot`."""

    def __init__(self, args: DataArguments, seed: int, need_cot: bool = False, variant: str = "think"):
        from actrep.data.cot import probe_videos

        self.args, self.seed, self.need_cot, self.variant = args, seed, need_cot, variant
        base = load_training_samples(args)
        self.infos: dict = {}
        if args.rcs or (need_cot and any(s.cot is None for s in base)):
            self.infos, failures = probe_videos(base)
            for path, error in failures.items():
                print(f"warning: skipping {path}: {error}", file=sys.stderr)
            base = [s for s in base if str(s.video_path) not in failures]
            for sample in base:
                sample.fps = sample.fps or self.infos[str(sample.video_path)].fps
        if not base:
            raise ActRepError("no readable training video")
        self.base = base
        self._cache: dict[int, list[Sample]] = {}

    def epoch(self, epoch: int = 0) -> list[Sample]:
        if epoch not in self._cache:
            self._cache = {epoch: self._build(epoch)}  # only the current epoch is kept
        return self._cache[epoch]

    def _build(self, epoch: int) -> list[Sample]:
        from actrep.data.cot import cot_sample
        from actrep.data.rcs import RCSConfig, rcs_epoch

        samples = self.base
        if self.args.rcs:
            config = RCSConfig(strata=self.args.rcs_strata, per_video=self.args.rcs_per_video, seed=self.seed,
                               target=self.args.rcs_target, keep_originals=self.args.rcs_keep_originals, pad_max=self.args.rcs_pad_max)
            frames = {path: info.num_frames for path, info in self.infos.items()}
            samples = rcs_epoch(samples, config, epoch, frames)
        if self.need_cot:
            with_cot = [s if s.cot else cot_sample(s, self.infos.get(str(s.video_path)), self.variant) for s in samples]
            missing = sum(s is None for s in with_cot)
            if missing:
                print(f"warning: {missing} training row(s) have neither a chain of thought nor repetition intervals; left out", file=sys.stderr)
            samples = [s for s in with_cot if s is not None]
        if not samples:
            raise ActRepError("no training sample left after RCS / CoT preparation")
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
