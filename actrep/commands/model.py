"""`actrep model tiny|info`: build offline checkpoints; describe a checkpoint."""

from __future__ import annotations

from dataclasses import dataclass

from actrep.config import option, parse_config, run_subcommand

USAGE = """usage: actrep model <tiny|info> [options]

  tiny  write a complete random-init Qwen-VL checkpoint (real tokenizer, chat template, processors)
  info  print a checkpoint's family, sizes and saved actrep settings
"""


@dataclass
class InfoArguments:
    model_name_or_path: str = option(None, help="Checkpoint directory or hub id.")
    trust_remote_code: bool = option(False, help="Allow custom code from the checkpoint.")


def _tiny(argv: list[str]) -> int:
    from actrep.models.tiny import TinyModelArguments, build_tiny_checkpoint

    (args,) = parse_config([TinyModelArguments], argv, prog="actrep model tiny",
                           description="Write a complete random-init Qwen-VL checkpoint that reloads with plain transformers.")
    out = build_tiny_checkpoint(args)
    print(f"wrote {args.family} checkpoint to {out}")
    return _info([str(out)])


def _info(argv: list[str]) -> int:
    import json

    import transformers
    from rich.console import Console
    from rich.table import Table

    from actrep.models.registry import resolve_family
    from actrep.models.tiny import parameter_counts
    from actrep.settings import load_settings

    (args,) = parse_config([InfoArguments], argv, prog="actrep model info", positional=["model_name_or_path"])
    family = resolve_family(args.model_name_or_path, None, args.trust_remote_code)
    config = transformers.AutoConfig.from_pretrained(args.model_name_or_path, trust_remote_code=args.trust_remote_code)
    import torch

    with torch.device("meta"):  # shapes only: no memory, no initialisation
        model = getattr(transformers, family.model_class)(config)
    counts = parameter_counts(model)
    table = Table(title=args.model_name_or_path, show_header=False)
    table.add_row("family", family.name)
    text = config.text_config
    table.add_row("language model", f"{text.num_hidden_layers} layers x {text.hidden_size}, {text.num_attention_heads} heads")
    table.add_row("vision encoder", f"{config.vision_config.depth} blocks, patch {config.vision_config.patch_size}")
    for name, value in counts.items():
        table.add_row(f"parameters: {name}", f"{value:,}")
    settings = load_settings(args.model_name_or_path)
    table.add_row("actrep settings", json.dumps(settings.to_json()) if settings else "none saved (pass video settings explicitly)")
    Console().print(table)
    return 0


def main(argv: list[str]) -> int:
    return run_subcommand(argv, {"tiny": _tiny, "info": _info}, USAGE, "model")
