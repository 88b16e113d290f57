#!/usr/bin/env bash
# Run ON the device machine (the device tool's `run`, with carry [".whl"] after bench/gpu_wheels.sh here):
#   run(command="bash bench/gpu_run.sh", carry=[".whl"], timeout_s=540)
# Installs the carried wheels beside the image's torch, then runs bench/bench_gpu.py (checks + throughput);
# the JSON figures and the log come back through $OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,memory.total --format=csv || true
out=${OUT:-/tmp}
python3 bench/bench_gpu.py --out "$out" "$@" 2>&1 | tee "$out/bench_gpu.log"
