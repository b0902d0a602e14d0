#!/usr/bin/env python3
"""Runs the GAM authors' reference code (NSL `research/gam`) on TensorFlow 2's compat.v1.

A diagnostic for `examples/gam_planetoid.py`: it runs the reference's own trainer with the
commands of its `run_configs.txt` on this machine's TensorFlow, so that our rows can be set
beside what the reference code gives here, not only beside its published table. graphnsl
does not import the reference; nothing of it is copied into this repository.

The reference is TensorFlow 1 code (`import tensorflow as tf`, sessions, placeholders). Three
shims make it run on TF 2.21: `tensorflow` is bound to `tf.compat.v1` with v2 behaviour off;
`np.float` (removed in NumPy 1.24) is `float`; `scipy.eye` (SciPy once re-exported NumPy's
namespace; the GCN data path calls it) is `np.eye`. It also needs `networkx`.

  git clone https://github.com/tensorflow/neural-structured-learning /tmp/nsl
  git -C /tmp/nsl checkout 283deef
  pip install networkx
  mkdir -p /tmp/ref_run && cd /tmp/ref_run   # checkpoints and summaries go under ./outputs
  python benchmarks/run_gam_reference.py --reference_dir=/tmp/nsl/research/gam -- \\
      --data_path=$GRAPHNSL_DATA_DIR/planetoid --dataset_name=cora --model_cls=mlp ... \\
      (the rest of a run_configs.txt command)

The run logs one line per co-training iteration ("Cotrain step N | Accuracy val | Accuracy
test") and the best validation iteration's test accuracy. The reference restores a run's
saved state when its output folder holds one, so give each run its own folder.
"""

from __future__ import annotations

import argparse
import os
import sys


def install_shims() -> None:
    """Makes TF1-era code importable on TF 2 and current NumPy/SciPy (see the docstring)."""
    import numpy as np
    import scipy

    if not hasattr(np, "float"):
        np.float = float
    if not hasattr(scipy, "eye"):
        scipy.eye = np.eye
    import tensorflow as tf

    v1 = tf.compat.v1
    v1.disable_v2_behavior()
    sys.modules["tensorflow"] = v1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--reference_dir",
        required=True,
        help="research/gam of a neural-structured-learning checkout (holds the gam package).",
    )
    args, rest = parser.parse_known_args()
    package = os.path.join(args.reference_dir, "gam", "experiments", "run_train_gam_graph.py")
    if not os.path.isfile(package):
        sys.exit(f"--reference_dir={args.reference_dir}: no {package}; point it at research/gam.")
    install_shims()
    sys.path.insert(0, os.path.abspath(args.reference_dir))
    from absl import app
    from gam.experiments import run_train_gam_graph

    if rest and rest[0] == "--":
        rest = rest[1:]
    app.run(run_train_gam_graph.main, argv=[sys.argv[0], *rest])


if __name__ == "__main__":
    main()
