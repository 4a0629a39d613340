"""One module's loader, wrapped: the mechanism of the two compat repairs (_torchvision_compat, _deepspeed_compat).

`install(fullname, wrap)` puts a finder first on sys.meta_path that locates `fullname` by the normal
path search and hands its loader to `wrap`; the wrapped loader's `exec_module` decides what runs around
the module's own code. A finder steps aside (`uninstall`) once its module runs, so the repair applies to
exactly one import.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys


class WrappedLoader(importlib.abc.Loader):
    """Delegates to the module's own loader; subclasses override `exec_module`."""

    def __init__(self, inner):
        self.inner = inner

    def __getattr__(self, name):  # resource readers, get_filename, ...
        return getattr(self.inner, name)

    def create_module(self, spec):
        return self.inner.create_module(spec)


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, fullname: str, wrap):
        self.fullname, self.wrap = fullname, wrap

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.fullname:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = self.wrap(spec.loader)
        return spec


def install(fullname: str, wrap) -> None:
    """Wrap the loader of the next import of `fullname` (nothing if it is already imported or hooked)."""
    if fullname in sys.modules or any(isinstance(f, _Finder) and f.fullname == fullname for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _Finder(fullname, wrap))


def uninstall(fullname: str) -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not (isinstance(f, _Finder) and f.fullname == fullname)]
