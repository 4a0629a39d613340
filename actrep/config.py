"""Command-line + YAML configuration for every stage.

Each stage declares its options as dataclasses whose fields carry `help` metadata (the TRL /
HfArgumentParser convention). `parse_config` turns them into TRL's parser, which accepts
``--config recipe.yaml`` (flat keys, as in TRL recipes) with command-line flags overriding the file.

One vocabulary for every command (docs/cli.md): the HF/TRL names are canonical and the short forms
in ALIASES are accepted everywhere, on the command line and as recipe keys. Fields named in
``positional`` may also be given as the first arguments (``actrep cot DATA ...`` = ``--data DATA``).
A library's own argument dataclass (transformers' TrainingArguments) is imported only to parse:
``--help`` lists ActRep's options, fast, and names the library's; ``--help_all`` lists everything.
`run_subcommand` dispatches a command with subcommands (``actrep data validate|stats``).

What is written here rather than taken from argparse/TRL: the help formatter (argparse's default
formatter prints HfArgumentParser's plumbing: ``--flag [FLAG]``, ``(default: )``, a ``--no_flag``
twin for every true boolean) and one option group per dataclass.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any, Iterable, Sequence

from actrep.errors import ActRepError

# canonical field name -> the short flag also accepted for it (every command, every recipe)
ALIASES = {
    "model_name_or_path": "--model",
    "output_dir": "--out",
    "output_file": "--out",
    "train_data": "--data",
    "run_names": "--run_name",
}


def option(default: Any = dataclasses.MISSING, help: str = "", **metadata) -> Any:
    """A dataclass field with a help string (mutable defaults are wrapped in a factory)."""
    metadata["help"] = help
    if isinstance(default, (list, dict, set)):
        value = default
        return dataclasses.field(default_factory=lambda: type(value)(value), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(frozen=True)
class LibraryArguments:
    """A library's argument dataclass, imported only when arguments are parsed (not for --help)."""

    module: str
    name: str

    def load(self) -> type:
        return getattr(importlib.import_module(self.module), self.name)


TRAINING_ARGUMENTS = LibraryArguments("transformers", "TrainingArguments")


def _is_switch(action: argparse.Action) -> bool:
    """HfArgumentParser's booleans: `--flag` alone means true, `--flag false` also works."""
    return action.nargs == "?" and action.const is True


class HelpFormatter(argparse.HelpFormatter):
    """`--name, --alias VALUE`; defaults shown only when they say something."""

    def __init__(self, prog: str):
        super().__init__(prog, max_help_position=34, width=min(110, shutil.get_terminal_size().columns))

    def _format_action_invocation(self, action: argparse.Action) -> str:
        if not action.option_strings:
            return super()._format_action_invocation(action)
        strings = action.option_strings
        names = [s for s in strings if s == strings[0] or "--" + s[2:].replace("-", "_") not in strings or "-" not in s[2:]]
        if action.nargs == 0 or _is_switch(action):
            return ", ".join(names)
        return f"{', '.join(names)} {self._format_args(action, self._get_default_metavar_for_optional(action))}"

    def _get_default_metavar_for_optional(self, action: argparse.Action) -> str:
        return {int: "N", float: "X"}.get(action.type, "VALUE")

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if "default" in text.lower() or default in (None, "", [], argparse.SUPPRESS) or not action.option_strings:
            return text
        if _is_switch(action):
            twin = getattr(action, "negated_by", None)
            return f"{text} (default: on; {twin} turns it off)" if default and twin else (f"{text} (default: on)" if default else text)
        shown = " ".join(map(str, default)) if isinstance(default, (list, tuple)) else default
        return f"{text} (default: {shown})".replace("%", "%%")


def _group_title(dtype: type) -> str:
    words = re.findall(r"[A-Z0-9]+(?=[A-Z][a-z]|$)|[A-Z][a-z0-9]*|[a-z0-9]+", dtype.__name__)
    title = " ".join(w if w.isupper() else w.lower() for w in words)
    return title if dtype.__module__.startswith("actrep") else f"{dtype.__module__.split('.')[0]} {dtype.__name__}"


def _parser_class():
    from trl import TrlParser  # lazy: trl pulls transformers

    class ActRepParser(TrlParser):
        def __init__(self, dataclass_types, positional: Sequence[str] = (), **kwargs):
            kwargs.setdefault("formatter_class", HelpFormatter)
            super().__init__(dataclass_types, **kwargs)
            self._positional = [name for name in positional if any(a.dest == name for a in self._actions)]
            self._add_aliases()
            for name in self._positional:
                action = next(a for a in self._actions if a.dest == name)
                self.add_argument(f"_{name}", nargs="*" if action.nargs in ("+", "*") else "?", default=None,
                                  metavar=name.upper(), help=f"The same as --{name}.")
            self.usage = " ".join([self.prog, *(f"[{n.upper()}]" for n in self._positional), "[--config RECIPE.yaml] [--option VALUE ...]"])

        def _add_dataclass_arguments(self, dtype):
            from typing import get_type_hints

            group = self.add_argument_group(_group_title(dtype))
            hints = get_type_hints(dtype)
            for field in dataclasses.fields(dtype):
                if field.init:
                    field.type = hints[field.name]
                    self._parse_dataclass_field(group, field)

        def _add_aliases(self) -> None:
            for action in self._actions:
                if isinstance(action, argparse._StoreFalseAction):  # the `--no_flag` twin of a true boolean
                    main = next(a for a in self._actions if a.dest == action.dest and a is not action)
                    main.negated_by = action.option_strings[0]
                    action.help = argparse.SUPPRESS
                    continue
                alias = ALIASES.get(action.dest)
                if alias and action.option_strings and alias not in self._option_string_actions:
                    action.option_strings.append(alias)
                    self._option_string_actions[alias] = action

        def set_defaults_with_config(self, **config) -> list[str]:
            canonical = {alias[2:]: dest for dest, alias in ALIASES.items() if any(a.dest == dest for a in self._actions)}
            return super().set_defaults_with_config(**{canonical.get(key, key): value for key, value in config.items()})

        def parse_known_args(self, args=None, namespace=None):
            namespace, rest = super().parse_known_args(args, namespace)
            for name in self._positional:
                given = getattr(namespace, f"_{name}")
                delattr(namespace, f"_{name}")
                if given not in (None, []):
                    setattr(namespace, name, given)
            return namespace, rest

        def parse(self, argv: Sequence[str]):
            parsed = self.parse_args_and_config(list(argv))
            for name in self._positional:
                for obj in parsed:
                    if hasattr(obj, name) and getattr(obj, name) in (None, [], ""):
                        self.error(f"{name.upper()} is required (or --{name})")
            return parsed

    return ActRepParser


def _print_short_help(parser, libraries: list[LibraryArguments], defaults: dict) -> None:
    import textwrap

    parser.print_help()
    width = min(110, shutil.get_terminal_size().columns)
    own = {a.dest for a in parser._actions}
    chosen = ", ".join(f"--{k} {v}" for k, v in (defaults or {}).items() if k not in own)
    for library in libraries:
        print(f"\n{library.module} {library.name}:")
        text = (f"Every option of {library.module}.{library.name} is accepted too (`{parser.prog} --help_all` lists them)."
                + (f" {parser.prog} sets: {chosen}." if chosen else ""))
        print(textwrap.fill(text, width, initial_indent="  ", subsequent_indent="  "))


def parse_config(
    dataclass_types: Iterable[type | LibraryArguments],
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
    argv = list(argv)
    types = list(dataclass_types)
    libraries = [t for t in types if isinstance(t, LibraryArguments)]
    short_help = libraries and any(a in ("-h", "--help") for a in argv)
    if short_help:
        types = [t for t in types if not isinstance(t, LibraryArguments)]
    elif "--help_all" in argv:
        argv = ["--help" if a == "--help_all" else a for a in argv]
    types = [t.load() if isinstance(t, LibraryArguments) else t for t in types]
    parser = _parser_class()(types, positional=positional, prog=prog, description=description)
    if defaults:
        parser.set_defaults(**defaults)
    if short_help:
        _print_short_help(parser, libraries, defaults)
        sys.exit(0)
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


def run_subcommand(argv: list[str], commands: dict, usage: str, prog: str) -> int:
    """Dispatch `actrep <prog> <subcommand> ...` to one of `commands` (name -> main(argv))."""
    if not argv or argv[0] in ("-h", "--help"):
        print(usage)
        return 0
    if argv[0] not in commands:
        print(f"actrep {prog}: unknown subcommand {argv[0]!r}\n\n{usage}", file=sys.stderr)
        return 2
    return commands[argv[0]](argv[1:])
