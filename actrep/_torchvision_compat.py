"""torchvision for transformers' video processors: a one-line instruction when it is missing, and a
guarded repair when its compiled extension cannot load.

Why the repair exists: PyPI's torchvision wheels for Linux are CUDA builds. Next to a CPU-only torch
their compiled extension cannot load, and `import torchvision` then dies in `_meta_registrations.py`
with `operator torchvision::nms does not exist`; transformers' video processors (the only part of
torchvision ActRep uses, pure-torch transforms) cannot even be imported.

Why it cannot abort: nothing is declared before torchvision has tried to load its extension itself.
The repair wraps torchvision's own loader; only when its import fails with exactly that error, which
proves the extension did not register `torchvision::nms` in this process, are the two missing op
schemas (nms, qnms) declared and torchvision's `__init__` executed once more. The second run reuses
the already imported `torchvision.extension`, so the extension is never loaded a second time and
nothing can register those operators twice. Wherever the extension loads (GPU machines, matching
builds) the first import succeeds and the wrapper does nothing. An earlier version declared the
schemas up front after guessing the extension's file name (`_C.so`); torchvision 0.29 renamed it
`_C_stable.so`, the guess failed, and the process aborted on the duplicate registration.

Why torchvision is not a dependency in pyproject.toml: pip cannot pick the torchvision built for the
torch that is already installed. Asked for an unpinned torchvision next to torch 2.13, it re-pins torch
to whatever the newest torchvision requires (2.13 CPU -> 2.14.1 CUDA, 6.6 GB); any bound that keeps
one torch would replace another. So the user's torch decides, and `require_torchvision` names the
matching release.
"""

from __future__ import annotations

import importlib.util

from actrep._import_hook import WrappedLoader, install, uninstall
from actrep.errors import ActRepError

_MISSING_OP = "operator torchvision::nms does not exist"
_LIBRARY = None  # keeps the torch.library.Library alive (its definitions die with it)
state = "untouched"  # "native" or "repaired" once torchvision was imported through the hook


def matching_torchvision(torch_version: str) -> str:
    """The torchvision release series built for a torch release: 2.N pairs with 0.(N+15)."""
    major, minor = (int(part) for part in torch_version.split("+")[0].split(".")[:2])
    if major != 2:
        raise ActRepError(f"torch {torch_version} is not supported (ActRep needs torch 2.x, 2.6 or newer)")
    return f"0.{minor + 15}.*"


def require_torchvision() -> None:
    """Raise a one-line instruction when torchvision (needed by the video processors) is not installed."""
    if importlib.util.find_spec("torchvision") is not None:
        return
    from importlib.metadata import version

    torch_version = version("torch")
    raise ActRepError(
        f"torchvision is not installed (transformers' video processors need it). Install the release built for your "
        f"torch {torch_version}: pip install 'torchvision=={matching_torchvision(torch_version)}'")


def _declare_missing_schemas() -> None:
    global _LIBRARY
    import torch

    if hasattr(torch.ops.torchvision, "nms"):
        return
    _LIBRARY = torch.library.Library("torchvision", "DEF")
    _LIBRARY.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _LIBRARY.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")


class _RepairingLoader(WrappedLoader):
    """torchvision's own loader, run once more after declaring the schemas if its extension did not load."""

    def exec_module(self, module):
        global state
        uninstall_hook()
        try:
            self.inner.exec_module(module)
            state = "native"
        except RuntimeError as err:
            if _MISSING_OP not in str(err):
                raise
            _declare_missing_schemas()
            self.inner.exec_module(module)
            state = "repaired"


def install_hook() -> None:
    """Wrap the loader of `import torchvision` (a bare `importlib.util.find_spec("torchvision")`, as
    transformers' availability checks do, comes through the hook too)."""
    install("torchvision", _RepairingLoader)


def uninstall_hook() -> None:
    uninstall("torchvision")
