"""`actrep eval` and `actrep eval-api`: strict count metrics for checkpoints, API models and baselines (a job).

local.py evaluates local checkpoints (batched, resumable, data-parallel over GPUs) and the
training-free baselines (baseline.py); api.py evaluates API models. Both write the run files of
actrep.runs (predictions.jsonl, metrics.json) that `actrep report` reads.

May import: foundations only (never another job). docs/eval_api.md, README "Honest metrics".
"""
