#!/bin/bash
# Device job (issue 20): the all-eight stage-0 probe with a long enough squat curriculum; stops after stage 0.
cd "$(dirname "$0")/.."
unset OUT
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false PYTHONPATH=/tmp/site
R=/tmp/res17; rm -rf $R; mkdir -p $R
( FAMILIES=all N_TRAIN=12000 STAGE0_SECONDS=420 STAGE0_CURRICULUM=squat WORK=/tmp/all8_work setsid bash results/scratch/run.sh $R/all8_stage0 > $R/all8.log 2>&1 ) &
until grep -q "stage0: done\|FAILED\|rc [1-9]" $R/all8_stage0/run.log 2>/dev/null || ! pgrep -f "run.sh $R/all8_stage0" >/dev/null; do sleep 3; done
sleep 2; pkill -f "run.sh $R/all8_stage0"; pkill -f "actrep"; sleep 2
touch $R/ALLDONE
