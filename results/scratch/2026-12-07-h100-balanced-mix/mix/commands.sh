# synth_train
/work/main/.venv/bin/python -m actrep synth --out /tmp/medium_work/data/train --n 3000 --seed 0 --splits train=1 --preset medium --size 84 --fps 8 --duration 10 --min_count 1 --max_count 12 --workers 14 --quiet --overwrite --families squat 

# model
bash -c $'\n    "$1" -m actrep model tiny --family qwen2_5_vl --out "$2" --layers "$3" --hidden "$4" --heads "$5" --kv_heads "$6" \\\n      --vision_depth "$7" --vision_hidden "$8" --vision_heads "$9" --init_std "${10}" --seed "${11}" &&\n    "$1" -c "import json, sys; p = sys.argv[1] + \\"/config.json\\"; c = json.load(open(p)); c[\\"vision_config\\"][\\"tokens_per_second\\"] = int(sys.argv[2]); json.dump(c, open(p, \\"w\\"), indent=2)" "$2" "${12}"' _ /work/main/.venv/bin/python /tmp/medium_work/model 6 384 6 2 4 256 4 0.02 0 4 

# cot
bash -c $'"$1" -m actrep cot "$2" --out "$3/train_cot.jsonl" --workers 8 &&\n    "$1" -c "import json, sys; rows = [json.loads(l) for l in open(sys.argv[1])]; open(sys.argv[2], \\"w\\").writelines(json.dumps(r) + \\"\\n\\" for r in rows if r[\\"gt_count\\"] <= int(sys.argv[3]))" \\\n      "$3/train_cot.jsonl" "$3/train_cot_low.jsonl" "$4"' _ /work/main/.venv/bin/python /tmp/medium_work/data/train /tmp/medium_work/data/cot 4 

# synth_test_id
/work/main/.venv/bin/python -m actrep synth --out /tmp/medium_work/data/test_id --n 256 --seed 1001 --splits test=1 --preset medium --size 84 --fps 8 --duration 10 --min_count 1 --max_count 12 --workers 14 --quiet --overwrite --families squat 

# synth_test_hard
/work/main/.venv/bin/python -m actrep synth --out /tmp/medium_work/data/test_hard --n 256 --seed 2002 --splits test=1 --preset hard --size 84 --fps 8 --duration 10 --min_count 1 --max_count 12 --workers 14 --quiet --overwrite --families squat 

# stage0
/work/main/.venv/bin/python -m actrep stage0 --config recipes/scratch/stage0.yaml --model_name_or_path /tmp/medium_work/model --train_data /tmp/medium_work/data/train --eval_data /tmp/medium_work/data/test_id /tmp/medium_work/data/test_hard --output_dir /tmp/medium_work/stage0 --max_time_s 120 --batch_size 32 --learning_rate 1e-3 --num_workers 14 --max_replay 4 --eval_limit 256 --seed 0 --fps 8 --max_frames 256 --min_pixels 7056 --max_pixels 7056 

# sft
/work/main/.venv/bin/python -m actrep sft --config recipes/scratch/sft.yaml --rcs true --learning_rate 5e-4 --per_device_train_batch_size 32 --effective_batch_size 32 --dataloader_num_workers 14 --logging_steps 10 --seed 0 --fps 8 --max_frames 256 --min_pixels 7056 --max_pixels 7056 --model_name_or_path /tmp/medium_work/stage0 --train_data /tmp/medium_work/data/cot/train_cot.jsonl --output_dir /tmp/medium_work/sft --max_steps 400 

# eval_sft_id
/work/main/.venv/bin/python -m actrep eval --config recipes/scratch/eval.yaml --model /tmp/medium_work/sft --run_names sft --data /tmp/medium_work/data/test_id --out /tmp/medium_work/eval/sft_id --max_new_tokens 320 --batch_size 128 --fps 8 --max_frames 256 --min_pixels 7056 --max_pixels 7056 --decode_workers 8 

# grpo
/work/main/.venv/bin/python -m actrep grpo --config recipes/scratch/grpo.yaml --model_name_or_path /tmp/medium_work/sft --train_data /tmp/medium_work/data/train --output_dir /tmp/medium_work/grpo --rcs true --max_steps 150 --learning_rate 1e-5 --videos_per_step 8 --num_generations 8 --micro_batch_size 32 --max_completion_length 320 --dataloader_num_workers 8 --seed 0 --fast_vision_attention true --fast_decode true --rewards count_hybrid:1.0 count_format:1.0 

# grpo_s1
/work/main/.venv/bin/python -m actrep grpo --config recipes/scratch/grpo.yaml --model_name_or_path /tmp/medium_work/sft --train_data /tmp/medium_work/data/train --output_dir /tmp/medium_work/grpo_s1 --rcs true --max_steps 150 --learning_rate 1e-5 --videos_per_step 8 --num_generations 8 --micro_batch_size 32 --max_completion_length 320 --dataloader_num_workers 8 --seed 0 --fast_vision_attention true --fast_decode true --seed 1 --rewards count_hybrid:1.0 count_format:1.0 

# grpo_bal
/work/main/.venv/bin/python -m actrep grpo --config recipes/scratch/grpo.yaml --model_name_or_path /tmp/medium_work/sft --train_data /tmp/medium_work/data/train --output_dir /tmp/medium_work/grpo_bal --rcs true --max_steps 150 --learning_rate 1e-5 --videos_per_step 8 --num_generations 8 --micro_batch_size 32 --max_completion_length 320 --dataloader_num_workers 8 --seed 0 --fast_vision_attention true --fast_decode true --rcs_strata 1-5\,6-10\,11-20 --rcs_target recipes/scratch/rcs_balanced.yaml --no_rcs_keep_originals --rewards count_hybrid:1.0 count_format:1.0 

# grpo_bin
/work/main/.venv/bin/python -m actrep grpo --config recipes/scratch/grpo.yaml --model_name_or_path /tmp/medium_work/sft --train_data /tmp/medium_work/data/train --output_dir /tmp/medium_work/grpo_bin --rcs true --max_steps 150 --learning_rate 1e-5 --videos_per_step 8 --num_generations 8 --micro_batch_size 32 --max_completion_length 320 --dataloader_num_workers 8 --seed 0 --fast_vision_attention true --fast_decode true --rcs_strata 1-5\,6-10\,11-20 --rewards count_hybrid:1.0 count_format:1.0 

# grpo_bal_s1
/work/main/.venv/bin/python -m actrep grpo --config recipes/scratch/grpo.yaml --model_name_or_path /tmp/medium_work/sft --train_data /tmp/medium_work/data/train --output_dir /tmp/medium_work/grpo_bal_s1 --rcs true --max_steps 150 --learning_rate 1e-5 --videos_per_step 8 --num_generations 8 --micro_batch_size 32 --max_completion_length 320 --dataloader_num_workers 8 --seed 0 --fast_vision_attention true --fast_decode true --rcs_strata 1-5\,6-10\,11-20 --rcs_target recipes/scratch/rcs_balanced.yaml --no_rcs_keep_originals --seed 1 --rewards count_hybrid:1.0 count_format:1.0 

# eval_grpo_bin_id
/work/main/.venv/bin/python -m actrep eval --config recipes/scratch/eval.yaml --model /tmp/medium_work/grpo_bin --run_names grpo_bin --data /tmp/medium_work/data/test_id --out /tmp/medium_work/eval/grpo_bin_id --max_new_tokens 320 --batch_size 128 --fps 8 --max_frames 256 --min_pixels 7056 --max_pixels 7056 --decode_workers 8 

# eval_grpo_id
/work/main/.venv/bin/python -m actrep eval --config recipes/scratch/eval.yaml --model /tmp/medium_work/grpo --run_names grpo --data /tmp/medium_work/data/test_id --out /tmp/medium_work/eval/grpo_id --max_new_tokens 320 --batch_size 128 --fps 8 --max_frames 256 --min_pixels 7056 --max_pixels 7056 --decode_workers 8 

# eval_grpo_s1_id
/work/main/.venv/bin/python -m actrep eval --config recipes/scratch/eval.yaml --model /tmp/medium_work/grpo_s1 --run_names grpo_s1 --data /tmp/medium_work/data/test_id --out /tmp/medium_work/eval/grpo_s1_id --max_new_tokens 320 --batch_size 128 --fps 8 --max_frames 256 --min_pixels 7056 --max_pixels 7056 --decode_workers 8 

# eval_grpo_bal_s1_id
/work/main/.venv/bin/python -m actrep eval --config recipes/scratch/eval.yaml --model /tmp/medium_work/grpo_bal_s1 --run_names grpo_bal_s1 --data /tmp/medium_work/data/test_id --out /tmp/medium_work/eval/grpo_bal_s1_id --max_new_tokens 320 --batch_size 128 --fps 8 --max_frames 256 --min_pixels 7056 --max_pixels 7056 --decode_workers 8 

# eval_grpo_bal_id
/work/main/.venv/bin/python -m actrep eval --config recipes/scratch/eval.yaml --model /tmp/medium_work/grpo_bal --run_names grpo_bal --data /tmp/medium_work/data/test_id --out /tmp/medium_work/eval/grpo_bal_id --max_new_tokens 320 --batch_size 128 --fps 8 --max_frames 256 --min_pixels 7056 --max_pixels 7056 --decode_workers 8 

# report_test_id
/work/main/.venv/bin/python -m actrep report /tmp/res/mix/eval/test_id/sft /tmp/res/mix/eval/test_id/grpo /tmp/res/mix/eval/test_id/grpo_s1 /tmp/res/mix/eval/test_id/grpo_bal /tmp/res/mix/eval/test_id/grpo_bal_s1 /tmp/res/mix/eval/test_id/grpo_bin --out /tmp/res/mix/report_test_id.html --title ActRep\ from\ scratch:\ GRPO\'s\ count\ mix --max_videos 12 

