#!/bin/bash
# One lever at a time on the demo scene, 3-minute budget: `train --preset cpu --max-minutes 3` with the given
# overrides, then `eval` (test split, no LPIPS); appends a JSON row to $ROWS (default /tmp/demo_levers.jsonl).
#   bash benchmarks/demo_levers.sh NAME [--set key=value ...]
# benchmarks/results/demo_levers_3min.json was made from such rows (see its "runs" and "notes").
set -e
name=$1; shift
repo=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-/tmp/demo_levers}/$name
rows=${ROWS:-/tmp/demo_levers.jsonl}
rm -rf "$out"
cd "$repo"
start=$(date +%s)
python -m jneusample train --data jneusample/assets/demo_scene --preset cpu --max-minutes 3 --out "$out" \
    --no-progress "$@" > "$out.train.log" 2>&1
mid=$(date +%s)
python -m jneusample eval --run "$out" --lpips none --no-progress > "$out.eval.log" 2>&1
end=$(date +%s)
python - "$out" "$name" $((mid - start)) $((end - mid)) "$*" "$rows" <<'PY'
import glob, json, os, sys
out, name, train_s, eval_s, sets, rows = sys.argv[1:7]
result = json.load(open(glob.glob(out + "/eval_test*/results.json")[0]))
lines = [json.loads(l) for l in open(out + "/metrics.jsonl")]
row = {"name": name, "overrides": sets, "test_psnr": round(result["psnr"], 3), "test_ssim": round(result["ssim"], 4),
       "steps": max(l["step"] for l in lines), "train_wall_s": int(train_s), "eval_wall_s": int(eval_s),
       "val": [(l["step"], round(l["val_psnr"], 2)) for l in lines if "val_psnr" in l],
       "load_average_at_end": os.getloadavg()[0]}
print(json.dumps(row))
open(rows, "a").write(json.dumps(row) + "\n")
PY
