# grpo_recipe
python3 tests/matrix_worker.py /tmp/actrep-precision/rollouts.pt record -- --config recipes/grpo_qwen2_5_vl.yaml --model_name_or_path /tmp/actrep-precision/model --train_data /tmp/actrep-precision/cot.jsonl --max_steps 3 --max_completion_length 32 --save_dtype float32 --report_to none --save_steps 100000 --output_dir /tmp/actrep-precision/grpo_recipe

# grpo_pure_bf16
python3 tests/matrix_worker.py /tmp/actrep-precision/rollouts.pt replay -- --config recipes/grpo_qwen2_5_vl.yaml --model_name_or_path /tmp/actrep-precision/model --train_data /tmp/actrep-precision/cot.jsonl --max_steps 3 --max_completion_length 32 --save_dtype float32 --report_to none --save_steps 100000 --pure_bf16 --output_dir /tmp/actrep-precision/grpo_pure_bf16

# summary
python3 results/precision/summarize.py --model /tmp/actrep-precision/model --work /tmp/actrep-precision --logs /root/out/p/logs --out /root/out/p grpo_recipe grpo_pure_bf16

