"""Shared fixtures. `import actrep` first: it installs the torchvision fix before anything else."""

import actrep  # noqa: F401
