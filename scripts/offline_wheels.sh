#!/usr/bin/env bash
# Wheels of what a GPU image that already has torch (and numpy, tqdm, tensorboard, PyYAML) lacks to run
# train.py and scripts/bench.py, for a machine with no internet (a cluster's compute node, a lent GPU box).
#
#   scripts/offline_wheels.sh [DEST=.whl] [PYTHON_VERSION=3.12]      # here, with internet and .venv
#   python3 -m pip install --no-index --no-deps --target /tmp/site DEST/*.whl   # there
#   PYTHONPATH=/tmp/site:. python3 scripts/bench.py --gpu-only                  # there (. = this checkout)
#
# The versions are the ones installed in .venv (what the tests ran against). ale-py is a compiled
# wheel, fetched for the target's Python; the others are pure Python, built or fetched for any
# (antlr4-python3-runtime 4.9.3, which hydra pins, exists only as a source distribution).
set -euo pipefail
dest=${1:-.whl}
pyver=${2:-3.12}
py=${PY:-.venv/bin/python}
mkdir -p "$dest"
pins=$("$py" - <<'EOF'
from importlib.metadata import version
names = ["ale-py", "gymnasium", "farama-notifications", "hydra-core", "omegaconf", "antlr4-python3-runtime"]
print(" ".join(f"{name}=={version(name)}" for name in names))
EOF
)
read -r ale pure <<<"$pins"
"$py" -m pip download -q --no-deps --only-binary=:all: --implementation cp --python-version "$pyver" \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 -d "$dest" "$ale"
# shellcheck disable=SC2086  # one argument per pin
"$py" -m pip wheel -q --no-deps -w "$dest" $pure
ls -l "$dest"
