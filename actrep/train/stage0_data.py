"""Stage 0 data: per-frame-pair targets from repetition intervals, a dataset and a collator.

Every clip goes through the project's one video pipeline (`actrep.video.load_video` + `encode`,
the calls SFT, GRPO and evaluation make), so stage 0 trains the vision side on exactly the pixels
and the frame pairs that the later stages feed to the language model.

Targets, per temporal patch (a "frame pair": the processor stacks two consecutive sampled frames
into one temporal patch, and every merged visual token of the LM sequence belongs to one pair):

    cos, sin   mean over the pair's two frames of (cos 2*pi*u, sin 2*pi*u), u = progress through the
               repetition shown (`actrep.synth.frame_phases`); idle frames hold the rest pose, u = 0
               or 1, i.e. angle 0, the same pose as every repetition boundary
    active     share of the pair's two frames that lie inside a repetition (s <= t < e)
    start      1 if a repetition starts during the pair (frames [first frame, next pair's first frame))
    end        1 if a repetition ends during the pair

The intervals are the annotation's file frame indices (RepCount-A boundaries), so the targets work
for any annotated dataset; for `actrep synth` data they are the exact ground truth.
"""

from __future__ import annotations

import queue
import sys
import threading
from types import SimpleNamespace

import numpy as np
import torch

from actrep.errors import ActRepError
from actrep.manifest import load_samples
from actrep.train.common import stop_loader_workers

TARGET_NAMES = ("cos", "sin", "active", "start", "end")


def frame_targets(num_frames: int, intervals) -> np.ndarray:
    """[num_frames, 5] float32 per-frame targets (cos, sin, active, start, end) on the file's frames.

    Phase comes from `actrep.synth.frame_phases` (the generator's own ground-truth rule), which only
    reads the frame count and the intervals.
    """
    from actrep.synth import frame_phases

    intervals = [(int(s), int(e)) for s, e in (intervals or [])]
    for s, e in intervals:
        if not 0 <= s < e <= num_frames - 1:
            raise ActRepError(f"repetition {s}-{e} is not inside the video's frames 0-{num_frames - 1}")
    _, progress = frame_phases(SimpleNamespace(frames=int(num_frames), intervals=[list(iv) for iv in intervals]))
    out = np.zeros((num_frames, len(TARGET_NAMES)), dtype=np.float32)
    angle = 2.0 * np.pi * progress
    out[:, 0] = np.cos(angle)
    out[:, 1] = np.sin(angle)
    for s, e in intervals:
        out[s:e, 2] = 1.0
        out[s, 3] = 1.0
        out[e, 4] = 1.0
    return out


def pair_targets(frames: np.ndarray, indices, clip_offset: int, clip_frames: int) -> np.ndarray:
    """[pairs, 5] targets of the temporal patches built from the sampled frames.

    `frames` are per-frame targets on the file's frames (`frame_targets`), `indices` the sampled
    frame indices relative to the clip's first frame `clip_offset` (actrep.video.SampledVideo). The
    processor groups consecutive sampled frames in twos (an odd last frame is repeated). A pair's
    span runs from its first frame up to the next pair's first frame (or the clip's end), so a
    boundary between sparsely sampled frames is attributed to the pair during which it happens.
    """
    idx = np.asarray(indices, dtype=np.int64) + int(clip_offset)
    n = len(idx)
    if n == 0:
        raise ActRepError("no sampled frames")
    if idx.min() < clip_offset or idx.max() >= clip_offset + clip_frames or idx.max() >= len(frames):
        raise ActRepError(f"sampled frame {int(idx.max()) - clip_offset} is outside the clip's {clip_frames} frames")
    pairs = (n + 1) // 2
    first = idx[0::2]
    second = idx[np.minimum(np.arange(pairs) * 2 + 1, n - 1)]
    span_end = np.append(first[1:], int(clip_offset) + int(clip_frames))
    out = np.zeros((pairs, len(TARGET_NAMES)), dtype=np.float32)
    out[:, :3] = 0.5 * (frames[first, :3] + frames[second, :3])
    starts = np.concatenate([[0.0], np.cumsum(frames[:, 3])])
    ends = np.concatenate([[0.0], np.cumsum(frames[:, 4])])
    out[:, 3] = (starts[span_end] - starts[first]) > 0
    out[:, 4] = (ends[span_end] - ends[first]) > 0
    return out


def sample_intervals(sample) -> list[tuple[int, int]]:
    """The sample's repetitions as file frame indices (boundaries; count-0 rows have none)."""
    if sample.boundaries is not None:
        return [(int(s), int(e)) for s, e in sample.boundaries]
    if sample.count == 0:
        return []
    raise ActRepError(f"{sample.where}: stage 0 needs per-repetition frame boundaries (RepCount-A L1..Ln or `actrep synth` data)")


class Stage0Dataset(torch.utils.data.Dataset):
    """Items: {"video": SampledVideo, "targets": [pairs, 5], "count", "action", "key"}; decoded in the worker.

    Clip ranges (RCS rows) are honoured: the video pipeline re-bases the clip and the targets follow
    its offset. An unreadable video is reported and replaced by the next readable one.
    """

    def __init__(self, samples, family, settings):
        if not samples:
            raise ActRepError("stage 0: no training videos with repetition boundaries")
        self.samples = list(samples)
        self.family = family
        self.settings = settings

    def __len__(self) -> int:
        return len(self.samples)

    def load(self, sample) -> dict:
        from actrep.video import load_video, probe

        info = probe(sample.video_path)
        video = load_video(sample.video_path, self.family, self.settings, sample.clip_start, sample.clip_end, info=info)
        frames = frame_targets(info.num_frames, sample_intervals(sample))
        targets = pair_targets(frames, video.indices, video.clip_offset, video.clip_frames)
        return {"video": video, "targets": targets, "count": int(sample.count), "action": sample.action,
                "key": f"{sample.split}/{sample.video_id}"}

    def __getitem__(self, index: int) -> dict:
        for offset in range(len(self.samples)):
            sample = self.samples[(index + offset) % len(self.samples)]
            try:
                return self.load(sample)
            except ActRepError as err:
                print(f"warning: stage 0 skips {sample.where}: {err}", file=sys.stderr)
        raise ActRepError("stage 0: no readable video in the dataset")


class Stage0Collator:
    """Items -> the processor's video tensors (the `encode` call SFT/GRPO/eval make) + pair targets.

    `raw_pixels` (stage 0 on a GPU): pixel_values_videos stay uint8, with the processor's normalisation constants
    in "pixel_mean" / "pixel_std"; `video_features` normalises them on the training device to the
    processor's exact float32 values. A batch of 32 medium clips is ~54 MB instead of ~217 MB through
    the workers' shared memory, the pinning copy, the host-to-GPU copy and the GPU replay buffer
    (stage 0 was input-bound on an H100: results/scratch/2026-12-07-h100-seeds-medium).
    """

    def __init__(self, processor, settings, variant: str = "think", raw_pixels: bool = True):
        from actrep.video import pixel_normalization

        self.processor = processor
        self.settings = settings
        self.variant = variant
        self.raw_pixels = raw_pixels
        self.normalization = pixel_normalization(processor) if raw_pixels else None
        self._prompts: dict[str, str] = {}

    def prompt(self, action: str) -> str:
        if action not in self._prompts:
            from actrep.prompts import render_prompt

            self._prompts[action] = render_prompt(self.processor, action, self.variant)
        return self._prompts[action]

    def __call__(self, items: list[dict]) -> dict:
        from actrep.video import encode

        batch = encode(self.processor, [self.prompt(it["action"]) for it in items], [it["video"] for it in items],
                       self.settings, padding_side="right", raw_pixels=self.raw_pixels)
        grid = batch["video_grid_thw"]
        pairs = [int(t) for t in grid[:, 0].tolist()]
        for it, p in zip(items, pairs):
            if len(it["targets"]) != p:
                raise ActRepError(f"{it['key']}: {len(it['targets'])} frame pairs of targets but the processor made {p} temporal patches")
        out = {
            "pixel_values_videos": batch["pixel_values_videos"],
            "video_grid_thw": grid,
            "targets": torch.from_numpy(np.concatenate([it["targets"] for it in items])),
            "pairs": torch.tensor(pairs),
            "counts": torch.tensor([it["count"] for it in items]),
            "keys": [it["key"] for it in items],
            "actions": [it["action"] for it in items],
        }
        if self.normalization is not None:
            out["pixel_mean"], out["pixel_std"] = (t.clone() for t in self.normalization)
        return out


# ------------------------------------------------------------------------------- loading and prefetch


def load_stage0_samples(data: list[str], videos, splits, limit: int = 0) -> list:
    samples = []
    for path in data:
        samples += load_samples(path, videos, splits or None)
    missing = [s for s in samples if s.boundaries is None and s.count != 0]
    if missing:
        print(f"warning: stage 0 leaves out {len(missing)} row(s) without per-repetition boundaries (first: {missing[0].where})", file=sys.stderr)
    samples = [s for s in samples if s.boundaries is not None or s.count == 0]
    return samples[:limit] if limit else samples


def make_loader(dataset, collator, batch_size: int, workers: int, prefetch: int, shuffle: bool, seed: int, drop_last: bool):
    generator = torch.Generator().manual_seed(seed)
    kwargs = dict(batch_size=batch_size, shuffle=shuffle, num_workers=workers, collate_fn=collator, drop_last=drop_last,
                  generator=generator, pin_memory=torch.cuda.is_available())
    if workers > 0:
        kwargs.update(prefetch_factor=prefetch, persistent_workers=shuffle)
    return torch.utils.data.DataLoader(dataset, **kwargs)


class Prefetcher:
    """Iterates a DataLoader forever (epoch after epoch) in a thread; `get(block=False)` returns None
    when no batch is ready, so the training loop can replay a recent batch instead of waiting."""

    def __init__(self, loader, size: int = 2):
        self.loader = loader
        self.queue: queue.Queue = queue.Queue(maxsize=size)
        self.stop = threading.Event()
        self.epoch = 0
        # The loader's workers are forked here, in the caller's thread, not in the prefetch thread while the
        # caller goes on: a child forked from one thread inherits any lock another thread holds at that instant
        # (the likely cause of a CI hang on 2026-12-07: the workers lived, the first batch never came).
        # Persistent workers are not forked again for later epochs.
        self.first_epoch = iter(loader)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            while not self.stop.is_set():
                batches = self.first_epoch if self.first_epoch is not None else iter(self.loader)
                self.first_epoch = None
                for batch in batches:
                    while not self.stop.is_set():
                        try:
                            self.queue.put(batch, timeout=0.1)
                            break
                        except queue.Full:
                            continue
                    if self.stop.is_set():
                        return
                self.epoch += 1
        except Exception as err:  # surfaced in the training loop
            self.queue.put(err)

    def get(self, block: bool = True):
        try:
            item = self.queue.get(block=block, timeout=None if block else 0)
        except queue.Empty:
            return None
        if isinstance(item, Exception):
            raise item
        return item

    def close(self):
        self.stop.set()
        while self.thread.is_alive():
            try:
                self.queue.get(timeout=0.1)
            except queue.Empty:
                pass
        self.thread.join(timeout=5)
        stop_loader_workers(self.loader)  # now, not at exit (torch < 2.13 waits 5 s a worker there)


def to_device(batch: dict, device) -> dict:
    out = dict(batch)
    for key in ("pixel_values_videos", "targets", "pixel_mean", "pixel_std"):  # the grid stays on the host (index math, pooling)
        if key in batch:
            out[key] = batch[key].to(device, non_blocking=True)
    return out
