#!/usr/bin/env bash
# Create RecBole 1.2.1's own environment for bench/peer/recbole_vs_kgrec.py (idempotent).
#
# RecBole never runs in the project venv. Its environment pins scipy 1.11.4 and pandas 2.1.4:
# newer scipy breaks RecBole 1.2.1's LightGCN adjacency build (scipy.sparse dok/coo API) and
# newer pandas its dataset code. torch is not downloaded again: a .pth file makes the project
# venv's site-packages visible AFTER this venv's own, so RecBole's pinned packages win and
# only torch (and what else is missing here) comes from the project venv.
#
#   bash bench/peer/setup_recbole.sh            # default: /tmp/recbole-venv
#   RECBOLE_VENV=/elsewhere bash bench/peer/setup_recbole.sh
set -euo pipefail

VENV=${RECBOLE_VENV:-/tmp/recbole-venv}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
PROJECT_PY=${PROJECT_PY:-$REPO/.venv/bin/python}
PY=${PYTHON:-python3}

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"

# RecBole's requirements (its wheel's Requires-Dist) except torch, which comes from the
# project venv. recbole and thop (whose only requirement is torch) go in with --no-deps so
# that pip never resolves torch (it would fetch a multi-GB CUDA build).
# ray (<=2.6.3) is only imported by recbole.quick_start (hyper-parameter tuning); the bench
# drives RecBole through its Config / data / model / trainer API and does not need it, so it
# is installed only if a wheel for this Python exists (it is tried, a failure is tolerated).
REQS=(
  "scipy==1.11.4" "pandas==2.1.4" "numpy==1.26.4"
  "tqdm>=4.48.2" "colorlog==4.7.2" "colorama==0.4.4" "scikit-learn>=0.23.2,<1.6"
  "pyyaml>=5.1.0" "tensorboard>=2.5.0" "tabulate>=0.8.10"
  "plotly>=4.0.0" "texttable>=0.9.0" "psutil>=5.9.0"
)
NODEPS=("recbole==1.2.1" "thop>=0.1.1.post2207130030")
if ! "$VENV/bin/python" -c "import recbole, scipy, pandas, sys
assert recbole.__version__ == '1.2.1' and scipy.__version__ == '1.11.4' and pandas.__version__ == '2.1.4'
" 2>/dev/null; then
  "$VENV/bin/python" -m pip install -q "${REQS[@]}"
  "$VENV/bin/python" -m pip install -q --no-deps "${NODEPS[@]}"
  "$VENV/bin/python" -m pip install -q "ray>=1.13.0,<=2.6.3" \
    || echo "note: ray not installed (only recbole.quick_start needs it; the bench does not)"
fi

# The project venv's site-packages, after this venv's own (a .pth line is appended to sys.path).
SITE=$("$VENV/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
PROJECT_SITE=$("$PROJECT_PY" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
echo "$PROJECT_SITE" > "$SITE/zz_project_venv.pth"

"$VENV/bin/python" - <<'PY'
import sys
import torch, scipy, pandas, numpy, recbole
print(f"recbole {recbole.__version__}, torch {torch.__version__} ({torch.__file__}), "
      f"scipy {scipy.__version__}, pandas {pandas.__version__}, numpy {numpy.__version__}, "
      f"python {sys.version.split()[0]}")
assert recbole.__version__ == "1.2.1", recbole.__version__
assert scipy.__version__ == "1.11.4", scipy.__version__
assert pandas.__version__ == "2.1.4", pandas.__version__
assert "recbole-venv" in scipy.__file__ or sys.prefix in scipy.__file__, scipy.__file__
PY
