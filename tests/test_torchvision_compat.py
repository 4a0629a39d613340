"""The torchvision fix: makes the video processors importable on CPU-only torch, no-op elsewhere."""

import subprocess
import sys
import textwrap


def _run(code: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    import os

    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env, timeout=120)


def test_video_processors_import_after_actrep():
    result = _run("""
        import actrep
        import transformers.video_utils
        from transformers import Qwen2VLVideoProcessor, Qwen3VLVideoProcessor
        import torchvision.transforms.v2.functional
        print("ok")
    """)
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout


def test_noop_where_the_compiled_extension_loads(tmp_path):
    """A torchvision whose _C.so loads natively must be left alone (no schemas defined by us)."""
    package = tmp_path / "torchvision"
    package.mkdir()
    (package / "__init__.py").write_text("")
    source = tmp_path / "empty.c"
    source.write_text("int actrep_test_symbol(void) { return 0; }\n")
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(package / "_C.so"), str(source)], check=True)
    result = _run("""
        import torch
        from actrep._torchvision_compat import ensure_torchvision_ops
        print(ensure_torchvision_ops(), hasattr(torch.ops.torchvision, "nms"))
    """, {"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["native", "False"]


def test_patched_here_and_idempotent():
    result = _run("""
        import actrep, torchvision, torch
        from actrep._torchvision_compat import ensure_torchvision_ops
        print(hasattr(torch.ops.torchvision, "nms"), ensure_torchvision_ops())
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "True"
    assert result.stdout.split()[1] in ("patched", "native", "already")
