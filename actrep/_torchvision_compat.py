"""Make torchvision importable on a CPU-only torch.

Why this exists: PyPI's torchvision wheels are built against CUDA torch. On a CPU-only torch their
compiled extension (`torchvision/_C.so`) fails to load, and `import torchvision` then dies in
`_meta_registrations.py` with `operator torchvision::nms does not exist`; transformers' video
processors (and even `import transformers.video_utils`) need torchvision, so nothing would work.
The processors only use torchvision's pure-torch transforms, so declaring the two op schemas that
the import registers fake kernels for (nms, qnms) is enough.

The fix is installed as an import hook by `import actrep` and runs the moment anything first
imports torchvision. It is a no-op wherever the compiled extension loads (GPU machines, normal
installs): it only declares the schemas after trying, and failing, to load `_C`.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys

_LIBRARY = None  # keeps the torch.library.Library alive (its definitions die with it)


def ensure_torchvision_ops() -> str:
    """Declare torchvision's nms/qnms schemas if its compiled extension cannot load.

    Returns "absent", "native", "patched" or "already" (for tests and `actrep env`).
    """
    global _LIBRARY
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return "absent"
    import torch

    if _LIBRARY is not None:
        return "patched"
    if "torchvision" in sys.modules and hasattr(torch.ops.torchvision, "nms"):
        return "already"
    package_dir = spec.submodule_search_locations[0]
    extension = next((f for f in os.listdir(package_dir) if f.startswith("_C.") and f.endswith(".so")), None)
    if extension is not None:
        try:
            torch.ops.load_library(os.path.join(package_dir, extension))
            return "native"
        except (OSError, RuntimeError):
            pass
    if hasattr(torch.ops.torchvision, "nms"):
        return "native"
    _LIBRARY = torch.library.Library("torchvision", "DEF")
    _LIBRARY.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _LIBRARY.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    return "patched"


class _TorchvisionImportHook(importlib.abc.MetaPathFinder):
    """Runs `ensure_torchvision_ops` just before the first `import torchvision`, then steps aside."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "torchvision":
            return None
        uninstall_hook()
        ensure_torchvision_ops()
        return None  # let the normal finders import it


_HOOK = _TorchvisionImportHook()


def install_hook() -> None:
    if "torchvision" in sys.modules:
        return  # already imported (successfully, or the caller handled it)
    if not any(isinstance(f, _TorchvisionImportHook) for f in sys.meta_path):
        sys.meta_path.insert(0, _HOOK)


def uninstall_hook() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _TorchvisionImportHook)]
