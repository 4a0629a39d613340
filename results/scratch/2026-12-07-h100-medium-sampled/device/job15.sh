#!/bin/bash
# Device job (prepared in the thirteenth session for the next): issue 20, the decoder question: the medium
# preset main run with SFT and GRPO also evaluated by sampling at temperature 1 (GRPO's decoder), 3 seeds:
# did GRPO improve the sampled answers while the greedy ones moved down one repetition? (~650 s)
# poll with `bash .whl/poll15.sh SECONDS`.
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
{ date; PRESET=medium HARD_PRESET=hard WORK=/tmp/medium_work SAMPLED_EVAL_SEEDS="0 1 2" bash results/scratch/run.sh $R/medium_sampled; echo "rc $?"; date; } > $R/medium_sampled.log 2>&1
echo "run.sh main (sampled evals) wall $(( $(date +%s) - t0 )) s" >> $R/medium_sampled.log
touch $R/ALLDONE
