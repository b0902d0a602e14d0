"""`graphnsl demo`: plain and graph models on Cora (or a synthetic graph), compared.

    graphnsl demo [--data_dir=DIR] [--output_dir=DIR] [--epochs=N]

Steps: load Cora (from `--data_dir`, `$GRAPHNSL_DATA_DIR/planetoid`, the user cache, or a
download; when none is reachable it says so and generates a synthetic citation-like graph,
a stochastic block model with bag-of-words features, so a fresh machine always has a run),
pack every node's neighbours into NSL-format TFRecords (`pack_nbrs`), read them back with
`make_dataset`, train each model in `MODELS` (an MLP, the MLP with graph regularization, a
graph_nets GCN on the full graph, and the MLP co-trained with a Graph Agreement Model), print
a table of test accuracies and training times, and save a PNG plot of validation accuracy per
epoch and a JSON of the results in `--output_dir`.

More models plug in as entries of `MODELS`: `(name, train_fn)` with
`train_fn(data: DemoData, epochs: int, seed: int) -> DemoResult`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import tempfile
import time
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from graphnsl.data import planetoid

SETTINGS = {  # shared by the two MLP models; examples/graph_reg_planetoid.py's Cora defaults
    "max_nbrs": 10,
    "multiplier": 0.5,
    "hidden": 64,
    "l2": 5e-4,
    "learning_rate": 0.003,
    "batch_size": 128,
}


@dataclasses.dataclass
class DemoData:
    """What each model's `train_fn` gets.

    Attributes:
      dataset: the `PlanetoidDataset` (Cora or synthetic): features, labels, adjacency, split.
      source: where it came from, for the report.
      features: float32 `[num_nodes, num_features]`, dense.
      train_features: the packed training seeds read by `make_dataset`: `words`
        `[num_seeds, num_features]`, `NL_nbr_<i>_words`, `NL_nbr_<i>_weight` `[num_seeds, 1]`.
      train_labels: int64 `[num_seeds]`, -1 for unlabeled seeds.
      max_nbrs: neighbours packed per seed.
      work_dir: the folder with the TFRecords and graph TSV.
    """

    dataset: planetoid.PlanetoidDataset
    source: str
    features: np.ndarray
    train_features: dict
    train_labels: np.ndarray
    max_nbrs: int
    work_dir: pathlib.Path


@dataclasses.dataclass
class DemoResult:
    """One model's outcome: test accuracy (fraction), training seconds, validation accuracy
    per epoch (or per co-training round, where `per` says 'round')."""

    test_accuracy: float
    seconds: float
    val_accuracy: list[float]
    per: str = "epoch"


def synthetic_citation_graph(
    num_nodes: int = 1500,
    num_classes: int = 6,
    num_features: int = 600,
    average_degree: float = 4.0,
    homophily: float = 0.85,
    words_per_node: int = 18,
    seed: int = 0,
) -> planetoid.PlanetoidDataset:
    """A citation-like graph: a stochastic block model with bag-of-words features.

    Each class is a block; a node's edges stay in its block with probability `homophily`.
    Each class has a topic (a distribution over the vocabulary concentrated on its own words);
    a node draws `words_per_node` words, a third from its class topic and the rest from a
    background shared by all classes, so features alone classify only moderately well.
    Split as Planetoid: 20 labeled nodes per class, 500 validation (or a quarter of the
    nodes), 1000 test (or the rest).

    Returns:
      A `PlanetoidDataset` named 'synthetic' (0/1 CSR features, symmetric CSR adjacency).
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, size=num_nodes).astype(np.int64)
    num_edges = int(num_nodes * average_degree / 2)
    sources = rng.integers(0, num_nodes, size=num_edges)
    same_block = rng.random(num_edges) < homophily
    by_class = [np.flatnonzero(labels == c) for c in range(num_classes)]
    targets = rng.integers(0, num_nodes, size=num_edges)
    for edge in np.flatnonzero(same_block):
        block = by_class[labels[sources[edge]]]
        targets[edge] = block[rng.integers(0, len(block))]
    keep = sources != targets
    rows = np.concatenate([sources[keep], targets[keep]])
    cols = np.concatenate([targets[keep], sources[keep]])
    adjacency = sp.csr_matrix(
        (np.ones(len(rows), np.float32), (rows, cols)), shape=(num_nodes, num_nodes)
    )
    adjacency.data[:] = 1.0  # duplicate edges summed; keep weight 1
    topic_words = np.array_split(rng.permutation(num_features), num_classes)
    topic_draw = rng.random((num_nodes, words_per_node)) < 1 / 3
    words = rng.integers(0, num_features, size=(num_nodes, words_per_node))
    for node in range(num_nodes):
        own = topic_words[labels[node]]
        count = int(topic_draw[node].sum())
        words[node, :count] = own[rng.integers(0, len(own), size=count)]
    features = sp.csr_matrix(
        (
            np.ones(words.size, np.float32),
            (np.repeat(np.arange(num_nodes), words_per_node), words.ravel()),
        ),
        shape=(num_nodes, num_features),
    )
    features.data[:] = 1.0
    order = rng.permutation(num_nodes)
    train = np.concatenate([order[labels[order] == c][:20] for c in range(num_classes)])
    rest = np.setdiff1d(order, train, assume_unique=True)
    rest = rest[rng.permutation(len(rest))]
    num_val = min(500, len(rest) // 4)
    return planetoid.PlanetoidDataset(
        name="synthetic",
        features=features.astype(np.float32),
        labels=labels,
        adjacency=adjacency,
        train_index=np.sort(train).astype(np.int64),
        val_index=np.sort(rest[:num_val]).astype(np.int64),
        test_index=np.sort(rest[num_val : num_val + 1000]).astype(np.int64),
    )


def load_demo_dataset(
    data_dir=None, download: bool = True
) -> tuple[planetoid.PlanetoidDataset, str]:
    """Cora if reachable, else the synthetic graph; returns it and a line saying which."""
    try:
        folder = planetoid.locate("cora", data_dir, download=download, verify=False)
        return planetoid.load("cora", folder, download=False), f"Cora from {folder}"
    except (FileNotFoundError, OSError, ValueError) as error:
        print(f"Cora is not reachable ({error}).")
        print("Using a synthetic citation-like graph (stochastic block model, bag of words).")
        return synthetic_citation_graph(), "synthetic citation-like graph"


def pack_training_data(
    dataset: planetoid.PlanetoidDataset,
    work_dir: pathlib.Path,
    max_nbrs: int,
    seconds: dict[str, float] | None = None,
) -> tuple[dict, np.ndarray]:
    """Writes every node as a seed (labeled train nodes with their label, the rest without),
    packs up to `max_nbrs` neighbours each with `pack_nbrs`, and reads them with
    `make_dataset`.

    Args:
      dataset: the graph and its features.
      work_dir: folder for the TFRecords and graph TSV (created).
      max_nbrs: neighbours packed per seed.
      seconds: if given, filled with the wall seconds of each step: `write` (seed examples
        and graph TSV), `pack` (the `pack_nbrs` call alone) and `read` (`make_dataset`).

    Returns:
      `(features, labels)`: NumPy arrays of the packed seeds, labels -1 where unlabeled.
    """
    seconds = {} if seconds is None else seconds
    start = time.perf_counter()
    from graphnsl.configs import GraphNeighborConfig
    from graphnsl.data import make_dataset
    from graphnsl.data.examples import write_examples
    from graphnsl.data.graph_tsv import write_graph_tsv
    from graphnsl.data.pack_nbrs import pack_nbrs

    work_dir.mkdir(parents=True, exist_ok=True)
    dense = dataset.features.toarray().astype(np.int64)
    labeled = np.zeros(dataset.num_nodes, bool)
    labeled[dataset.train_index] = True

    def seeds():
        for node in range(dataset.num_nodes):
            example = {"id": str(node).encode(), "words": dense[node]}
            if labeled[node]:
                example["label"] = np.array([dataset.labels[node]], np.int64)
            yield example

    write_examples(work_dir / "seeds.tfr", seeds())
    adjacency = dataset.adjacency.tocoo()
    write_graph_tsv(
        work_dir / "graph.tsv",
        ((str(r), str(c), 1.0) for r, c in zip(adjacency.row, adjacency.col, strict=True)),
    )
    packed = work_dir / "train_merged_examples.tfr"
    seconds["write"] = time.perf_counter() - start
    start = time.perf_counter()
    pack_nbrs(
        str(work_dir / "seeds.tfr"), "", str(work_dir / "graph.tsv"), str(packed), max_nbrs=max_nbrs
    )
    seconds["pack"] = time.perf_counter() - start
    start = time.perf_counter()
    import tensorflow as tf

    spec = {"words": tf.io.FixedLenFeature([dataset.num_features], tf.int64)}
    config = GraphNeighborConfig(max_neighbors=max_nbrs)
    features, labels = {}, []
    for batch, batch_labels in make_dataset(str(packed), spec, "label", config, batch_size=4096):
        for key, value in batch.items():
            features.setdefault(key, []).append(value.numpy())
        labels.append(batch_labels.numpy())
    features = {key: np.concatenate(values).astype(np.float32) for key, values in features.items()}
    seconds["read"] = time.perf_counter() - start
    return features, np.concatenate(labels)


class _Progress:
    """A Keras callback: a tqdm bar over epochs showing validation accuracy, recording it."""

    def __new__(cls, name: str, epochs: int):
        import keras
        from tqdm.auto import tqdm

        class Progress(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.history = []
                self.bar = tqdm(total=epochs, desc=f"{name:<28}", unit="epoch", leave=True)

            def on_epoch_end(self, epoch, logs=None):
                accuracy = float(logs.get("val_accuracy", np.nan))
                self.history.append(accuracy)
                self.bar.set_postfix(val_accuracy=f"{accuracy:.3f}")
                self.bar.update(1)

            def on_train_end(self, logs=None):
                self.bar.close()

        return Progress()


def _mlp(data: DemoData, seed: int):
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((data.dataset.num_features,), name="words"),
            keras.layers.Dense(
                SETTINGS["hidden"],
                activation="relu",
                kernel_regularizer=keras.regularizers.l2(SETTINGS["l2"]),
            ),
            keras.layers.Dense(data.dataset.num_classes),
        ],
        name="mlp",
    )


def _fit_and_test(data: DemoData, name: str, model, base, x, y, epochs: int) -> DemoResult:
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(SETTINGS["learning_rate"]),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    dataset = data.dataset
    val_x, val_y = data.features[dataset.val_index], dataset.labels[dataset.val_index]
    progress = _Progress(name, epochs)
    best = keras.callbacks.EarlyStopping(
        "val_accuracy", mode="max", patience=epochs, restore_best_weights=True
    )
    start = time.perf_counter()
    model.fit(
        x,
        y,
        batch_size=SETTINGS["batch_size"],
        epochs=epochs,
        validation_data=(val_x, val_y),
        callbacks=[progress, best],
        verbose=0,
    )
    seconds = time.perf_counter() - start
    test = dataset.test_index
    predictions = base.predict(data.features[test], batch_size=2048, verbose=0).argmax(axis=1)
    accuracy = float(np.mean(predictions == dataset.labels[test]))
    return DemoResult(accuracy, seconds, progress.history)


def train_mlp(data: DemoData, epochs: int, seed: int) -> DemoResult:
    """The MLP on the labeled seeds alone."""
    labeled = data.train_labels >= 0
    base = _mlp(data, seed)
    x, y = data.train_features["words"][labeled], data.train_labels[labeled]
    return _fit_and_test(data, "MLP", base, base, x, y, epochs)


def train_graph_regularized(data: DemoData, epochs: int, seed: int) -> DemoResult:
    """The same MLP wrapped in `GraphRegularization`, on all packed seeds."""
    from graphnsl.configs import make_graph_reg_config
    from graphnsl.graph_reg import GraphRegularization

    base = _mlp(data, seed)
    config = make_graph_reg_config(max_neighbors=data.max_nbrs, multiplier=SETTINGS["multiplier"])
    model = GraphRegularization(base, config)
    name = "MLP + graph regularization"
    return _fit_and_test(data, name, model, base, data.train_features, data.train_labels, epochs)


def train_gcn(data: DemoData, epochs: int, seed: int) -> DemoResult:
    """`gnn.GraphConvolutionalNodeClassifier` (graph_nets CommNet blocks) on the whole graph.

    Kipf & Welling's recipe: 16 hidden units, dropout 0.5, weight decay 5e-4 on the first
    layer, row-normalized features, Adam 0.01, the loss on the labeled nodes only.
    """
    import keras

    from graphnsl import gnn

    keras.utils.set_random_seed(seed)
    dataset = data.dataset
    train, val = (
        gnn.make_full_graph_dataset(dataset, split, normalize_features=False).cache()
        for split in ("train", "val")
    )
    model = gnn.GraphConvolutionalNodeClassifier(
        seq_length=dataset.num_features,
        num_classes=dataset.num_classes,
        hidden_units=16,
        dropout_rate=0.5,
        weight_decay=5e-4,
        normalize_features=True,
    )
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    name = "GCN (graph_nets CommNet)"
    progress = _Progress(name, epochs)
    best = keras.callbacks.EarlyStopping(
        "val_accuracy", mode="max", patience=epochs, restore_best_weights=True
    )
    start = time.perf_counter()
    model.fit(  # a tf.data dataset: Keras warns on its default shuffle=True, so say False
        train,
        epochs=epochs,
        validation_data=val,
        callbacks=[progress, best],
        shuffle=False,
        verbose=0,
    )
    seconds = time.perf_counter() - start
    test = gnn.make_full_graph_dataset(dataset, "test", normalize_features=False)
    accuracy = model.evaluate(test, return_dict=True, verbose=0)["accuracy"]
    return DemoResult(float(accuracy), seconds, progress.history)


def train_gam(data: DemoData, epochs: int, seed: int) -> DemoResult:
    """An MLP co-trained with a Graph Agreement Model for a few rounds (`gam.cotrain`).

    The paper's Cora settings (LU/UU weights 0.1/0.05, 200 self-labels a round), capped at
    three rounds and a shorter patience so the demo stays short; `val_accuracy` holds one value
    per co-training round rather than per epoch.
    """
    from graphnsl import gam

    # Co-training runs by steps with early stopping; `epochs` only caps the steps per model.
    max_steps = 25 * epochs
    config = gam.CotrainConfig(
        max_num_iter_cotrain=3,
        reg_weight_lu=0.1,
        reg_weight_uu=0.05,
        num_pairs_reg=128,
        min_num_iter_cls=min(200, max_steps),
        max_num_iter_cls=max_steps,
        num_iter_after_best_val_cls=300,
        min_num_iter_agr=min(200, max_steps),
        max_num_iter_agr=max_steps,
        num_iter_after_best_val_agr=300,
        seed=seed,
        verbose=True,
    )
    result = gam.cotrain(gam.from_planetoid(data.dataset), "mlp", config)
    history = [record.val_accuracy for record in result.iterations]
    return DemoResult(float(result.test_accuracy), float(result.seconds), history, per="round")


MODELS: list[tuple[str, Callable[[DemoData, int, int], DemoResult]]] = [
    ("MLP", train_mlp),
    ("MLP + graph regularization", train_graph_regularized),
    ("GCN (graph_nets CommNet)", train_gcn),
    ("MLP + GAM (3 rounds)", train_gam),
]


def format_table(results: dict[str, DemoResult]) -> str:
    """An aligned table: model, test accuracy, training seconds, epochs."""
    header = ("model", "test accuracy", "train s", "epochs")
    rows = [
        (
            name,
            f"{100 * r.test_accuracy:.1f} %",
            f"{r.seconds:.1f}",
            f"{len(r.val_accuracy)}" + (" rounds" if r.per == "round" else ""),
        )
        for name, r in results.items()
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in [header, *rows]
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def save_plot(results: dict[str, DemoResult], path: pathlib.Path, title: str) -> None:
    """Saves validation accuracy per epoch of every model as a PNG (written, then renamed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5))
    for name, result in results.items():
        epochs = np.arange(1, len(result.val_accuracy) + 1)
        per_round = result.per == "round"
        label = f"{name} (test {100 * result.test_accuracy:.1f}%)"
        axes.plot(
            epochs,
            result.val_accuracy,
            marker="o" if per_round else None,
            label=f"{label}, per round" if per_round else label,
        )
    axes.set_xlabel("epoch (co-training round for GAM)")
    axes.set_ylabel("validation accuracy")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right")
    figure.tight_layout()
    tmp = path.with_name(f".{path.stem}.tmp.png")
    figure.savefig(tmp, dpi=110)
    plt.close(figure)
    os.replace(tmp, path)


def run_demo(
    output_dir: str | os.PathLike,
    data_dir: str | os.PathLike | None = None,
    epochs: int = 80,
    seed: int = 0,
    dataset: planetoid.PlanetoidDataset | None = None,
    models: list | None = None,
) -> dict[str, DemoResult]:
    """Runs the demo; returns each model's result and writes the plot and JSON.

    Args:
      output_dir: where `demo_val_accuracy.png` and `demo_results.json` go (created).
      data_dir: folder with Cora's `ind.cora.*` (see `planetoid.load`); None: the defaults.
      epochs: epochs per model (the weights of the best validation epoch are tested).
      seed: random seed of every model.
      dataset: use this dataset instead of loading Cora (tests use a tiny synthetic graph).
      models: `(name, train_fn)` pairs; None means `MODELS`.

    Returns:
      Model name -> `DemoResult`.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs={epochs!r} must be an int >= 1.")
    output = pathlib.Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    if dataset is None:
        dataset, source = load_demo_dataset(data_dir)
    else:
        source = f"given dataset {dataset.name!r}"
    print(
        f"Data: {source}: {dataset.num_nodes} nodes, {dataset.adjacency.nnz // 2} edges, "
        f"{dataset.num_features} features, {dataset.num_classes} classes; "
        f"{len(dataset.train_index)} labeled, {len(dataset.val_index)} validation, "
        f"{len(dataset.test_index)} test nodes.",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="graphnsl_demo.") as scratch:
        work_dir = pathlib.Path(scratch)
        seconds: dict[str, float] = {}
        features, labels = pack_training_data(dataset, work_dir, SETTINGS["max_nbrs"], seconds)
        print(
            f"Packed up to {SETTINGS['max_nbrs']} neighbours into each of {len(labels)} seeds "
            f"({int(np.sum(labels >= 0))} labeled): writing the seed examples and graph took "
            f"{seconds['write']:.1f} s, pack_nbrs {seconds['pack']:.2f} s, reading the packed "
            f"examples back with make_dataset {seconds['read']:.1f} s.",
            flush=True,
        )
        data = DemoData(
            dataset=dataset,
            source=source,
            features=dataset.features.toarray().astype(np.float32),
            train_features=features,
            train_labels=labels,
            max_nbrs=SETTINGS["max_nbrs"],
            work_dir=work_dir,
        )
        results = {}
        for name, train_fn in models if models is not None else MODELS:
            results[name] = train_fn(data, epochs, seed)
    print()
    print(format_table(results))
    title = f"{dataset.name}: validation accuracy per epoch"
    plot_path = output / "demo_val_accuracy.png"
    save_plot(results, plot_path, title)
    json_path = output / "demo_results.json"
    payload = {
        "source": source,
        "epochs": epochs,
        "seed": seed,
        "results": [
            {"model": name, **dataclasses.asdict(result)} for name, result in results.items()
        ],
    }
    tmp = json_path.with_name(f".{json_path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    os.replace(tmp, json_path)
    print(f"\nPlot: {plot_path}\nResults: {json_path}")
    return results


def define_flags() -> None:
    from absl import flags

    flags.DEFINE_string(
        "data_dir", None, "Folder with ind.cora.* (default: $GRAPHNSL_DATA_DIR/planetoid, cache)."
    )
    flags.DEFINE_string("output_dir", "graphnsl_demo", "Where the plot and JSON go.")
    flags.DEFINE_integer("epochs", 80, "Epochs per model.")
    flags.DEFINE_integer("seed", 0, "Random seed.")


def main(argv) -> None:
    from absl import app, flags

    if len(argv) > 1:
        raise app.UsageError(f"takes no positional arguments, got {argv[1:]}")
    f = flags.FLAGS
    run_demo(f.output_dir, f.data_dir, f.epochs, f.seed)
