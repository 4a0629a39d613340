"""A random-init checkpoint with a real model's sizes, saved with the real Qwen tokenizer and processor.

    python -m bench.checkpoint --arch qwen2_5_vl_3b --out /tmp/qwen2_5_vl_3b [--dtype bfloat16] [--device cuda]

No pretrained weights can be downloaded here, so GPU checks of the training commands at real scale
(results/precision/, issue 16) start from such a checkpoint: every actrep command loads it like a hub
model. The weights are created on the device (bench.models.build_model) in seconds instead of a CPU
initialisation of billions of values; the processor is actrep's tiny-checkpoint one for the family.
"""

from __future__ import annotations

import argparse
import sys
import time


def main(argv: list[str] | None = None) -> int:
    import torch

    import actrep  # noqa: F401  (the torchvision fix, before transformers)
    from actrep.models.registry import get_family
    from actrep.models.tiny import build_processor
    from bench.models import ARCHS, build_model, parameter_counts

    parser = argparse.ArgumentParser(prog="python -m bench.checkpoint", description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="qwen2_5_vl_3b", choices=list(ARCHS))
    parser.add_argument("--out", required=True)
    parser.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float32"])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    arch = ARCHS[args.arch]
    model = build_model(arch, torch.device(args.device), getattr(torch, args.dtype))
    model.generation_config.do_sample = False
    model.save_pretrained(args.out)
    build_processor(get_family(arch.family)).save_pretrained(args.out)
    counts = parameter_counts(model)
    print(f"{args.arch}: {counts['total'] / 1e9:.2f}B parameters ({args.dtype}) written to {args.out} in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
