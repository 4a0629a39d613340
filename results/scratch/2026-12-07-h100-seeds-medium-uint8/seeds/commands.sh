# synth_train
/work/main/.venv/bin/python -m actrep synth --out /tmp/seeds_work/data/train --n 3000 --seed 0 --splits train=1 --preset medium --size 84 --fps 8 --duration 10 --min_count 1 --max_count 12 --workers 14 --quiet --overwrite --families squat 

# model
bash -c $'\n    "$1" -m actrep model tiny --family qwen2_5_vl --out "$2" --layers "$3" --hidden "$4" --heads "$5" --kv_heads "$6" \\\n      --vision_depth "$7" --vision_hidden "$8" --vision_heads "$9" --init_std "${10}" --seed "${11}" &&\n    "$1" -c "import json, sys; p = sys.argv[1] + \\"/config.json\\"; c = json.load(open(p)); c[\\"vision_config\\"][\\"tokens_per_second\\"] = int(sys.argv[2]); json.dump(c, open(p, \\"w\\"), indent=2)" "$2" "${12}"' _ /work/main/.venv/bin/python /tmp/seeds_work/model 6 384 6 2 4 256 4 0.02 0 4 

# cot
bash -c $'"$1" -m actrep cot "$2" --out "$3/train_cot.jsonl" --workers 8 &&\n    "$1" -c "import json, sys; rows = [json.loads(l) for l in open(sys.argv[1])]; open(sys.argv[2], \\"w\\").writelines(json.dumps(r) + \\"\\n\\" for r in rows if r[\\"gt_count\\"] <= int(sys.argv[3]))" \\\n      "$3/train_cot.jsonl" "$3/train_cot_low.jsonl" "$4"' _ /work/main/.venv/bin/python /tmp/seeds_work/data/train /tmp/seeds_work/data/cot 4 

# synth_test_id
/work/main/.venv/bin/python -m actrep synth --out /tmp/seeds_work/data/test_id --n 256 --seed 1001 --splits test=1 --preset medium --size 84 --fps 8 --duration 10 --min_count 1 --max_count 12 --workers 14 --quiet --overwrite --families squat 

# synth_test_hard
/work/main/.venv/bin/python -m actrep synth --out /tmp/seeds_work/data/test_hard --n 256 --seed 2002 --splits test=1 --preset hard --size 84 --fps 8 --duration 10 --min_count 1 --max_count 12 --workers 14 --quiet --overwrite --families squat 

# synth_valid
/work/main/.venv/bin/python -m actrep synth --out /tmp/seeds_work/data/valid --n 256 --seed 3003 --splits valid=1 --preset medium --size 84 --fps 8 --duration 10 --min_count 1 --max_count 12 --workers 14 --quiet --overwrite --families squat 

# stage0
/work/main/.venv/bin/python -m actrep stage0 --config recipes/scratch/stage0.yaml --model_name_or_path /tmp/seeds_work/model --train_data /tmp/seeds_work/data/train --eval_data /tmp/seeds_work/data/test_id /tmp/seeds_work/data/test_hard --output_dir /tmp/seeds_work/stage0 --max_time_s 0 --max_steps 800 --batch_size 32 --learning_rate 1e-3 --num_workers 14 --max_replay 4 --eval_limit 256 --seed 0 --fps 8 --max_frames 256 --min_pixels 7056 --max_pixels 7056 

# sft_s0
/work/main/.venv/bin/python -m actrep sft --config recipes/scratch/sft.yaml --rcs true --learning_rate 5e-4 --per_device_train_batch_size 32 --effective_batch_size 32 --dataloader_num_workers 14 --logging_steps 10 --seed 0 --fps 8 --max_frames 256 --min_pixels 7056 --max_pixels 7056 --model_name_or_path /tmp/seeds_work/stage0 --train_data /tmp/seeds_work/data/cot/train_cot.jsonl --output_dir /tmp/seeds_work/sft_s0 --max_steps 400 

# sft_s1
/work/main/.venv/bin/python -m actrep sft --config recipes/scratch/sft.yaml --rcs true --learning_rate 5e-4 --per_device_train_batch_size 32 --effective_batch_size 32 --dataloader_num_workers 14 --logging_steps 10 --seed 1 --fps 8 --max_frames 256 --min_pixels 7056 --max_pixels 7056 --model_name_or_path /tmp/seeds_work/stage0 --train_data /tmp/seeds_work/data/cot/train_cot.jsonl --output_dir /tmp/seeds_work/sft_s1 --max_steps 400 

# sft_s2
/work/main/.venv/bin/python -m actrep sft --config recipes/scratch/sft.yaml --rcs true --learning_rate 5e-4 --per_device_train_batch_size 32 --effective_batch_size 32 --dataloader_num_workers 14 --logging_steps 10 --seed 2 --fps 8 --max_frames 256 --min_pixels 7056 --max_pixels 7056 --model_name_or_path /tmp/seeds_work/stage0 --train_data /tmp/seeds_work/data/cot/train_cot.jsonl --output_dir /tmp/seeds_work/sft_s2 --max_steps 400 

# sft_s1
/work/main/.venv/bin/python -m actrep sft --config recipes/scratch/sft.yaml --rcs true --learning_rate 5e-4 --per_device_train_batch_size 32 --effective_batch_size 32 --dataloader_num_workers 14 --logging_steps 10 --seed 1 --fps 8 --max_frames 256 --min_pixels 7056 --max_pixels 7056 --model_name_or_path /tmp/seeds_work/stage0 --train_data /tmp/seeds_work/data/cot/train_cot.jsonl --output_dir /tmp/seeds_work/sft_s1 --max_steps 400 

# grpo_s1
/work/main/.venv/bin/python -m actrep grpo --config recipes/scratch/grpo.yaml --model_name_or_path /tmp/seeds_work/sft_s1 --train_data /tmp/seeds_work/data/train --output_dir /tmp/seeds_work/grpo_s1 --rcs true --max_steps 150 --learning_rate 1e-5 --videos_per_step 8 --num_generations 8 --micro_batch_size 32 --max_completion_length 320 --dataloader_num_workers 8 --seed 1 --fast_vision_attention true --fast_decode true --rewards count_hybrid:1.0 count_format:1.0 

# sweep_lr1e-5
/work/main/.venv/bin/python -m actrep grpo --config recipes/scratch/grpo.yaml --model_name_or_path /tmp/seeds_work/sft_s0 --train_data /tmp/seeds_work/data/train --output_dir /tmp/seeds_work/sweep_lr1e-5 --rcs true --max_steps 150 --learning_rate 1e-5 --videos_per_step 8 --num_generations 8 --micro_batch_size 32 --max_completion_length 320 --dataloader_num_workers 8 --seed 0 --fast_vision_attention true --fast_decode true --rewards count_hybrid:1.0 count_format:1.0 

# eval_sweep_sft
/work/main/.venv/bin/python -m actrep eval --config recipes/scratch/eval.yaml --model /tmp/seeds_work/sft_s0 --run_names sft_s0 --data /tmp/seeds_work/data/valid --out /tmp/seeds_work/eval/sweep_sft --max_new_tokens 320 --batch_size 128 --fps 8 --max_frames 256 --min_pixels 7056 --max_pixels 7056 --splits valid --decode_workers 8 

# sft_s2
/work/main/.venv/bin/python -m actrep sft --config recipes/scratch/sft.yaml --rcs true --learning_rate 5e-4 --per_device_train_batch_size 32 --effective_batch_size 32 --dataloader_num_workers 14 --logging_steps 10 --seed 2 --fps 8 --max_frames 256 --min_pixels 7056 --max_pixels 7056 --model_name_or_path /tmp/seeds_work/stage0 --train_data /tmp/seeds_work/data/cot/train_cot.jsonl --output_dir /tmp/seeds_work/sft_s2 --max_steps 400 

# grpo_s2
/work/main/.venv/bin/python -m actrep grpo --config recipes/scratch/grpo.yaml --model_name_or_path /tmp/seeds_work/sft_s2 --train_data /tmp/seeds_work/data/train --output_dir /tmp/seeds_work/grpo_s2 --rcs true --max_steps 150 --learning_rate 1e-5 --videos_per_step 8 --num_generations 8 --micro_batch_size 32 --max_completion_length 320 --dataloader_num_workers 8 --seed 2 --fast_vision_attention true --fast_decode true --rewards count_hybrid:1.0 count_format:1.0 

# eval_s1_test_id
/work/main/.venv/bin/python -m actrep eval --config recipes/scratch/eval.yaml --model /tmp/seeds_work/sft_s1 /tmp/seeds_work/grpo_s1 --run_names sft_s1 grpo_s1 --data /tmp/seeds_work/data/test_id --out /tmp/seeds_work/eval/s1_test_id --max_new_tokens 320 --batch_size 128 --fps 8 --max_frames 256 --min_pixels 7056 --max_pixels 7056 --decode_workers 8 

# eval_s1_test_hard
/work/main/.venv/bin/python -m actrep eval --config recipes/scratch/eval.yaml --model /tmp/seeds_work/sft_s1 /tmp/seeds_work/grpo_s1 --run_names sft_s1 grpo_s1 --data /tmp/seeds_work/data/test_hard --out /tmp/seeds_work/eval/s1_test_hard --max_new_tokens 320 --batch_size 128 --fps 8 --max_frames 256 --min_pixels 7056 --max_pixels 7056 --decode_workers 8 

# eval_sweep_lr1e-5
/work/main/.venv/bin/python -m actrep eval --config recipes/scratch/eval.yaml --model /tmp/seeds_work/sweep_lr1e-5 --run_names sweep_lr1e-5 --data /tmp/seeds_work/data/valid --out /tmp/seeds_work/eval/sweep_lr1e-5 --max_new_tokens 320 --batch_size 128 --fps 8 --max_frames 256 --min_pixels 7056 --max_pixels 7056 --splits valid --decode_workers 8 

# sft_s0
/work/main/.venv/bin/python -m actrep sft --config recipes/scratch/sft.yaml --rcs true --learning_rate 5e-4 --per_device_train_batch_size 32 --effective_batch_size 32 --dataloader_num_workers 14 --logging_steps 10 --seed 0 --fps 8 --max_frames 256 --min_pixels 7056 --max_pixels 7056 --model_name_or_path /tmp/seeds_work/stage0 --train_data /tmp/seeds_work/data/cot/train_cot.jsonl --output_dir /tmp/seeds_work/sft_s0 --max_steps 400 

# sweep_lr1e-5
/work/main/.venv/bin/python -m actrep grpo --config recipes/scratch/grpo.yaml --model_name_or_path /tmp/seeds_work/sft_s0 --train_data /tmp/seeds_work/data/train --output_dir /tmp/seeds_work/sweep_lr1e-5 --rcs true --max_steps 150 --learning_rate 1e-5 --videos_per_step 8 --num_generations 8 --micro_batch_size 32 --max_completion_length 320 --dataloader_num_workers 8 --seed 0 --fast_vision_attention true --fast_decode true --rewards count_hybrid:1.0 count_format:1.0 

# eval_s0_test_id
/work/main/.venv/bin/python -m actrep eval --config recipes/scratch/eval.yaml --model /tmp/seeds_work/sft_s0 /tmp/seeds_work/sweep_lr1e-5 --run_names sft_s0 grpo_s0 --data /tmp/seeds_work/data/test_id --out /tmp/seeds_work/eval/s0_test_id --max_new_tokens 320 --batch_size 128 --fps 8 --max_frames 256 --min_pixels 7056 --max_pixels 7056 --decode_workers 8 

# eval_s0_test_hard
/work/main/.venv/bin/python -m actrep eval --config recipes/scratch/eval.yaml --model /tmp/seeds_work/sft_s0 /tmp/seeds_work/sweep_lr1e-5 --run_names sft_s0 grpo_s0 --data /tmp/seeds_work/data/test_hard --out /tmp/seeds_work/eval/s0_test_hard --max_new_tokens 320 --batch_size 128 --fps 8 --max_frames 256 --min_pixels 7056 --max_pixels 7056 --decode_workers 8 

# eval_s2_test_id
/work/main/.venv/bin/python -m actrep eval --config recipes/scratch/eval.yaml --model /tmp/seeds_work/sft_s2 /tmp/seeds_work/grpo_s2 --run_names sft_s2 grpo_s2 --data /tmp/seeds_work/data/test_id --out /tmp/seeds_work/eval/s2_test_id --max_new_tokens 320 --batch_size 128 --fps 8 --max_frames 256 --min_pixels 7056 --max_pixels 7056 --decode_workers 8 

# eval_s2_test_hard
/work/main/.venv/bin/python -m actrep eval --config recipes/scratch/eval.yaml --model /tmp/seeds_work/sft_s2 /tmp/seeds_work/grpo_s2 --run_names sft_s2 grpo_s2 --data /tmp/seeds_work/data/test_hard --out /tmp/seeds_work/eval/s2_test_hard --max_new_tokens 320 --batch_size 128 --fps 8 --max_frames 256 --min_pixels 7056 --max_pixels 7056 --decode_workers 8 

