"""One GRPO cell of the training-configuration matrix (tests/test_training_matrix.py), run as

    python tests/matrix_worker.py ROLLOUTS MODE -- <actrep grpo flags>
    python -m torch.distributed.run --nproc_per_node 2 tests/matrix_worker.py ROLLOUTS MODE -- <flags>

Cells must see the same rollouts to be comparable, whatever their process layout or precision:
MODE `record` generates them (the real generation path) and saves every step's completion ids per
global video index to ROLLOUTS; MODE `replay` returns the recorded ones instead of generating. The
reward is the test reward with variance inside every group (a random model's answers never parse).
"""

import os
import sys

import torch

from actrep.config import parse_config
from actrep.models.registry import ModelArguments
from actrep.prompts import PromptSettings
from actrep.train import grpo_loop
from actrep.train.common import TuningArguments
from actrep.train.data import DataArguments
from actrep.train.grpo import GRPOArguments, grpo_defaults
from actrep.video import VideoSettings


def ascii_share(completions, **columns):
    from actrep.answer import completion_text

    texts = [completion_text(c) for c in completions]
    return [sum(ch.isascii() for ch in t) / max(1, len(t)) for t in texts]


def main(rollouts_path: str, mode: str, argv: list[str]) -> int:
    parsed = parse_config([GRPOArguments, DataArguments, TuningArguments, ModelArguments, VideoSettings, PromptSettings],
                          argv, prog="matrix", defaults=grpo_defaults())
    args = parsed[0]
    rank = int(os.environ.get("RANK", 0))
    first_video = rank * args.videos_per_step  # global index of this process's first video at every step
    real_generate, step = grpo_loop.generate, [0]
    recorded = torch.load(rollouts_path) if mode == "replay" else {}

    def rollouts(model, batch, features, num_generations, config, fast=False):
        videos = range(first_video, first_video + batch["input_ids"].shape[0])
        if mode == "replay":
            ids = torch.cat([recorded[(step[0], v)] for v in videos]).to(batch["input_ids"].device)
        else:
            ids = real_generate(model, batch, features, num_generations, config, fast=fast)
            for v, rows in zip(videos, ids.cpu().split(num_generations)):
                recorded[(step[0], v)] = rows
        step[0] += 1
        return ids

    grpo_loop.generate = rollouts
    grpo_loop.train(*parsed, reward_funcs=[("ascii_share", ascii_share, 1.0)])
    if mode == "record":
        torch.save(recorded, rollouts_path)
    return 0


if __name__ == "__main__":
    split = sys.argv.index("--")
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[split + 1:]))
