"""One vocabulary for every command (docs/cli.md), help without parser leftovers, one-line errors."""

import re
import subprocess
import sys
from dataclasses import dataclass

import pytest

from actrep.cli import COMMANDS, main
from actrep.config import option, parse_config
from actrep.runs import pipeline_order


@dataclass
class _Args:
    data: str = option(None, help="The dataset.")
    output_dir: str = option("runs/x", help="Output folder.")
    model_name_or_path: list[str] = option([], help="Models.")
    splits: list[str] = option([], help="Only these splits (default: all).")
    name: str = option("", help="A name.")
    overwrite: bool = option(False, help="Replace.")
    timeline: bool = option(True, help="Draw a timeline.")


def _help(argv, capsys) -> str:
    with pytest.raises(SystemExit):
        parse_config([_Args], argv, prog="t", positional=["data"])
    return capsys.readouterr().out


def test_short_forms_are_aliases_on_the_command_line_and_in_recipes(tmp_path):
    (args,) = parse_config([_Args], ["--data", "D", "--out", "O", "--model", "a", "b"], prog="t", positional=["data"])
    assert (args.data, args.output_dir, args.model_name_or_path) == ("D", "O", ["a", "b"])
    recipe = tmp_path / "r.yaml"
    recipe.write_text("out: from_recipe\nmodel: [m]\n")
    (args,) = parse_config([_Args], ["D", "--config", str(recipe)], prog="t", positional=["data"])
    assert (args.data, args.output_dir, args.model_name_or_path) == ("D", "from_recipe", ["m"])


def test_help_has_no_parser_leftovers(capsys):
    text = _help(["--help"], capsys)
    assert "--output_dir, --out VALUE" in text and "--model_name_or_path, --model VALUE [VALUE ...]" in text
    assert "--output-dir" not in text  # argparse's hyphen twins are accepted, not listed
    assert "[OVERWRITE]" not in text and re.search(r"--overwrite\s+Replace\.", text)
    assert "(default: )" not in text and "(default: [])" not in text and "(default: None)" not in text
    flat = " ".join(text.split())
    assert "Only these splits (default: all)." in flat and "(default: all). (default" not in flat
    assert "--no_timeline turns it off" in flat and "\n  --no_timeline" not in text


@pytest.mark.parametrize("command", ["eval", "count", "cot", "rcs", "report", "compare", "synth", "sft", "grpo", "stage0", "eval-api", "demo"])
def test_every_command_speaks_the_same_names(command, capsys):
    module = __import__(COMMANDS[command][0], fromlist=["main"])
    with pytest.raises(SystemExit):
        module.main(["--help_all" if command == "sft" else "--help"])  # sft: --output_dir is a TrainingArguments option
    text = capsys.readouterr().out
    writes = re.search(r"--output_(dir|file), --out VALUE", text)
    assert writes, f"actrep {command}: no --output_dir/--output_file with --out"
    if command in ("eval", "count", "sft", "grpo", "stage0", "eval-api"):
        assert "--model_name_or_path, --model VALUE" in text
    if command in ("sft", "grpo", "stage0"):
        assert "--train_data, --data VALUE" in text
    if command in ("eval", "eval-api", "cot", "rcs"):
        assert re.search(r"^  --data VALUE", text, flags=re.M)


def test_same_default_for_the_same_setting():
    from actrep.count import CountArguments
    from actrep.evaluate.local import EvalArguments
    from actrep.train.sft import SFTArguments

    assert EvalArguments().max_new_tokens == CountArguments().max_new_tokens == SFTArguments().eval_max_new_tokens


def test_training_help_lists_ours_first_without_importing_transformers_training_args():
    code = ("import sys\nfrom actrep.cli import main\ntry:\n    main(['sft', '--help'])\nexcept SystemExit:\n    pass\n"
            "print('LOADED' if 'transformers.training_args' in sys.modules else 'NOT LOADED')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("NOT LOADED")
    text = result.stdout
    assert text.index("SFT arguments:") < text.index("transformers TrainingArguments:")
    assert "--help_all" in text and "--learning_rate 0.01" not in text


def test_help_all_lists_training_arguments(capsys):
    with pytest.raises(SystemExit):
        main(["sft", "--help_all"])
    text = capsys.readouterr().out
    assert "transformers TrainingArguments:" in text and "--per_device_train_batch_size N" in text


def test_count_errors_are_one_line(tmp_path, capsys):
    missing = f"{tmp_path}/nonexist_dir/"
    assert main(["count", missing]) == 1
    assert f"error: {missing}: file or folder not found\n" in capsys.readouterr().err
    assert main(["count", str(tmp_path), "--provider", "foo"]) == 1
    assert capsys.readouterr().err.startswith("error: unknown provider 'foo'; choose one of openai")


def test_runs_are_listed_in_pipeline_order():
    names = ["sft", "baseline-periodicity", "grpo", "gpt", "base", "sft_nostage0", "baseline-naive"]
    assert sorted(names, key=pipeline_order) == ["base", "sft", "sft_nostage0", "grpo", "gpt", "baseline-naive",
                                                 "baseline-periodicity"]
