#!/usr/bin/env bash
# Issue 26's GPU check, one command on a CUDA machine (no download: models at random init from
# the shipped configs). Under 10 minutes on one H100/H200:
#   bash scripts/bench/gpu_check.sh            # writes docs/gpu/<card>_<date>.jsonl, runs pytest -m gpu
# Plain vs adaptive engine at batch 1, 8 and 64, eager and compiled, with dynamic and static
# caches, vs HF generate (dynamic and static cache); batch 1 also vs the original's loop.
set -uo pipefail
cd "$(dirname "$0")/../.."
CARD=$(python -c "import torch; print(torch.cuda.get_device_name(0).replace(' ', '_'))")
OUT=docs/gpu/${CARD}_$(date +%F).jsonl
CFG=scripts/configs/qwen2.5-0.5b.json
for B in 1 8 64; do
    timeout 150 python scripts/bench/benchmark.py --config $CFG --device cuda --dtype bfloat16 \
        --batch $B --new-tokens 128 --sections throughput --compile --static --repeats 3 \
        --json /tmp/gpu_b$B.json > /tmp/gpu_b$B.log 2>&1
    echo "batch $B rc $?"; tail -1 /tmp/gpu_b$B.log
    [ -f /tmp/gpu_b$B.json ] && python -c "import json,sys; print(json.dumps(json.load(open('/tmp/gpu_b$B.json'))))" >> "$OUT"
done
timeout 120 python scripts/bench/benchmark.py --config $CFG --device cuda --dtype bfloat16 \
    --sections batch1 --batch1-tokens 64 --compile --json /tmp/gpu_batch1.json > /tmp/gpu_batch1.log 2>&1
echo "batch1 rc $?"; tail -1 /tmp/gpu_batch1.log
[ -f /tmp/gpu_batch1.json ] && python -c "import json; print(json.dumps(json.load(open('/tmp/gpu_batch1.json'))))" >> "$OUT"
# the adaptive step's pool: chunked exact top-k vs torch.topk (measured on CPU only so far)
timeout 60 python scripts/bench/bench_pool.py --device cuda --batch 64 2>&1 | tail -9
# kernels one eager adaptive step runs on the card (the CPU launch proxy read 724)
timeout 60 python scripts/bench/bench_step_ops.py --device cuda 2>&1 | grep "aten ops"
timeout 200 python -m pytest -q -p no:cacheprovider -m gpu tests/ 2>&1 | tail -15
echo "wrote $OUT"
