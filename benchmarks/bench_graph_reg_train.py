"""Training speed of `graphnsl.graph_reg.GraphRegularization` against NSL 1.4.0's wrapper.

Both train the same model (MLP 128-128-7 on 64-dim features, L2 graph loss on logits,
multiplier 0.1, Adam, batch 128) on the same packed TFRecord file (5 neighbours), with the
same input pipeline (batch -> parse -> cache -> prefetch) and the same measurement: the
examples/s of the faster of epochs 2 and 3. NSL runs on legacy Keras 2 in its own virtual
environment (`nsl_graph_reg_train.py` of the peers folder that `benchmarks/setup_peers.sh`
makes; `--peers_dir`, default `$GRAPHNSL_PEERS_DIR` or `~/.cache/graphnsl/peers`), in the
same run.

Usage:
  python benchmarks/bench_graph_reg_train.py [--nodes=100000 --labeled_fraction=0.2
      --degree=10 --dim=64 --max_nbrs=5] [--work_dir=DIR] [--peers_dir=DIR]
      [--output_json=PATH]
"""

from __future__ import annotations

import json
import os
import pathlib
import sys
import tempfile
import time

from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import (  # noqa: E402
    default_peers_dir,
    make_pack_workload,
    peer_python,
    peer_script,
    run_measured,
)

FLAGS = flags.FLAGS


def define_flags() -> None:
    flags.DEFINE_integer("nodes", 100000, "Nodes in the synthetic workload.")
    flags.DEFINE_float("labeled_fraction", 0.2, "Fraction of labeled nodes (the packed seeds).")
    flags.DEFINE_integer("degree", 10, "Average degree of the random graph.")
    flags.DEFINE_integer("dim", 64, "Feature dimension.")
    flags.DEFINE_integer("max_nbrs", 5, "Neighbours packed per seed.")
    flags.DEFINE_integer("batch", 128, "Batch size.")
    flags.DEFINE_integer("epochs", 3, "Epochs; the fastest after the first is reported.")
    flags.DEFINE_string("work_dir", None, "Folder for the workload (default: a temporary one).")
    flags.DEFINE_string(
        "peers_dir",
        default_peers_dir(),
        "Folder made by benchmarks/setup_peers.sh: the peer scripts and the nsl/ venv "
        "(default: $GRAPHNSL_PEERS_DIR, else ~/.cache/graphnsl/peers).",
    )
    flags.DEFINE_string(
        "nsl_python", None, "Python of the NSL venv (default: PEERS_DIR/nsl/bin/python)."
    )
    flags.DEFINE_list(
        "variants",
        "compile_defaults,default,jit_spe",
        "Our configurations: compile_defaults (compile() without jit_compile or "
        "steps_per_execution: graphnsl's defaults), default (jit_compile=False, "
        "steps_per_execution=1: Keras' own defaults), jit (jit_compile=True), jit_spe "
        "(jit_compile=True, steps_per_execution=32).",
    )
    flags.DEFINE_string("output_json", None, "Write the results here as JSON.")


def make_packed_file(work_dir: pathlib.Path) -> tuple[pathlib.Path, str]:
    """Writes the workload and packs it; returns the packed file and who packed it."""
    packed = work_dir / "packed.tfr"
    if packed.exists():
        return packed, "existing file"
    make_pack_workload(
        sys.executable,
        os.path.dirname(peer_script(FLAGS.peers_dir, "make_pack_workload.py")),
        work_dir,
        FLAGS.nodes,
        FLAGS.labeled_fraction,
        FLAGS.degree,
        FLAGS.dim,
    )
    from graphnsl.data.pack_nbrs import pack_nbrs

    pack_nbrs(
        str(work_dir / "labeled.tfr"),
        str(work_dir / "unlabeled.tfr"),
        str(work_dir / "graph.tsv"),
        str(packed),
        add_undirected_edges=True,
        max_nbrs=FLAGS.max_nbrs,
    )
    return packed, "graphnsl pack_nbrs"


def train_ours(
    packed: pathlib.Path, jit_compile: bool | None, steps_per_execution: int | None
) -> dict:
    """Trains our wrapper as the peer does; returns epoch seconds and examples/s."""
    import keras
    import tensorflow as tf

    from graphnsl.configs import make_graph_reg_config
    from graphnsl.data import make_dataset
    from graphnsl.graph_reg import GraphRegularization

    keras.utils.set_random_seed(0)
    config = make_graph_reg_config(max_neighbors=FLAGS.max_nbrs, multiplier=0.1)
    spec = {"x": tf.io.FixedLenFeature([FLAGS.dim], tf.float32)}
    dataset = make_dataset(
        str(packed), spec, "label", config.neighbor_config, batch_size=FLAGS.batch, cache=True
    )
    examples = sum(1 for _ in tf.data.TFRecordDataset(str(packed)))
    base = keras.Sequential(
        [
            keras.Input((FLAGS.dim,), name="x"),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(7),
        ]
    )
    model = GraphRegularization(base, config)
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        # None leaves the argument out, so compile() chooses (graphnsl's fast defaults).
        **({} if jit_compile is None else {"jit_compile": jit_compile}),
        **({} if steps_per_execution is None else {"steps_per_execution": steps_per_execution}),
    )
    seconds = []
    for _ in range(FLAGS.epochs):
        start = time.perf_counter()
        model.fit(dataset, epochs=1, verbose=0)
        seconds.append(time.perf_counter() - start)
    return {
        "examples": examples,
        "epoch_seconds": [round(s, 2) for s in seconds],
        "examples_per_s": round(examples / min(seconds[1:])),
    }


VARIANTS = {
    "compile_defaults": (None, None),
    "default": (False, 1),
    "jit": (True, 1),
    "jit_spe": (True, 32),
}


def main(argv) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for name in FLAGS.variants:
        if name not in VARIANTS:
            raise app.UsageError(f"--variants: unknown {name!r}; valid: {', '.join(VARIANTS)}.")
    # Find the peer before the long workload is written.
    nsl_python = FLAGS.nsl_python or peer_python(FLAGS.peers_dir, "nsl")
    nsl_script = peer_script(FLAGS.peers_dir, "nsl_graph_reg_train.py")
    from graphnsl import _quiet

    _quiet.import_tensorflow()  # without its start-up banners
    with tempfile.TemporaryDirectory(prefix="bench_graph_reg.") as scratch:
        work_dir = pathlib.Path(FLAGS.work_dir or scratch)
        work_dir.mkdir(parents=True, exist_ok=True)
        packed, packer = make_packed_file(work_dir)
        print(f"packed file: {packed} ({packer})", flush=True)
        peer = run_measured(
            [
                nsl_python,
                nsl_script,
                str(packed),
                str(FLAGS.dim),
                str(FLAGS.max_nbrs),
                str(FLAGS.batch),
            ],
            {"TF_USE_LEGACY_KERAS": "1"},
        )
        print(f"NSL: {peer}", flush=True)
        ours = {}
        for name in FLAGS.variants:
            jit_compile, steps = VARIANTS[name]
            ours[name] = train_ours(packed, jit_compile, steps)
            print(f"graphnsl {name}: {ours[name]}", flush=True)
    rows = [("NSL 1.4.0 GraphRegularization (tf-keras)", peer["examples_per_s"], 1.0)]
    for name, result in ours.items():
        ratio = result["examples_per_s"] / peer["examples_per_s"]
        rows.append((f"graphnsl GraphRegularization [{name}]", result["examples_per_s"], ratio))
    width = max(len(r[0]) for r in rows)
    print(f"\n{'system':<{width}}  {'examples/s':>10}  {'ratio':>6}")
    for label, speed, ratio in rows:
        print(f"{label:<{width}}  {speed:>10}  {ratio:>5.2f}x")
    if FLAGS.output_json:
        result = {
            "workload": {
                "nodes": FLAGS.nodes,
                "labeled_fraction": FLAGS.labeled_fraction,
                "degree": FLAGS.degree,
                "dim": FLAGS.dim,
                "max_nbrs": FLAGS.max_nbrs,
                "batch": FLAGS.batch,
                "packer": packer,
            },
            "nsl": peer,
            "graphnsl": ours,
            "ratios": {
                name: round(r["examples_per_s"] / peer["examples_per_s"], 3)
                for name, r in ours.items()
            },
        }
        path = pathlib.Path(FLAGS.output_json)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(result, indent=2) + "\n")
        os.replace(tmp, path)


if __name__ == "__main__":
    define_flags()
    app.run(main)
