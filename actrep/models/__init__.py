"""Model families, loading, and offline tiny checkpoints (a foundation; its command is actrep/commands/model.py).

May import: config, errors, _torchvision_compat.
"""

from actrep.models.registry import FAMILIES, Family, ModelArguments, get_family, load_model, load_processor, resolve_family

__all__ = ["FAMILIES", "Family", "ModelArguments", "get_family", "load_model", "load_processor", "resolve_family"]
