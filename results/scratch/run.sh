#!/usr/bin/env bash
# ActRep from scratch, one command per experiment (docs/from_scratch.md):
#
#   synthetic videos -> random-init Qwen2.5-VL -> stage 0 (vision alignment) -> CoT -> SFT (+RCS)
#   -> GRPO -> eval (held-out test split with another seed, and the harder preset) -> report + curves
#
#   bash results/scratch/run.sh [MODE] OUT
#     MODE main (default)     the whole pipeline                                 ~10 min on one H100
#          ablation_rcs       SFT + GRPO without RCS (reuses data, model, stage 0) ~3.5 min after main
#          ablation_rewards   GRPO with count_hybrid / count_linear / count_exact / count_fixed, side by side
#                             from one SFT checkpoint (reused from main)
#          ablation_mix       GRPO on different count mixes (MIX_ARMS), side by side from one SFT checkpoint
#                             (reused from main): does GRPO's count mix move the large counts' answers?
#          seeds              GRPO's gain with error bars (issue 20): one stage 0, a GRPO learning-rate
#                             sweep on a validation split, then SFT + GRPO for each of SEEDS (default
#                             "0 1 2", run side by side; one rate in GRPO_LRS: no wait for the sweep),
#                             every model on the same test clips;
#                             OUT/seeds_summary.{json,md} (paired bootstrap CI, McNemar, seed spread)
#   SCALE=tiny bash results/scratch/run.sh OUT     CPU smoke test: every stage at toy size (minutes)
#
# OUT receives everything small: metrics JSON, predictions, curves (PNG + CSV), HTML reports,
# commands.sh (every command, in order), timings.tsv, machine.txt, logs/, summary.{json,md}.
# Data and checkpoints go to WORK (default runs/scratch/<scale>, git-ignored). A stage whose output
# folder holds a .done marker with the same command is reused (REUSE=0 redoes everything), so the
# ablations on the same machine reuse the main run's data, stage 0 and SFT.
#
# Knobs (environment): SCALE=gpu|tiny, WORK, WORKERS, FAMILIES (comma list for actrep synth, or all;
# gpu default squat), N_TRAIN, N_TEST, N_HARD, SIZE (frame side:
# 56 -> 2x2 tokens per frame pair, 84 -> 3x3, 112 -> 4x4), FPS, DURATION, MAX_COUNT, PRESET,
# HARD_PRESET, model sizes (LAYERS HIDDEN HEADS KV_HEADS VISION_DEPTH VISION_HIDDEN VISION_HEADS
# INIT_STD TOKENS_PER_SECOND), STAGE0=0 (control without stage 0: runs named sft_nostage0,
# grpo_nostage0), STAGE0_STEPS (gpu default 800, 2880 with FAMILIES=all; tiny 60), STAGE0_SECONDS (a time bound;
# alone, it replaces the steps' default, as before 2026-12-07), STAGE0_REPLAY, STAGE0_LR, SFT_SECONDS, SFT_RATE (clips/s that turns
# SFT_SECONDS into steps), SFT_STEPS (overrides; gpu default N_TRAIN x 2 / 15), SFT_LR, SFT_BATCH, SFT_RCS, SFT_TRAIN_VISION=1,
# STAGE0_CURRICULUM (families stage 0 learns first, e.g. squat, for STAGE0_CURRICULUM_SHARE of its schedule),
# SFT_CURRICULUM=1 (+ CURRICULUM_MAX, CURRICULUM_SHARE), UINT8_PIXELS=true|false (stage 0's and SFT's --uint8_pixels), VISION_LR (needs
# `actrep sft --vision_learning_rate`), GRPO_STEPS, GRPO_LR, GRPO_VIDEOS, GRPO_G, GRPO_FAST, GRPO_ARGS (more
# `actrep grpo` flags, e.g. "--temperature 1.3"),
# EVAL_TOKENS; seeds mode: SEEDS, GRPO_LRS (the sweep), SWEEP_STEPS, N_VALID, SEEDS_GRPO_STEPS, SFT_SIDE_BY_SIDE,
# GRPO_REWARDS; ablation_rewards: REWARD_ARMS (count rewards side by side); ablation_mix: MIX_ARMS; main: SAMPLED_EVAL_SEEDS (e.g.
# "0 1 2": SFT and GRPO also evaluated with sampling at temperature 1, runs <name>_sampled_s<seed>). PLAN_ONLY=1
# prints the plan (the knobs resolved) into OUT/run.log and stops. SEED seeds the data and the model; RUN_SEED (default SEED) seeds SFT and GRPO (data order,
# sampling, LoRA/heads init). docs/from_scratch.md has the table with the defaults.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
MODE=main
case "${1:-}" in main|ablation_rcs|ablation_rewards|ablation_mix|seeds) MODE=$1; shift ;; esac
if [[ $# -lt 1 ]]; then
  echo "usage: bash results/scratch/run.sh [main|ablation_rcs|ablation_rewards|ablation_mix|seeds] OUT" >&2
  exit 2
fi
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
PY=${PYTHON:-$ROOT/.venv/bin/python}
[[ -x $PY ]] || PY=$(command -v python3)
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1

SCALE=${SCALE:-$("$PY" -c "import torch; print('gpu' if torch.cuda.is_available() else 'tiny')")}
CORES=$(nproc)
if [[ $SCALE == gpu ]]; then
  # The configuration of the 2026-11-24 H100 runs (results/scratch/2026-11-24-h100/README.md): one
  # motion family, squat. GRPO runs 150 steps at 1e-5, the seeds protocol of 2026-12-06 (+5.9 OBO over
  # SFT; 24 steps lost 3.1).
  : "${FAMILIES:=squat}"
  if [[ $FAMILIES == all ]]; then
    # All eight: stage 0 learns them only after a squat-only phase long enough to learn squat (~870 steps
    # of the 2,880 the 420-s run made; 90 s stayed at chance): SFT OBO 0.918 (results/scratch/2026-12-07-h100-all8)
    : "${N_TRAIN:=12000}" "${STAGE0_CURRICULUM=squat}" "${stage0_steps:=2880}"
  fi
  : "${N_TRAIN:=3000}"
  # SFT makes ~4.3 passes over the training clips at batch 32 (400 steps for 3,000): four families with
  # 6,000 clips counted at OBO 0.72 after 400 steps and 0.86 after 800 (results/scratch/2026-12-06-h100-mix4long).
  : "${SFT_STEPS=$(( N_TRAIN * 2 / 15 ))}"  # set but empty: SFT_SECONDS x SFT_RATE / SFT_BATCH
  : "${WORKERS:=$(( CORES > 2 ? CORES - 2 : 1 ))}" "${N_TEST:=256}" "${N_HARD:=256}"
  : "${SIZE:=84}" "${FPS:=8}" "${DURATION:=10}" "${MAX_COUNT:=12}"
  : "${LAYERS:=6}" "${HIDDEN:=384}" "${HEADS:=6}" "${KV_HEADS:=2}" "${VISION_DEPTH:=4}" "${VISION_HIDDEN:=256}" "${VISION_HEADS:=4}"
  # Stage 0 by steps, not time: 120-s runs made 689-928 steps, and on the medium preset the SFT ranked
  # with them (694 steps: OBO 0.621 ... 790: 0.809; results/scratch/2026-12-07-h100-balanced-mix). 800 is
  # about their mean.
  : "${stage0_steps:=800}" "${STAGE0_BATCH:=32}" "${STAGE0_LR:=1e-3}" "${STAGE0_REPLAY:=4}"
  : "${SFT_SECONDS:=180}" "${SFT_RATE:=120}" "${SFT_BATCH:=32}" "${SFT_LR:=5e-4}" "${SFT_LOG_STEPS:=10}"
  : "${GRPO_STEPS:=150}" "${GRPO_VIDEOS:=8}" "${GRPO_G:=8}" "${GRPO_LR:=1e-5}" "${GRPO_MICRO:=32}" "${GRPO_FAST:=1}"
  : "${EVAL_TOKENS:=320}" "${EVAL_BATCH:=128}" "${EARLY_TOKENS:=32}" "${EVAL_THREADS:=8}"
  : "${N_VALID:=256}" "${SEEDS_GRPO_STEPS:=150}"
  # ablation_mix: the recipe's mix; only 1-5 repetitions; only 6-12 (11-12: ~36% of the clips, ~15% in the
  # recipe's mix); only 11-12 (an RCS clip of 11-12 needs a video with >= 11, a sixth of them)
  : "${MIX_ARMS:=grpo=;grpo_small=--rcs_strata 1-5 --no_rcs_keep_originals;grpo_upper=--rcs_strata 6-10,11-20 --no_rcs_keep_originals;grpo_top=--rcs_strata 11-20 --no_rcs_keep_originals}"
elif [[ $SCALE == tiny ]]; then
  : "${WORKERS:=2}" "${N_TRAIN:=24}" "${N_TEST:=6}" "${N_HARD:=4}"
  : "${SIZE:=56}" "${FPS:=8}" "${DURATION:=3}" "${MAX_COUNT:=4}"
  : "${LAYERS:=2}" "${HIDDEN:=64}" "${HEADS:=4}" "${KV_HEADS:=2}" "${VISION_DEPTH:=2}" "${VISION_HIDDEN:=32}" "${VISION_HEADS:=2}"
  : "${stage0_steps:=60}" "${STAGE0_BATCH:=4}" "${STAGE0_LR:=3e-3}" "${STAGE0_REPLAY:=0}"
  : "${SFT_SECONDS:=0}" "${SFT_RATE:=4}" "${SFT_BATCH:=4}" "${SFT_LR:=2e-3}" "${SFT_STEPS:=4}" "${SFT_LOG_STEPS:=1}"
  : "${GRPO_STEPS:=2}" "${GRPO_VIDEOS:=2}" "${GRPO_G:=2}" "${GRPO_LR:=1e-4}" "${GRPO_MICRO:=4}" "${GRPO_FAST:=0}"
  : "${EVAL_TOKENS:=24}" "${EVAL_BATCH:=8}" "${EARLY_TOKENS:=8}" "${EVAL_THREADS:=2}"
  : "${GRPO_TOKENS:=24}" "${N_VALID:=4}" "${SEEDS_GRPO_STEPS:=2}"
  : "${MIX_ARMS:=grpo=;grpo_top=--rcs_strata 3-4 --no_rcs_keep_originals}"
else
  echo "SCALE must be gpu or tiny (got $SCALE)" >&2
  exit 2
fi
# Stage 0's budget: STAGE0_STEPS (the scale's default); STAGE0_SECONDS alone: time only, as the runs before
# 2026-12-07; both: whichever ends first. STAGE0_PLAN for the plan line: "800 steps", "120 s", "800 steps or 120 s".
: "${STAGE0_SECONDS:=0}"
[[ $STAGE0_SECONDS != 0 ]] || : "${STAGE0_STEPS:=$stage0_steps}"
STAGE0_BUDGET=(--max_time_s "$STAGE0_SECONDS" --max_steps "${STAGE0_STEPS:-1000000}")
STAGE0_PLAN=${STAGE0_STEPS:+$STAGE0_STEPS steps}
[[ $STAGE0_SECONDS == 0 ]] || STAGE0_PLAN+="${STAGE0_PLAN:+ or }$STAGE0_SECONDS s"
: "${WORK:=$ROOT/runs/scratch/$SCALE}" "${REUSE:=1}" "${PRESET:=easy}" "${HARD_PRESET:=medium}" "${INIT_STD:=0.02}" "${FAMILIES:=}"
: "${TOKENS_PER_SECOND:=$(( (FPS + 1) / 2 ))}" "${STAGE0:=1}" "${SFT_RCS:=true}" "${SFT_CURRICULUM:=0}"
: "${STAGE0_CURRICULUM:=}" "${STAGE0_CURRICULUM_SHARE:=0.3}" "${CURRICULUM_MAX:=4}" "${CURRICULUM_SHARE:=0.3}" "${VISION_LR:=}" "${SFT_TRAIN_VISION:=0}" "${GRPO_TOKENS:=$EVAL_TOKENS}" "${SEED:=0}"
: "${RUN_SEED:=$SEED}" "${SEEDS:=0 1 2}" "${SWEEP_STEPS:=$SEEDS_GRPO_STEPS}" "${GRPO_LRS:=3e-6 1e-5 3e-5}" "${GRPO_REWARDS:=count_hybrid:1.0 count_format:1.0}"
: "${SAMPLED_EVAL_SEEDS:=}"
# seeds mode: SFTs at once. Two fit next to each other on an 80 GB GPU and three ran out of memory there
# (~26 GB each at this scale, 2026-12-07-h100-seeds-medium/device/gpu_memory.csv), so three from 120 GB
# (an H200); one that runs out of memory anyway is rerun alone (run_stage)
gpu_mib=$(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits 2>/dev/null | head -n 1 || true)
[[ $gpu_mib =~ ^[0-9]+$ ]] || gpu_mib=0
: "${SFT_SIDE_BY_SIDE:=$(( gpu_mib >= 120000 ? 3 : 2 ))}"
[[ $SFT_SIDE_BY_SIDE =~ ^([2-9]|[1-9][0-9]+)$ ]] || { echo "SFT_SIDE_BY_SIDE must be a whole number of 2 or more (got $SFT_SIDE_BY_SIDE)" >&2; exit 2; }
: "${REWARD_ARMS:=count_hybrid count_linear count_exact count_fixed}"
PIXELS=$(( SIZE * SIZE ))
mkdir -p "$WORK" "$OUT/logs" "$OUT/eval" "$OUT/artifacts"
DATA=$WORK/data
VIDEO_FLAGS=(--fps "$FPS" --max_frames 256 --min_pixels "$PIXELS" --max_pixels "$PIXELS")
PIXEL_FLAGS=()  # UINT8_PIXELS=true|false: --uint8_pixels of stage 0 and SFT (unset: their default, true on a GPU)
if [[ -n ${UINT8_PIXELS:-} ]]; then
  [[ $UINT8_PIXELS == true || $UINT8_PIXELS == false ]] || { echo "UINT8_PIXELS must be true or false (got $UINT8_PIXELS)" >&2; exit 2; }
  PIXEL_FLAGS=(--uint8_pixels "$UINT8_PIXELS")
fi

# ------------------------------------------------------------------------------------------ helpers
START=$(date +%s.%N)
elapsed() { awk -v a="$(date +%s.%N)" -v b="$START" 'BEGIN { printf "%.1f", a - b }'; }
log() { printf '[%5.0fs] %s\n' "$(elapsed)" "$*" | tee -a "$OUT/run.log"; }
STAGE0_CMD=("$PY" -m actrep stage0)
ACTREP=("$PY" -m actrep)

# DEPS="dir ..." run_stage NAME DIR CMD...: run CMD (output in OUT/logs/NAME.log) unless DIR/.done holds
# the same command and the same runs of the stages it depends on (their .nonce); a rerun of an
# upstream stage gives it a new nonce, so everything downstream reruns too.
run_stage() {
  local name=$1 dir=$2
  shift 2
  local key dep
  key=$(printf '%q ' "$@")
  printf '# %s\n%s\n\n' "$name" "$key" >> "$OUT/commands.sh"
  for dep in ${DEPS:-}; do key+=$'\n'"after $dep: $(cat "$dep/.nonce" 2>/dev/null || echo missing)"; done
  if [[ $REUSE == 1 && -n $dir && -f $dir/.done && "$(cat "$dir/.done")" == "$key" ]]; then
    log "$name: reused $dir (finished earlier with the same command and inputs)"
    printf '%s\t0\treused\n' "$name" >> "$OUT/timings.tsv"
    return 0
  fi
  [[ -n $dir ]] && rm -rf "$dir"
  log "$name: started"
  local t0 dt
  t0=$(date +%s.%N)
  if ! on_gpu -s "$@" > "$OUT/logs/$name.log" 2>&1; then
    # stages run side by side (seeds mode, evaluations next to GRPO): one that ran out of GPU memory next
    # to the others is rerun once they are done, alone, instead of failing the whole experiment
    if grep -q "CUDA out of memory" "$OUT/logs/$name.log" && [[ -n $dir ]] && command -v flock > /dev/null; then
      mv "$OUT/logs/$name.log" "$OUT/logs/$name.out_of_memory.log"
      log "$name: out of GPU memory next to the stages running in parallel; rerunning it alone once they finish"
      rm -rf "$dir"
      on_gpu -x "$@" > "$OUT/logs/$name.log" 2>&1 || { log "$name: FAILED alone too; the end of $OUT/logs/$name.log:"; tail -n 40 "$OUT/logs/$name.log" >&2; exit 1; }
    else
      log "$name: FAILED; the end of $OUT/logs/$name.log:"
      tail -n 40 "$OUT/logs/$name.log" >&2
      exit 1
    fi
  fi
  dt=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.1f", a - b }')
  if [[ -n $dir ]]; then
    mkdir -p "$dir"
    printf '%s' "$key" > "$dir/.done"
    date +%s%N > "$dir/.nonce"
  fi
  printf '%s\t%s\t\n' "$name" "$dt" >> "$OUT/timings.tsv"
  log "$name: done in ${dt} s"
}
# on_gpu -s|-x CMD...: CMD under a shared (every stage) or exclusive (a rerun after running out of GPU
# memory) lock on WORK/.gpu.lock; -o: the lock is not inherited by CMD's children (data loader workers)
on_gpu() {
  local mode=$1
  shift
  if command -v flock > /dev/null; then flock -o "$mode" "$WORK/.gpu.lock" "$@"; else "$@"; fi
}
BG_PIDS=()
run_bg() { "$@" & BG_PIDS+=($!); }
wait_bg() {
  local pid failed=0
  for pid in "${BG_PIDS[@]}"; do wait "$pid" || failed=1; done
  BG_PIDS=()
  [[ $failed == 0 ]] || { log "a background stage failed"; exit 1; }
}

machine_info() {
  {
    echo "date: $(date -u +%FT%TZ)"
    echo "host: $(hostname)"
    echo "mode: $MODE  scale: $SCALE  work: $WORK"
    echo "git: $(git rev-parse HEAD 2>/dev/null || echo none) ($(git status --short 2>/dev/null | wc -l) changed files)"
    echo "cpu: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p') x $CORES cores"
    echo "memory: $(free -g 2>/dev/null | awk '/Mem:/ {print $2 " GiB"}'); /dev/shm: $(df -h /dev/shm 2>/dev/null | awk 'NR == 2 {print $2}')"
    echo "gpu: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo none)"
    "$PY" -c "import sys, torch, transformers, trl, accelerate, av; print('python', sys.version.split()[0]); print('torch', torch.__version__, 'cuda', torch.version.cuda); print('transformers', transformers.__version__, 'trl', trl.__version__, 'accelerate', accelerate.__version__, 'av', av.__version__)"
    echo "stage0 command: ${STAGE0_CMD[*]}"
  } > "$OUT/machine.txt" 2>&1
}

# ------------------------------------------------------------------------------------------- stages
synth_flags=(--size "$SIZE" --fps "$FPS" --duration "$DURATION" --min_count 1 --max_count "$MAX_COUNT" --workers "$WORKERS" --quiet --overwrite)
[[ -n $FAMILIES && $FAMILIES != all ]] && synth_flags+=(--families "$FAMILIES")
stage_train_data() {
  run_stage synth_train "$DATA/train" "${ACTREP[@]}" synth --out "$DATA/train" --n "$N_TRAIN" --seed "$SEED" --splits train=1 --preset "$PRESET" "${synth_flags[@]}"
}
stage_test_data() {
  run_stage synth_test_id "$DATA/test_id" "${ACTREP[@]}" synth --out "$DATA/test_id" --n "$N_TEST" --seed $(( SEED + 1001 )) --splits test=1 --preset "$PRESET" "${synth_flags[@]}"
  run_stage synth_test_hard "$DATA/test_hard" "${ACTREP[@]}" synth --out "$DATA/test_hard" --n "$N_HARD" --seed $(( SEED + 2002 )) --splits test=1 --preset "$HARD_PRESET" "${synth_flags[@]}"
}

# the validation split that picks hyper-parameters (seeds mode): never the test clips
stage_valid() {
  run_stage synth_valid "$DATA/valid" "${ACTREP[@]}" synth --out "$DATA/valid" --n "$N_VALID" --seed $(( SEED + 3003 )) --splits valid=1 --preset "$PRESET" "${synth_flags[@]}"
}

stage_model() {
  # Qwen2.5-VL's temporal rope step per frame pair is long(tokens_per_second * 2 / fps): the tiny
  # builder's 2 tokens/s would give consecutive 8 fps frame pairs the same position.
  run_stage model "$WORK/model" bash -c '
    "$1" -m actrep model tiny --family qwen2_5_vl --out "$2" --layers "$3" --hidden "$4" --heads "$5" --kv_heads "$6" \
      --vision_depth "$7" --vision_hidden "$8" --vision_heads "$9" --init_std "${10}" --seed "${11}" &&
    "$1" -c "import json, sys; p = sys.argv[1] + \"/config.json\"; c = json.load(open(p)); c[\"vision_config\"][\"tokens_per_second\"] = int(sys.argv[2]); json.dump(c, open(p, \"w\"), indent=2)" "$2" "${12}"' \
    _ "$PY" "$WORK/model" "$LAYERS" "$HIDDEN" "$HEADS" "$KV_HEADS" "$VISION_DEPTH" "$VISION_HIDDEN" "$VISION_HEADS" "$INIT_STD" "$SEED" "$TOKENS_PER_SECOND"
}

stage_stage0() {
  if [[ $STAGE0 == 1 ]]; then
    local curriculum=() deps="$WORK/model $DATA/train $DATA/test_id $DATA/test_hard"
    if [[ -n $STAGE0_CURRICULUM ]]; then  # stage 0 first on these families only (--curriculum_data), then on all
      run_stage synth_curriculum "$DATA/curriculum" "${ACTREP[@]}" synth --out "$DATA/curriculum" --n $(( N_TRAIN / 2 )) --seed $(( SEED + 4004 )) \
        --splits train=1 --preset "$PRESET" "${synth_flags[@]}" --families "$STAGE0_CURRICULUM"
      curriculum=(--curriculum_data "$DATA/curriculum" --curriculum_share "$STAGE0_CURRICULUM_SHARE")
      deps+=" $DATA/curriculum"
    fi
    DEPS=$deps run_stage stage0 "$WORK/stage0" "${STAGE0_CMD[@]}" --config recipes/scratch/stage0.yaml "${curriculum[@]}" \
      --model_name_or_path "$WORK/model" --train_data "$DATA/train" --eval_data "$DATA/test_id" "$DATA/test_hard" \
      --output_dir "$WORK/stage0" "${STAGE0_BUDGET[@]}" --batch_size "$STAGE0_BATCH" --learning_rate "$STAGE0_LR" \
      --num_workers "$WORKERS" --max_replay "$STAGE0_REPLAY" --eval_limit "$N_TEST" --seed "$SEED" "${VIDEO_FLAGS[@]}" "${PIXEL_FLAGS[@]}"
    START_MODEL=$WORK/stage0
  else
    START_MODEL=$WORK/model
  fi
}

stage_cot() {
  DEPS="$DATA/train" run_stage cot "$DATA/cot" bash -c '"$1" -m actrep cot "$2" --out "$3/train_cot.jsonl" --workers 8 &&
    "$1" -c "import json, sys; rows = [json.loads(l) for l in open(sys.argv[1])]; open(sys.argv[2], \"w\").writelines(json.dumps(r) + \"\n\" for r in rows if r[\"gt_count\"] <= int(sys.argv[3]))" \
      "$3/train_cot.jsonl" "$3/train_cot_low.jsonl" "$4"' _ "$PY" "$DATA/train" "$DATA/cot" "$CURRICULUM_MAX"
}

# Everything before SFT. The stages that do not wait for each other run side by side: the model builds
# while the training set renders, the CoT text is written while the test sets render (one after the other
# they took 24 s of the GPU demo's 591 s on 2026-12-06). Nothing runs beside stage 0: a neighbour would
# slow it down, and with a time bound (STAGE0_SECONDS) take steps from it.
stage_prepare() {
  run_bg stage_model
  stage_train_data
  run_bg stage_cot
  stage_test_data
  if [[ $MODE == seeds ]]; then stage_valid; fi
  wait_bg
  stage_stage0
}

sft_steps() {
  # SFT_STEPS wins; else SFT_SECONDS x rate / batch, the rate capped by the data rate stage 0 measured.
  if [[ -n ${SFT_STEPS:-} ]]; then echo "$SFT_STEPS"; return; fi
  "$PY" - "$WORK/stage0/stage0_metrics.json" "$SFT_SECONDS" "$SFT_RATE" "$SFT_BATCH" <<'EOF'
import json, sys
from pathlib import Path
path, seconds, rate, batch = Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
if path.exists():
    train = json.loads(path.read_text())["train"]
    if train.get("data_wait_share", 0) > 0.3:  # stage 0 was data-bound: SFT cannot decode faster
        rate = min(rate, 0.9 * train["clips_per_s"])
print(max(10, int(seconds * rate / batch)))
EOF
}

# stage_sft NAME RCS: SFT from START_MODEL into WORK/NAME
stage_sft() {
  local name=$1 rcs=$2 steps flags=()
  steps=$(sft_steps)
  [[ $SFT_TRAIN_VISION == 1 ]] && flags+=(--train_vision true)
  if [[ -n $VISION_LR ]]; then
    if "${ACTREP[@]}" sft --help 2>/dev/null | grep -q -- --vision_learning_rate; then
      flags+=(--train_vision true --vision_learning_rate "$VISION_LR")
    else
      log "VISION_LR ignored: this actrep sft has no --vision_learning_rate (docs/from_scratch.md)"
    fi
  fi
  local common=(--config recipes/scratch/sft.yaml --rcs "$rcs" --learning_rate "$SFT_LR" --per_device_train_batch_size "$SFT_BATCH"
                --effective_batch_size "$SFT_BATCH" --dataloader_num_workers "$WORKERS" --logging_steps "$SFT_LOG_STEPS" --seed "$RUN_SEED" "${VIDEO_FLAGS[@]}" "${PIXEL_FLAGS[@]}" "${flags[@]}")
  if [[ $SFT_CURRICULUM == 1 ]]; then
    local first
    first=$("$PY" -c "print(max(1, int($steps * $CURRICULUM_SHARE)))")
    DEPS="$START_MODEL $DATA/cot" run_stage "${name}_low" "$WORK/${name}_low" "${ACTREP[@]}" sft "${common[@]}" --model_name_or_path "$START_MODEL" \
      --train_data "$DATA/cot/train_cot_low.jsonl" --output_dir "$WORK/${name}_low" --max_steps "$first"
    DEPS="$WORK/${name}_low $DATA/cot" run_stage "$name" "$WORK/$name" "${ACTREP[@]}" sft "${common[@]}" --model_name_or_path "$WORK/${name}_low" \
      --train_data "$DATA/cot/train_cot.jsonl" --output_dir "$WORK/$name" --max_steps $(( steps - first > 1 ? steps - first : 1 ))
  else
    DEPS="$START_MODEL $DATA/cot" run_stage "$name" "$WORK/$name" "${ACTREP[@]}" sft "${common[@]}" --model_name_or_path "$START_MODEL" \
      --train_data "$DATA/cot/train_cot.jsonl" --output_dir "$WORK/$name" --max_steps "$steps"
  fi
}

# stage_grpo NAME FROM RCS REWARDS...
grpo_fast=()
[[ $GRPO_FAST == 1 ]] && grpo_fast=(--fast_vision_attention true --fast_decode true)
read -r -a grpo_extra <<< "${GRPO_ARGS:-}"
stage_grpo() {
  local name=$1 from=$2 rcs=$3
  shift 3
  DEPS="$from $DATA/train" run_stage "$name" "$WORK/$name" "${ACTREP[@]}" grpo --config recipes/scratch/grpo.yaml --model_name_or_path "$from" \
    --train_data "$DATA/train" --output_dir "$WORK/$name" --rcs "$rcs" --max_steps "$GRPO_STEPS" --learning_rate "$GRPO_LR" \
    --videos_per_step "$GRPO_VIDEOS" --num_generations "$GRPO_G" --micro_batch_size "$GRPO_MICRO" \
    --max_completion_length "$GRPO_TOKENS" --dataloader_num_workers "$EVAL_THREADS" --seed "$RUN_SEED" "${grpo_fast[@]}" "${grpo_extra[@]}" --rewards "$@"
}

# stage_eval NAME SET TOKENS MODEL:RUN...: evaluate into WORK/eval/NAME, copy the runs to OUT/eval/SET/RUN
stage_eval() {
  local name=$1 set=$2 tokens=$3
  shift 3
  local models=() runs=() spec splits=()
  for spec in "$@"; do models+=("${spec%%:*}"); runs+=("${spec##*:}"); done
  [[ $set == valid ]] && splits=(--splits valid)  # the recipe evaluates the test split
  DEPS="${models[*]} $DATA/$set" run_stage "eval_$name" "$WORK/eval/$name" "${ACTREP[@]}" eval --config recipes/scratch/eval.yaml --model "${models[@]}" \
    --run_names "${runs[@]}" --data "$DATA/$set" --out "$WORK/eval/$name" --max_new_tokens "$tokens" --batch_size "$EVAL_BATCH" \
    "${VIDEO_FLAGS[@]}" "${splits[@]}" --decode_workers "$EVAL_THREADS" ${EVAL_FLAGS:-}
  local run
  for run in "${runs[@]}"; do
    mkdir -p "$OUT/eval/$set"
    rm -rf "$OUT/eval/$set/$run"
    cp -r "$WORK/eval/$name/$run" "$OUT/eval/$set/$run"
  done
}

copy_artifacts() {
  local dir name
  for dir in "$@"; do
    [[ -d $dir ]] || continue
    name=$(basename "$dir")
    mkdir -p "$OUT/artifacts/$name"
    for f in actrep_settings.json stage0_metrics.json metrics.jsonl arguments.json completions.jsonl config.json; do
      [[ -f $dir/$f ]] && cp "$dir/$f" "$OUT/artifacts/$name/"
    done
    [[ -d $dir/runs ]] && cp -r "$dir/runs" "$OUT/artifacts/$name/tensorboard"
  done
  cp -r recipes/scratch "$OUT/artifacts/recipes"
}

report() {
  local set=$1 title=$2
  shift 2
  local runs=() r
  for r in "$@"; do [[ -f $OUT/eval/$set/$r/metrics.json ]] && runs+=("$OUT/eval/$set/$r"); done
  [[ ${#runs[@]} -gt 0 ]] || return 0
  run_stage "report_$set" "" "${ACTREP[@]}" report "${runs[@]}" --out "$OUT/report_$set.html" --title "$title" --max_videos 12
}

summarize() {
  "$PY" results/scratch/plot_curves.py --out "$OUT" --work "$WORK" --mode "$MODE" --scale "$SCALE" --elapsed "$(elapsed)" "$@" 2>&1 | tee -a "$OUT/run.log"
}

plan() {
  local steps
  steps=$(SFT_STEPS=${SFT_STEPS:-} sft_steps)
  log "mode $MODE, scale $SCALE, $CORES cores, $WORKERS workers; work in $WORK; results in $OUT"
  log "plan: $N_TRAIN training clips (${DURATION} s, ${FPS} fps, ${SIZE}x${SIZE}, counts 1-$MAX_COUNT, $PRESET, families: ${FAMILIES:-all}); tests: $N_TEST ($PRESET, seed $(( SEED + 1001 ))), $N_HARD ($HARD_PRESET, seed $(( SEED + 2002 )))"
  log "plan: model ${LAYERS}x${HIDDEN} LM + ${VISION_DEPTH}x${VISION_HIDDEN} vision; stage 0 $STAGE0_PLAN (STAGE0=$STAGE0${STAGE0_CURRICULUM:+; its first $STAGE0_CURRICULUM_SHARE on $STAGE0_CURRICULUM only}); SFT ~${steps} steps x $SFT_BATCH clips (~${SFT_SECONDS} s at ${SFT_RATE} clips/s; refined after stage 0); GRPO $GRPO_STEPS steps x $GRPO_VIDEOS videos x $GRPO_G"
  [[ $MODE != seeds ]] || log "plan: seeds $SEEDS, $SFT_SIDE_BY_SIDE SFTs side by side; GRPO learning rates $GRPO_LRS, $SEEDS_GRPO_STEPS steps"
}

# -------------------------------------------------------------------------------------------- modes
: > "$OUT/commands.sh"
: > "$OUT/timings.tsv"
plan
[[ ${PLAN_ONLY:-0} == 1 ]] && { log "PLAN_ONLY=1: stopped before the first stage"; exit 0; }
machine_info

case $MODE in
main)
  # STAGE0=0 is the control run: its SFT/GRPO/eval runs get their own names, next to the main ones
  TAG=$([[ $STAGE0 == 1 ]] && echo "" || echo "_nostage0")
  SFT_NAME=sft$TAG GRPO_NAME=grpo$TAG
  stage_prepare
  run_bg stage_eval "early$TAG" test_id "$EARLY_TOKENS" "$WORK/model:base" $([[ $STAGE0 == 1 ]] && echo "$WORK/stage0:stage0")
  stage_sft "$SFT_NAME" "$SFT_RCS"
  wait_bg
  # SFT's evaluations overlap GRPO (different processes; the GPU has room for both)
  ( stage_eval "${SFT_NAME}_id" test_id "$EVAL_TOKENS" "$WORK/$SFT_NAME:$SFT_NAME"; stage_eval "${SFT_NAME}_hard" test_hard "$EVAL_TOKENS" "$WORK/$SFT_NAME:$SFT_NAME" ) &
  BG_PIDS+=($!)
  stage_grpo "$GRPO_NAME" "$WORK/$SFT_NAME" "$SFT_RCS" count_hybrid:1.0 count_format:1.0
  run_bg stage_eval "${GRPO_NAME}_id" test_id "$EVAL_TOKENS" "$WORK/$GRPO_NAME:$GRPO_NAME"
  run_bg stage_eval "${GRPO_NAME}_hard" test_hard "$EVAL_TOKENS" "$WORK/$GRPO_NAME:$GRPO_NAME"
  # SFT and GRPO also with the decoder GRPO trains with (sampling at temperature 1), one run per seed:
  # greedy answers can move where sampled ones improve (results/scratch/2026-12-06-h100-medium-grpo)
  for seed in $SAMPLED_EVAL_SEEDS; do
    EVAL_FLAGS="--do_sample --temperature 1.0 --top_p 1.0 --seed $seed" run_bg stage_eval "sampled_s${seed}_id" test_id "$EVAL_TOKENS" \
      "$WORK/$SFT_NAME:${SFT_NAME}_sampled_s$seed" "$WORK/$GRPO_NAME:${GRPO_NAME}_sampled_s$seed"
  done
  wait_bg
  report test_id "ActRep from scratch: in-distribution test ($PRESET, held-out seed)" base stage0 "$SFT_NAME" "$GRPO_NAME"
  report test_hard "ActRep from scratch: harder preset ($HARD_PRESET)" "$SFT_NAME" "$GRPO_NAME"
  copy_artifacts "$WORK/stage0" "$WORK/$SFT_NAME" "$WORK/${SFT_NAME}_low" "$WORK/$GRPO_NAME"
  stage0_args=()
  [[ $STAGE0 == 1 ]] && stage0_args=(--stage0 "$WORK/stage0")
  summarize "${stage0_args[@]}" --sft "$SFT_NAME=$WORK/$SFT_NAME" --grpo "$GRPO_NAME=$WORK/$GRPO_NAME"
  ;;
ablation_rcs)
  stage_prepare
  stage_sft sft_norcs false
  run_bg stage_eval sft_norcs_id test_id "$EVAL_TOKENS" "$WORK/sft_norcs:sft_norcs"
  stage_grpo grpo_norcs "$WORK/sft_norcs" false count_hybrid:1.0 count_format:1.0
  run_bg stage_eval grpo_norcs_id test_id "$EVAL_TOKENS" "$WORK/grpo_norcs:grpo_norcs"
  wait_bg
  # the arms with RCS: the main run's evaluations when they exist in WORK
  for pair in sft_id:sft grpo_id:grpo; do
    src=$WORK/eval/${pair%%:*}/${pair##*:}
    [[ -f $src/metrics.json ]] && { rm -rf "$OUT/eval/test_id/${pair##*:}"; cp -r "$src" "$OUT/eval/test_id/${pair##*:}"; }
  done
  report test_id "ActRep from scratch: with vs without RCS" sft sft_norcs grpo grpo_norcs
  copy_artifacts "$WORK/sft_norcs" "$WORK/grpo_norcs" "$WORK/grpo"
  summarize --sft sft_norcs="$WORK/sft_norcs" --grpo grpo_norcs="$WORK/grpo_norcs" --grpo grpo="$WORK/grpo"
  ;;
ablation_rewards)
  stage_prepare
  stage_sft sft "$SFT_RCS"
  run_bg stage_eval sft_id test_id "$EVAL_TOKENS" "$WORK/sft:sft"
  # count_hybrid's Gaussian is on the relative error, count_fixed's on the absolute one. On the medium preset's
  # rollouts every count reward pushes towards the truth alike (results/scratch/reward_push.py,
  # results/scratch/2026-12-06-h100-medium-grpo): the arms measure whole runs, not the first update.
  # The arms run side by side on the GPU (one that runs out of memory next to the others is rerun alone).
  # REWARD_ARMS picks the count rewards (registry names); count_hybrid's run is named grpo, as in main
  variants=()
  for reward in $REWARD_ARMS; do
    name=grpo_${reward#count_}
    [[ $reward == count_hybrid ]] && name=grpo
    variants+=("$name:$reward:1.0")
  done
  for v in "${variants[@]}"; do
    name=${v%%:*}
    ( stage_grpo "$name" "$WORK/sft" "$SFT_RCS" "${v#*:}" count_format:1.0
      stage_eval "${name}_id" test_id "$EVAL_TOKENS" "$WORK/$name:$name" ) &
    BG_PIDS+=($!)
  done
  wait_bg
  names=() grpo_args=()
  for v in "${variants[@]}"; do names+=("${v%%:*}"); grpo_args+=(--grpo "${v%%:*}=$WORK/${v%%:*}"); done
  report test_id "ActRep from scratch: GRPO reward ablation" sft "${names[@]}"
  copy_artifacts "${names[@]/#/$WORK/}"
  summarize "${grpo_args[@]}"
  ;;
ablation_mix)
  # Issue 20: after GRPO the answers on 11-20 repetitions went down while every reward pushed their
  # rollouts up (results/scratch/2026-12-07-h100-medium-sampled). One stop decision serves every count and
  # the large-count groups are few: GRPO on small or large counts only tells whether the count mix moves
  # the other counts' answers. MIX_ARMS: NAME=FLAGS;... (more `actrep grpo` flags, after GRPO_ARGS); the
  # run named grpo with no flags is main's (reused from it). Side by side, as in ablation_rewards.
  read -r -a rewards <<< "$GRPO_REWARDS"
  IFS=';' read -r -a arms <<< "$MIX_ARMS"
  names=() grpo_args=()
  for arm in "${arms[@]}"; do
    name=${arm%%=*}
    [[ $name =~ ^[A-Za-z0-9_.-]+$ && $arm == *=* ]] || { echo "MIX_ARMS: '$arm' is not NAME=FLAGS" >&2; exit 2; }
    names+=("$name") grpo_args+=(--grpo "$name=$WORK/$name")
  done
  stage_prepare
  stage_sft sft "$SFT_RCS"
  run_bg stage_eval sft_id test_id "$EVAL_TOKENS" "$WORK/sft:sft"
  for arm in "${arms[@]}"; do
    name=${arm%%=*}
    ( read -r -a more <<< "${arm#*=}"
      grpo_extra+=("${more[@]}")
      stage_grpo "$name" "$WORK/sft" "$SFT_RCS" "${rewards[@]}"
      stage_eval "${name}_id" test_id "$EVAL_TOKENS" "$WORK/$name:$name" ) &
    BG_PIDS+=($!)
  done
  wait_bg
  report test_id "ActRep from scratch: GRPO's count mix" sft "${names[@]}"
  copy_artifacts "${names[@]/#/$WORK/}"
  summarize "${grpo_args[@]}"
  ;;
seeds)
  stage_prepare
  first=${SEEDS%% *}
  read -r -a rewards <<< "$GRPO_REWARDS"
  read -r -a rest <<< "${SEEDS#"$first"}"
  read -r -a rates <<< "$GRPO_LRS"
  status_dir=$WORK/.seed_status
  rm -rf "$status_dir" && mkdir -p "$status_dir"
  # with equal lengths the sweep's run at the picked rate is the first seed's GRPO (the same command)
  grpo_dir() { if [[ $1 == "$first" && $SWEEP_STEPS == "$SEEDS_GRPO_STEPS" ]]; then echo "sweep_lr$GRPO_LR"; else echo "grpo_s$1"; fi; }
  # step 3 for one seed: GRPO from its SFT (an SFT that failed in step 1 is tried again here), then SFT and
  # GRPO on the same test clips; the exit status goes to status_dir, so a seed that fails loses only itself
  seed_runs() {
    local seed=$1 dir rc=0
    dir=$(grpo_dir "$seed")
    ( RUN_SEED=$seed GRPO_STEPS=$SEEDS_GRPO_STEPS
      stage_sft "sft_s$seed" "$SFT_RCS"
      stage_grpo "$dir" "$WORK/sft_s$seed" "$SFT_RCS" "${rewards[@]}"
      # both test sets side by side: the last seed's two evaluations were ~170 s of a run's end one after another
      local pids=() pid failed=0
      for set in test_id test_hard; do
        stage_eval "s${seed}_$set" "$set" "$EVAL_TOKENS" "$WORK/sft_s$seed:sft_s$seed" "$WORK/$dir:grpo_s$seed" &
        pids+=($!)
      done
      for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
      exit "$failed" ) &
    wait $! || rc=$?
    echo "$rc" > "$status_dir/$seed"
  }
  # One rate in GRPO_LRS (one picked by an earlier sweep, as for the ablations over seeds): the sweep picks
  # nothing, so every other seed's GRPO starts as soon as its SFT is done instead of after the sweep
  # (~200 s less of a three-seed run on one H100 by the seeds4 stage times); the sweep's run still scores the rate on validation.
  one_rate=
  if [[ ${#rates[@]} == 1 ]]; then
    one_rate=1 GRPO_LR=${rates[0]}
    log "one GRPO learning rate ($GRPO_LR): each seed's GRPO starts when its SFT is done; the sweep only scores it"
  fi
  # 1. SFT of every seed, SFT_SIDE_BY_SIDE at a time: the first seed's in the foreground, the others' in
  #    SFT_SIDE_BY_SIDE - 1 chains in the background; a seed whose SFT fails here
  #    tries again in step 3 and, failing again, loses only itself
  sft_chain() {  # the SFTs of seeds $@ one after another; with one rate each seed's GRPO starts when its SFT is done
    local seed
    for seed in "$@"; do
      ( RUN_SEED=$seed stage_sft "sft_s$seed" "$SFT_RCS" ) || true
      if [[ -n $one_rate ]]; then seed_runs "$seed" & fi
    done
    wait
  }
  chains=$(( SFT_SIDE_BY_SIDE - 1 ))
  ( for ((c = 0; c < chains; c++)); do
      chain=()
      for ((i = c; i < ${#rest[@]}; i += chains)); do chain+=("${rest[i]}"); done
      sft_chain "${chain[@]}" &
    done
    wait ) &
  sft_rest_pid=$!
  RUN_SEED=$first stage_sft "sft_s$first" "$SFT_RCS"
  # 2. GRPO's learning rate from a sweep on the validation split, from the first seed's SFT. The sweep
  #    runs as long as the final GRPO (SWEEP_STEPS = SEEDS_GRPO_STEPS): on 2026-12-06 a 40-step sweep
  #    picked 3e-5, which then lost 14 OBO points over 150 steps (results/scratch/2026-12-06-h100-seeds3).
  lr_runs=()
  for lr in "${rates[@]}"; do  # subshells: each run sees its own RUN_SEED / GRPO_* and every function
    ( RUN_SEED=$first GRPO_STEPS=$SWEEP_STEPS GRPO_LR=$lr
      stage_grpo "sweep_lr$lr" "$WORK/sft_s$first" "$SFT_RCS" "${rewards[@]}"
      stage_eval "sweep_lr$lr" valid "$EVAL_TOKENS" "$WORK/sweep_lr$lr:sweep_lr$lr" ) &
    BG_PIDS+=($!)
    lr_runs+=("$lr=$OUT/eval/valid/sweep_lr$lr")
  done
  # the SFT it starts from, on the same clips: sweep.json tells whether any rate beat no GRPO at all
  # (on 2026-12-06 the pick, 3e-6, gained 1.2 test points: the smallest rate may just change least)
  ( stage_eval "sweep_sft" valid "$EVAL_TOKENS" "$WORK/sft_s$first:sft_s$first" ) &
  BG_PIDS+=($!)
  if [[ -n $one_rate ]]; then  # a failed sweep run is the first seed's GRPO: step 3 tries it again
    for pid in "${BG_PIDS[@]}"; do wait "$pid" || true; done
    BG_PIDS=()
  else
    wait_bg
  fi
  if picked=$("$PY" results/scratch/seeds_summary.py pick_lr "${lr_runs[@]}" --reference "$OUT/eval/valid/sft_s$first" \
      --out "$OUT/sweep.json"); then
    [[ -n $one_rate ]] || log "GRPO learning rate from the validation sweep: $picked ($OUT/sweep.json)"
  else
    [[ -n $one_rate ]] || exit 1
    log "the sweep's validation run did not finish: no sweep.json"
  fi
  if [[ -z $one_rate ]]; then GRPO_LR=$picked; wait "$sft_rest_pid" || true; fi
  # 3. every seed (with one rate, the others started in step 1): GRPO from its SFT, side by side on the GPU
  seed_pids=()
  for seed in $SEEDS; do
    [[ -n $one_rate && $seed != "$first" ]] && continue
    seed_runs "$seed" &
    seed_pids+=($!)
  done
  wait "${seed_pids[@]}" || true
  [[ -z $one_rate ]] || wait "$sft_rest_pid" || true
  # a seed that fails loses only itself: the others are summarised, and a rerun of the same command
  # reuses every finished stage and redoes only what failed
  pairs=() failed=()
  for seed in $SEEDS; do
    if [[ $(cat "$status_dir/$seed" 2>/dev/null) == 0 ]]; then pairs+=(--seed "$seed" "sft_s$seed" "grpo_s$seed"); else failed+=("$seed"); fi
  done
  [[ ${#pairs[@]} -gt 0 ]] && "$PY" results/scratch/seeds_summary.py summary --out "$OUT" "${pairs[@]}" 2>&1 | tee -a "$OUT/run.log"
  # every sweep run once (the first seed's GRPO is one of them when the lengths match)
  copy_artifacts "$WORK/stage0" "${rates[@]/#/$WORK/sweep_lr}" \
    $(for seed in $SEEDS; do echo "$WORK/sft_s$seed"; dir=$(grpo_dir "$seed"); [[ $dir == sweep_lr* ]] || echo "$WORK/$dir"; done)
  if [[ ${#failed[@]} -gt 0 ]]; then
    log "seed(s) ${failed[*]} FAILED (their logs are in $OUT/logs); the summary has the others. The same command again reuses every finished stage."
    exit 1
  fi
  ;;
esac
log "finished in $(printf '%.0f' "$(elapsed)") s; results in $OUT"
