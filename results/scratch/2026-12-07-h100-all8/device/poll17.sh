#!/bin/bash
for i in $(seq 1 $(( $1 / 5 ))); do [ -f /tmp/res17/ALLDONE ] && break; sleep 5; done
date; tail -n 12 /tmp/res17/all8_stage0/run.log 2>/dev/null; tail -n 8 /tmp/res17/all8_stage0/logs/stage0.log 2>/dev/null
tar czf $OUT/res17.tgz -C /tmp --exclude='*.mp4' --exclude='*.safetensors' res17 2>/dev/null; ls -la $OUT
[ -f /tmp/res17/ALLDONE ] && echo ALLDONE
