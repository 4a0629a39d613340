#!/bin/bash
# wait up to $1 s for ALLDONE, then pack what exists into $OUT
for i in $(seq 1 $(( $1 / 5 ))); do [ -f /tmp/res/ALLDONE ] && break; sleep 5; done
date; tail -n 4 /tmp/res/install.log /tmp/res/venv.log /tmp/res/sft_loss.log; tail -n 25 /tmp/res/seeds/run.log 2>/dev/null; tail -n 3 /tmp/res/gpu_memory.csv; ls /tmp/res/exitwatch 2>/dev/null; tail -n 6 /tmp/res/sft_loss.log
nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader
tar czf $OUT/res.tgz -C /tmp res 2>/dev/null; ls -la $OUT
