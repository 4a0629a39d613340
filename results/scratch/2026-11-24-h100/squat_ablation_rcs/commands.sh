# synth_train
/opt/torch/.venv/bin/python3 -m actrep synth --out /work/main/runs/scratch/gpu/data/train --n 3000 --seed 0 --splits train=1 --preset easy --size 84 --fps 8 --duration 10 --min_count 1 --max_count 12 --workers 14 --quiet --overwrite --families squat 

# synth_test_id
/opt/torch/.venv/bin/python3 -m actrep synth --out /work/main/runs/scratch/gpu/data/test_id --n 256 --seed 1001 --splits test=1 --preset easy --size 84 --fps 8 --duration 10 --min_count 1 --max_count 12 --workers 14 --quiet --overwrite --families squat 

# synth_test_hard
/opt/torch/.venv/bin/python3 -m actrep synth --out /work/main/runs/scratch/gpu/data/test_hard --n 256 --seed 2002 --splits test=1 --preset medium --size 84 --fps 8 --duration 10 --min_count 1 --max_count 12 --workers 14 --quiet --overwrite --families squat 

# model
bash -c $'\n    "$1" -m actrep model tiny --family qwen2_5_vl --out "$2" --layers "$3" --hidden "$4" --heads "$5" --kv_heads "$6" \\\n      --vision_depth "$7" --vision_hidden "$8" --vision_heads "$9" --init_std "${10}" --seed "${11}" &&\n    "$1" -c "import json, sys; p = sys.argv[1] + \\"/config.json\\"; c = json.load(open(p)); c[\\"vision_config\\"][\\"tokens_per_second\\"] = int(sys.argv[2]); json.dump(c, open(p, \\"w\\"), indent=2)" "$2" "${12}"' _ /opt/torch/.venv/bin/python3 /work/main/runs/scratch/gpu/model 6 384 6 2 4 256 4 0.02 0 4 

# stage0
/opt/torch/.venv/bin/python3 -m actrep stage0 --config recipes/scratch/stage0.yaml --model_name_or_path /work/main/runs/scratch/gpu/model --train_data /work/main/runs/scratch/gpu/data/train --eval_data /work/main/runs/scratch/gpu/data/test_id /work/main/runs/scratch/gpu/data/test_hard --output_dir /work/main/runs/scratch/gpu/stage0 --max_time_s 120 --batch_size 32 --learning_rate 1e-3 --num_workers 14 --max_replay 4 --eval_limit 256 --seed 0 --fps 8 --max_frames 256 --min_pixels 7056 --max_pixels 7056 

# cot
bash -c $'"$1" -m actrep cot "$2" --out "$3/train_cot.jsonl" --workers 8 &&\n    "$1" -c "import json, sys; rows = [json.loads(l) for l in open(sys.argv[1])]; open(sys.argv[2], \\"w\\").writelines(json.dumps(r) + \\"\\n\\" for r in rows if r[\\"gt_count\\"] <= int(sys.argv[3]))" \\\n      "$3/train_cot.jsonl" "$3/train_cot_low.jsonl" "$4"' _ /opt/torch/.venv/bin/python3 /work/main/runs/scratch/gpu/data/train /work/main/runs/scratch/gpu/data/cot 4 

# sft_norcs
/opt/torch/.venv/bin/python3 -m actrep sft --config recipes/scratch/sft.yaml --rcs false --learning_rate 5e-4 --per_device_train_batch_size 32 --effective_batch_size 32 --dataloader_num_workers 14 --logging_steps 10 --seed 0 --fps 8 --max_frames 256 --min_pixels 7056 --max_pixels 7056 --model_name_or_path /work/main/runs/scratch/gpu/stage0 --train_data /work/main/runs/scratch/gpu/data/cot/train_cot.jsonl --output_dir /work/main/runs/scratch/gpu/sft_norcs --max_steps 400 

# grpo_norcs
/opt/torch/.venv/bin/python3 -m actrep grpo --config recipes/scratch/grpo.yaml --model_name_or_path /work/main/runs/scratch/gpu/sft_norcs --train_data /work/main/runs/scratch/gpu/data/train --output_dir /work/main/runs/scratch/gpu/grpo_norcs --rcs false --max_steps 24 --learning_rate 1e-5 --videos_per_step 8 --num_generations 8 --micro_batch_size 32 --max_completion_length 320 --dataloader_num_workers 8 --seed 0 --fast_vision_attention true --fast_decode true --rewards count_hybrid:1.0 count_format:1.0 

# eval_sft_norcs_id
/opt/torch/.venv/bin/python3 -m actrep eval --config recipes/scratch/eval.yaml --model /work/main/runs/scratch/gpu/sft_norcs --run_names sft_norcs --data /work/main/runs/scratch/gpu/data/test_id --out /work/main/runs/scratch/gpu/eval/sft_norcs_id --max_new_tokens 320 --batch_size 128 --decode_workers 8 

# eval_grpo_norcs_id
/opt/torch/.venv/bin/python3 -m actrep eval --config recipes/scratch/eval.yaml --model /work/main/runs/scratch/gpu/grpo_norcs --run_names grpo_norcs --data /work/main/runs/scratch/gpu/data/test_id --out /work/main/runs/scratch/gpu/eval/grpo_norcs_id --max_new_tokens 320 --batch_size 128 --decode_workers 8 

# report_test_id
/opt/torch/.venv/bin/python3 -m actrep report /tmp/r/rcs_squat/eval/test_id/sft /tmp/r/rcs_squat/eval/test_id/sft_norcs /tmp/r/rcs_squat/eval/test_id/grpo /tmp/r/rcs_squat/eval/test_id/grpo_norcs --out /tmp/r/rcs_squat/report_test_id.html --title ActRep\ from\ scratch:\ with\ vs\ without\ RCS --max_videos 12 

