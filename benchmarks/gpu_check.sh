#!/usr/bin/env bash
# benchmarks/gpu_check.py on a CUDA machine, from any folder; output also lands in $OUT (or the current folder).
#
# onnxruntime-gpu: ../shared/gpu/ort-gpu-parts.sh prepares it in parts (.ortgpu0 ... .ortgpuN); once its
# assemble.sh has installed it into /tmp/ortgpu, this script puts that folder first on PYTHONPATH. seqkit itself
# and the plugins/ packages are used from this checkout (no pip install needed: gpu_check.py registers their entry
# points from pyproject.toml when seqkit is not installed). Needs python3 with CUDA torch, onnx, onnxscript,
# pluggy, click, rich, numpy (the H100/H200 images have them).
#
#   bash benchmarks/gpu_check.sh              # full check, ~3-5 minutes
#   bash benchmarks/gpu_check.sh --quick      # fewer exports, small sizes
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ -d /tmp/ortgpu ]; then
  export PYTHONPATH="/tmp/ortgpu${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "nvidia-smi: none"
exec "${PYTHON:-python3}" "$root/benchmarks/gpu_check.py" --out "${OUT:-.}" "$@"
