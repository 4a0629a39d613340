#!/bin/bash
# Device job (tenth session, the last ~400 s of device time): issue 20's stage-0 diagnosis on all eight
# families with the squat-first curriculum, 90 s of stage 0 on 4,000 clips (run.sh's own commands; the poll stops after
# stage 0 and its probes).
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
{ date; FAMILIES=all N_TRAIN=4000 STAGE0_SECONDS=90 STAGE0_CURRICULUM=squat WORK=/tmp/all8_work \
    bash results/scratch/run.sh $R/all8_stage0; echo "rc $?"; date; } > $R/all8.log 2>&1
touch $R/ALLDONE
