"""The video pipeline: the single place where a video file becomes the frames and tokens a model sees.

    decode (PyAV)  ->  frame indices (the processor's own sampling rule)  ->  frames + VideoMetadata
    ->  processor(..., do_sample_frames=False) with the pixel budget passed explicitly

Why not let the processor open the file: transformers' own loader insists on torchcodec, decodes
every frame, and applies whatever defaults the checkpoint's processor config happens to carry
(Qwen2-VL processes ALL frames unless fps is given). Here the sampling and pixel settings come
from one `VideoSettings` object, saved next to every checkpoint and eval result, so training and
evaluation see identical tokens. Frame indices are computed by the processor's own `sample_frames`
(configured from the settings), so they match what the processor would pick itself; a test proves
`input_ids` and `pixel_values_videos` are bit-identical to the processor's own path.

A foundation (everything that reads a video imports it; it imports only config, errors and the
model family registry). Over 400 lines on purpose: it is the one path from a file to tokens, and
the decode with its truncation checks, the sampling rule that indexes it and the processor settings
are changed together whenever a transformers release changes one of them.

Clips (RCS): a clip [clip_start, clip_end] in seconds is treated exactly like a video file cut at
those frames: frames are re-indexed from 0, so durations, sampling, Qwen2.5-VL's seconds-per-grid
and Qwen3-VL's text timestamps are all on the clip's clock, the same clock as the re-based
repetition intervals in the CoT.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from actrep.config import option
from actrep.errors import ActRepError


@dataclass
class VideoSettings:
    fps: float = option(4.0, help="Frames sampled per second of video (RepCount's median repetition lasts ~1 s).")
    num_frames: int = option(0, help="Sample exactly this many frames instead of using fps (0: use fps).")
    min_frames: int = option(4, help="Fewest frames sampled from a video.")
    max_frames: int = option(256, help="Most frames sampled from a video; longer videos are sampled more sparsely.")
    min_pixels: int = option(56 * 56, help="Qwen2/2.5-VL: smallest frame area after the processor's resize (pixels).")
    max_pixels: int = option(224 * 224, help="Qwen2/2.5-VL: largest frame area after resize (pixels); 224x224 = 64 tokens per frame pair.")
    min_total_pixels: int = option(128 * 32 * 32, help="Qwen3-VL: smallest pixel budget over all frames of a video.")
    max_total_pixels: int = option(256 * 224 * 224, help="Qwen3-VL: pixel budget over ALL frames (more frames -> smaller frames).")
    decoder: str = option("pyav", help="Video decoder: pyav (default, exact frame counting) or opencv.")

    def __post_init__(self):
        if self.num_frames < 0 or (self.num_frames == 0 and not self.fps > 0):
            raise ActRepError(f"video settings: need fps > 0 or num_frames > 0 (got fps={self.fps}, num_frames={self.num_frames})")
        if not 2 <= self.min_frames <= self.max_frames:
            raise ActRepError(f"video settings: need 2 <= min_frames <= max_frames (got {self.min_frames}, {self.max_frames})")
        if not 0 < self.min_pixels <= self.max_pixels or not 0 < self.min_total_pixels <= self.max_total_pixels:
            raise ActRepError("video settings: need 0 < min_pixels <= max_pixels and 0 < min_total_pixels <= max_total_pixels")
        if self.decoder not in ("pyav", "opencv"):
            raise ActRepError(f"video settings: unknown decoder {self.decoder!r} (pyav, opencv)")


class IncompleteVideoError(ActRepError):
    """The file ends before the length it declares, or its frames stop decoding (a cut or damaged file)."""


@dataclass
class VideoInfo:
    path: str
    num_frames: int  # frames in the file (with allow_partial: the frames that decode, from the first on)
    fps: float
    width: int
    height: int
    declared_frames: int | None = None  # a partial read only: the frames the file declares
    declared_s: float | None = None  # a partial read only: the duration the file declares

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps

    @property
    def partial(self) -> bool:
        return self.declared_frames is not None

    def partial_note(self) -> str | None:
        """'only 23.9 s of the 47.9 s the file declares could be read (191 of 383 frames)', or None."""
        if not self.partial:
            return None
        return (f"only {self.duration:.1f} s of the {self.declared_s:.1f} s the file declares could be read "
                f"({self.num_frames} of {self.declared_frames} frames)")


@dataclass
class SampledVideo:
    """Sampled frames of a video or clip, and the metadata the processor needs (clip clock)."""

    frames: np.ndarray  # uint8 [T, H, W, 3] RGB
    indices: np.ndarray  # sampled frame indices relative to the clip's first frame
    clip_frames: int  # number of frames in the clip (the whole file when no clip)
    clip_offset: int  # index in the file of the clip's first frame
    fps: float  # the file's native frame rate
    partial: str | None = None  # VideoInfo.partial_note() of a file read with allow_partial

    @property
    def timestamps(self) -> list[float]:
        """Seconds of each sampled frame on the clip's clock."""
        return [float(i) / self.fps for i in self.indices]

    def metadata(self):
        from transformers.video_utils import VideoMetadata

        return VideoMetadata(
            total_num_frames=self.clip_frames,
            fps=self.fps,
            width=int(self.frames.shape[2]),
            height=int(self.frames.shape[1]),
            duration=self.clip_frames / self.fps,
            video_backend="actrep",
            frames_indices=[int(i) for i in self.indices],
        )


# ----------------------------------------------------------------------------------------- decoding


def _open(path: str | Path):
    import av

    path = Path(path)
    if not path.exists():
        raise ActRepError(f"{path}: video file not found")
    if path.stat().st_size == 0:
        raise ActRepError(f"{path}: video file is empty (0 bytes)")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError, OSError) as err:
        raise ActRepError(f"{path}: not a readable video ({type(err).__name__}: {getattr(err, 'strerror', None) or err})") from None
    if not container.streams.video:
        container.close()
        raise ActRepError(f"{path}: the file has no video stream")
    return container


def probe(path: str | Path, count_frames: bool = False, allow_partial: bool = False) -> VideoInfo:
    """Frame count, fps and size of a video, after checking that the file holds what it declares.

    Every reader calls this first; it is where a cut or damaged file is caught. Phone and web mp4s
    keep their index at the front ("faststart"): cut such a file and it still opens and declares
    its full duration and frame count, and decoding simply stops early. So the video packets are
    counted (demuxing only, no decoding) and compared with the frames the header declares, and the
    last packet's time with the container's duration. `count_frames` also decodes every frame
    (frames that stop decoding, e.g. damaged data, are then caught here rather than by the reader).

    A file that ends early raises IncompleteVideoError naming the file, unless `allow_partial`:
    then the frames that decode (from the first on) are counted and the info is marked partial
    (`declared_frames`, `declared_s`), so every result built on it can say so.
    """
    import av

    container = _open(path)
    try:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not rate:
            raise ActRepError(f"{path}: the video stream has no frame rate")
        fps, width, height = float(rate), stream.codec_context.width, stream.codec_context.height
        declared_frames = max(int(stream.frames or 0), 0)
        declared_s = container.duration / av.time_base if container.duration else None
        packets, discarded, end_s = _demux_extent(container, stream)
    finally:
        container.close()
    held = packets - discarded  # edit lists: packets flagged discard are decoded but never shown
    shortfall = None
    if declared_frames and packets < declared_frames:
        shortfall = f"the file declares {declared_frames} frames but holds {packets}"
    elif declared_s and end_s is not None and end_s < declared_s - max(0.5, 3 / fps):
        shortfall = f"the file declares {declared_s:.1f} s but its streams end at {end_s:.1f} s"
    if held <= 0 and not allow_partial:
        raise IncompleteVideoError(f"{path}: the video stream holds no frames" + (f" ({shortfall})" if shortfall else ""))
    if shortfall and not allow_partial:
        raise IncompleteVideoError(f"{path}: truncated: {shortfall} (a cut or partly copied file, or a header that lies)")
    if not (count_frames or allow_partial):
        return VideoInfo(str(path), held, fps, width, height)
    stop: list = []
    decoded = sum(1 for _ in _decoded(path, stop))
    if decoded < held and not allow_partial:
        raise IncompleteVideoError(_stopped(path, decoded, held, fps, stop))
    if decoded == 0:
        raise IncompleteVideoError(f"{path}: no frame could be decoded" + (f": {shortfall}" if shortfall else ""))
    if decoded < held or shortfall:
        full = max(declared_frames, held, round((declared_s or 0) * fps))
        return VideoInfo(str(path), decoded, fps, width, height, declared_frames=full,
                         declared_s=max(declared_s or 0.0, full / fps))
    return VideoInfo(str(path), decoded, fps, width, height)


def _demux_extent(container, stream) -> tuple[int, int, float | None]:
    """(video packets, of which flagged discard, seconds from the container's start to the end of its last
    packet in any stream) by demuxing without decoding; a demuxer error ends the count (a cut file)."""
    import av

    packets = discarded = 0
    end = None
    try:
        for packet in container.demux():
            if packet.size == 0 and packet.pts is None:
                continue  # the flush packet each stream ends with
            if packet.stream.index == stream.index:
                packets += 1
                discarded += bool(packet.is_discard)
            time = packet.pts if packet.pts is not None else packet.dts
            if time is not None and packet.time_base:
                stop = float((time + (packet.duration or 0)) * packet.time_base)
                end = stop if end is None else max(end, stop)
    except av.error.FFmpegError:
        pass
    if end is not None and container.start_time is not None:
        end -= container.start_time / av.time_base
    return packets, discarded, end


def _decoded(path, stop: list):
    """Every frame of the video stream in decode order; a decoding error ends it, appended to `stop`."""
    import av

    container = _open(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        try:
            yield from container.decode(stream)
        except av.error.FFmpegError as err:
            stop.append(err)
    finally:
        container.close()


def _stopped(path, decoded: int, total: int | None, fps: float | None, stop: list) -> str:
    where = f"frame {decoded}" + (f" of {total}" if total else "") + (f" ({decoded / fps:.1f} s)" if fps else "")
    why = f" ({getattr(stop[0], 'strerror', None) or stop[0]})" if stop else ""
    return f"{path}: damaged: frames stop decoding at {where}{why}"


def iter_frames(path: str | Path, last: int, info: VideoInfo | None = None):
    """(index, av.VideoFrame) in decode order for frames 0..last; the one decoding loop of every reader.

    Frames are counted in decode order from the start of the file, which is how RepCount-style
    annotations number them (seeking by timestamp can land one frame off on real files). Raises
    IncompleteVideoError naming the file when decoding stops before frame `last`.
    """
    stop: list = []
    index = -1
    for index, frame in enumerate(_decoded(path, stop)):
        yield index, frame
        if index >= last:
            return
    raise IncompleteVideoError(_stopped(path, index + 1, info.num_frames if info else None, info.fps if info else None, stop))


def decode_frames(path: str | Path, wanted: np.ndarray, decoder: str = "pyav", info: VideoInfo | None = None) -> np.ndarray:
    """Decode the frames with the given file indices (sorted, repeats allowed) as uint8 RGB [T, H, W, 3]."""
    wanted = np.asarray(wanted, dtype=np.int64)
    if wanted.size == 0:
        raise ActRepError(f"{path}: no frames requested")
    last = int(wanted.max())
    targets = set(np.unique(wanted).tolist())
    got: dict[int, np.ndarray] = {}
    if decoder == "opencv":
        import cv2

        if not Path(path).exists():
            raise ActRepError(f"{path}: video file not found")
        capture = cv2.VideoCapture(str(path))
        index = 0
        while index <= last:
            ok, frame = capture.read()
            if not ok:
                raise IncompleteVideoError(f"{path}: damaged: frames stop decoding at frame {index} (frame {last} was needed)")
            if index in targets:
                got[index] = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            index += 1
        capture.release()
    else:
        import av

        # One reformatter for the whole file: frame.to_ndarray(format=...) builds a new swscale
        # context per frame, ~80% of the decode time on small frames; the arrays are identical.
        reformatter = av.video.reformatter.VideoReformatter()
        for index, frame in iter_frames(path, last, info):
            if index in targets:
                got[index] = reformatter.reformat(frame, format="rgb24").to_ndarray()
    return np.stack([got[int(i)] for i in wanted])


def decode_all(path: str | Path, decoder: str = "pyav") -> np.ndarray:
    """Every frame of a file (for tests, previews and the periodicity counter on short clips)."""
    info = probe(path, count_frames=True)
    return decode_frames(path, np.arange(info.num_frames), decoder, info)


# ----------------------------------------------------------------------------------------- processor


def processor_video_kwargs(settings: VideoSettings, family) -> dict:
    """The pixel-budget kwargs passed explicitly on every processor call (never the checkpoint's defaults)."""
    if family.pixel_budget == "total":
        size = {"shortest_edge": settings.min_total_pixels, "longest_edge": settings.max_total_pixels}
    else:
        size = {"shortest_edge": settings.min_pixels, "longest_edge": settings.max_pixels}
    # cap_pixels_per_frame=False keeps the documented budget semantics (and silences a deprecation warning).
    return {"size": size, "cap_pixels_per_frame": False, "do_sample_frames": False}


def configure_processor(processor, settings: VideoSettings, family) -> None:
    """Make a processor's own video defaults equal to the settings (sampling rule, pixel budget).

    Our calls pass everything explicitly anyway; this makes `sample_frames` follow the settings
    (Qwen3-VL's reads min/max frames from the instance) and makes a saved processor reproduce the
    same tokens when used without actrep.
    """
    _configure_video_processor(processor.video_processor, settings, family)


def _configure_video_processor(video_processor, settings: VideoSettings, family) -> None:
    video_processor.fps = settings.fps if not settings.num_frames else None
    video_processor.num_frames = settings.num_frames or None
    video_processor.min_frames = settings.min_frames
    video_processor.max_frames = settings.max_frames
    video_processor.size = processor_video_kwargs(settings, family)["size"]
    video_processor.cap_pixels_per_frame = False


@functools.lru_cache(maxsize=None)
def _bare_video_processor(family_name: str):
    """The family's video processor class with its stock patch sizes (no checkpoint needed)."""
    import transformers

    from actrep.models.registry import get_family

    family = get_family(family_name)
    return getattr(transformers, family.video_processor_class)(patch_size=family.patch_size, merge_size=2, temporal_patch_size=2)


def sample_indices(family, num_frames: int, fps: float, settings: VideoSettings, path: str = "video") -> np.ndarray:
    """Frame indices (0..num_frames-1) the family's processor samples for a video/clip of `num_frames`.

    Uses the processor's own `sample_frames`, configured from the settings, so the rule is the
    processor's (an `actrep` test checks that it picks the frames the processor picks itself).
    """
    from transformers.video_utils import VideoMetadata

    video_processor = _bare_video_processor(family.name)
    _configure_video_processor(video_processor, settings, family)

    if num_frames < 2:
        raise ActRepError(f"{path}: {num_frames} frame(s); a video needs at least 2 frames (one temporal patch)")
    metadata = VideoMetadata(total_num_frames=num_frames, fps=fps, duration=num_frames / fps)
    if settings.num_frames:
        kwargs = {"num_frames": min(settings.num_frames, num_frames), "fps": None}
    else:
        kwargs = {"num_frames": None, "fps": settings.fps}
    try:
        indices = video_processor.sample_frames(
            metadata=metadata, min_frames=settings.min_frames, max_frames=settings.max_frames, **kwargs
        )
    except ValueError as err:
        raise ActRepError(f"{path}: cannot sample frames ({err})") from None
    # transformers' rule is a float arange(0, total, total / n): for some lengths (59 frames at 8 of
    # 8 fps, 41 frames at 3 of 8 fps) its last index is `total`, one past the end, and every decoder
    # fails on it. The last frame is the frame that index stands for.
    indices = np.minimum(np.asarray(indices, dtype=np.int64), num_frames - 1)
    if indices.size == 0:
        raise ActRepError(f"{path}: no frames could be sampled from {num_frames} frames at fps={settings.fps}")
    return indices


def clip_frame_range(info: VideoInfo, clip_start: float | None, clip_end: float | None) -> tuple[int, int]:
    """(first, last) file frame indices of a clip, both inclusive; clip times are frame/fps of those frames."""
    if info.num_frames < 2:
        raise ActRepError(f"{info.path}: {info.num_frames} frame(s); a video needs at least 2 frames (one temporal patch)")
    first = 0 if clip_start is None else int(round(clip_start * info.fps))
    last = info.num_frames - 1 if clip_end is None else int(round(clip_end * info.fps))
    if not 0 <= first < last <= info.num_frames - 1:
        raise ActRepError(
            f"{info.path}: clip {clip_start}-{clip_end} s (frames {first}-{last}) is not inside the video "
            f"(frames 0-{info.num_frames - 1} at {info.fps:g} fps)"
        )
    return first, last


def load_video(
    path: str | Path,
    family,
    settings: VideoSettings,
    clip_start: float | None = None,
    clip_end: float | None = None,
    info: VideoInfo | None = None,
    allow_partial: bool = False,
) -> SampledVideo:
    """Decode the frames a model of `family` sees for a video (or a clip of it); `allow_partial`: of its
    readable part, when it ends early (`probe`), marked in `SampledVideo.partial`."""
    info = info or probe(path, allow_partial=allow_partial)
    first, last = clip_frame_range(info, clip_start, clip_end)
    clip_frames = last - first + 1
    indices = sample_indices(family, clip_frames, info.fps, settings, str(path))
    frames = decode_frames(path, indices + first, settings.decoder, info)
    return SampledVideo(frames=frames, indices=indices, clip_frames=clip_frames, clip_offset=first, fps=info.fps,
                        partial=info.partial_note())


def family_of_processor(processor):
    from actrep.models.registry import FAMILIES

    name = type(processor).__name__
    for family in FAMILIES.values():
        if family.processor_class == name:
            return family
    raise ActRepError(f"unsupported processor class {name}")


def encode(processor, prompts: list[str], videos: list[SampledVideo], settings: VideoSettings, padding_side: str = "left",
           raw_pixels: bool = False):
    """Tokenize prompts (each with one video placeholder) together with their sampled videos.

    Returns the processor's BatchFeature: input_ids, attention_mask, pixel_values_videos, video_grid_thw,
    mm_token_type_ids, and for Qwen2.5-VL second_per_grid_ts.

    `raw_pixels`: pixel_values_videos as uint8, the resized patches before the processor's rescale and
    normalisation (a quarter of the float32 bytes; everything else unchanged). `normalize_pixels` turns
    them into exactly the processor's float32 values, on whatever device they are by then.
    """
    import torch

    family = family_of_processor(processor)
    processor.tokenizer.padding_side = padding_side
    batch = processor(
        text=prompts,
        videos=[v.frames for v in videos],
        video_metadata=[v.metadata() for v in videos],
        padding=True,
        return_tensors="pt",
        **processor_video_kwargs(settings, family),
        **({"do_rescale": False, "do_normalize": False} if raw_pixels else {}),
    )
    if raw_pixels and batch["pixel_values_videos"].dtype != torch.uint8:
        raise ActRepError(f"{type(processor).__name__} returned {batch['pixel_values_videos'].dtype} pixels without rescaling, not uint8")
    return batch


def pixel_normalization(processor):
    """(mean, std): float32 per-channel tensors in 0-255 units for `normalize_pixels`.

    The processor fuses its rescale (1/255) into the normalisation, (x - mean/scale) / (std/scale),
    computed in float32; these are the same fused constants, computed the same way.
    """
    import torch

    vp = processor.video_processor
    if not (vp.do_rescale and vp.do_normalize):
        raise ActRepError(f"{type(vp).__name__} does not rescale and normalise its pixels; raw uint8 pixels would not match it")
    mean = torch.tensor(vp.image_mean, dtype=torch.float32) * (1.0 / vp.rescale_factor)
    std = torch.tensor(vp.image_std, dtype=torch.float32) * (1.0 / vp.rescale_factor)
    return mean, std


def normalize_pixels(pixels, mean, std):
    """uint8 patches [N, C * T * P * P] of `encode(raw_pixels=True)` -> the processor's float32 values, bit for bit.

    Why by hand: the processor normalises before it cuts patches, on the host. Shipping uint8 through a
    DataLoader and normalising on the GPU moves a quarter of the bytes; the two elementwise float32 steps
    (subtract, then divide: torchvision's order) are exactly rounded on either device. A patch's values
    are laid out channel first (the processor's patchify), so each channel is one contiguous block.
    """
    channels = mean.numel()
    x = pixels.float().view(pixels.shape[0], channels, -1)
    x = (x - mean.to(x.device)[:, None]) / std.to(x.device)[:, None]
    return x.view(pixels.shape)


def visual_token_count(video_grid_thw) -> list[int]:
    """Visual tokens per video in the LM sequence: T' * H' * W' / merge^2 (merge = 2)."""
    return [int(t * h * w) // 4 for t, h, w in np.asarray(video_grid_thw).tolist()]
