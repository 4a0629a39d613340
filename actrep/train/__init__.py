"""The training stages: `actrep stage0` (stage0*.py), `actrep sft` (sft.py) and `actrep grpo` (grpo*.py,
rollout.py), with what they share: data.py (samples, RCS on the fly), common.py (LoRA, freezing,
checkpoints), precision.py (float32 master weights, refusals) and export.py (saving, LoRA merge).

The one job above the others: it may import `data` (CoT and RCS on the fly), `synth` (stage 0 learns
the generator's phases) and `evaluate` (`actrep sft --eval_after`), and every foundation.
"""
