# model
python3 -m bench.checkpoint --arch qwen2_5_vl_3b --out /tmp/actrep-precision/model

# cot
python3 -m actrep cot .gpudata/synth --out /tmp/actrep-precision/cot.jsonl

# grpo_recipe
python3 tests/matrix_worker.py /tmp/actrep-precision/rollouts.pt record -- --config recipes/grpo_qwen2_5_vl.yaml --model_name_or_path /tmp/actrep-precision/model --train_data /tmp/actrep-precision/cot.jsonl --max_steps 3 --max_completion_length 64 --save_dtype float32 --report_to none --save_steps 100000 --output_dir /tmp/actrep-precision/grpo_recipe

# grpo_zero2
python3 -m accelerate.commands.launch --config_file recipes/accelerate/zero2.yaml --num_processes 1 tests/matrix_worker.py /tmp/actrep-precision/rollouts.pt replay -- --config recipes/grpo_qwen2_5_vl.yaml --model_name_or_path /tmp/actrep-precision/model --train_data /tmp/actrep-precision/cot.jsonl --max_steps 3 --max_completion_length 64 --save_dtype float32 --report_to none --save_steps 100000 --output_dir /tmp/actrep-precision/grpo_zero2

# grpo_pure_bf16
python3 tests/matrix_worker.py /tmp/actrep-precision/rollouts.pt replay -- --config recipes/grpo_qwen2_5_vl.yaml --model_name_or_path /tmp/actrep-precision/model --train_data /tmp/actrep-precision/cot.jsonl --max_steps 3 --max_completion_length 64 --save_dtype float32 --report_to none --save_steps 100000 --pure_bf16 --output_dir /tmp/actrep-precision/grpo_pure_bf16

# summary
python3 results/precision/summarize.py --model /tmp/actrep-precision/model --work /tmp/actrep-precision --logs /root/out/prec/logs --out /root/out/prec grpo_recipe grpo_zero2 grpo_pure_bf16

