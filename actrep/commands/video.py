"""`actrep video inspect|table`: the frames, timestamps and visual tokens a model sees."""

from __future__ import annotations

from dataclasses import dataclass

from actrep.config import option, parse_config, run_subcommand
from actrep.errors import ActRepError
from actrep.models.registry import FAMILIES
from actrep.prompts import PromptSettings
from actrep.video import VideoSettings

USAGE = """usage: actrep video <inspect|table> [options]

  inspect VIDEO  the sampled frames, their timestamps, the resized frame size and the visual tokens
  table          visual tokens per video for a grid of fps x pixel budgets (plan your budget)
"""


@dataclass
class InspectArguments:
    video: str = option(None, help="Video file.")
    model_name_or_path: str | None = option(None, help="Checkpoint whose processor (and saved actrep settings) to use.")
    family: str = option("qwen2_5_vl", help=f"Family when no --model is given ({', '.join(FAMILIES)}).")
    action: str = option("repetition", help="Action name for the prompt.")
    clip_start: float | None = option(None, help="Clip start in seconds.")
    clip_end: float | None = option(None, help="Clip end in seconds (time of the clip's last frame).")
    ignore_saved_settings: bool = option(False, help="Use the video flags even if the checkpoint saved its own settings.")


@dataclass
class TableArguments:
    family: str = option("qwen2_5_vl", help=f"Model family ({', '.join(FAMILIES)}).")
    width: int = option(640, help="Video width in pixels.")
    height: int = option(480, help="Video height in pixels.")
    duration: float = option(30.0, help="Video duration in seconds.")
    native_fps: float = option(30.0, help="The video's own frame rate.")
    fps_values: list[float] = option([1.0, 2.0, 4.0, 8.0], help="Sampling fps values (rows).")
    budgets: list[int] = option([0], help="Pixel budgets (columns): per-frame max_pixels for Qwen2/2.5, total max_total_pixels for Qwen3. 0: a default set.")
    max_frames: int = option(256, help="Most frames sampled.")


def _processor_and_settings(args: InspectArguments, video: VideoSettings, prompt: PromptSettings):
    from actrep.models.registry import get_family, load_processor, resolve_family
    from actrep.settings import load_settings

    if args.model_name_or_path:
        family = resolve_family(args.model_name_or_path)
        processor = load_processor(args.model_name_or_path)
        saved = load_settings(args.model_name_or_path)
        if saved and not args.ignore_saved_settings:
            print(f"using the settings saved in {args.model_name_or_path} (--ignore_saved_settings to use flags)")
            return family, processor, saved.video, saved.prompt_variant
        return family, processor, video, prompt.prompt_variant
    from actrep.models.tiny import build_processor

    family = get_family(args.family)
    return family, build_processor(family), video, prompt.prompt_variant


def _inspect(argv: list[str]) -> int:
    from rich.console import Console
    from rich.table import Table

    from actrep.prompts import render_prompt
    from actrep.video import encode, load_video, probe, visual_token_count

    args, video_settings, prompt_settings = parse_config(
        [InspectArguments, VideoSettings, PromptSettings], argv, prog="actrep video inspect", positional=["video"],
        description="Show the frames, timestamps and visual tokens a model sees for a video.")
    family, processor, settings, variant = _processor_and_settings(args, video_settings, prompt_settings)
    info = probe(args.video)
    sampled = load_video(args.video, family, settings, args.clip_start, args.clip_end, info=info)
    batch = encode(processor, [render_prompt(processor, args.action, variant)], [sampled], settings)
    t, h, w = batch["video_grid_thw"][0].tolist()
    patch = family.patch_size
    table = Table(title=f"{args.video} as {family.name} sees it", show_header=False)
    table.add_row("file", f"{info.num_frames} frames, {info.fps:g} fps, {info.width}x{info.height}, {info.duration:.2f} s")
    if sampled.clip_offset or sampled.clip_frames != info.num_frames:
        table.add_row("clip", f"file frames {sampled.clip_offset}-{sampled.clip_offset + sampled.clip_frames - 1} (re-based to 0.0 s)")
    table.add_row("sampled frames", f"{len(sampled.indices)}: {sampled.indices.tolist()}")
    table.add_row("frame times (s)", ", ".join(f"{x:.2f}" for x in sampled.timestamps))
    table.add_row("resized frame", f"{h * patch}x{w * patch} pixels ({h}x{w} patches of {patch})")
    table.add_row("grid (t, h, w)", f"{t}, {h}, {w}  (a temporal patch = 2 frames)")
    table.add_row("visual tokens", f"{visual_token_count(batch['video_grid_thw'])[0]}")
    table.add_row("prompt tokens", f"{batch['input_ids'].shape[1]} (with the visual tokens)")
    if "second_per_grid_ts" in batch:
        table.add_row("seconds per temporal patch", f"{float(batch['second_per_grid_ts'][0]):.4f}")
    if family.timestamps_in_prompt:
        text = processor.decode(batch["input_ids"][0])
        stamps = [part.split(">")[0] for part in text.split("<")[1:] if part.endswith("seconds>") or " seconds" in part.split(">")[0]]
        table.add_row("text timestamps", ", ".join(stamps))
    table.add_row("settings", str(settings))
    Console().print(table)
    return 0


def token_table(args: TableArguments) -> tuple[list[str], list[list[str]]]:
    """Rows of (fps, frames, resized frame, tokens per budget) for a video of the given size."""
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import smart_resize as resize_per_frame
    from transformers.models.qwen3_vl.video_processing_qwen3_vl import smart_resize as resize_total

    from actrep.models.registry import get_family
    from actrep.video import sample_indices

    family = get_family(args.family)
    factor = family.resize_factor
    budgets = [b for b in args.budgets if b > 0]
    if not budgets:
        budgets = [112 * 112, 224 * 224, 336 * 336, 448 * 448] if family.pixel_budget == "per_frame" else [2**20, 2**22, 2**24, 2**26]
    frames_in_video = int(round(args.duration * args.native_fps))
    header = ["fps", "frames"] + [f"{'max_pixels' if family.pixel_budget == 'per_frame' else 'total'} {b:,}" for b in budgets]
    rows = []
    for fps in args.fps_values:
        settings = VideoSettings(fps=fps, max_frames=args.max_frames, min_pixels=factor * factor, max_pixels=max(budgets),
                                 min_total_pixels=factor * factor * 4, max_total_pixels=max(budgets))
        t = len(sample_indices(family, frames_in_video, args.native_fps, settings))
        cells = [f"{fps:g}", str(t)]
        for budget in budgets:
            if family.pixel_budget == "per_frame":
                h, w = resize_per_frame(args.height, args.width, factor, min_pixels=factor * factor, max_pixels=budget)
            else:
                h, w = resize_total(t, args.height, args.width, 2, factor, min_pixels=factor * factor * 4, max_pixels=budget)
            tokens = ((t + 1) // 2) * (h // family.patch_size) * (w // family.patch_size) // 4
            cells.append(f"{tokens:,} ({h}x{w})")
        rows.append(cells)
    return header, rows


def _table(argv: list[str]) -> int:
    from rich.console import Console
    from rich.table import Table

    (args,) = parse_config([TableArguments], argv, prog="actrep video table",
                           description="Visual tokens per video for a grid of fps x pixel budgets.")
    if args.width < 1 or args.height < 1 or args.duration <= 0 or args.native_fps <= 0:
        raise ActRepError("width, height, duration and native_fps must be positive")
    header, rows = token_table(args)
    table = Table(title=f"{args.family}: visual tokens (resized frame) for a {args.duration:g} s {args.width}x{args.height} video at {args.native_fps:g} fps")
    for column in header:
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(*row)
    Console().print(table)
    return 0


def main(argv: list[str]) -> int:
    return run_subcommand(argv, {"inspect": _inspect, "table": _table}, USAGE, "video")
