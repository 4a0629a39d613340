#!/bin/bash
# run.sh's PYTHON on the device: `-m actrep sft` under the exit watch, every other call unchanged.
PY="$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/python"
if [[ "$1" == -m && "$2" == actrep && "$3" == sft ]]; then
  exec "$PY" "$(dirname "$0")/exitwatch.py" actrep "${@:3}"
fi
exec "$PY" "$@"
