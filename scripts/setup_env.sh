#!/usr/bin/env bash
# Creates (or refreshes) the project's virtual environment.
#
# Why a script and not just `pip install -e .`: torch and torchvision must be a matched pair,
# and which pair depends on the machine. We install that pair first, so the declared ranges
# (torch>=2.4,<3, torchvision>=0.19) are already satisfied and pip pulls nothing more.
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

# torch and torchvision must come as a matched pair: PyPI's torchvision does not import beside
# a torch it was not built for ("operator torchvision::nms does not exist"), and torchmetrics
# then breaks `import pytorch_lightning` too. So both are pinned together where we choose the
# build, and the project's declared ranges stay open for users who bring their own.
if ! "$VENV/bin/python" -c "import torch, torchvision" >/dev/null 2>&1; then
    if has_nvidia_gpu; then
        echo "setup: NVIDIA GPU found, installing the CUDA build of torch and torchvision from PyPI"
        "${PIP[@]}" install "torch>=2.4,<3" "torchvision>=0.19"
    elif [ "$(uname -m)" = "aarch64" ]; then
        echo "setup: no NVIDIA GPU (aarch64), installing torch 2.9.1 + torchvision 0.24.1 (CPU)"
        "${PIP[@]}" install "torch==2.9.1" "torchvision==0.24.1"
    else
        # The x86_64 pair that lies on this project's build machines' disk (pip takes it from
        # there; elsewhere from PyPI). It is a CUDA build that runs on the CPU: about 5.5 GB.
        echo "setup: no NVIDIA GPU, installing torch 2.14.1 + torchvision 0.29.1 (about 5 minutes)"
        "${PIP[@]}" install "torch==2.14.1" "torchvision==0.29.1"
    fi
fi
"${PIP[@]}" install -e ".[dev]"
