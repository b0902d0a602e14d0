#!/usr/bin/env python3
"""Graph-RISE on Fashion-MNIST: softmax vs triplet vs graph-regularized image embeddings.

Trains three embeddings with the same network (`embedding.models.build_embedding_network`,
a small residual CNN with a 64-d L2-normalized output) and the same step budget and batch:

1. softmax: the network + a linear head, cross-entropy on the labeled images;
2. triplet: the network alone, `TripletSemiHardLoss` on the labeled images;
3. graph_rise: (1) wrapped in `graph_reg.GraphRegularization(regularize_layer='embedding')`:
   each batch row is a seed image (labeled, or unlabeled with label -1 for a share of the
   rows) with `--graph_neighbors` neighbours sampled from a label-free similar-image graph
   (PCA of the pixels -> `build_graph` with a per-node cap), and the loss adds
   `multiplier x` the squared L2 distance between the embeddings (NSL's distance config).

Labeled images: `--labels_per_class` per class drawn from the 60,000 training images with
each seed (6000 = all). Evaluation (`embedding.evaluate`): kNN@1/@10 of the 10,000 test
embeddings against an index of all 60,000 training embeddings, mAP@R (test, leave-one-out),
triplet accuracy and recall at margin 0.1 over 20,000 seeded test triplets (cosine).
`--validation` selects settings without the test set: 10,000 seeded training images become
the queries and labels, graph and index come from the other 50,000.

  nice -n 5 examples/graph_rise_fashion_mnist.py --labels_per_class=100 --seeds=3 \\
      --output_dir=/tmp/grise --output_json=/tmp/grise/results.json --embeddings_dir=/tmp/grise/emb

Defaults chosen on the validation split (2026-12-02 to 12-04), seed 0: graph cap 3 and
multiplier 20 gave kNN@1 83.35 against 82.35 at the earlier cap 10 and multiplier 1 (softmax
82.20); eleven other settings (multiplier 5-50, cap 1-10, unlabeled seed share 0-0.75, 1 or 3
neighbours a seed, edge-similarity floor 0.9 or 0.92) gave 82.12-83.03, and training curves
peaked at 82.80 (4000 steps), 82.21 (Adam 5e-4) and 81.68 (unlabeled share 0.875). Over seeds
0-2 the defaults gave +2.15 kNN@1 over softmax (80.85; +2.06 with the code and packages of
2026-12-08), ahead of multiplier 10 or 30, 3000 steps, batch 128, cosine decay, a 500-step
ramp-up of the graph term (82.75 against 83.00), logit scale 8 or 32 (`--logit_scale`; +1.45
and +2.02: softmax 81.26 and 80.74), 2 neighbours, the L1 distance, and purer graphs
(`--graph_edges`, `--graph_features`, `--pca_whiten_power`: up to 89.5% same-class edges
against 83.7%, 82.5-82.8 against the defaults' 83.00; docs/graph_rise_results.md lists each).
With all labels multiplier 1 beat 5 and 20 (86.13, 85.23, 85.01; softmax 85.69), hence
`default_multiplier`: 20 at 100 labels/class, 1 at 6000, geometric between.

Measured at the defaults on 2026-12-08 (1500 steps x 64, 3 seeds, 2 cores at load average
4.2-4.8, 6 min 48 s wall, 290 s user CPU, peak RSS 2.0 GB): at 100 labels/class kNN@1 softmax
81.2, triplet 75.9, graph_rise 82.1 (+1.0, short of +2; +2.06 on the validation split's seeds
0-2; a repeat reproduces to the last digit in one environment, README.md says what moved
between two); triplet accuracy 89.5, 90.0, 93.6; 4654, 3583 and 2491 training (seed) images/s.
The strong multiplier shrinks the embedding distances, so graph_rise's recall at margin 0.1 is
low (24.9 vs 85.4). With all labels (multiplier 1): kNN@1 85.45, 82.93, 85.56; triplet
accuracy 93.95, 94.35, 94.46. A graph-regularized step with one neighbour cost 1.67x a plain
one.
"""

from __future__ import annotations

import json
import logging
import os
import pathlib
import resource
import sys
import time

from absl import app, flags

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import common  # noqa: E402

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Defines the flags (called by __main__, so importing the module defines none)."""
    from graphnsl.embedding import similarity_graph

    flags.DEFINE_string(
        "data_dir", None, "Folder with the Fashion-MNIST files (default: path rule)."
    )
    flags.DEFINE_integer("labels_per_class", 100, "Labeled training images per class (6000 = all).")
    flags.DEFINE_integer("seeds", 3, "Seeds 0..seeds-1 (label draw, initialization, batches).")
    flags.DEFINE_list("models", ["softmax", "triplet", "graph_rise"], "Models to train.")
    flags.DEFINE_integer("steps", 1500, "Training steps per model (the shared step budget).")
    flags.DEFINE_integer("batch_size", 64, "Seed images per step.")
    flags.DEFINE_float("learning_rate", 2e-3, "Adam learning rate.")
    flags.DEFINE_enum(
        "lr_schedule",
        "constant",
        ["constant", "cosine"],
        "Learning rate over the step budget: constant, or cosine decay to 0 at --steps.",
    )
    flags.DEFINE_integer("embedding_dim", 64, "Embedding dimensions.")
    flags.DEFINE_float(
        "logit_scale", 16.0, "Softmax and Graph-RISE: factor on the unit embedding before the head."
    )
    flags.DEFINE_float("triplet_margin", 1.0, "TripletSemiHardLoss margin (L2 on unit vectors).")
    flags.DEFINE_float(
        "graph_multiplier",
        None,
        "Graph-RISE: weight of the embedding distance (default: default_multiplier of "
        "--labels_per_class, 20 at 100 labels/class down to 1 with all labels).",
    )
    flags.DEFINE_float(
        "unlabeled_seed_fraction",
        0.5,
        "Graph-RISE: share of each batch's seeds drawn from the unlabeled images (label -1).",
    )
    flags.DEFINE_integer(
        "graph_neighbors", 1, "Graph-RISE: neighbours fed with each seed (NSL's max_neighbors)."
    )
    flags.DEFINE_integer(
        "graph_rampup_steps",
        0,
        "Graph-RISE: raise the graph term's weight from 0 to the multiplier over this many "
        "first steps (the sigmoid-shaped exp(-5 (1 - t)^2) ramp; 0 = full weight from step 0).",
    )
    flags.DEFINE_enum(
        "graph_distance",
        "l2",
        ["l2", "l1", "cosine"],
        "Graph-RISE: distance between the embeddings (NSL names: l2 is squared Euclidean).",
    )
    flags.DEFINE_integer("max_nbrs_per_node", 3, "Graph: neighbours kept per image (top-k).")
    flags.DEFINE_integer("pca_dim", 64, "Graph: PCA dimensions of the label-free image embedding.")
    flags.DEFINE_float("similarity_threshold", 0.5, "Graph: cosine similarity floor of an edge.")
    flags.DEFINE_enum(
        "graph_features",
        "pca",
        list(similarity_graph.FEATURES),
        "Graph: label-free embedding of the images.",
    )
    flags.DEFINE_float(
        "pca_whiten_power",
        0.0,
        "Graph: divide each PCA component by its variance to this power (0.5 whitens).",
    )
    flags.DEFINE_enum(
        "graph_edges",
        "out",
        list(similarity_graph.EDGE_MODES),
        "Graph: keep the capped out-edges, make them symmetric, or keep the mutual ones.",
    )
    flags.DEFINE_integer("num_triplets", 20000, "Seeded test triplets.")
    flags.DEFINE_string("output_dir", None, "Folder for the PNGs and the graph.")
    flags.DEFINE_string("output_json", None, "Write all results here.")
    flags.DEFINE_string("embeddings_dir", None, "Write <model>.npz of the first seed here.")
    flags.DEFINE_integer("tsne_points", 2000, "Test images in the t-SNE pictures (0 = none).")
    flags.DEFINE_integer("ratio_steps", 30, "Steps per block when timing graph vs plain steps.")
    flags.DEFINE_bool("reuse_graph", False, "Reuse output_dir/graph/graph.tsv when present.")
    flags.DEFINE_bool("jit_compile", False, "Compile the training steps with XLA.")
    flags.DEFINE_integer("epochs", 5, "Keras epochs the step budget is split into (logging only).")
    flags.DEFINE_bool(
        "evaluate_every_epoch",
        False,
        "Log the retrieval metrics of the queries (test, or held-out with --validation) after "
        "every epoch (embedding.callbacks.EmbeddingEvaluation; for model selection, slow).",
    )
    flags.DEFINE_bool(
        "validation",
        False,
        "Model selection: hold out 10,000 training images (seeded) as the queries; labels, graph "
        "and index come from the other 50,000; the test images are not read.",
    )
    flags.DEFINE_integer(
        "validation_seed", 12345, "--validation: seed of the 10,000 held-out training images."
    )


logger = logging.getLogger("graph_rise")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def validation_split(data, size: int = 10000, seed: int = 12345):
    """`data` with `size` seeded training images as the test set and the rest as training."""
    import dataclasses

    import numpy as np

    order = np.random.default_rng(seed).permutation(len(data.train_labels))
    held, kept = np.sort(order[:size]), np.sort(order[size:])
    return dataclasses.replace(
        data,
        train_images=data.train_images[kept],
        train_labels=data.train_labels[kept],
        test_images=data.train_images[held],
        test_labels=data.train_labels[held],
    )


# The graph term's weight chosen on the validation split (seed 0) at the two label budgets
# measured: the fewer the labels, the more the label-free graph has to carry (see README.md).
MULTIPLIER_AT_LABELS = ((100, 20.0), (6000, 1.0))


def default_multiplier(labels_per_class: int) -> float:
    """The multiplier for `labels_per_class`: geometric between the validated budgets.

    20 at 100 labels per class and 1 at 6000 (all), log-linear in the label count between
    them and held at the ends outside, e.g. 1000 labels/class -> 5.2.
    """
    import numpy as np

    budgets, weights = np.log(np.array(MULTIPLIER_AT_LABELS)).T
    return float(np.exp(np.interp(np.log(labels_per_class), budgets, weights)))


def graph_multiplier() -> float:
    """--graph_multiplier, or the default for --labels_per_class."""
    if FLAGS.graph_multiplier is not None:
        return FLAGS.graph_multiplier
    return default_multiplier(FLAGS.labels_per_class)


def labeled_subset(labels, per_class: int, seed: int):
    """`per_class` row numbers of each class, drawn with `seed` (all rows when it is >= a class)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        rows.append(members if per_class >= len(members) else rng.choice(members, per_class, False))
    return np.sort(np.concatenate(rows))


class BatchPlan:
    """Seeded index batches: labeled rows, and for Graph-RISE seeds with a sampled neighbour."""

    def __init__(self, labels, labeled, offsets, targets, steps, batch_size, seed):
        import numpy as np

        self.labels, self.labeled = labels, labeled
        self.offsets, self.targets = offsets, targets
        self.steps, self.batch_size = steps, batch_size
        self.rng = np.random.default_rng(1000 + seed)
        # Unlabeled seeds are drawn among the images with a neighbour: one without carries
        # neither a label nor a graph term (a mutual-kNN graph leaves many such images).
        unlabeled = np.diff(offsets) > 0
        unlabeled[labeled] = False
        self.unlabeled = np.flatnonzero(unlabeled)

    def labeled_batches(self):
        """int64 `[steps, B]` rows of labeled images (epochs of shuffled labeled rows)."""
        import numpy as np

        need = self.steps * self.batch_size
        order = np.concatenate(
            [self.rng.permutation(self.labeled) for _ in range(need // len(self.labeled) + 1)]
        )
        return order[:need].reshape(self.steps, self.batch_size)

    def graph_batches(self, unlabeled_fraction: float, num_neighbors: int = 1):
        """`(seeds [steps, B], neighbours, weights, labels)`, K sampled neighbours a seed.

        `neighbours` and `weights` are `[steps, B, K]`: K distinct out-neighbours drawn
        uniformly from each seed's list (weight 1), padded with the seed itself at weight 0
        when it has fewer than K. `labels` is -1 for the unlabeled seeds.
        """
        import numpy as np

        seeds = self.labeled_batches()
        num_unlabeled = int(round(unlabeled_fraction * self.batch_size))
        if num_unlabeled and len(self.unlabeled):
            seeds[:, self.batch_size - num_unlabeled :] = self.rng.choice(
                self.unlabeled, (self.steps, num_unlabeled)
            )
        labels = np.where(np.isin(seeds, self.labeled), self.labels[seeds], -1)
        degree = np.diff(self.offsets)[seeds]
        slots = max(int(degree.max()), num_neighbors)
        # Random keys over each seed's neighbour slots, the missing slots last: the K smallest
        # keys are K distinct neighbours drawn without replacement.
        keys = self.rng.random((*seeds.shape, slots))
        keys[np.arange(slots) >= degree[..., None]] = np.inf
        pick = np.argsort(keys, axis=-1)[..., :num_neighbors]
        valid = pick < degree[..., None]
        position = np.minimum(self.offsets[seeds][..., None] + pick, len(self.targets) - 1)
        neighbours = np.where(valid, self.targets[position], seeds[..., None])
        return seeds, neighbours, valid.astype(np.float32), labels


def _dataset(images, batches, labels_of=None, graph=None):
    """A tf.data pipeline gathering the batches' images from one in-memory tensor."""
    import tensorflow as tf

    pixels = tf.constant(images)
    if graph is None:
        rows = tf.constant(batches)
        labels = tf.constant(labels_of[batches])
        ds = tf.data.Dataset.from_tensor_slices((rows, labels))
        ds = ds.map(lambda r, y: (tf.gather(pixels, r), y))
    else:
        seeds, neighbours, weights, labels = (tf.constant(a) for a in graph)
        ds = tf.data.Dataset.from_tensor_slices((seeds, neighbours, weights, labels))
        num_neighbors = graph[1].shape[-1]

        def features(s, n, w, y):
            x = {"image": tf.gather(pixels, s)}
            for i in range(num_neighbors):
                x[f"NL_nbr_{i}_image"] = tf.gather(pixels, n[:, i])
                x[f"NL_nbr_{i}_weight"] = w[:, i : i + 1]
            return x, y

        ds = ds.map(features)
    return ds.prefetch(2)


def build_model(kind: str, seed: int, num_neighbors: int | None = None):
    """`(trainable model, embedding network, loss)` for 'softmax', 'triplet' or 'graph_rise'."""
    import keras

    from graphnsl.configs import make_graph_reg_config
    from graphnsl.embedding import losses, models
    from graphnsl.graph_reg import GraphRegularization

    keras.utils.set_random_seed(seed)
    network = models.build_embedding_network(embedding_dim=FLAGS.embedding_dim)
    if kind == "triplet":
        return network, network, losses.TripletSemiHardLoss(margin=FLAGS.triplet_margin)
    classifier = models.build_classifier(network, 10, logit_scale=FLAGS.logit_scale)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    if kind == "softmax":
        return classifier, network, loss
    config = make_graph_reg_config(
        max_neighbors=FLAGS.graph_neighbors if num_neighbors is None else num_neighbors,
        multiplier=graph_multiplier(),
        distance_type=FLAGS.graph_distance,
        sum_over_axis=-1,
    )  # sum_over_axis=-1: one distance per pair (squared L2, L1 or cosine), averaged over pairs
    wrapper = GraphRegularization(classifier, config, regularize_layer="embedding")
    return wrapper, network, loss


def rampup(steps: int, rampup_steps: int):
    """float32 `[steps]` factors of the graph term: exp(-5 (1 - t)^2), t = step / rampup_steps.

    The neighbour weights are scaled by these; the distance is a weighted sum over the non-zero
    weights, so the factor scales the whole term. 1 from `rampup_steps` on (all 1 when 0).
    """
    import numpy as np

    if rampup_steps <= 0:
        return np.ones(steps, np.float32)
    t = np.minimum(np.arange(steps, dtype=np.float64) / rampup_steps, 1.0)
    return np.exp(-5.0 * (1.0 - t) ** 2).astype(np.float32)


def train(kind, data, labeled, graph_arrays, seed):
    """Trains one model; returns `(embedding network, seconds, images/s)`."""
    import keras

    model, network, loss = build_model(kind, seed)
    plan = BatchPlan(data.train_labels, labeled, *graph_arrays, FLAGS.steps, FLAGS.batch_size, seed)
    if kind == "graph_rise":
        seeds, neighbours, weights, labels = plan.graph_batches(
            FLAGS.unlabeled_seed_fraction, FLAGS.graph_neighbors
        )
        weights = weights * rampup(FLAGS.steps, FLAGS.graph_rampup_steps)[:, None, None]
        ds = _dataset(data.train_images, None, graph=(seeds, neighbours, weights, labels))
    else:
        ds = _dataset(data.train_images, plan.labeled_batches(), data.train_labels)
    rate = FLAGS.learning_rate
    if FLAGS.lr_schedule == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(rate, decay_steps=FLAGS.steps)
    model.compile(keras.optimizers.Adam(rate), loss, jit_compile=FLAGS.jit_compile)
    epochs = FLAGS.epochs
    callbacks = []
    if FLAGS.evaluate_every_epoch:
        from graphnsl.embedding.callbacks import EmbeddingEvaluation

        callbacks.append(
            EmbeddingEvaluation(
                network,
                (data.train_images, data.train_labels),
                (data.test_images, data.test_labels),
                num_triplets=FLAGS.num_triplets,
            )
        )
    start = time.perf_counter()
    model.fit(
        ds, epochs=epochs, steps_per_epoch=FLAGS.steps // epochs, verbose=2, callbacks=callbacks
    )
    seconds = time.perf_counter() - start
    if callbacks:  # the images/s would count the evaluations
        seconds = float("nan")
    return network, seconds, FLAGS.steps // epochs * epochs * FLAGS.batch_size / seconds


def measure_step_ratio(data, labeled, graph_arrays) -> dict:
    """Seconds per plain and per graph-regularized step, timed in alternating blocks."""
    import numpy as np

    plain, _, loss = build_model("softmax", 0)
    graph_model, _, graph_loss = build_model("graph_rise", 0, num_neighbors=1)
    import keras

    plain.compile(keras.optimizers.Adam(1e-3), loss, jit_compile=FLAGS.jit_compile)
    graph_model.compile(keras.optimizers.Adam(1e-3), graph_loss, jit_compile=FLAGS.jit_compile)
    n = FLAGS.ratio_steps
    plan = BatchPlan(data.train_labels, labeled, *graph_arrays, n, FLAGS.batch_size, 0)
    plain_ds = list(_dataset(data.train_images, plan.labeled_batches(), data.train_labels))
    graph_ds = list(_dataset(data.train_images, None, graph=plan.graph_batches(0.5, 1)))
    times = {"plain": [], "graph": []}
    for round_ in range(4):
        for name, model, batches in (("plain", plain, plain_ds), ("graph", graph_model, graph_ds)):
            start = time.perf_counter()
            for x, y in batches:
                model.train_on_batch(x, y)
            if round_:  # round 0 traces and warms up
                times[name].append((time.perf_counter() - start) / n)
    plain_s, graph_s = float(np.median(times["plain"])), float(np.median(times["graph"]))
    return {"plain_step_s": plain_s, "graph_step_s": graph_s, "ratio": graph_s / plain_s}


def embed(network, images):
    return network.predict(images, batch_size=1000, verbose=0)


def main(argv):
    del argv
    import numpy as np

    from graphnsl.data import fashion_mnist
    from graphnsl.embedding import metrics, similarity_graph
    from graphnsl.embedding.index import EmbeddingIndex

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    out_dir = pathlib.Path(FLAGS.output_dir or "/tmp/graph_rise_fashion_mnist")
    out_dir.mkdir(parents=True, exist_ok=True)
    run_start = time.perf_counter()
    data = fashion_mnist.load(FLAGS.data_dir)
    if FLAGS.validation:
        data = validation_split(data, seed=FLAGS.validation_seed)
    logger.info(
        "loaded Fashion-MNIST: %s train, %s test", len(data.train_images), len(data.test_images)
    )

    # The label-free graph over the 60,000 training images.
    start = time.perf_counter()
    graph_path, build_stats = out_dir / "graph" / "graph.tsv", {"reused": True}
    if not (FLAGS.reuse_graph and graph_path.exists()):
        graph_path, build_stats = similarity_graph.build_similar_image_graph(
            data.train_images,
            out_dir / "graph",
            dim=FLAGS.pca_dim,
            max_nbrs_per_node=FLAGS.max_nbrs_per_node,
            similarity_threshold=FLAGS.similarity_threshold,
            features=FLAGS.graph_features,
            whiten_power=FLAGS.pca_whiten_power,
            edges=FLAGS.graph_edges,
        )
    offsets, targets, _ = similarity_graph.neighbor_lists(graph_path, len(data.train_images))
    graph_stats = similarity_graph.graph_statistics(offsets, targets, data.train_labels)
    graph_stats["seconds"] = time.perf_counter() - start
    graph_stats["build_graph"] = {
        k: v for k, v in build_stats.items() if isinstance(v, (int, float, str))
    }
    logger.info("graph %s: %s", graph_path, graph_stats)

    results = {
        "flags": {
            f: getattr(FLAGS, f)
            for f in (
                "labels_per_class",
                "seeds",
                "steps",
                "batch_size",
                "learning_rate",
                "lr_schedule",
                "embedding_dim",
                "triplet_margin",
                "graph_multiplier",
                "graph_rampup_steps",
                "unlabeled_seed_fraction",
                "graph_neighbors",
                "graph_distance",
                "max_nbrs_per_node",
                "pca_dim",
                "similarity_threshold",
                "graph_features",
                "pca_whiten_power",
                "graph_edges",
                "num_triplets",
                "jit_compile",
                "validation",
                "validation_seed",
            )
        },
        "graph": graph_stats,
        "graph_multiplier_used": graph_multiplier(),
        "runs": {m: [] for m in FLAGS.models},
    }
    first_embeddings = {}
    for seed in range(FLAGS.seeds):
        labeled = labeled_subset(data.train_labels, FLAGS.labels_per_class, seed)
        for kind in FLAGS.models:
            network, seconds, images_per_s = train(kind, data, labeled, (offsets, targets), seed)
            train_e, test_e = embed(network, data.train_images), embed(network, data.test_images)
            start = time.perf_counter()
            scores = metrics.evaluate(
                train_e,
                data.train_labels,
                test_e,
                data.test_labels,
                num_triplets=FLAGS.num_triplets,
                triplet_seed=0,
            )
            scores.update(
                seed=seed,
                train_seconds=seconds,
                images_per_s=images_per_s,
                eval_seconds=time.perf_counter() - start,
            )
            results["runs"][kind].append(scores)
            logger.info(
                "%s seed %d: knn@1 %.4f knn@10 %.4f triplet %.4f map@r %.4f "
                "(%.0f s, %.0f images/s, peak RSS %.0f MB)",
                kind,
                seed,
                scores["knn@1"],
                scores["knn@10"],
                scores["triplet_accuracy"],
                scores["map@r"],
                seconds,
                images_per_s,
                _peak_rss_mb(),
            )
            if seed == 0:
                first_embeddings[kind] = (train_e, test_e)
                if FLAGS.embeddings_dir:
                    folder = pathlib.Path(FLAGS.embeddings_dir)
                    folder.mkdir(parents=True, exist_ok=True)
                    np.savez(
                        folder / f"{kind}.npz",
                        train_embeddings=train_e,
                        train_labels=data.train_labels,
                        test_embeddings=test_e,
                        test_labels=data.test_labels,
                    )
                # The model saves with its index (model.keras + index.npz).
                from graphnsl.embedding.index import save_with_model

                save_with_model(
                    out_dir / "models" / kind, network, EmbeddingIndex(train_e, data.train_labels)
                )

    results["step_ratio"] = measure_step_ratio(
        data, labeled_subset(data.train_labels, FLAGS.labels_per_class, 0), (offsets, targets)
    )
    logger.info("step cost: %s", results["step_ratio"])
    results["pictures"] = pictures(data, first_embeddings, results, out_dir)
    results["peak_rss_mb"] = _peak_rss_mb()
    results["total_seconds"] = time.perf_counter() - run_start
    results["load_average"] = os.getloadavg()
    results["environment"] = common.environment()
    table = summary_table(results)
    print(table)
    results["table"] = table
    if FLAGS.output_json:
        from graphnsl.data.examples import AtomicOutput

        pathlib.Path(FLAGS.output_json).parent.mkdir(parents=True, exist_ok=True)
        with AtomicOutput(FLAGS.output_json, "w") as file:
            json.dump(results, file, indent=1, default=float)


def summary_table(results) -> str:
    import numpy as np

    columns = [
        ("kNN@1", "knn@1"),
        ("kNN@10", "knn@10"),
        ("triplet acc", "triplet_accuracy"),
        ("recall@m=0.1", "recall@margin=0.1"),
        ("mAP@R", "map@r"),
    ]
    f = results["flags"]
    lines = [
        f"Fashion-MNIST, {f['labels_per_class']} labels/class, {f['steps']} steps x "
        f"{f['batch_size']}, mean ± std over {f['seeds']} seeds (%)",
        "| model | " + " | ".join(c for c, _ in columns) + " | train images/s |",
        "|---" * (len(columns) + 2) + "|",
    ]
    for kind, runs in results["runs"].items():
        cells = []
        for _, key in columns:
            values = 100 * np.array([r[key] for r in runs])
            cells.append(f"{values.mean():.2f} ± {values.std():.2f}")
        speed = np.mean([r["images_per_s"] for r in runs])
        lines.append(f"| {kind} | " + " | ".join(cells) + f" | {speed:.0f} |")
    g = results["graph"]
    ratio = results["step_ratio"]
    lines.append(
        f"graph: {g['edges']} edges over {g['nodes']} images, "
        f"{100 * g['same_label_edge_share']:.1f}% join two images of one class"
    )
    lines.append(
        f"graph-regularized step / plain step: {ratio['ratio']:.2f}x "
        f"({1000 * ratio['graph_step_s']:.1f} ms vs {1000 * ratio['plain_step_s']:.1f} ms)"
    )
    lines.append(
        f"total {results['total_seconds']:.0f} s, peak RSS {results['peak_rss_mb']:.0f} MB, "
        f"load average {results['load_average'][0]:.1f}"
    )
    return "\n".join(lines)


def pictures(data, first_embeddings, results, out_dir) -> dict:
    """t-SNE per model, recall-vs-margin curves (mean over seeds), a neighbour grid per model."""
    import numpy as np

    from graphnsl.data.fashion_mnist import CLASS_NAMES
    from graphnsl.embedding import plots
    from graphnsl.embedding.index import EmbeddingIndex

    paths = {}
    curves = {}
    for kind, runs in results["runs"].items():
        curves[kind] = (runs[0]["margins"], np.mean([r["recall_vs_margin"] for r in runs], 0))
    paths["recall_vs_margin"] = plots.plot_recall_vs_margin(
        curves,
        out_dir / "recall_vs_margin.png",
        title=f"{results['flags']['labels_per_class']} labels/class, test triplets",
    )
    rng = np.random.default_rng(0)
    queries = rng.choice(len(data.test_images), 8, replace=False)
    for kind, (train_e, test_e) in first_embeddings.items():
        index = EmbeddingIndex(train_e, data.train_labels)
        _, rows = index.search(test_e[queries], 8)
        paths[f"neighbors_{kind}"] = plots.plot_neighbor_grid(
            data.test_images[queries],
            data.train_images[rows],
            out_dir / f"neighbors_{kind}.png",
            data.test_labels[queries],
            data.train_labels[rows],
            title=f"{kind}: test queries, nearest training images",
        )
    if FLAGS.tsne_points:
        points = rng.choice(len(data.test_images), FLAGS.tsne_points, replace=False)
        maps = {k: plots.tsne_map(test_e[points]) for k, (_, test_e) in first_embeddings.items()}
        paths["tsne"] = plots.plot_tsne(
            maps, data.test_labels[points], out_dir / "tsne.png", CLASS_NAMES
        )
    return paths


if __name__ == "__main__":
    define_flags()
    app.run(main)
