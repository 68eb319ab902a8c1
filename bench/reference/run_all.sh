#!/bin/sh
# The three reference runs of issue 14, one after another, one thread each:
#   RecDiff scripts/run_ciao.sh 150 epochs, DiffKG README lastfm 25 epochs on Last.FM HetRec,
#   DiffMM README tiktok 50 epochs on TikTok with the text stand-in.
# A run whose results/<run>/run.json says "finished" is skipped, so starting this again after
# an interruption resumes at the first unfinished run (that run starts over: the reference
# code cannot resume mid-run). Start it in the background:
#   nohup sh bench/reference/run_all.sh > /tmp/kgrec-reference-all.log 2>&1 &
# Repositories: MIRROR/HKUDS+<Name>/repo (where the fetch tool puts github:HKUDS/<Name>), or
# set DIFFKG_REPO, RECDIFF_REPO, DIFFMM_REPO to any clone or bare mirror.
set -u
cd "$(dirname "$0")/../.." || exit 1
PY=${PYTHON:-.venv/bin/python}
MIRROR=${MIRROR:-/work/.mirror}
RESULTS=bench/reference/results
finished() { grep -q '"status": "finished"' "$RESULTS/$1/run.json" 2>/dev/null; }

finished recdiff-ciao || $PY bench/reference/recdiff.py \
    --repo "${RECDIFF_REPO:-$MIRROR/HKUDS+RecDiff/repo}" --epochs 150 --threads 1
finished diffkg-lastfm-hetrec || $PY bench/reference/diffkg.py \
    --repo "${DIFFKG_REPO:-$MIRROR/HKUDS+DiffKG/repo}" --epochs 25 --threads 1 --log-kg-size
finished diffmm-tiktok || $PY bench/reference/diffmm.py \
    --repo "${DIFFMM_REPO:-$MIRROR/HKUDS+DiffMM/repo}" --epochs 50 --threads 1
