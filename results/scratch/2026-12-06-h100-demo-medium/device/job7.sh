#!/bin/bash
# Device job prepared in the tenth session for the next: (1) issue 17, `make demo` on the GPU re-timed after
# run.sh builds the model and CoT beside the data (601 s before); (2) issue 20, training on the harder
# preset: squat, PRESET=medium (clutter, camera motion), tested on medium and on hard.
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
{ date; WORK=/tmp/demo_work make demo DEMO_ARGS="--output_dir $R/demo_gpu"; echo "rc $?"; date; } > $R/demo.log 2>&1
echo "make demo wall $(( $(date +%s) - t0 )) s" >> $R/demo.log
touch $R/DEMODONE
t0=$(date +%s)
{ date; PRESET=medium HARD_PRESET=hard WORK=/tmp/medium_work bash results/scratch/run.sh $R/medium; echo "rc $?"; date; } > $R/medium.log 2>&1
echo "run.sh medium wall $(( $(date +%s) - t0 )) s" >> $R/medium.log
touch $R/ALLDONE
