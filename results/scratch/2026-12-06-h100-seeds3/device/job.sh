#!/bin/bash
# Device job (prepared 2026-12-06 for the next session): bench.sft_loss, then issue 20's `run.sh seeds`
# with every default (3 seeds side by side), GPU memory sampled every 2 s; then the multi-family stage-0 sweep.
cd "$(dirname "$0")/.."
unset OUT
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
R=/tmp/res; mkdir -p $R
{ date; bash .whl/install.sh; } > $R/install.log 2>&1
export PYTHONPATH=/tmp/site
{ date
  python3 -m venv --system-site-packages .venv   # the venv step of scripts/bootstrap.sh (its pip steps need PyPI)
  python3 scripts/link_parent_env.py .venv
  .venv/bin/python -m pip install -q --no-deps --no-build-isolation --no-index -e . && touch .venv/.bootstrapped
  .venv/bin/python -c "import torch, transformers, trl, actrep; print(torch.__version__, transformers.__version__, trl.__version__, torch.cuda.is_available())"
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
  date; } > $R/venv.log 2>&1
{ date; .venv/bin/python -m bench.sft_loss --out $R/bench; echo "rc $?"; date; } > $R/sft_loss.log 2>&1
( while [ ! -f $R/SEEDSDONE ]; do nvidia-smi --query-gpu=timestamp,memory.used,utilization.gpu --format=csv,noheader >> $R/gpu_memory.csv; sleep 2; done ) &
t0=$(date +%s)
{ date; bash results/scratch/run.sh seeds $R/seeds; echo "rc $?"; date; } > $R/seeds.log 2>&1
echo "seeds wall $(( $(date +%s) - t0 )) s" >> $R/seeds.log
touch $R/SEEDSDONE
# multi-family stage 0 (issue 20): all eight families from the start vs a squat-first curriculum, side by side
{ date; PYTHON=$PWD/.venv/bin/python bash results/scratch/stage0_sweep.sh $R/stage0_sweep 180 all8="" \
    curriculum="--curriculum_data {DATA}/train_squat --curriculum_share 0.3"; echo "rc $?"; date; } > $R/stage0_sweep.log 2>&1
touch $R/ALLDONE
