#!/usr/bin/env bash
# GPU check: on a machine with an NVIDIA GPU, install the GPU build of TensorFlow in a
# virtual environment, train the default transformer on Beauty through the product's ML
# code, and write ${OUT:-var/bench}/gpu_check.json (device, GPU name, median epoch
# seconds, training seconds, validation and test NDCG@10, TensorFlow version).
#
#   bench/gpu_check.sh [extra bench.gpu_check options, e.g. --max-seconds 600]
#
# Run from the repository root. Environment:
#   DATA                  dataset folder (default ../shared/datasets/amazon_beauty)
#   OUT                   report folder (default var/bench)
#   GPU_CHECK_VENV        virtual environment, created if missing (default var/venv-gpu, ignored by git)
#   GPU_CHECK_SKIP_INSTALL=1  use the environment as it is (no pip)
#   GPU_CHECK_ALLOW_CPU=1     run without nvidia-smi (a smoke test of this script)
set -euo pipefail

DATA=${DATA:-../shared/datasets/amazon_beauty}
OUT=${OUT:-var/bench}
VENV=${GPU_CHECK_VENV:-var/venv-gpu}
ALLOW_CPU=${GPU_CHECK_ALLOW_CPU:-0}

if [[ ! -f requirements-gpu.txt || ! -d bench ]]; then
    echo "gpu_check: run me from the repository root (bench/gpu_check.sh)" >&2
    exit 2
fi
if ! command -v nvidia-smi >/dev/null 2>&1 && [[ "$ALLOW_CPU" != 1 ]]; then
    echo "gpu_check: nvidia-smi not found: this machine has no NVIDIA GPU (or no driver)." >&2
    echo "gpu_check: set GPU_CHECK_ALLOW_CPU=1 to run the check on the CPU anyway." >&2
    exit 2
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    python3 -m venv "$VENV"
fi
if [[ "${GPU_CHECK_SKIP_INSTALL:-0}" != 1 ]]; then
    "$VENV/bin/pip" install --quiet --upgrade pip
    "$VENV/bin/pip" install --quiet -r requirements-gpu.txt
    # requirements.txt pins tensorflow-cpu; both builds write the same `tensorflow`
    # package, so the CPU one goes and the GPU one is written again over its files.
    if "$VENV/bin/pip" show tensorflow-cpu >/dev/null 2>&1; then
        tf_pin=$(grep -o 'tensorflow\[and-cuda\]==[^ ]*' requirements-gpu.txt | cut -d= -f3)
        "$VENV/bin/pip" uninstall --quiet --yes tensorflow-cpu
        "$VENV/bin/pip" install --quiet --no-deps --force-reinstall "tensorflow==$tf_pin"
    fi
fi

require_gpu=(--require-gpu)
if [[ "$ALLOW_CPU" == 1 ]]; then
    require_gpu=()
fi
if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi -L
else
    echo "gpu_check: no nvidia-smi; GPU_CHECK_ALLOW_CPU=1, so training on the CPU" >&2
fi

mkdir -p "$OUT"
"$VENV/bin/python" -m bench.gpu_check --data "$DATA" --json "$OUT/gpu_check.json" \
    "${require_gpu[@]}" "$@"
