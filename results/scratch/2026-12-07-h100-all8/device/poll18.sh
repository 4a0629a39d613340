#!/bin/bash
for i in $(seq 1 $(( $1 / 5 ))); do [ -f /tmp/res18/ALLDONE ] && break; sleep 5; done
date; tail -n 12 /tmp/res18/all8_sft/run.log 2>/dev/null; tail -n 8 /tmp/res18/all8_sft/logs/eval_sft_id.log 2>/dev/null
tar czf $OUT/res18.tgz -C /tmp --exclude='*.mp4' --exclude='*.safetensors' res18 2>/dev/null; ls -la $OUT
[ -f /tmp/res18/ALLDONE ] && echo ALLDONE
