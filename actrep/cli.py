"""The one entry point: ``actrep <command> [options]``.

Each command lives in its own module with a ``main(argv) -> int`` (a job's in its package, a
foundation's in actrep/commands/); this file only dispatches, by module name, so ``actrep --help``
is instant and a command imports only what it needs. The top of the layers (CONTRIBUTING.md).
"""

from __future__ import annotations

import importlib
import sys

from actrep.errors import ActRepError
from actrep.quiet import silence_third_party_noise

# command -> (module, one-line summary), in pipeline order.
COMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("actrep.synth.cli", "render synthetic repetitive-action videos with exact per-repetition ground truth"),
    "data": ("actrep.data.cli", "validate a dataset (validate) or print its count histogram (stats)"),
    "model": ("actrep.commands.model", "build tiny offline Qwen-VL checkpoints (tiny), describe a checkpoint (info)"),
    "video": ("actrep.commands.video", "show the frames, timestamps and visual tokens a model sees for a video"),
    "cot": ("actrep.data.cot", "write chain-of-thought training data (every repetition's interval) from annotations"),
    "rcs": ("actrep.data.rcs", "Random Count Sampling: sub-clips of whole repetitions that rebalance the counts"),
    "stage0": ("actrep.train.stage0", "stage 0 (from scratch): align the vision tower with per-frame-pair phase/boundary targets"),
    "sft": ("actrep.train.sft", "stage 1: supervised fine-tuning on chain-of-thought data (Trainer, DeepSpeed, LoRA)"),
    "grpo": ("actrep.train.grpo", "stage 2: GRPO with count rewards, the video in every pass, vision features reused"),
    "eval": ("actrep.evaluate.local", "evaluate local checkpoints (batched, resumable, multi-GPU)"),
    "eval-api": ("actrep.evaluate.api", "evaluate API models (OpenAI, Gemini, OpenAI-compatible servers)"),
    "count": ("actrep.count.cli", "count repetitions in your own videos (a checkpoint, an API model, or no model at all)"),
    "app": ("actrep.app.cli", "a local web page that counts repetitions: one video or a folder (pip install 'actrep[app]')"),
    "demo": ("actrep.demo", "run the whole pipeline on synthetic videos with a tiny model, on a CPU"),
    "compare": ("actrep.evaluate.compare", "is one checkpoint better than another beyond the noise? paired intervals on the same clips"),
    "report": ("actrep.report.page", "HTML report with plots and per-video timelines from evaluation runs"),
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: actrep <command> [options]   (actrep <command> --help for its options)", "", "commands:"]
    lines += [f"  {name:<{width}}  {summary}" for name, (_, summary) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    if argv[0] in ("-V", "--version"):
        from actrep import __version__

        print(f"actrep {__version__}")
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"actrep: unknown command {command!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    silence_third_party_noise()
    module = importlib.import_module(COMMANDS[command][0])
    try:
        return int(module.main(rest) or 0)
    except ActRepError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
