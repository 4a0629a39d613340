# model
python3 -m bench.checkpoint --arch qwen2_5_vl_3b --out /tmp/actrep-precision/model

# cot
python3 -m actrep cot .gpudata/synth --out /tmp/actrep-precision/cot.jsonl

# sft_recipe
python3 -m actrep sft --config recipes/sft_qwen2_5_vl.yaml --model_name_or_path /tmp/actrep-precision/model --train_data /tmp/actrep-precision/cot.jsonl --max_steps 3 --save_dtype float32 --save_strategy no --report_to none --logging_steps 1 --dataloader_num_workers 4 --output_dir /tmp/actrep-precision/sft_recipe

# sft_zero2
python3 -m accelerate.commands.launch --config_file recipes/accelerate/zero2.yaml --num_processes 1 -m actrep sft --config recipes/sft_qwen2_5_vl.yaml --model_name_or_path /tmp/actrep-precision/model --train_data /tmp/actrep-precision/cot.jsonl --max_steps 3 --save_dtype float32 --save_strategy no --report_to none --logging_steps 1 --dataloader_num_workers 4 --output_dir /tmp/actrep-precision/sft_zero2

# summary
python3 results/precision/summarize.py --model /tmp/actrep-precision/model --work /tmp/actrep-precision --logs /root/out/prec/logs --out /root/out/prec sft_recipe sft_zero2

