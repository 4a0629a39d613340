#!/bin/bash
# Device job (twelfth session): issue 20. (1) the medium-preset squat run with GRPO (job9's command);
# (2) then the all-eight stage-0 probe at what the budget leaves (300 s: 90 s squat first, ~510 steps, then the eight; the poll stops after stage 0).
cd "$(dirname "$0")/.."
unset OUT
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
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
{ date; PRESET=medium HARD_PRESET=hard WORK=/tmp/medium_work bash results/scratch/run.sh $R/medium; echo "rc $?"; date; } > $R/medium.log 2>&1
echo "run.sh medium wall $(( $(date +%s) - t0 )) s" >> $R/medium.log
touch $R/MEDIUMDONE
rm -rf /tmp/medium_work
{ date; FAMILIES=all N_TRAIN=8000 STAGE0_SECONDS=300 STAGE0_CURRICULUM=squat WORK=/tmp/all8_work \
    bash results/scratch/run.sh $R/all8_stage0; echo "rc $?"; date; } > $R/all8.log 2>&1
touch $R/ALLDONE
