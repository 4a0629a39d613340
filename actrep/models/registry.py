"""Model families: one registry entry per Qwen-VL family, and loading by explicit settings.

The family of a checkpoint is read from its config's `model_type` (or given with `--family`, which
must then agree with the config); it is never guessed from a path. Adding a family = one entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from actrep.config import option
from actrep.errors import ActRepError


@dataclass(frozen=True)
class Family:
    name: str
    model_types: tuple[str, ...]  # config.model_type values of this family
    model_class: str  # transformers class for generation/training
    processor_class: str
    image_processor_class: str
    video_processor_class: str
    chat_template: str  # name of the VL chat template shipped inside trl (trl/chat_templates/<name>.jinja)
    patch_size: int  # spatial patch of the vision encoder; resize factor = patch_size * merge (2)
    pixel_budget: Literal["per_frame", "total"]  # Qwen2/2.5: per-frame min/max pixels; Qwen3: total over frames
    timestamps_in_prompt: bool  # Qwen3-VL writes "<t seconds>" text before each frame pair
    second_per_grid_ts: bool  # Qwen2.5-VL: temporal rope positions scale with real time
    moe: bool = False

    @property
    def resize_factor(self) -> int:
        return self.patch_size * 2


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            name="qwen2_vl",
            model_types=("qwen2_vl",),
            model_class="Qwen2VLForConditionalGeneration",
            processor_class="Qwen2VLProcessor",
            image_processor_class="Qwen2VLImageProcessor",
            video_processor_class="Qwen2VLVideoProcessor",
            chat_template="qwen2_5_vl",  # Qwen2-VL and Qwen2.5-VL share the template
            patch_size=14,
            pixel_budget="per_frame",
            timestamps_in_prompt=False,
            second_per_grid_ts=False,
        ),
        Family(
            name="qwen2_5_vl",
            model_types=("qwen2_5_vl",),
            model_class="Qwen2_5_VLForConditionalGeneration",
            processor_class="Qwen2_5_VLProcessor",
            image_processor_class="Qwen2VLImageProcessor",
            video_processor_class="Qwen2VLVideoProcessor",
            chat_template="qwen2_5_vl",
            patch_size=14,
            pixel_budget="per_frame",
            timestamps_in_prompt=False,
            second_per_grid_ts=True,
        ),
        Family(
            name="qwen3_vl",
            model_types=("qwen3_vl",),
            model_class="Qwen3VLForConditionalGeneration",
            processor_class="Qwen3VLProcessor",
            image_processor_class="Qwen2VLImageProcessor",
            video_processor_class="Qwen3VLVideoProcessor",
            chat_template="qwen3_vl",
            patch_size=16,
            pixel_budget="total",
            timestamps_in_prompt=True,
            second_per_grid_ts=False,
        ),
        Family(
            name="qwen3_vl_moe",
            model_types=("qwen3_vl_moe",),
            model_class="Qwen3VLMoeForConditionalGeneration",
            processor_class="Qwen3VLProcessor",
            image_processor_class="Qwen2VLImageProcessor",
            video_processor_class="Qwen3VLVideoProcessor",
            chat_template="qwen3_vl",
            patch_size=16,
            pixel_budget="total",
            timestamps_in_prompt=True,
            second_per_grid_ts=False,
            moe=True,
        ),
    )
}


def get_family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise ActRepError(f"unknown model family {name!r}; known: {', '.join(FAMILIES)}") from None


def family_of_model_type(model_type: str) -> Family:
    for family in FAMILIES.values():
        if model_type in family.model_types:
            return family
    raise ActRepError(
        f"model_type {model_type!r} is not a supported Qwen-VL family (supported: {', '.join(FAMILIES)})"
    )


@dataclass
class ModelArguments:
    model_name_or_path: str = option(None, help="Local checkpoint directory or hub id of a Qwen-VL model.")
    family: str | None = option(
        None, help=f"Model family ({', '.join(FAMILIES)}). Default: read from the checkpoint's config.json."
    )
    dtype: str = option("auto", help="Weights dtype: auto (bf16 on a CUDA GPU that supports it, else float32), bfloat16, float16, float32.")
    attn_implementation: str = option("sdpa", help="Attention implementation: sdpa, eager, flash_attention_2.")
    trust_remote_code: bool = option(False, help="Allow custom code from the checkpoint (off: only transformers' own classes run).")
    ignore_saved_settings: bool = option(False, help="Use the video/prompt flags even if the checkpoint saved its own actrep settings (normally those win).")


def use_cache_only_when_offline(model_name_or_path: str) -> bool:
    """For a hub id on a machine that cannot resolve the hub's host, read the local Hugging Face cache
    at once (huggingface_hub would retry five times, ~35 s, and then read the cache anyway). Says so."""
    import os
    import socket
    import sys
    from urllib.parse import urlparse

    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE or Path(model_name_or_path).expanduser().exists():
        return constants.HF_HUB_OFFLINE
    host = urlparse(constants.ENDPOINT).hostname
    try:
        socket.getaddrinfo(host, 443)
        return False
    except OSError:
        constants.HF_HUB_OFFLINE = True
        os.environ["HF_HUB_OFFLINE"] = "1"  # and for the processes this one starts
        print(f"note: {host} cannot be resolved: models come from the local Hugging Face cache only", file=sys.stderr)
        return True


def read_config(model_name_or_path: str, trust_remote_code: bool = False):
    """A checkpoint's config (local folder or hub id; offline: the local cache at once), or a one-line error."""
    from transformers import AutoConfig

    offline = use_cache_only_when_offline(model_name_or_path)
    try:
        return AutoConfig.from_pretrained(model_name_or_path, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as err:
        hint = " (offline: give a local checkpoint, e.g. one from `actrep model tiny --output_dir runs/tiny`)" if offline else ""
        raise ActRepError(f"cannot read a model config from {model_name_or_path}: {str(err).splitlines()[0]}{hint}") from None


def resolve_family(model_name_or_path: str, family: str | None = None, trust_remote_code: bool = False) -> Family:
    """The family of a checkpoint, from its config (and checked against an explicit `family`)."""
    config = read_config(model_name_or_path, trust_remote_code)
    detected = family_of_model_type(config.model_type)
    if family is not None and get_family(family) is not detected:
        raise ActRepError(
            f"--family {family} does not match {model_name_or_path} (its config says model_type={config.model_type!r})"
        )
    return detected


def resolve_dtype(dtype: str):
    import torch

    if dtype == "auto":
        if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    choices = {"bfloat16": torch.bfloat16, "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16, "float32": torch.float32, "fp32": torch.float32}
    if dtype not in choices:
        raise ActRepError(f"unknown dtype {dtype!r}; choose auto, bfloat16, float16 or float32")
    return choices[dtype]


def load_processor(model_name_or_path: str, trust_remote_code: bool = False):
    from transformers import AutoProcessor

    from actrep._torchvision_compat import require_torchvision

    require_torchvision()

    try:
        return AutoProcessor.from_pretrained(model_name_or_path, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as err:
        raise ActRepError(f"cannot load a processor from {model_name_or_path}: {str(err).splitlines()[0]}") from None


def load_model(args: ModelArguments, device_map=None):
    """Load (model, processor, family) with the family's own classes and the dtype/attention asked for."""
    import transformers

    if not args.model_name_or_path:
        raise ActRepError("no model given (--model_name_or_path)")
    if Path(args.model_name_or_path).expanduser().exists() is False and args.model_name_or_path.startswith((".", "/", "~")):
        raise ActRepError(f"model directory not found: {args.model_name_or_path}")
    family = resolve_family(args.model_name_or_path, args.family, args.trust_remote_code)
    model_class = getattr(transformers, family.model_class)
    model = model_class.from_pretrained(
        args.model_name_or_path,
        dtype=resolve_dtype(args.dtype),
        attn_implementation=args.attn_implementation,
        device_map=device_map,
        trust_remote_code=args.trust_remote_code,
    )
    processor = load_processor(args.model_name_or_path, args.trust_remote_code)
    return model, processor, family
