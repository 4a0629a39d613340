"""`actrep count`: count repetitions in your own videos, and show where they are.

    actrep count VIDEO [VIDEO ...] --model CKPT --action "push up"                  (a local checkpoint)
    actrep count VIDEO [VIDEO ...] --provider openai|gemini|openai-compatible --model M --action "push up"
    actrep count VIDEO [VIDEO ...]                                                  (training-free periodicity counter)
        [--out actrep_count] [--json] [--hide_reasoning] [--annotate] [--no_timeline] [--overlap 0.25]

Parses the options, counts every video (actrep/count/counting.py) and prints: text per video, or
with --json one JSON object per line and nothing else on stdout; progress and errors go to stderr.
The exit status is 1 when any video failed (the others are still counted). docs/count.md.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path

from actrep.config import parse_config
from actrep.count.backends import make_backend
from actrep.count.counting import CountArguments, OutputNames, count_file, expand_inputs, format_text
from actrep.count.windows import plan_windows
from actrep.inference.api import ApiSettings
from actrep.prompts import PromptSettings
from actrep.video import VideoSettings


@contextlib.contextmanager
def _progress(total: int, quiet: bool, stdout):
    """A rich progress bar on stderr; yields (advance(description, step), emit(text), note(text)).

    `emit` writes a result to stdout; only when stdout and the bar share a terminal does it go
    through the bar's console, which keeps the bar below the printed lines. `note` writes to stderr.
    """
    def write(text: str) -> None:
        stdout.write(text + "\n")
        stdout.flush()

    def note_plain(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    if quiet:
        yield (lambda description=None, step=1: None), write, note_plain
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    console = Console(stderr=True)
    with Progress(*columns, console=console, redirect_stdout=False, redirect_stderr=False) as progress:
        task = progress.add_task("counting", total=total)
        shared = console.is_terminal and stdout.isatty()

        def advance(description: str | None = None, step: int = 1) -> None:
            progress.update(task, advance=step, description=description or "counting")

        def emit(text: str) -> None:
            if shared:
                console.print(text, markup=False, highlight=False, soft_wrap=True)
            else:
                write(text)

        def note(text: str) -> None:
            console.print(text, markup=False, highlight=False, soft_wrap=True)

        yield advance, emit, note


def main(argv: list[str]) -> int:
    args, video, prompt, api = parse_config([CountArguments, VideoSettings, PromptSettings, ApiSettings], argv,
                                            prog="actrep count", positional=["videos"],
                                            description="Count repetitions in your own videos and show where they are.")
    inputs = expand_inputs(args.videos)
    stdout = sys.stdout
    # With --json nothing but the JSON objects reaches stdout: anything else printed goes to stderr.
    with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
        started = time.perf_counter()
        backend = make_backend(args, video, prompt, api)
        plan_windows(2, 1.0, backend.video_settings, args.overlap)  # validates --overlap before any video
        if backend.backend == "local":
            print(f"loaded {args.model_name_or_path} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        names, failed = OutputNames(args.output_dir), 0
        with _progress(len(inputs), args.quiet, stdout) as (advance, emit, note):
            for path, error in inputs:
                advance(f"counting {Path(path).name}", 0)
                result = count_file(path, backend, args, names, error)
                if result.error:
                    failed += 1
                    note(f"error: {result.error}")
                if args.json:
                    emit(json.dumps(result.to_json(backend.describe(), args.hide_reasoning), ensure_ascii=False))
                elif not result.error:
                    emit(format_text(result, not args.hide_reasoning) + "\n")
                advance()
    if failed:
        print(f"{failed} of {len(inputs)} video(s) failed", file=sys.stderr)
    return 1 if failed else 0
