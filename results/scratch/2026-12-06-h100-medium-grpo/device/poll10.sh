#!/bin/bash
# wait up to $1 s: for MEDIUMDONE (mode "medium") or for stage 0 of the all-eight run (mode "all8"), then pack /tmp/res into $OUT
for i in $(seq 1 $(( $1 / 5 ))); do
  if [ "$2" = all8 ]; then grep -q "stage0: done" /tmp/res/all8_stage0/run.log 2>/dev/null && break
  else [ -f /tmp/res/MEDIUMDONE ] && break; fi; sleep 5; done
date; tail -n 3 /tmp/res/install.log /tmp/res/venv.log; tail -n 14 /tmp/res/medium/run.log 2>/dev/null; tail -n 3 /tmp/res/medium.log
tail -n 12 /tmp/res/all8_stage0/run.log 2>/dev/null; tail -n 4 /tmp/res/all8_stage0/logs/stage0.log 2>/dev/null
nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader
tar czf $OUT/res.tgz -C /tmp --exclude='*.mp4' --exclude='*.safetensors' res 2>/dev/null; ls -la $OUT
