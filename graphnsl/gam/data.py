"""Node data for Graph Agreement Models: features, labels, split and edges, from either source.

`CotrainData` is the one currency of `gam`: every node has a row of features and an id
`0..num_nodes-1`; labels are -1 where unknown; edges are directed id pairs (both directions of
an undirected edge). Build it from a Planetoid dataset (`from_planetoid`) or from NSL-packed
TFRecords (`from_packed_tfrecords`), where the edges are the seed -> neighbour links.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:
    from graphnsl.data.planetoid import PlanetoidDataset

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class CotrainData:
    """A transductive node-classification problem with a graph.

    Attributes:
      features: float32 `[num_nodes, num_features]`, dense NumPy or SciPy CSR.
      labels: int64 `[num_nodes]`; -1 where unknown (unlabeled nodes; val/test labels are
        known here and only used for evaluation).
      edges: int64 `[num_edges, 2]` directed (source, target) node ids; no self loops.
      train_index, val_index, test_index: int64 node ids of the split.
      num_classes: number of classes.
      name: a label for logs.
    """

    features: np.ndarray | sp.csr_matrix
    labels: np.ndarray
    edges: np.ndarray
    train_index: np.ndarray
    val_index: np.ndarray
    test_index: np.ndarray
    num_classes: int
    name: str = "data"

    def __post_init__(self):
        n = self.features.shape[0]
        labels = np.asarray(self.labels, np.int64)
        if labels.shape != (n,):
            raise ValueError(f"CotrainData.labels has shape {labels.shape}; expected ({n},).")
        edges = np.asarray(self.edges, np.int64).reshape(-1, 2)
        if edges.size and (edges.min() < 0 or edges.max() >= n):
            raise ValueError(f"CotrainData.edges has node ids outside [0, {n}).")
        edges = edges[edges[:, 0] != edges[:, 1]]
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "edges", edges)
        for field in ("train_index", "val_index", "test_index"):
            index = np.asarray(getattr(self, field), np.int64).reshape(-1)
            if index.size and (index.min() < 0 or index.max() >= n):
                raise ValueError(f"CotrainData.{field} has node ids outside [0, {n}).")
            if index.size and (labels[index] < 0).any():
                raise ValueError(f"CotrainData.{field} holds nodes without a label.")
            object.__setattr__(self, field, index)
        if (labels >= self.num_classes).any():
            raise ValueError(f"CotrainData.labels has values >= num_classes={self.num_classes}.")

    @property
    def num_nodes(self) -> int:
        return int(self.features.shape[0])

    @property
    def num_features(self) -> int:
        return int(self.features.shape[1])

    def dense_features(self) -> np.ndarray:
        """Returns the features as a dense float32 array `[num_nodes, num_features]`."""
        if sp.issparse(self.features):
            return np.asarray(self.features.todense(), np.float32)
        return np.asarray(self.features, np.float32)

    def sparse_features(self) -> sp.csr_matrix:
        """Returns the features as a float32 CSR matrix `[num_nodes, num_features]`."""
        return sp.csr_matrix(self.features, dtype=np.float32)

    def adjacency(self) -> sp.csr_matrix:
        """Returns the symmetric 0/1 adjacency `[num_nodes, num_nodes]` of the edges."""
        n = self.num_nodes
        a = sp.coo_matrix(
            (np.ones(len(self.edges), np.float32), (self.edges[:, 0], self.edges[:, 1])),
            shape=(n, n),
        ).tocsr()
        a = a.maximum(a.T)
        a.data[:] = 1.0
        return a.astype(np.float32)


def from_planetoid(dataset: PlanetoidDataset, row_normalize: bool = False) -> CotrainData:
    """Wraps a `graphnsl.data.planetoid.PlanetoidDataset` (edges: both directions of each link).

    Args:
      dataset: the loaded dataset (`graphnsl.data.planetoid.load(name)`).
      row_normalize: divide each node's features by their sum (rows summing to 0 stay 0),
        the reference's `--row_normalize`.

    Returns:
      A `CotrainData` with the standard split.
    """
    coo = dataset.adjacency.tocoo()
    edges = np.stack([coo.row, coo.col], axis=1).astype(np.int64)
    features = sp.csr_matrix(dataset.features, dtype=np.float32)
    if row_normalize:
        sums = np.asarray(features.sum(axis=1), np.float64).reshape(-1)
        scale = np.divide(1.0, sums, out=np.zeros_like(sums), where=sums != 0)
        features = sp.csr_matrix(sp.diags(scale.astype(np.float32)) @ features, dtype=np.float32)
    return CotrainData(
        features=features,
        labels=np.asarray(dataset.labels, np.int64),
        edges=edges,
        train_index=dataset.train_index,
        val_index=dataset.val_index,
        test_index=dataset.test_index,
        num_classes=int(dataset.num_classes),
        name=getattr(dataset, "name", "planetoid"),
    )


def _read_examples(path: str):
    import tensorflow as tf

    for record_number, raw in enumerate(tf.data.TFRecordDataset(path)):
        example = tf.train.Example.FromString(raw.numpy())
        yield record_number, example.features.feature


def _bytes_id(feature, key: str, path: str, record: int) -> bytes:
    if key not in feature or not feature[key].bytes_list.value:
        raise ValueError(f"{path}: record {record} has no bytes feature {key!r} (the node id).")
    return feature[key].bytes_list.value[0]


def _vector(feature, key: str, num_features: int | None, path: str, record: int) -> np.ndarray:
    if key not in feature:
        raise ValueError(f"{path}: record {record} has no feature {key!r}.")
    f = feature[key]
    values = f.float_list.value if f.float_list.value else f.int64_list.value
    vector = np.asarray(values, np.float32)
    if num_features is not None and vector.shape[0] != num_features:
        raise ValueError(
            f"{path}: record {record} feature {key!r} has {vector.shape[0]} values; "
            f"expected {num_features}."
        )
    return vector


def from_packed_tfrecords(
    train_path: str,
    val_path: str,
    test_path: str,
    feature_key: str = "words",
    label_key: str = "label",
    id_key: str = "id",
    num_classes: int | None = None,
    extra_paths: Sequence[str] = (),
    name: str = "packed",
) -> CotrainData:
    """Builds `CotrainData` from NSL-packed `tf.train.Example` TFRecords.

    Seeds are the records of all files; a seed's packed neighbours `NL_nbr_<i>_<id_key>`
    (for `i < NL_num_nbrs`, or while present) give the edges seed -> neighbour, added in both
    directions. A neighbour that is no seed of any file becomes an unlabeled node with the
    packed features `NL_nbr_<i>_<feature_key>`. Records of `train_path` with a label >= 0 are
    the training nodes (label missing or -1: unlabeled); val and test records must be labeled.
    A node found in several files keeps its val/test role.

    Args:
      train_path: TFRecord of labeled and unlabeled training seeds (NSL's
        `train_merged_examples.tfr`), neighbours packed.
      val_path, test_path: TFRecords of the validation and test nodes.
      feature_key: the feature vector's name (int64 or float list).
      label_key: the int64 label's name.
      id_key: the bytes node id's name.
      num_classes: classes; default 1 + the largest label seen.
      extra_paths: more TFRecords of (unlabeled) seeds, e.g. `unlabeled_examples.tfr`.
      name: a label for logs.

    Returns:
      The `CotrainData`; raises ValueError naming the file and record for malformed input.
    """
    ids: dict[bytes, int] = {}
    rows: list[np.ndarray] = []
    labels: list[int] = []
    role: list[str] = []
    edges: list[tuple[int, int]] = []
    num_features: list[int | None] = [None]

    def node(node_id: bytes, vector: np.ndarray | None) -> int:
        if node_id not in ids:
            ids[node_id] = len(rows)
            rows.append(vector)
            labels.append(-1)
            role.append("unlabeled")
        elif rows[ids[node_id]] is None and vector is not None:
            rows[ids[node_id]] = vector
        return ids[node_id]

    def read(path: str, split: str):
        count = 0
        for record, feature in _read_examples(path):
            count += 1
            vector = _vector(feature, feature_key, num_features[0], path, record)
            num_features[0] = vector.shape[0]
            seed = node(_bytes_id(feature, id_key, path, record), vector)
            rows[seed] = vector
            label = -1
            if label_key in feature and feature[label_key].int64_list.value:
                label = int(feature[label_key].int64_list.value[0])
            if split in ("val", "test") and label < 0:
                raise ValueError(f"{path}: record {record} ({split}) has no label {label_key!r}.")
            if label >= 0 and (split != "train" or role[seed] not in ("val", "test")):
                labels[seed] = label
            if split in ("val", "test"):
                role[seed] = split
            elif split == "train" and label >= 0 and role[seed] == "unlabeled":
                role[seed] = "train"
            num_nbrs = None
            if "NL_num_nbrs" in feature and feature["NL_num_nbrs"].int64_list.value:
                num_nbrs = int(feature["NL_num_nbrs"].int64_list.value[0])
            i = 0
            while (num_nbrs is None or i < num_nbrs) and f"NL_nbr_{i}_{id_key}" in feature:
                nbr_feature_key = f"NL_nbr_{i}_{feature_key}"
                nbr_vector = (
                    _vector(feature, nbr_feature_key, num_features[0], path, record)
                    if nbr_feature_key in feature
                    else None
                )
                nbr = node(_bytes_id(feature, f"NL_nbr_{i}_{id_key}", path, record), nbr_vector)
                if nbr != seed:
                    edges.append((seed, nbr))
                i += 1
        if count == 0:
            raise ValueError(f"{path}: no records.")

    for path in extra_paths:
        read(path, "extra")
    read(train_path, "train")
    read(val_path, "val")
    read(test_path, "test")
    missing = [k.decode(errors="replace") for k, v in ids.items() if rows[v] is None]
    if missing:
        raise ValueError(
            f"{len(missing)} neighbour ids have no features (first: {missing[0]!r}): pack them "
            f"with their features or add their records via extra_paths."
        )
    labels_array = np.asarray(labels, np.int64)
    role_array = np.asarray(role)
    edge_array = np.asarray(edges, np.int64).reshape(-1, 2)
    edge_array = np.unique(np.concatenate([edge_array, edge_array[:, ::-1]]), axis=0)
    classes = int(num_classes) if num_classes is not None else int(labels_array.max()) + 1
    return CotrainData(
        features=np.stack(rows).astype(np.float32),
        labels=labels_array,
        edges=edge_array,
        train_index=np.flatnonzero(role_array == "train"),
        val_index=np.flatnonzero(role_array == "val"),
        test_index=np.flatnonzero(role_array == "test"),
        num_classes=classes,
        name=name,
    )
