"""Command-line + YAML configuration for every stage.

Each stage declares its options as dataclasses whose fields carry `help` metadata (the TRL /
HfArgumentParser convention). `parse_config` turns them into a parser that accepts
``--config recipe.yaml`` (flat keys, as in TRL recipes) with command-line flags overriding the file.
Fields named in ``positional`` become positional arguments (``actrep cot DATA ...``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any, Iterable, Sequence

from actrep.errors import ActRepError


def option(default: Any = dataclasses.MISSING, help: str = "", **metadata) -> Any:
    """A dataclass field with a help string (mutable defaults are wrapped in a factory)."""
    metadata["help"] = help
    if isinstance(default, (list, dict, set)):
        value = default
        return dataclasses.field(default_factory=lambda: type(value)(value), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _parser_class():
    from trl import TrlParser  # lazy: trl pulls transformers

    class ActRepParser(TrlParser):
        def __init__(self, dataclass_types, positional: Sequence[str] = (), **kwargs):
            kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
            super().__init__(dataclass_types, **kwargs)
            self._positional = list(positional)
            for name in self._positional:
                self._make_positional(name)

        def _make_positional(self, name: str) -> None:
            action = next(a for a in self._actions if a.dest == name)
            for group in self._action_groups:
                if action in group._group_actions:
                    group._group_actions.remove(action)
            self._remove_action(action)
            for option_string in action.option_strings:
                self._option_string_actions.pop(option_string, None)
            many = action.nargs in ("+", "*")
            self.add_argument(
                name,
                nargs="*" if many else "?",
                type=action.type,
                default=action.default,
                help=action.help,
                metavar=name.upper(),
            )

        def parse(self, argv: Sequence[str]):
            parsed = self.parse_args_and_config(list(argv))
            for name in self._positional:
                for obj in parsed:
                    if hasattr(obj, name) and getattr(obj, name) in (None, [], ""):
                        self.error(f"{name.upper()} is required")
            return parsed

    return ActRepParser


def parse_config(
    dataclass_types: Iterable[type],
    argv: Sequence[str],
    *,
    prog: str,
    description: str = "",
    positional: Sequence[str] = (),
    defaults: dict | None = None,
):
    """Parse ``argv`` (and ``--config FILE``) into one instance of each dataclass.

    ``defaults`` replaces dataclass defaults (e.g. a stage's recipe defaults for transformers'
    TrainingArguments); a ``--config`` file overrides them and flags override the file.
    """
    parser = _parser_class()(list(dataclass_types), positional=positional, prog=prog, description=description)
    if defaults:
        parser.set_defaults(**defaults)
    try:
        return parser.parse(argv)
    except FileNotFoundError as err:
        raise ActRepError(f"config file not found: {err.filename}") from None
    except ValueError as err:  # TrlParser: unknown keys in the YAML, non-mapping YAML
        raise ActRepError(f"{prog}: {err}") from None


def to_dict(obj) -> dict:
    """A JSON-ready dict of a (possibly nested) dataclass."""
    return json.loads(json.dumps(dataclasses.asdict(obj), default=str))


def save_json(path: str | Path, data: Any) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)
