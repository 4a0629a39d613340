#!/bin/bash
# Device job (tenth session): issue 20's four-family model with a longer stage 0 (300 s) and twice the SFT
# steps (800), GRPO at the seeds protocol's 3e-6; then, if the session's device time allows, issue 17's
# `make demo` on the GPU re-timed after run.sh builds the model and CoT beside the data (601 s before).
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
{ date; FAMILIES=squat,jumping_jack,bouncing_ball,pendulum N_TRAIN=6000 STAGE0_SECONDS=300 STAGE0_CURRICULUM=squat \
    SFT_STEPS=800 GRPO_LR=3e-6 WORK=/tmp/mix4_work bash results/scratch/run.sh $R/mix4_long; echo "rc $?"; date; } > $R/mix4.log 2>&1
echo "run.sh mix4_long wall $(( $(date +%s) - t0 )) s" >> $R/mix4.log
touch $R/MIXDONE
t0=$(date +%s)
{ date; WORK=/tmp/demo_work make demo DEMO_ARGS="--output_dir $R/demo_gpu"; echo "rc $?"; date; } > $R/demo.log 2>&1
echo "make demo wall $(( $(date +%s) - t0 )) s" >> $R/demo.log
touch $R/DEMODONE
touch $R/ALLDONE
