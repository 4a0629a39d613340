# model
bash -c $'\n    "$1" -m actrep model tiny --family qwen2_5_vl --out "$2" --layers "$3" --hidden "$4" --heads "$5" --kv_heads "$6" \\\n      --vision_depth "$7" --vision_hidden "$8" --vision_heads "$9" --init_std "${10}" --seed "${11}" &&\n    "$1" -c "import json, sys; p = sys.argv[1] + \\"/config.json\\"; c = json.load(open(p)); c[\\"vision_config\\"][\\"tokens_per_second\\"] = int(sys.argv[2]); json.dump(c, open(p, \\"w\\"), indent=2)" "$2" "${12}"' _ /work/main/.venv/bin/python /tmp/all8_work/model 6 384 6 2 4 256 4 0.02 0 4 

# synth_train
/work/main/.venv/bin/python -m actrep synth --out /tmp/all8_work/data/train --n 12000 --seed 0 --splits train=1 --preset easy --size 84 --fps 8 --duration 10 --min_count 1 --max_count 12 --workers 14 --quiet --overwrite 

# cot
bash -c $'"$1" -m actrep cot "$2" --out "$3/train_cot.jsonl" --workers 8 &&\n    "$1" -c "import json, sys; rows = [json.loads(l) for l in open(sys.argv[1])]; open(sys.argv[2], \\"w\\").writelines(json.dumps(r) + \\"\\n\\" for r in rows if r[\\"gt_count\\"] <= int(sys.argv[3]))" \\\n      "$3/train_cot.jsonl" "$3/train_cot_low.jsonl" "$4"' _ /work/main/.venv/bin/python /tmp/all8_work/data/train /tmp/all8_work/data/cot 4 

# synth_test_id
/work/main/.venv/bin/python -m actrep synth --out /tmp/all8_work/data/test_id --n 256 --seed 1001 --splits test=1 --preset easy --size 84 --fps 8 --duration 10 --min_count 1 --max_count 12 --workers 14 --quiet --overwrite 

# synth_test_hard
/work/main/.venv/bin/python -m actrep synth --out /tmp/all8_work/data/test_hard --n 256 --seed 2002 --splits test=1 --preset medium --size 84 --fps 8 --duration 10 --min_count 1 --max_count 12 --workers 14 --quiet --overwrite 

# synth_curriculum
/work/main/.venv/bin/python -m actrep synth --out /tmp/all8_work/data/curriculum --n 6000 --seed 4004 --splits train=1 --preset easy --size 84 --fps 8 --duration 10 --min_count 1 --max_count 12 --workers 14 --quiet --overwrite --families squat 

# stage0
/work/main/.venv/bin/python -m actrep stage0 --config recipes/scratch/stage0.yaml --curriculum_data /tmp/all8_work/data/curriculum --curriculum_share 0.3 --model_name_or_path /tmp/all8_work/model --train_data /tmp/all8_work/data/train --eval_data /tmp/all8_work/data/test_id /tmp/all8_work/data/test_hard --output_dir /tmp/all8_work/stage0 --max_time_s 420 --batch_size 32 --learning_rate 1e-3 --num_workers 14 --max_replay 4 --eval_limit 256 --seed 0 --fps 8 --max_frames 256 --min_pixels 7056 --max_pixels 7056 

# eval_early
/work/main/.venv/bin/python -m actrep eval --config recipes/scratch/eval.yaml --model /tmp/all8_work/model /tmp/all8_work/stage0 --run_names base stage0 --data /tmp/all8_work/data/test_id --out /tmp/all8_work/eval/early --max_new_tokens 32 --batch_size 128 --fps 8 --max_frames 256 --min_pixels 7056 --max_pixels 7056 --decode_workers 8 

# sft
/work/main/.venv/bin/python -m actrep sft --config recipes/scratch/sft.yaml --rcs true --learning_rate 5e-4 --per_device_train_batch_size 32 --effective_batch_size 32 --dataloader_num_workers 14 --logging_steps 10 --seed 0 --fps 8 --max_frames 256 --min_pixels 7056 --max_pixels 7056 --model_name_or_path /tmp/all8_work/stage0 --train_data /tmp/all8_work/data/cot/train_cot.jsonl --output_dir /tmp/all8_work/sft --max_steps 1600 

