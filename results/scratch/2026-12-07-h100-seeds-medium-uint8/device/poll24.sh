#!/bin/bash
# wait up to $1 s for the job to finish, then pack /tmp/res into $OUT
for i in $(seq 1 $(( $1 / 5 ))); do [ -f /tmp/res/ALLDONE ] && break; sleep 5; done
date; tail -n 3 /tmp/res/install.log /tmp/res/venv.log; tail -n 16 /tmp/res/seeds/run.log 2>/dev/null; tail -n 3 /tmp/res/seeds.log /tmp/res/bench.log 2>/dev/null
nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader
tar czf $OUT/res.tgz -C /tmp --exclude='*.mp4' --exclude='*.safetensors' res 2>/dev/null; ls -la $OUT
[ -f /tmp/res/ALLDONE ] && echo ALLDONE
