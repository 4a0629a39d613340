"""The exported model of a training run: every engine (one process, DDP, ZeRO-2/3) and LoRA, in one dtype.

The export is what `actrep eval`, the next stage and plain transformers load, so it must hold the
trained weights in the dtype asked for (`--save_dtype`), whatever the engine kept them in:
  * one process / DDP: the module's own weights (float32 masters for the trainable ones);
  * DeepSpeed with bf16: the module holds bf16 copies and the float32 masters live in the
    (partitioned) optimizer: a float32 export assembles them with DeepSpeed's `safe_get_full_fp32_param`;
    ZeRO-3 shards are gathered by accelerate;
  * LoRA: the adapters are merged into a fresh CPU copy of the base model (PEFT's merge_and_unload),
    in the export dtype; merging in place would need the full weights on the GPU (ZeRO-3 has only shards).
Every process must call `export_model` (the gathers are collective); only the main process writes.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import torch


@contextmanager
def _without_zero3_loading():
    """transformers partitions weights while they load whenever a ZeRO-3 config is registered; the copy that
    the adapters are merged into must be a plain CPU model, so the registration is lifted meanwhile."""
    from transformers.integrations import deepspeed as hf_deepspeed

    registered = hf_deepspeed._hf_deepspeed_config_weak_ref
    hf_deepspeed.unset_hf_deepspeed_config()
    try:
        yield
    finally:
        if registered is not None and registered() is not None:
            hf_deepspeed.set_hf_deepspeed_config(registered())


def export_state_dict(accelerator, model, dtype: torch.dtype) -> dict | None:
    """The full model's trained weights (float32 masters where `dtype` is float32) on the main process, None elsewhere."""
    state = accelerator.get_state_dict(model)  # gathers ZeRO-3 shards (collective)
    wrapper = getattr(accelerator, "deepspeed_engine_wrapped", None)
    if wrapper is not None and dtype == torch.float32 and wrapper.engine.bfloat16_enabled():
        from deepspeed.utils import safe_get_full_fp32_param

        aliases: dict[int, list[str]] = {}  # tied weights: one parameter, several state-dict names
        params: dict[int, torch.nn.Parameter] = {}
        for name, param in accelerator.unwrap_model(model).named_parameters(remove_duplicate=False):
            aliases.setdefault(id(param), []).append(name)
            params[id(param)] = param
        for key, param in params.items():
            if not param.requires_grad:
                continue  # frozen weights have no master copy: the module's own values are exact
            master = safe_get_full_fp32_param(param)  # collective
            if master is not None and state is not None:
                for name in aliases[key]:
                    if name in state:
                        state[name] = master.detach().cpu()
    return state if accelerator.is_main_process else None


def export_model(accelerator, model, directory: str | Path, dtype: torch.dtype, lora=None) -> None:
    """Write the HF model to `directory` in `dtype`. `lora` = (ModelArguments, TuningArguments) merges adapters."""
    state = export_state_dict(accelerator, model, dtype)
    if not accelerator.is_main_process:
        return
    if lora is None:
        save_weights(accelerator.unwrap_model(model), directory, dtype, state)
        return
    from dataclasses import replace

    from actrep.models.registry import load_model
    from actrep.train.common import apply_lora

    model_args, tuning = lora
    with _without_zero3_loading():
        base, _, _ = load_model(replace(model_args, dtype=str(dtype).replace("torch.", "")), device_map="cpu")
    adapted = apply_lora(base, tuning)
    adapted.load_state_dict(state, strict=True)
    save_weights(adapted.merge_and_unload(), directory, dtype)


def save_weights(model, directory: str | Path, dtype: torch.dtype, state: dict | None = None) -> None:
    """save_pretrained of `state` (default: the model's own weights) cast to `dtype`; config.json names that dtype."""
    state = model.state_dict() if state is None else state
    state = {name: (value.to(dtype) if value.is_floating_point() else value) for name, value in state.items()}
    model.save_pretrained(directory, state_dict=state)
    # save_pretrained writes the dtype of the model in memory (mixed under master weights); `dtype="auto"`
    # loading follows the config, so it must name the dtype of the weights in the file.
    config_path = Path(directory) / "config.json"
    config = json.loads(config_path.read_text())
    config["dtype"] = str(dtype).replace("torch.", "")
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
