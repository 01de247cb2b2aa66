#!/usr/bin/env bash
# Creates (or refreshes) the project's virtual environment.
#
# Why a script and not just `pip install -e .`: PyPI's default torch wheel for Linux is a
# multi-GB CUDA build. On a machine without an NVIDIA GPU we install the CPU build first,
# so the declared range (torch>=2.4,<3) is already satisfied and pip pulls nothing more.
set -euo pipefail
VENV="${1:-.venv}"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip)

has_nvidia_gpu() {
    [ -e /proc/driver/nvidia/version ] || command -v nvidia-smi >/dev/null 2>&1
}

if ! "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
    if has_nvidia_gpu; then
        echo "setup: NVIDIA GPU found, installing the CUDA build of torch from PyPI"
        "${PIP[@]}" install "torch>=2.4,<3"
    elif "${PIP[@]}" install --no-deps --no-index "torch==2.13.0" >/dev/null 2>&1; then
        echo "setup: no NVIDIA GPU, installed the local CPU build of torch 2.13.0"
    else
        echo "setup: no NVIDIA GPU, installing the CPU build of torch 2.13.0"
        "${PIP[@]}" install --no-deps "torch==2.13.0" \
            --index-url https://download.pytorch.org/whl/cpu
    fi
fi
"${PIP[@]}" install -e ".[dev]"
