#!/bin/bash
# Device job (issue 20): GRPO count mixes on the medium preset from one SFT (run.sh ablation_mix): the recipe's,
# a third per bin (balanced), the metric's bins with originals; recipe and balanced also with GRPO seed 1.
# Poll with `bash .whl/poll20.sh SECONDS`.
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
{ date; PRESET=medium HARD_PRESET=hard WORK=/tmp/medium_work MIX_ARMS="grpo=;grpo_s1=--seed 1;grpo_bal=--rcs_strata 1-5,6-10,11-20 --rcs_target recipes/scratch/rcs_balanced.yaml --no_rcs_keep_originals;grpo_bal_s1=--rcs_strata 1-5,6-10,11-20 --rcs_target recipes/scratch/rcs_balanced.yaml --no_rcs_keep_originals --seed 1;grpo_bin=--rcs_strata 1-5,6-10,11-20" bash results/scratch/run.sh ablation_mix $R/mix; echo "rc $?"; date; } > $R/mix.log 2>&1
echo "run.sh ablation_mix wall $(( $(date +%s) - t0 )) s" >> $R/mix.log
touch $R/ALLDONE
