#!/usr/bin/env bash
# Stage-0 variants side by side on one GPU (docs/from_scratch.md, "Stage 0 sweep"):
#
#   bash results/scratch/stage0_sweep.sh OUT SECONDS [NAME="FLAGS" ...]
#
# Renders the main run's training set (same seed, size and preset as results/scratch/run.sh), a
# held-out probe set and a one-family (squat) pair of sets, builds the same random-init model (and
# a small-vision one), then trains the stage-0 variants at once (CPU decoders split between them)
# for SECONDS each (the same time, not steps: variants differ in speed) and writes every variant's log
# and stage0_metrics.json (probe: phase error, start F1, count read off the head) to OUT. FLAGS are added
# to a common command line; {DATA} and {WORK} in them are replaced. Without variants: the learning-rate / head sweep of run 1.
# FAMILY_SETS="NAME=family,family ..." also renders DATA/train_NAME and DATA/test_NAME with only those
# families (for variants such as objects4="--train_data {DATA}/train_objects4 --eval_data {DATA}/test_objects4").
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
SECONDS_EACH=${2:-200}
shift 2 || shift $#
PY=${PYTHON:-$ROOT/.venv/bin/python}
[[ -x $PY ]] || PY=$(command -v python3)
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
: "${WORK:=$ROOT/runs/scratch/sweep}" "${N_TRAIN:=6000}" "${N_TEST:=256}" "${WORKERS_EACH:=4}" "${SIZE:=84}"
DATA=$WORK/data
PIXELS=$(( SIZE * SIZE ))
synth=(--size "$SIZE" --fps 8 --duration 10 --min_count 1 --max_count 12 --workers 14 --quiet --overwrite --preset easy)
mkdir -p "$WORK" "$OUT/logs"
{ "$PY" -m actrep synth --out "$DATA/train" --n "$N_TRAIN" --seed 0 --splits train=1 "${synth[@]}"
  "$PY" -m actrep synth --out "$DATA/test_id" --n "$N_TEST" --seed 1001 --splits test=1 "${synth[@]}"
  "$PY" -m actrep model tiny --family qwen2_5_vl --out "$WORK/model" --layers 6 --hidden 384 --heads 6 --kv_heads 2 \
    --vision_depth 4 --vision_hidden 256 --vision_heads 4 --init_std 0.02 --seed 0
  "$PY" -m actrep model tiny --family qwen2_5_vl --out "$WORK/model_small_vision" --layers 6 --hidden 384 --heads 6 --kv_heads 2 \
    --vision_depth 2 --vision_hidden 64 --vision_heads 2 --init_std 0.02 --seed 0
  for m in model model_small_vision; do
    "$PY" -c "import json, sys; p = sys.argv[1] + '/config.json'; c = json.load(open(p)); c['vision_config']['tokens_per_second'] = 4; json.dump(c, open(p, 'w'), indent=2)" "$WORK/$m"
  done
  "$PY" -m actrep synth --out "$DATA/train_squat" --n $(( N_TRAIN / 2 )) --seed 5 --splits train=1 --families squat "${synth[@]}"
  "$PY" -m actrep synth --out "$DATA/test_squat" --n "$N_TEST" --seed 1005 --splits test=1 --families squat "${synth[@]}"
  seed=10
  for set in ${FAMILY_SETS:-}; do
    seed=$(( seed + 1 ))
    "$PY" -m actrep synth --out "$DATA/train_${set%%=*}" --n "$N_TRAIN" --seed "$seed" --splits train=1 --families "${set#*=}" "${synth[@]}"
    "$PY" -m actrep synth --out "$DATA/test_${set%%=*}" --n "$N_TEST" --seed $(( seed + 1000 )) --splits test=1 --families "${set#*=}" "${synth[@]}"
  done
} > "$OUT/logs/setup.log" 2>&1
# name -> flags on top of the common command line (later flags win)
declare -A VARIANTS=()
if [[ $# -eq 0 ]]; then
  set -- lr1e-3="--learning_rate 1e-3" lr3e-3="--learning_rate 3e-3" mlp_head="--learning_rate 1e-3 --head_hidden 256"
fi
for spec in "$@"; do VARIANTS[${spec%%=*}]=${spec#*=}; done
pids=()
for name in "${!VARIANTS[@]}"; do
  flags=${VARIANTS[$name]//\{DATA\}/$DATA}
  flags=${flags//\{WORK\}/$WORK}
  cmd="$PY -m actrep stage0 --config recipes/scratch/stage0.yaml --model_name_or_path $WORK/model --train_data $DATA/train --eval_data $DATA/test_id --output_dir $WORK/$name --max_time_s $SECONDS_EACH --max_steps 1000000 --num_workers $WORKERS_EACH --eval_limit $N_TEST --fps 8 --max_frames 256 --min_pixels $PIXELS --max_pixels $PIXELS $flags"
  echo "$cmd" >> "$OUT/commands.sh"
  # shellcheck disable=SC2086
  $cmd > "$OUT/logs/$name.log" 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || echo "a variant failed (see $OUT/logs)"; done
for name in "${!VARIANTS[@]}"; do
  mkdir -p "$OUT/$name"
  cp "$WORK/$name/stage0_metrics.json" "$WORK/$name/metrics.jsonl" "$OUT/$name/" 2>/dev/null || true
done
"$PY" - "$OUT" <<'PY'
import json, sys
from pathlib import Path
rows = []
for path in sorted(Path(sys.argv[1]).glob("*/stage0_metrics.json")):
    m = json.loads(path.read_text())
    probe = next(iter(m["probe"].values()), {})
    rows.append(f"| {path.parent.name} | {m['train']['steps']} | {m['train']['clips_per_s']:.0f} | {m['train']['final'].get('loss/phase', float('nan')):.3f} | "
                f"{probe.get('phase_error_deg', float('nan')):.1f} | {probe.get('start_f1', float('nan')):.3f} | "
                f"{probe.get('count_from_starts', {}).get('obo', float('nan')):.3f} | {probe.get('count_from_phase', {}).get('obo', float('nan')):.3f} |")
table = "| variant | steps | clips/s | final phase loss | phase error (deg) | start F1 | OBO (starts) | OBO (phase) |\n|---|---|---|---|---|---|---|---|\n" + "\n".join(rows)
(Path(sys.argv[1]) / "summary.md").write_text(table + "\n")
print(table)
PY
