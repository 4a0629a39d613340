#!/bin/bash
# Device job, session 2026-12-06 (6th): issue 20 `run.sh seeds` (defaults), then issue 17's GPU `make demo`
# in its own fresh WORK (timed from nothing but the venv).
cd "$(dirname "$0")/.."
unset OUT
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
R=/tmp/res; mkdir -p $R
{ date; bash .whl/install.sh; } > $R/install.log 2>&1
export PYTHONPATH=/tmp/site
{ date
  # the venv step of scripts/bootstrap.sh (its pip steps need PyPI) when python3 is itself a venv (/opt/torch/.venv here)
  python3 -m venv --system-site-packages .venv
  python3 scripts/link_parent_env.py .venv
  cat .venv/lib/python3.12/site-packages/_actrep_parent_env.pth
  .venv/bin/python -m pip install -q --no-deps --no-build-isolation --no-index -e . && touch .venv/.bootstrapped
  .venv/bin/python -c "import torch, transformers, trl, actrep; print(torch.__version__, transformers.__version__, trl.__version__, torch.cuda.is_available())"
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
  date; } > $R/venv.log 2>&1
t0=$(date +%s)
{ date; bash results/scratch/run.sh seeds $R/seeds; echo "rc $?"; date; } > $R/seeds.log 2>&1
echo "seeds wall $(( $(date +%s) - t0 )) s" >> $R/seeds.log
touch $R/SEEDSDONE
t0=$(date +%s)
{ date; WORK=/tmp/demo_work make demo DEMO_ARGS="--output_dir $R/demo_gpu"; echo "rc $?"; date; } > $R/demo.log 2>&1
echo "make demo wall $(( $(date +%s) - t0 )) s" >> $R/demo.log
touch $R/ALLDONE
