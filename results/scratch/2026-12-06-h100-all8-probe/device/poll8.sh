#!/bin/bash
# wait up to $1 s for stage 0 of the all-eight run to finish, then pack what exists into $OUT
for i in $(seq 1 $(( $1 / 5 ))); do grep -q "stage0: done" /tmp/res/all8_stage0/run.log 2>/dev/null && break; sleep 5; done
date; tail -n 3 /tmp/res/install.log /tmp/res/venv.log; tail -n 20 /tmp/res/all8_stage0/run.log 2>/dev/null
tail -n 4 /tmp/res/all8_stage0/logs/stage0.log 2>/dev/null
tar czf $OUT/res.tgz -C /tmp --exclude='*.mp4' --exclude='*.safetensors' res 2>/dev/null; ls -la $OUT
