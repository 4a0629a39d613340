#!/bin/bash
# Device job, ninth session (2026-12-06): (1) issue 17, `make demo` on the GPU from nothing, timed;
# (2) issue 20, one model on four families: squat, jumping_jack, bouncing_ball, pendulum, with a
# squat-first stage-0 curriculum and a 240 s stage 0, 6000 training clips; the rest as run.sh main.
cd "$(dirname "$0")/.."
unset OUT
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
R=/tmp/res; mkdir -p $R
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
{ date; FAMILIES=squat,jumping_jack,bouncing_ball,pendulum N_TRAIN=6000 STAGE0_SECONDS=240 STAGE0_CURRICULUM=squat \
    WORK=/tmp/mix4_work bash results/scratch/run.sh $R/mix4; echo "rc $?"; date; } > $R/mix4.log 2>&1
echo "run.sh mix4 wall $(( $(date +%s) - t0 )) s" >> $R/mix4.log
touch $R/ALLDONE
