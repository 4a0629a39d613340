#!/bin/bash
# wait up to $1 s for marker $2 (default ALLDONE), then pack what exists into $OUT
for i in $(seq 1 $(( $1 / 5 ))); do [ -f /tmp/res/${2:-ALLDONE} ] && break; sleep 5; done
date; tail -n 3 /tmp/res/install.log /tmp/res/venv.log; tail -n 12 /tmp/res/demo.log 2>/dev/null; tail -n 14 /tmp/res/medium/run.log 2>/dev/null
nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader
tar czf $OUT/res.tgz -C /tmp --exclude='*.mp4' --exclude='*.safetensors' res 2>/dev/null; ls -la $OUT
