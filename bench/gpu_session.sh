#!/usr/bin/env bash
# Every GPU measurement of docs/benchmarks.md and docs/results/diffmm.md in one call of the
# device tool (one lease is ~15 minutes, start-up included). The GPU machine has torch 2.x with
# CUDA and no DGL, and cannot reach ../shared/data, so the datasets travel in .devdata/
# (ignored by git; `cp -r ../shared/data/{lastfm-hetrec,tiktok} .devdata/` before the call):
#   run(command="bash bench/gpu_session.sh", carry=[".devdata"], timeout_s=560)
# Results land in $OUT (the device tool fetches them): the tables as text, the runs as a tarball.
set -uo pipefail
OUT=${OUT:-/tmp/gpu_out}
DATA=${DATA:-.devdata}
DIFFMM_BUDGET_S=${DIFFMM_BUDGET_S:-330}
DIFFMM_EPOCHS=${DIFFMM_EPOCHS:-10}
export PYTHONUNBUFFERED=1
mkdir -p "$OUT"
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c "import torch, numpy; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'numpy', numpy.__version__)"
  nproc
} > "$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"

python3 -m pip install -q --no-deps --no-build-isolation -e . || exit 1
for plugin in plugins/*/; do python3 -m pip install -q --no-deps --no-build-isolation -e "$plugin" || exit 1; done

# 0. Smoke: one epoch on the default synthetic dataset; stop here (cheaply) if kgrec cannot run.
kgrec run --augmenter none --recommender lightgcn --device cuda --backend torch --epochs 1 \
  --quiet --out /tmp/smoke > "$OUT/smoke.txt" 2>&1 || { cat "$OUT/smoke.txt"; exit 1; }

# 1. LightGCN epoch + full evaluation on the GPU (torch backend; the DGL row says why it cannot run).
timeout 150 python3 bench/lightgcn_epoch.py --devices cuda --backends torch,dgl --data-root "$DATA" \
  2>&1 | tee "$OUT/lightgcn_gpu.txt"

# 2. DiffKG on Last.FM: two epochs on the GPU, for its epoch time beside the CPU figure.
timeout 60 kgrec run --augmenter diffkg --recommender lightgcn --dataset "$DATA/lastfm-hetrec" \
  --device cuda --backend torch --quiet --out /tmp/diffkg_gpu --set preset=lastfm \
  --set train.lr=1e-2 --epochs 2 > "$OUT/diffkg_gpu.txt" 2>&1
cp /tmp/diffkg_gpu/metrics.json "$OUT/diffkg_gpu_metrics.json" 2>/dev/null

# 3. The DiffMM table on TikTok, seed by seed, inside a time budget; tabulate what finished.
timeout "$DIFFMM_BUDGET_S" python3 bench/diffmm_results.py --device cuda --dataset "$DATA/tiktok" \
  --epochs "$DIFFMM_EPOCHS" --out /tmp/diffmm_gpu 2>&1 | tail -n 3
python3 bench/diffmm_results.py --device cuda --epochs "$DIFFMM_EPOCHS" --out /tmp/diffmm_gpu \
  --table-only | tee "$OUT/diffmm_gpu.txt"
tar czf "$OUT/diffmm_gpu_runs.tgz" --exclude='*.pt' -C /tmp diffmm_gpu
