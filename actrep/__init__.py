"""ActRep: teach Qwen-VL models to count action repetitions in video, and to show their work."""

from actrep._deepspeed_compat import install_hook as _install_deepspeed_hook
from actrep._torchvision_compat import install_hook as _install_torchvision_hook

__version__ = "0.1.0"

# Before anything (transformers' video processors) imports torchvision: see _torchvision_compat.
_install_torchvision_hook()
# DeepSpeed on a CPU (tests, CI): see _deepspeed_compat.
_install_deepspeed_hook()
