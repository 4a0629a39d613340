"""DeepSpeed on a CPU (DS_ACCELERATOR=cpu): no compiling of a communication op that training never uses.

Why: when DeepSpeed sets up communication on its CPU accelerator, `deepspeed.comm.torch.TorchBackend`
JIT-compiles the C++ op `deepspeed_shm_comm` (~65 s on 2 cores, and again for every virtual environment:
the build directory records the source paths, so every fresh clone of the CI rebuilt it). The op serves
only `inference_all_reduce` (DeepSpeed's inference engine and AutoTP), which falls back to
torch.distributed's all_reduce wherever the op is missing; training's collectives all go through
torch.distributed. ActRep runs DeepSpeed on a CPU in its tests and CI, which set DS_ACCELERATOR=cpu.

How: an import hook wraps the loader of `deepspeed.comm.torch` and, once the module has run, replaces
its `build_shm_op` by one that returns None (no op), DeepSpeed's own result where the op cannot be built.
Nothing is imported early, and the hook is installed only when DS_ACCELERATOR is "cpu": GPU runs (whose
accelerator has no such builder anyway) and CPU runs that never use DeepSpeed are untouched.
"""

from __future__ import annotations

import os

from actrep._import_hook import WrappedLoader, install, uninstall

MODULE = "deepspeed.comm.torch"


def _no_shm_op():
    return None


class _Loader(WrappedLoader):
    def exec_module(self, module):
        uninstall(MODULE)
        self.inner.exec_module(module)
        module.build_shm_op = _no_shm_op


def install_hook() -> None:
    if os.environ.get("DS_ACCELERATOR") == "cpu":
        install(MODULE, _Loader)
