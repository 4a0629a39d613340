#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment and install everything into it.
#
#   scripts/bootstrap.sh [VENV_DIR]      (default .venv; `make demo` / `make test` call this)
#
# torch is the one heavy dependency and the one a GPU user already has: when the interpreter that
# creates the venv can import torch, the venv sees it (--system-site-packages) and nothing touches
# it. Otherwise torch==2.13.0 is installed (a CPU wheel on the dev machines) and torchvision is
# chosen to match it with --no-deps, so pip never "upgrades" torch to a multi-GB CUDA build.
set -euo pipefail
VENV="${1:-.venv}"
PYTHON="${PYTHON:-python3}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

if [ ! -x "$VENV/bin/python" ]; then
  if "$PYTHON" -c "import torch" >/dev/null 2>&1; then
    echo "[bootstrap] using the existing torch of $PYTHON ($("$PYTHON" -c 'import torch; print(torch.__version__)'))"
    "$PYTHON" -m venv --system-site-packages "$VENV"
    "$PYTHON" "$ROOT/scripts/link_parent_env.py" "$VENV"  # when $PYTHON is a venv's, see its torch too
  else
    "$PYTHON" -m venv "$VENV"
  fi
fi
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)
# Some machines list local package mirrors that do not exist; pip warns once per package.
quiet() { "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }

if ! "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
  echo "[bootstrap] installing torch==2.13.0"
  quiet "${PIP[@]}" "torch==2.13.0"
fi
if ! "$VENV/bin/python" -m pip show -q torchvision >/dev/null 2>&1; then
  # torchvision 0.(N+15) pairs with torch 2.N.
  tv=$("$VENV/bin/python" -c "from importlib.metadata import version; minor = int(version('torch').split('.')[1]); print(f'0.{minor + 15}.*')")
  echo "[bootstrap] installing torchvision==$tv to match torch"
  quiet "${PIP[@]}" --no-deps "torchvision==$tv"
fi
echo "[bootstrap] installing actrep and its pinned dependencies"
quiet "${PIP[@]}" -e "$ROOT[dev]"
# DeepSpeed (ZeRO-2/3 recipes) builds from source against the torch installed above, so it needs
# that torch in the build environment: no build isolation. Its CUDA ops are compiled on first use.
if ! "$VENV/bin/python" -m pip show -q deepspeed >/dev/null 2>&1; then
  echo "[bootstrap] installing deepspeed"
  quiet "${PIP[@]}" --no-build-isolation "deepspeed==0.19.8"
fi
"$VENV/bin/python" -c "import actrep, transformers, trl; print(f'[bootstrap] actrep {actrep.__version__}, transformers {transformers.__version__}, trl {trl.__version__}')"
touch "$VENV/.bootstrapped"
