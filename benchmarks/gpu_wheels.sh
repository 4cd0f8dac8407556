#!/usr/bin/env bash
# Prepare what benchmarks/gpu_check.py needs on the offline GPU machine, here where PyPI can be reached:
#   benchmarks/gpu_carry/wheels/  Jittor 1.3.11.0 (built from its pure-source sdist) and the small pure-Python
#                                 wheels it and the tests need (astunparse, six, wheel, tqdm, pytest and its deps);
#   benchmarks/gpu_carry/lego/    the lego scene for step c: the 100 training views, 8 val and 8 test views
#                                 (every 25th), ~48 MB (skipped with --no-data or when ../shared/data has no lego).
# benchmarks/gpu_carry/ is git-ignored; the device tool carries it (carry: ["benchmarks/gpu_carry"]). On the
# device, gpu_check.py installs the wheels with `pip install --no-index --find-links benchmarks/gpu_carry/wheels`.
# numpy and pillow are not included (platform wheels, ~25 MB): the device's Python must have them.
# Usage: bash benchmarks/gpu_wheels.sh [--no-data]
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/gpu_carry/wheels
mkdir -p "$out"
python -m pip wheel --quiet --no-deps --wheel-dir "$out" \
    jittor==1.3.11.0 astunparse six wheel tqdm pytest pluggy iniconfig packaging pygments
ls -l "$out"
if [ "${1:-}" != "--no-data" ]; then
    python benchmarks/gpu_check.py --prepare-data benchmarks/gpu_carry/lego
fi
du -sh benchmarks/gpu_carry
