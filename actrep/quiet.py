"""Third-party messages that tell an ActRep user nothing, silenced one by one (ours are never touched).

`actrep` calls `silence_third_party_noise()` before a command runs. Each entry names the library, the
message and why it says nothing here; anything not listed still reaches the user.
"""

from __future__ import annotations

import logging
import warnings

# (logger name, start of the message)
LOG_MESSAGES = [
    # DeepSpeed's accelerator auto-detection, on every import on a machine without a GPU.
    ("DeepSpeed", "Setting accelerator to CPU"),
    # Training never uses the KV cache; transformers says so once per run.
    ("transformers.utils.generic", "`use_cache=True` is incompatible with gradient checkpointing"),
]
# (category, regex matched against the start of the message)
WARNINGS = [
    # transformers 5.23 renamed gradient_checkpointing(_kwargs) (TrainingArguments) and is_gradient_checkpointing
    # (models) to activation_checkpointing; the old names, the ones HF users and ActRep's GRPO know, still
    # work in the pinned release.
    (FutureWarning, r"`(is_)?gradient_checkpointing(_kwargs)?` is deprecated"),
]


class _DropMessage(logging.Filter):
    def __init__(self, start: str):
        super().__init__()
        self.start = start

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.start)


def silence_third_party_noise() -> None:
    for category, pattern in WARNINGS:
        warnings.filterwarnings("ignore", message=pattern, category=category)
    for name, start in LOG_MESSAGES:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropMessage) and f.start == start for f in logger.filters):
            logger.addFilter(_DropMessage(start))
