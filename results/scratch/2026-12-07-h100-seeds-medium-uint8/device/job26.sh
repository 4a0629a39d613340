#!/bin/bash
# Device job (issue 20): the seeds protocol on the medium preset (squat), the recipe's GRPO mix, stage 0 by steps (800),
# one rate (1e-5), scored on validation; seeds_summary.json has the paired GRPO - SFT.
# Stage 0 and SFT ship uint8 pixels (their default on a GPU); afterwards, if time is left, a short bench.uint8_pixels
# (float32 vs uint8: the loader, 60 stage-0 and 20 SFT steps per arm, ~2.5 min).
# Poll with `bash .whl/poll24.sh SECONDS`.
cd "$(dirname "$0")/.."
unset OUT
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
R=/tmp/res; rm -rf $R; mkdir -p $R
{ date; bash .whl/install.sh; } > $R/install.log 2>&1
export PYTHONPATH=/tmp/site
{ date
  python3 -m venv --system-site-packages .venv
  python3 scripts/link_parent_env.py .venv
  .venv/bin/python -m pip install -q --no-deps --no-build-isolation --no-index -e . && touch .venv/.bootstrapped
  .venv/bin/python -c "import torch, transformers, trl, actrep; print(torch.__version__, transformers.__version__, trl.__version__, torch.cuda.is_available())"
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
  date; } > $R/venv.log 2>&1
( while [ ! -f $R/ALLDONE ]; do nvidia-smi --query-gpu=timestamp,memory.used,utilization.gpu --format=csv,noheader >> $R/gpu_memory.csv; sleep 2; done ) &
t0=$(date +%s)
{ date; echo "UINT8_PIXELS=${UINT8_PIXELS:-default}"; PRESET=medium HARD_PRESET=hard GRPO_LRS=1e-5 WORK=/tmp/seeds_work bash results/scratch/run.sh seeds $R/seeds; echo "rc $?"; date; } > $R/seeds.log 2>&1
echo "run.sh seeds wall $(( $(date +%s) - t0 )) s" >> $R/seeds.log
{ date; .venv/bin/python -m bench.uint8_pixels --repeats 1 --batches 16 --stage0_steps 60 --sft_steps 20 --out $R/bench; echo "rc $?"; date; } > $R/bench.log 2>&1
touch $R/ALLDONE
