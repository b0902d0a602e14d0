"""`graphnsl prepare-planetoid`: a Planetoid dataset as NSL-format TFRecords and TSV graph.

The files follow NSL's Cora tutorial schema: each `tf.train.Example` has `id` (bytes, the node
id), `words` (int64[num_features], 0/1) and, for labeled nodes, `label` (int64). Written:

  train_merged_examples.tfr  training seeds packed with up to `max_nbrs` neighbours
  val_examples.tfr           validation nodes (empty for the random80 split)
  test_examples.tfr          test nodes
  unlabeled_examples.tfr     every other node, without its label (the neighbour pool)
  graph.tsv                  each undirected edge in both directions, weight 1.0
  dataset_info.json          sizes and counts, read by the examples

Splits: `planetoid` is the standard split (140/500/1000 on Cora): neighbours may be any node,
never with its label. `random80` is NSL's Cora tutorial: a seeded random 80% of all nodes
train and the rest test; as in the tutorial's preprocessing, test nodes may be packed as
neighbours without their labels (transductive: `unlabeled_examples.tfr` holds the test nodes).
With `unlabeled_seeds=True` every non-training node of the pool is also packed as a seed
without a label, so its edges regularize too (Neural Graph Machines).
"""

from __future__ import annotations

import json
import logging
import os
import pathlib
import tempfile

import numpy as np

from graphnsl.data import planetoid

logger = logging.getLogger(__name__)

SPLITS = ("planetoid", "random80")
FILES = (
    "train_merged_examples.tfr",
    "val_examples.tfr",
    "test_examples.tfr",
    "unlabeled_examples.tfr",
    "graph.tsv",
    "dataset_info.json",
)


def _node_examples(dataset: planetoid.PlanetoidDataset, nodes: np.ndarray, with_labels: bool):
    words = dataset.features[nodes].toarray().astype(np.int64)
    for row, node in enumerate(nodes):
        example = {"id": str(int(node)).encode(), "words": words[row]}
        if with_labels:
            example["label"] = np.array([dataset.labels[node]], np.int64)
        yield example


def split_nodes(
    dataset: planetoid.PlanetoidDataset, split: str, seed: int = 0
) -> dict[str, np.ndarray]:
    """Node ids of `train`, `val`, `test` and `unlabeled` (the neighbour pool minus train)."""
    if split == "planetoid":
        return {
            "train": dataset.train_index,
            "val": dataset.val_index,
            "test": dataset.test_index,
            "unlabeled": np.setdiff1d(np.arange(dataset.num_nodes), dataset.train_index),
        }
    if split == "random80":
        labeled = np.flatnonzero(dataset.labels >= 0)
        order = np.random.default_rng(seed).permutation(labeled)
        cut = int(round(0.8 * len(order)))
        test = np.sort(order[cut:])
        return {
            "train": np.sort(order[:cut]),
            "val": np.zeros(0, np.int64),
            "test": test,
            "unlabeled": test,
        }
    raise ValueError(f"split={split!r} is not valid; valid values: {', '.join(SPLITS)}.")


def prepare_planetoid(
    name: str,
    output_dir: str | os.PathLike,
    max_nbrs: int = 3,
    split: str = "planetoid",
    data_dir: str | os.PathLike | None = None,
    seed: int = 0,
    unlabeled_seeds: bool = False,
) -> dict:
    """Writes the files above for Planetoid dataset `name` into `output_dir`.

    Args:
      name: 'cora', 'citeseer' or 'pubmed'.
      output_dir: created if missing; each file is written under a temporary name first.
      max_nbrs: neighbours packed per training seed.
      split: 'planetoid' or 'random80'.
      data_dir: where the `ind.<name>.*` files are (see `planetoid.load`).
      seed: seed of the random80 split.
      unlabeled_seeds: also pack every pool node as an unlabeled seed.

    Returns:
      The contents of `dataset_info.json`: sizes, counts and packing statistics.
    """
    from graphnsl.data import examples
    from graphnsl.data.pack_nbrs import pack_nbrs

    if isinstance(max_nbrs, bool) or not isinstance(max_nbrs, int) or max_nbrs < 0:
        raise ValueError(f"max_nbrs={max_nbrs!r} must be an int >= 0.")
    out = pathlib.Path(output_dir)
    _check_output_dir(out)
    dataset = planetoid.load(name, data_dir)
    nodes = split_nodes(dataset, split, seed)
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for part in ("val", "test", "unlabeled"):
        counts[part] = examples.write_examples(
            out / f"{part}_examples.tfr", _node_examples(dataset, nodes[part], part != "unlabeled")
        )
    pool = np.union1d(nodes["train"], nodes["unlabeled"])
    adjacency = dataset.adjacency[pool][:, pool].tocoo()
    edges = (
        (str(int(pool[r])), str(int(pool[c])), 1.0)
        for r, c in zip(adjacency.row, adjacency.col, strict=True)
    )
    examples.write_graph_tsv(out / "graph.tsv", edges)
    with tempfile.TemporaryDirectory(dir=out, prefix=".seeds.") as scratch:
        seeds_path = pathlib.Path(scratch) / "seeds.tfr"
        seeds = _node_examples(dataset, nodes["train"], True)
        if unlabeled_seeds:
            seeds = _chain(seeds, _node_examples(dataset, nodes["unlabeled"], False))
            pool_path = ""
        else:
            pool_path = str(out / "unlabeled_examples.tfr")
        counts["train_seeds"] = examples.write_examples(seeds_path, seeds)
        packing = pack_nbrs(
            str(seeds_path),
            pool_path,
            str(out / "graph.tsv"),
            str(out / "train_merged_examples.tfr"),
            add_undirected_edges=False,
            max_nbrs=max_nbrs,
        )
    info = {
        "dataset": name,
        "split": split,
        "seed": seed,
        "max_nbrs": max_nbrs,
        "unlabeled_seeds": unlabeled_seeds,
        "num_nodes": dataset.num_nodes,
        "num_features": dataset.num_features,
        "num_classes": dataset.num_classes,
        "train": len(nodes["train"]),
        "val": counts["val"],
        "test": counts["test"],
        "unlabeled": counts["unlabeled"],
        "train_seeds": counts["train_seeds"],
        "graph_edges": int(adjacency.nnz),
        "packing": {k: v for k, v in packing.items() if isinstance(v, (int, float, str))},
    }
    with examples.AtomicOutput(out / "dataset_info.json", "w") as handle:
        json.dump(info, handle, indent=2)
    logger.info("wrote %s to %s: %s", name, out, info)
    return info


def _check_output_dir(out: pathlib.Path) -> None:
    """Fails before the dataset is read when `out` or one of its files cannot be written."""
    from graphnsl.data.atomic import check_output_path

    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--output_dir {str(out)!r} is a file, not a folder.")
    if out.is_dir():
        for name in FILES:
            check_output_path(out / name)


def _chain(*iterables):
    for iterable in iterables:
        yield from iterable


def read_dataset_info(output_dir: str | os.PathLike) -> dict:
    """Reads `dataset_info.json` of a prepared folder."""
    path = pathlib.Path(output_dir) / "dataset_info.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: run `graphnsl prepare-planetoid --output_dir={output_dir}` first."
        )
    return json.loads(path.read_text())


def feature_spec(num_features: int) -> dict:
    """The parse spec of a prepared file's sample features: `words` int64[num_features]."""
    import tensorflow as tf

    return {"words": tf.io.FixedLenFeature([num_features], tf.int64)}


def define_flags() -> None:
    from absl import flags

    flags.DEFINE_enum("dataset", "cora", list(planetoid.NAMES), "Planetoid dataset.")
    flags.DEFINE_integer("max_nbrs", 3, "Neighbours packed per training seed.")
    flags.DEFINE_enum(
        "split", "planetoid", list(SPLITS), "planetoid (standard) or random80 (NSL tutorial)."
    )
    flags.DEFINE_string("output_dir", None, "Folder to write.", required=True)
    flags.DEFINE_string(
        "data_dir", None, "Folder with ind.<name>.* (default $GRAPHNSL_DATA_DIR/planetoid)."
    )
    flags.DEFINE_integer("seed", 0, "Seed of the random80 split.")
    flags.DEFINE_bool("unlabeled_seeds", False, "Also pack non-training nodes as unlabeled seeds.")


def main(argv) -> None:
    from absl import app, flags
    from absl import logging as absl_logging

    if len(argv) > 1:
        raise app.UsageError(f"takes no positional arguments, got {argv[1:]}")
    absl_logging.set_verbosity(absl_logging.INFO)
    logging.getLogger().setLevel(logging.INFO)
    f = flags.FLAGS
    info = prepare_planetoid(
        f.dataset, f.output_dir, f.max_nbrs, f.split, f.data_dir, f.seed, f.unlabeled_seeds
    )
    print(json.dumps(info, indent=2))
