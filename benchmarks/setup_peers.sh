#!/usr/bin/env bash
# Creates the peers' environments for the benchmarks under one folder.
#
#   benchmarks/setup_peers.sh [DIR]      (default: $GRAPHNSL_PEERS_DIR or ~/.cache/graphnsl/peers)
#
# DIR/nsl/   virtual environment: TensorFlow, tf-keras (legacy Keras 2, the only Keras NSL's
#            wrappers run on) and neural-structured-learning 1.4.0, NSL's last release
# DIR/pyg/   virtual environment: torch 2.13.0 (CPU) and torch_geometric
# DIR/*.py   the peer scripts (copied from $PEER_SCRIPTS, default ../shared/peers beside the
#            repository), so each benchmark needs only `--peers_dir=DIR` (or
#            GRAPHNSL_PEERS_DIR=DIR)
#
# Environment: PYTHON (the interpreter the venvs are made from, default python3),
# TF_VERSION (default: the TensorFlow version of PYTHON, else 2.21.0), PEER_SCRIPTS,
# FORCE=1 (rebuild a venv that already works). Each venv is checked by importing its peer;
# one that already passes the check is kept. Safe to rerun.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="${1:-${GRAPHNSL_PEERS_DIR:-$HOME/.cache/graphnsl/peers}}"
python="${PYTHON:-python3}"
scripts="${PEER_SCRIPTS:-$here/../../shared/peers}"
if [[ ! -d "$scripts" && -d /work/shared/peers ]]; then
    scripts=/work/shared/peers
fi
if [[ $# -gt 1 || "${1:-}" == -* ]]; then
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
if ! command -v "$python" > /dev/null; then
    echo "setup_peers.sh: error: no interpreter '$python'; set PYTHON=/path/to/python3.11" >&2
    exit 1
fi
if [[ ! -f "$scripts/nsl_pack_nbrs.py" ]]; then
    echo "setup_peers.sh: error: no peer scripts in '$scripts'; set PEER_SCRIPTS=DIR" >&2
    exit 1
fi
tf_version="${TF_VERSION:-$("$python" -c 'import tensorflow as tf; print(tf.__version__)' \
    2> /dev/null || echo 2.21.0)}"
tf_minor="${tf_version%.*}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

nsl_check='
import types, tensorflow as tf
if not hasattr(tf, "estimator"):
    tf.estimator = types.SimpleNamespace(ModeKeys=None, EstimatorSpec=None, Estimator=None)
import neural_structured_learning as nsl, tf_keras
print("nsl", nsl.__version__, "tensorflow", tf.__version__, "tf_keras", tf_keras.__version__)
'
pyg_check='
import torch, torch_geometric
print("torch", torch.__version__, "torch_geometric", torch_geometric.__version__)
'

# make_venv NAME CHECK PACKAGE...: creates DIR/NAME unless it passes CHECK, installs, checks.
make_venv() {
    local name="$1" check="$2"
    shift 2
    local venv="$dir/$name"
    if [[ -z "${FORCE:-}" && -x "$venv/bin/python" ]] &&
        TF_CPP_MIN_LOG_LEVEL=3 TF_USE_LEGACY_KERAS=1 "$venv/bin/python" -c "$check" \
            > /dev/null 2>&1; then
        echo "$name: $venv already works; kept (FORCE=1 rebuilds it)"
        return
    fi
    echo "$name: creating $venv with $*"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet "$@"
    echo -n "$name: "
    TF_CPP_MIN_LOG_LEVEL=3 TF_USE_LEGACY_KERAS=1 "$venv/bin/python" -c "$check" 2> /dev/null
}

cp "$scripts"/*.py "$scripts"/README.md "$dir"/ 2> /dev/null || cp "$scripts"/*.py "$dir"/
echo "scripts: copied $(ls "$scripts"/*.py | wc -l) peer scripts from $scripts to $dir"
make_venv nsl "$nsl_check" "tensorflow==$tf_minor.*" "tf-keras==$tf_minor.*" \
    "neural-structured-learning==1.4.0" scipy
make_venv pyg "$pyg_check" "torch==2.13.0" torch_geometric numpy scipy
echo "peers ready in $dir: run the benchmarks with --peers_dir=$dir or GRAPHNSL_PEERS_DIR=$dir"
