#!/bin/bash
# Device job (2026-12-06, eighth session): issue 20's `run.sh seeds` with every default (the fixed protocol:
# 150-step sweep on 256 validation clips, its run reused as seed 0's GRPO), `actrep sft` under the exit watch,
# bench.sft_loss (warm medians) beside the data rendering, GPU memory sampled every 2 s.
cd "$(dirname "$0")/.."
unset OUT
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
R=/tmp/res; mkdir -p $R
{ date; bash .whl/install.sh; } > $R/install.log 2>&1
export PYTHONPATH=/tmp/site EXITWATCH_DIR=$R/exitwatch
{ date
  python3 -m venv --system-site-packages .venv   # the venv step of scripts/bootstrap.sh (its pip steps need PyPI)
  python3 scripts/link_parent_env.py .venv
  .venv/bin/python -m pip install -q --no-deps --no-build-isolation --no-index -e . && touch .venv/.bootstrapped
  .venv/bin/python -c "import torch, transformers, trl, actrep; print(torch.__version__, transformers.__version__, trl.__version__, torch.cuda.is_available())"
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
  date; } > $R/venv.log 2>&1
( { date; .venv/bin/python -m bench.sft_loss --out $R/bench; echo "rc $?"; date; } > $R/sft_loss.log 2>&1 ) &
( while [ ! -f $R/SEEDSDONE ]; do nvidia-smi --query-gpu=timestamp,memory.used,utilization.gpu --format=csv,noheader >> $R/gpu_memory.csv; sleep 2; done ) &
t0=$(date +%s)
{ date; PYTHON=$PWD/.whl/python bash results/scratch/run.sh seeds $R/seeds; echo "rc $?"; date; } > $R/seeds.log 2>&1
echo "seeds wall $(( $(date +%s) - t0 )) s" >> $R/seeds.log
touch $R/SEEDSDONE
wait
touch $R/ALLDONE
