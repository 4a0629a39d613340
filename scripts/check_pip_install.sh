#!/usr/bin/env bash
# The plain-pip path, as a library user takes it (CI runs this after `make test`):
#
#   scripts/check_pip_install.sh [WORK_DIR]
#
# A fresh venv that already has a torch (CPU torch 2.13 here) + `pip install -e .`:
#   - torch must stay the same release (pip must not replace it);
#   - `actrep count` (no model) must work;
#   - no Gradio (the `app` extra), and `actrep app` names that extra in one line;
#   - `actrep model tiny` must either work or say in one line which torchvision to install; after that
#     one command it must work, still on the same torch;
#   - scripts/bootstrap.sh (behind `make demo` / `make test`) run by that venv's python must give a
#     project venv that uses that torch, not a second one.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if [ -n "${1:-}" ]; then WORK="$1"; else WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT; fi  # the venv is ~2 GB
PYTHON="${PYTHON:-python3}"
TORCH="${TORCH:-torch==2.13.0}"
VENV="$WORK/venv"
say() { echo "[pip-check] $*"; }
fail() { echo "[pip-check] FAILED: $*" >&2; exit 1; }

"$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)
quiet() { "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }
torch_version() { "$VENV/bin/python" -c "import torch; print(torch.__version__)"; }

say "venv with $TORCH, then pip install -e ."
quiet "${PIP[@]}" "$TORCH"
before=$(torch_version)
quiet "${PIP[@]}" -e "$ROOT"
[ "$(torch_version)" = "$before" ] || fail "pip install -e . replaced torch $before by $(torch_version)"
say "torch kept: $before"

cd "$WORK"
"$VENV/bin/actrep" synth --output_dir clip --n 1 --seed 5 --splits test=1 --size 96 --fps 8 --duration 12 \
    --min_count 4 --max_count 4 --families arm_curl --preset easy --quiet
"$VENV/bin/actrep" count clip/video/test/ --action "arm curl" --output_dir count | tee count.log
grep -q "repetitions" count.log || fail "actrep count printed no count"

if "$VENV/bin/python" -c "import gradio" 2>/dev/null; then fail "pip install -e . installed gradio (the app extra's)"; fi
"$VENV/bin/actrep" app 2> app.err && fail "actrep app started without gradio"
{ [ "$(wc -l < app.err)" -eq 1 ] && grep -q "actrep\[app\]" app.err; } || { cat app.err; fail "actrep app without gradio: not one line naming the extra"; }
say "the core install has no gradio; actrep app names the extra"

if ! "$VENV/bin/actrep" model tiny --output_dir tiny 2> tiny.err; then
  cat tiny.err
  [ "$(wc -l < tiny.err)" -eq 1 ] || fail "actrep model tiny failed with more than one line"
  instruction=$(grep -o "pip install '[^']*'" tiny.err) || fail "no pip instruction in the error"
  say "following the instruction: $instruction"
  quiet "${PIP[@]}" "$(echo "$instruction" | sed "s/pip install '\(.*\)'/\1/")"
  "$VENV/bin/actrep" model tiny --output_dir tiny || fail "actrep model tiny failed after the instruction"
fi
[ "$(torch_version)" = "$before" ] || fail "torch changed to $(torch_version)"
say "ok: torch $before kept, actrep count and actrep model tiny work"

# `make demo` / `make test` run from a venv that has its own torch: the project venv must use that torch
say "scripts/bootstrap.sh run by the venv's python: its torch, not a second one"
PYTHON="$VENV/bin/python" bash "$ROOT/scripts/bootstrap.sh" "$WORK/project-venv" > bootstrap.log 2>&1 || { cat bootstrap.log; fail "bootstrap failed"; }
grep -q "installing torch" bootstrap.log && { cat bootstrap.log; fail "bootstrap installed a second torch"; }
where=$("$WORK/project-venv/bin/python" -c "import torch; print(torch.__file__)")
case $where in "$VENV"/*) ;; *) fail "the project venv imports torch from $where, not from $VENV";; esac
"$WORK/project-venv/bin/actrep" model tiny --output_dir tiny2 > /dev/null || fail "actrep model tiny failed in the project venv"
say "ok: the project venv uses $VENV's torch $before"
