#!/bin/bash
# Equal-steps ablation row (docs/benchmarks.md, "Learning fast"): train the cpu preset plus overrides for a fixed
# number of steps (so the machine's load changes the wall time, not the result), evaluate, print one line.
#   bash benchmarks/equal_steps.sh NAME SCENE FACTOR STEPS [--set key=value ...]
# The runs go to ${OUT:-/tmp/equal_steps}/NAME; benchmarks/results/demo_equal_steps.json holds the rows we quote.
set -euo pipefail
name=$1; data=$2; factor=$3; steps=$4; shift 4
out=${OUT:-/tmp/equal_steps}/$name
rm -rf "$out"; mkdir -p "$(dirname "$out")"
cd "$(dirname "$0")/.."
python -m jneusample train --data "$data" --factor "$factor" --preset cpu --steps "$steps" --out "$out" \
  --no-progress --set train.validate_every=100000 "$@" > "$out.log" 2>&1
python -m jneusample eval --run "$out" --lpips none --skip "${SKIP:-1}" >> "$out.log" 2>&1
python - "$out" "$name" <<'PY'
import json, sys
out, name = sys.argv[1:]
r = json.load(open(f"{out}/eval_test/results.json"))
m = [json.loads(l) for l in open(f"{out}/metrics.jsonl") if '"loss"' in l]
print(name, "test_psnr=%.2f" % r["psnr"], "ssim=%.3f" % r["ssim"], "steps=%d" % m[-1]["step"])
PY
