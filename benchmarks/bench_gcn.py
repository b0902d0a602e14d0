"""Full-graph GCN epochs/s against PyTorch Geometric, side by side; packed-mode examples/s.

    .venv/bin/python benchmarks/bench_gcn.py --dataset=cora --epochs=200 --output_json=/tmp/b.json

Full graph: each epoch is what the peer (`pyg_gcn_cora.py`, PyG `GCNConv`, run in its own
virtual environment: `PEERS_DIR/pyg`, made with the scripts by `benchmarks/setup_peers.sh
PEERS_DIR`; `--peers_dir`, default `$GRAPHNSL_PEERS_DIR` or `~/.cache/graphnsl/peers`) does: one training step on the whole graph (dropout on,
loss on the training nodes), one inference pass over the whole graph, validation and test
accuracy read back to the host, best-validation test accuracy kept. Ours is
`gnn.GraphConvolutionalNodeClassifier` (two graph_nets CommNet blocks) on the same split and
recipe, timed three ways: the step and the evaluation as `tf.function`s with and without XLA
(`jit_compile`), and `model.fit` with `validation_data` (what the example runs, with Keras'
per-epoch overhead). The first epoch (tracing, compiling) is excluded from ours; the peer
times all its epochs (PyTorch has no compile step).

Packed: training examples/s of `model.fit` over `gnn.make_cora_dataset` (the TFRecords of
`prepare_planetoid`, every node a seed, `--max_nbrs` neighbours, static shapes, XLA), for the
GCN and for the graph-regularized MLP, after one warm-up epoch.
"""

from __future__ import annotations

import json
import os
import pathlib
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import peers  # noqa: E402
from absl import app, flags  # noqa: E402

FLAGS = flags.FLAGS
ROOT = pathlib.Path(__file__).resolve().parents[1]


def define_flags() -> None:
    flags.DEFINE_string("dataset", "cora", "cora or citeseer.")
    flags.DEFINE_integer("epochs", 200, "Full-graph epochs (ours and the peer).")
    flags.DEFINE_string(
        "data_dir", None, "Folder with ind.<name>.* (default: $GRAPHNSL_DATA_DIR/planetoid)."
    )
    flags.DEFINE_string(
        "peers_dir",
        peers.default_peers_dir(),
        "Folder made by benchmarks/setup_peers.sh: the peer scripts and the pyg/ venv "
        "(default: $GRAPHNSL_PEERS_DIR, else ~/.cache/graphnsl/peers).",
    )
    flags.DEFINE_string(
        "peer_python", None, "Python of the PyG venv (default: PEERS_DIR/pyg/bin/python)."
    )
    flags.DEFINE_string(
        "peer_script", None, "The PyG peer script (default: PEERS_DIR/pyg_gcn_cora.py)."
    )
    flags.DEFINE_integer("packed_epochs", 5, "Timed packed-mode epochs (after one warm-up).")
    flags.DEFINE_integer("packed_batch_size", 128, "Packed-mode seeds per batch.")
    flags.DEFINE_integer("max_nbrs", 5, "Packed-mode neighbours per seed.")
    flags.DEFINE_bool("skip_peer", False, "Do not run the peer.")
    flags.DEFINE_string("output_json", None, "Write the results here as JSON.")


def _planetoid_dir(dataset) -> str:
    from graphnsl.data import planetoid

    return str(planetoid.locate(dataset, FLAGS.data_dir, download=False))


def _gcn(dataset):
    from graphnsl import gnn

    return gnn.GraphConvolutionalNodeClassifier(
        seq_length=dataset.num_features,
        num_classes=dataset.num_classes,
        hidden_units=16,
        dropout_rate=0.5,
    )


def bench_full_loop(dataset, jit_compile: bool, sparse: bool = True) -> dict:
    """Epochs/s of a train step + full evaluation per epoch, as the peer's loop.

    `sparse`: the features as a `tf.SparseTensor` (what `make_full_graph_dataset` gives for
    Planetoid's bag-of-words) or dense (the layout before 2026-12-02).
    """
    import keras
    import tensorflow as tf

    from graphnsl import gnn

    keras.utils.set_random_seed(0)
    model = _gcn(dataset)
    optimizer = keras.optimizers.Adam(0.01)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    graph = {
        k: v if isinstance(v, tf.SparseTensor) else tf.constant(v)
        for k, v in gnn.full_graph(
            dataset.features, dataset.adjacency, sparse_features=sparse
        ).items()
    }
    train_graph = dict(graph, center_nodes=tf.constant(dataset.train_index, tf.int32))
    labels = tf.constant(dataset.labels)
    train_labels = tf.gather(labels, dataset.train_index)
    val_index = tf.constant(dataset.val_index)
    test_index = tf.constant(dataset.test_index)

    @tf.function(jit_compile=jit_compile)
    def train_step():
        with tf.GradientTape() as tape:
            logits = model(train_graph, training=True)
            loss = loss_fn(train_labels, logits) + tf.add_n(model.losses)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    @tf.function(jit_compile=jit_compile)
    def evaluate():
        predictions = tf.argmax(model(graph, training=False), axis=-1)
        correct = tf.cast(tf.equal(predictions, labels), tf.float32)
        return tf.reduce_mean(tf.gather(correct, val_index)), tf.reduce_mean(
            tf.gather(correct, test_index)
        )

    train_step()
    evaluate()
    best_val, best_test = -1.0, 0.0
    start = time.perf_counter()
    for _ in range(FLAGS.epochs):
        train_step()
        val, test = (float(x) for x in evaluate())
        if val >= best_val:
            best_val, best_test = val, test
    seconds = time.perf_counter() - start
    name = "ours, tf.function + XLA" if jit_compile else "ours, tf.function"
    if not sparse:
        name += ", dense X"
    return {
        "system": name,
        "epochs_per_s": FLAGS.epochs / seconds,
        "seconds": seconds,
        "val": best_val,
        "test": best_test,
    }


def bench_full_fit(dataset, jit_compile: bool | None = True) -> dict:
    """Epochs/s of `model.fit` with per-epoch validation (the example's path), XLA on."""
    import keras

    from graphnsl import gnn

    keras.utils.set_random_seed(0)
    model = _gcn(dataset)
    model.compile(
        keras.optimizers.Adam(0.01),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        # None leaves jit_compile out, so compile() chooses (graphnsl's defaults).
        **({} if jit_compile is None else {"jit_compile": jit_compile}),
    )
    train = gnn.make_full_graph_dataset(dataset, "train").cache()
    val = gnn.make_full_graph_dataset(dataset, "val").cache()
    start = time.perf_counter()
    model.fit(train, epochs=1, validation_data=val, shuffle=False, verbose=0)
    first_epoch = time.perf_counter() - start  # tracing, and XLA compiling where chosen
    start = time.perf_counter()
    history = model.fit(train, epochs=FLAGS.epochs, validation_data=val, shuffle=False, verbose=0)
    seconds = time.perf_counter() - start
    return {
        "system": "ours, model.fit + XLA" if jit_compile else "ours, model.fit, defaults",
        "epochs_per_s": FLAGS.epochs / seconds,
        "seconds": seconds,
        "first_epoch_s": first_epoch,
        "jit_compile_chosen": bool(model.jit_compile),
        "val": max(history.history["val_accuracy"]),
        "test": None,
    }


def _peer_command() -> list[str]:
    """The PyG peer's interpreter and script; says how to set them up when missing."""
    return [
        FLAGS.peer_python or peers.peer_python(FLAGS.peers_dir, "pyg"),
        FLAGS.peer_script or peers.peer_script(FLAGS.peers_dir, "pyg_gcn_cora.py"),
    ]


def bench_peer() -> dict:
    command = [
        *_peer_command(),
        _planetoid_dir(FLAGS.dataset),
        FLAGS.dataset,
        str(FLAGS.epochs),
    ]
    peer = peers.run_measured(command)  # names the command and its output's end on failure
    return {
        "system": "PyG GCNConv (peer)",
        "epochs_per_s": peer["epochs_per_s"],
        "seconds": peer["seconds"],
        "val": peer["val"],
        "test": peer["test"],
    }


def bench_packed(dataset, scratch: str) -> list[dict]:
    """Training examples/s of model.fit over packed TFRecords, GCN and graph-reg MLP."""
    import keras
    import tensorflow as tf

    from graphnsl import gnn
    from graphnsl.configs import GraphNeighborConfig, make_graph_reg_config
    from graphnsl.data.prepare import prepare_planetoid

    info = prepare_planetoid(
        FLAGS.dataset,
        scratch,
        max_nbrs=FLAGS.max_nbrs,
        data_dir=FLAGS.data_dir,
        unlabeled_seeds=True,
    )
    neighbor_config = GraphNeighborConfig(max_neighbors=FLAGS.max_nbrs)
    train = gnn.make_cora_dataset(
        os.path.join(scratch, "train_merged_examples.tfr"),
        batch_size=FLAGS.packed_batch_size,
        neighbor_config=neighbor_config,
        max_seq_length=dataset.num_features,
        static_shapes=True,
    ).cache()
    samples = sum(int(tf.shape(y)[0]) for _, y in train)

    def node_model():
        inputs = keras.Input(shape=(dataset.num_features,), name="words")
        x = gnn.FeatureEncoder(normalize_rows=True)(inputs)
        x = keras.layers.Dense(64, activation="relu")(x)
        return keras.Model(inputs, keras.layers.Dense(dataset.num_classes)(x))

    models = {
        "GCN (CommNet), packed": lambda: gnn.GraphConvolutionalNodeClassifier(
            dataset.num_features, dataset.num_classes, normalize_features=True
        ),
        "MLP + graph reg, packed": lambda: gnn.GraphRegularizationModel(
            make_graph_reg_config(max_neighbors=FLAGS.max_nbrs, multiplier=0.5),
            node_model_fn=node_model,
        ),
    }
    rows = []
    for name, make in models.items():
        keras.utils.set_random_seed(0)
        model = make()
        model.compile(
            keras.optimizers.Adam(0.01),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            jit_compile=True,
        )
        model.fit(train, epochs=1, shuffle=False, verbose=0)
        start = time.perf_counter()
        model.fit(train, epochs=FLAGS.packed_epochs, shuffle=False, verbose=0)
        seconds = time.perf_counter() - start
        rows.append(
            {
                "system": name,
                "examples_per_s": samples * FLAGS.packed_epochs / seconds,
                "seconds": seconds,
                "examples": samples * FLAGS.packed_epochs,
                "max_nbrs": FLAGS.max_nbrs,
                "batch_size": FLAGS.packed_batch_size,
                "seeds_in_file": info["train_seeds"],
            }
        )
    return rows


def main(argv) -> None:
    del argv
    from graphnsl.data import planetoid

    if not FLAGS.skip_peer:
        _peer_command()  # a missing peer fails now, not after the dataset is loaded
    from graphnsl import _quiet

    _quiet.import_tensorflow()  # without its start-up banners
    dataset = planetoid.load(FLAGS.dataset, FLAGS.data_dir)
    full = []
    peer = None
    if not FLAGS.skip_peer:
        peer = bench_peer()
        full.append(peer)
    full.append(bench_full_loop(dataset, jit_compile=True))
    full.append(bench_full_loop(dataset, jit_compile=False))
    full.append(bench_full_loop(dataset, jit_compile=False, sparse=False))
    full.append(bench_full_fit(dataset))
    full.append(bench_full_fit(dataset, jit_compile=None))
    if not FLAGS.skip_peer:
        # The peer again, so a load change on the shared machine shows as a spread.
        second = bench_peer()
        peer["epochs_per_s"] = (peer["epochs_per_s"] + second["epochs_per_s"]) / 2
        peer["runs"] = [round(peer["seconds"], 3), round(second["seconds"], 3)]
    print(
        f"\nFull-graph GCN, {FLAGS.dataset}, {FLAGS.epochs} epochs (train step + full evaluation each)"
    )
    print(f"{'system':36s} {'epochs/s':>9s} {'ratio':>7s} {'val':>6s} {'test':>6s}")
    for row in full:
        ratio = row["epochs_per_s"] / peer["epochs_per_s"] if peer else float("nan")
        row["ratio_to_peer"] = ratio
        test = "-" if row["test"] is None else f"{row['test']:.3f}"
        if "first_epoch_s" in row:
            test += f"  (first epoch {row['first_epoch_s']:.1f} s, XLA {row['jit_compile_chosen']})"
        print(
            f"{row['system']:36s} {row['epochs_per_s']:9.1f} {ratio:7.2f} {row['val']:6.3f} {test:>6s}"
        )
    with tempfile.TemporaryDirectory(prefix="bench_gcn.") as scratch:
        packed = bench_packed(dataset, scratch)
    print(f"\nPacked mode, {FLAGS.dataset}, model.fit + XLA, static shapes")
    print(f"{'system':28s} {'examples/s':>11s}")
    for row in packed:
        print(f"{row['system']:28s} {row['examples_per_s']:11.0f}")
    if FLAGS.output_json:
        path = pathlib.Path(FLAGS.output_json)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(
            json.dumps({"dataset": FLAGS.dataset, "full_graph": full, "packed": packed}, indent=2)
        )
        os.replace(tmp, path)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    define_flags()
    app.run(main)
