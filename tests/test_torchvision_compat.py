"""torchvision next to any torch: repaired only after its own extension failed, never declared twice."""

import os
import subprocess
import sys
import textwrap

import pytest

from actrep._torchvision_compat import matching_torchvision, require_torchvision
from actrep.errors import ActRepError

# A stand-in for torchvision/__init__.py: "loads its extension" (the module `extension`, counted) and
# then registers a fake kernel for nms, as torchvision's _meta_registrations does.
FAKE_INIT = """
import torch
from torchvision import extension
if extension.REGISTERS_NMS and not hasattr(torch.ops.torchvision, "nms"):
    extension.LIB = torch.library.Library("torchvision", "DEF")
    extension.LIB.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
torch.library.register_fake("torchvision::nms")(lambda dets, scores, iou_threshold: dets.new_empty(0))
"""


def _run(code: str, pythonpath: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env, timeout=120)


def _fake_torchvision(root, registers_nms: bool) -> str:
    package = root / "torchvision"
    package.mkdir()
    (package / "__init__.py").write_text(FAKE_INIT)
    (package / "extension.py").write_text(f"import os\nos.environ['LOADS'] = os.environ.get('LOADS', '') + 'x'\nREGISTERS_NMS = {registers_nms}\n")
    return str(root)


REPORT = """
    import os, actrep, torch
    import torchvision
    from actrep import _torchvision_compat
    print(_torchvision_compat.state, hasattr(torch.ops.torchvision, "nms"), os.environ.get("LOADS"))
"""


def test_video_processors_import_after_actrep():
    result = _run("""
        import actrep
        import transformers.video_utils
        from transformers import Qwen2VLVideoProcessor, Qwen3VLVideoProcessor
        import torchvision.transforms.v2.functional
        from actrep import _torchvision_compat
        print(_torchvision_compat.state)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] in ("native", "repaired")


def test_an_extension_that_registers_natively_is_left_alone(tmp_path):
    """The case that aborted the process before: the extension registers nms itself. Nothing is declared by us."""
    result = _run(REPORT, _fake_torchvision(tmp_path, registers_nms=True))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["native", "True", "x"]


def test_an_extension_that_cannot_load_is_repaired_without_loading_it_again(tmp_path):
    result = _run(REPORT, _fake_torchvision(tmp_path, registers_nms=False))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["repaired", "True", "x"]  # `extension` ran once


def test_other_import_errors_propagate(tmp_path):
    package = tmp_path / "torchvision"
    package.mkdir()
    (package / "__init__.py").write_text("raise RuntimeError('operator torchvision::roi_align does not exist')\n")
    result = _run("import actrep, torchvision", str(tmp_path))
    assert result.returncode != 0 and "roi_align does not exist" in result.stderr


@pytest.mark.parametrize("torch_version,series", [("2.13.0+cpu", "0.28.*"), ("2.11.0", "0.26.*"), ("2.14.1+cu130", "0.29.*")])
def test_matching_torchvision(torch_version, series):
    assert matching_torchvision(torch_version) == series


def test_missing_torchvision_is_one_instruction(monkeypatch):
    import importlib.util
    from importlib.metadata import version

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torchvision" else real_find_spec(name, *a))
    with pytest.raises(ActRepError) as err:
        require_torchvision()
    message = str(err.value)
    assert "\n" not in message
    assert f"torch {version('torch')}" in message
    assert f"pip install 'torchvision=={matching_torchvision(version('torch'))}'" in message
