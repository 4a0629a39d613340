#!/bin/bash
# Device job (thirteenth session, the last ~300 s): GPU check of the decoding change (.whl/gencheck.py)
cd "$(dirname "$0")/.."
unset OUT
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
R=/tmp/res; rm -rf $R; mkdir -p $R
{ date; bash .whl/install.sh; } > $R/install.log 2>&1
export PYTHONPATH=/tmp/site
{ date
  python3 -m venv --system-site-packages .venv
  python3 scripts/link_parent_env.py .venv
  .venv/bin/python -m pip install -q --no-deps --no-build-isolation --no-index -e . && touch .venv/.bootstrapped
  .venv/bin/python -c "import torch, transformers, trl, actrep; print(torch.__version__, transformers.__version__, trl.__version__, torch.cuda.is_available())"
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
  date; } > $R/venv.log 2>&1
{ .venv/bin/python results/generation/gencheck.py > $R/gencheck_stdout.txt; echo "rc $?"; } > $R/gencheck.log 2>&1   # ran as .whl/gencheck.py
touch $R/ALLDONE
