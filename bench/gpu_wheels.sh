#!/usr/bin/env bash
# Run HERE (not on the device machine) before the one device run: downloads, into .whl/ (git-ignored), the
# wheels of the packages slamdunk_lab needs that the device image lacks (pydantic and its own needs, with a
# typing-extensions new enough for it), for the device's Python 3.12 on x86-64. The device image already has
# torch, numpy, safetensors and tokenizers; nothing else of ours is imported by bench/bench_gpu.py.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .whl && mkdir -p .whl
PY=${PYTHON:-.venv/bin/python}
# the same versions as the development venv, so what runs there is what was tested here
pins=$($PY - <<'PY'
from importlib.metadata import version
names = ("pydantic", "pydantic-core", "annotated-types", "typing-inspection", "typing-extensions")
print(" ".join(f"{n}=={version(n)}" for n in names))
PY
)
$PY -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl $pins
ls -1 .whl
