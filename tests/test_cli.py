"""The CLI dispatcher and the `--config recipe.yaml` + flag override machinery."""

from dataclasses import dataclass

import pytest

from actrep.cli import main
from actrep.config import option, parse_config
from actrep.errors import ActRepError


@dataclass
class _Args:
    data: str = option(None, help="positional")
    lr: float = option(1e-5, help="learning rate")
    steps: int = option(10, help="steps")
    tags: list[str] = option([], help="tags")
    flag: bool = option(False, help="a flag")


def test_help_lists_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("data", "model", "video", "synth"):
        assert command in out


def test_unknown_command_exits_2(capsys):
    assert main(["nope"]) == 2
    assert "unknown command" in capsys.readouterr().err


def test_config_file_then_flags_override(tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("lr: 0.001\nsteps: 5\ntags: [a, b]\n")
    (args,) = parse_config([_Args], ["DATA", "--config", str(recipe), "--steps", "7"], prog="t", positional=["data"])
    assert (args.data, args.lr, args.steps, args.tags, args.flag) == ("DATA", 0.001, 7, ["a", "b"], False)


def test_positional_required(capsys):
    with pytest.raises(SystemExit):
        parse_config([_Args], ["--steps", "3"], prog="t", positional=["data"])
    assert "DATA is required" in capsys.readouterr().err


def test_unknown_config_key_is_one_line_error(tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("not_an_option: 1\n")
    with pytest.raises(ActRepError, match="not_an_option"):
        parse_config([_Args], ["X", "--config", str(recipe)], prog="t", positional=["data"])


def test_missing_config_file():
    with pytest.raises(ActRepError, match="config file not found"):
        parse_config([_Args], ["X", "--config", "/nonexistent.yaml"], prog="t", positional=["data"])


def test_actrep_error_printed_without_traceback(tmp_path, capsys):
    assert main(["data", "validate", str(tmp_path / "missing")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: dataset not found") and "Traceback" not in err
