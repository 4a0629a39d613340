"""Training precision: which weights train in which dtype, and what is refused.

Why this exists: an Adam update is about `lr` per element, and bfloat16 keeps 8 significant bits, so
at |w| ~ 0.02 a weight's rounding step is ~1.2e-4 and any update below ~6e-5 rounds away. Training
bf16 weights in place with lr 1e-6 (the GRPO recipes) moved ~2% of the weights in 2 steps, float32
100% (DESIGN.md). DeepSpeed keeps float32 master copies when bf16 is on; plain PyTorch, accelerate and
transformers' Trainer without DeepSpeed do not. So without DeepSpeed the trainable weights are kept
in float32 (frozen ones stay in the loaded dtype, e.g. a frozen vision tower or a LoRA base) and the
computation runs under bf16 autocast: the float32 weights are the master copy. Training bf16 weights
in place is available only on request (`--pure_bf16`), with a warning that says what it costs.

Combinations that cannot train correctly are refused with one line before the model loads:
  float16 weights (no loss scaling here); --pure_bf16 with float32 weights or under DeepSpeed;
  bfloat16 weights without bf16 compute (the float32 masters and the bf16 frozen weights need autocast;
  under DeepSpeed, its float32 masters exist only with bf16 on).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from actrep.config import option
from actrep.errors import ActRepError

SAVE_DTYPES = ("auto", "float32", "bfloat16")


@dataclass
class PrecisionArguments:
    pure_bf16: bool = option(False, help="Train bfloat16 weights in place, without float32 master copies: saves 2 bytes per trainable "
                                         "parameter, but Adam updates below ~|w|/256 (6e-5 at |w| = 0.02) round away, so learning "
                                         "rates under ~1e-4 barely move the weights. Off (default): trainable weights are kept in "
                                         "float32 under bf16 autocast; DeepSpeed keeps its own float32 masters.")
    save_dtype: str = option("auto", help="dtype of the exported model: auto (the dtype the model was loaded in), float32, bfloat16. "
                                          "Resume checkpoints always hold the master weights.")


def check_precision(weights: torch.dtype, bf16: bool, deepspeed: bool, args: PrecisionArguments) -> None:
    """Refuse, before the model loads, every combination that would train the wrong thing."""
    if args.save_dtype not in SAVE_DTYPES:
        raise ActRepError(f"--save_dtype must be one of {', '.join(SAVE_DTYPES)} (got {args.save_dtype!r})")
    if weights == torch.float16:
        raise ActRepError("--dtype float16 cannot train here (no loss scaling): use --dtype bfloat16 with --bf16, or float32")
    if args.pure_bf16:
        if deepspeed:
            raise ActRepError("--pure_bf16 does not apply under DeepSpeed (it keeps float32 master weights itself): drop one of them")
        if weights != torch.bfloat16:
            raise ActRepError("--pure_bf16 trains bfloat16 weights in place: it needs --dtype bfloat16")
        return
    if weights == torch.bfloat16 and not bf16:
        if deepspeed:
            raise ActRepError("--dtype bfloat16 under DeepSpeed needs --bf16 (DeepSpeed then keeps float32 master weights); "
                              "or load with --dtype float32")
        raise ActRepError("--dtype bfloat16 without --bf16: the trainable weights are kept in float32 (master copies) and need bf16 "
                          "autocast; add --bf16, or load with --dtype float32 (or --pure_bf16 to train bf16 weights in place)")


def keep_master_weights(model, args: PrecisionArguments, deepspeed: bool, bf16: bool) -> str:
    """Cast the trainable parameters to float32 (unless DeepSpeed or --pure_bf16); return the header's precision line.

    In place on `param.data`, so tied weights stay tied and optimisers created later see float32.
    """
    if deepspeed:
        return ("precision: DeepSpeed bf16 (bf16 weights and compute, float32 master weights in the optimizer)" if bf16
                else "precision: DeepSpeed float32")
    compute = "bf16 autocast" if bf16 else "float32 compute"
    if args.pure_bf16:
        print("warning: --pure_bf16: bfloat16 weights are updated in place with no float32 master copy; Adam updates "
              "below ~|w|/256 round away (at lr 1e-6 most weights never change)", flush=True)
        return f"precision: pure bfloat16 weights (no master copy), {compute}"
    upcast = 0
    loaded = sorted({str(p.dtype).replace("torch.", "") for p in model.parameters() if p.requires_grad and p.dtype != torch.float32})
    for param in model.parameters():
        if param.requires_grad and param.dtype != torch.float32:
            upcast += param.numel()
            param.data = param.data.to(torch.float32)
    frozen = sorted({str(p.dtype).replace("torch.", "") for p in model.parameters() if not p.requires_grad})
    masters = f"float32 master weights ({upcast:,} upcast from {'/'.join(loaded)})" if upcast else "float32 weights"
    return f"precision: {masters}, frozen weights {'/'.join(frozen) or '-'}, {compute}"


def export_dtype(save_dtype: str, loaded: torch.dtype) -> torch.dtype:
    return loaded if save_dtype == "auto" else {"float32": torch.float32, "bfloat16": torch.bfloat16}[save_dtype]
