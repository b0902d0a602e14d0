"""Graph batches built in memory from a graph's adjacency: full graph and k-hop samples.

Beyond NSL's one-hop packed samples:

- full-graph mode: the whole graph as one `GraphsTuple` (every edge both ways) plus
  `center_nodes`, the node ids whose outputs the model returns, so the loss only sees the
  training nodes (transductive node classification, as in Kipf & Welling);
- k-hop mode: each sample is its centre, up to `max_neighbors` sampled neighbours, and (for
  `hops=2`) up to `max_neighbors` sampled neighbours of each of those, with edges pointing
  towards the centre, so a two-layer GCN at the centre sees two hops.

Adjacency convention: `adjacency[r, s] = w` is an edge `s -> r` of weight `w`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from graphnsl.gnn import graph_ops


def row_normalize(features) -> sp.csr_matrix:
    """Divides each row of a (sparse or dense) matrix by its sum; zero rows stay zero."""
    features = sp.csr_matrix(features, dtype=np.float32)
    sums = np.asarray(features.sum(axis=1)).ravel()
    scale = np.divide(1.0, sums, out=np.zeros_like(sums), where=sums != 0)
    return sp.csr_matrix(sp.diags(scale.astype(np.float32)) @ features, dtype=np.float32)


def _check_adjacency(adjacency, num_nodes: int) -> sp.csr_matrix:
    adjacency = sp.csr_matrix(adjacency, dtype=np.float32)
    if adjacency.shape != (num_nodes, num_nodes):
        raise ValueError(
            f"adjacency has shape {adjacency.shape}, expected ({num_nodes}, {num_nodes}) "
            "to match the features' rows."
        )
    return adjacency


def full_graph(
    features,
    adjacency,
    center_nodes=None,
    feature_name: str = "words",
    normalize_features: bool = True,
    sparse_features: bool = False,
) -> dict:
    """The whole graph as one graph batch dict (NumPy).

    Args:
      features: `[N, F]` sparse or dense node features.
      adjacency: `[N, N]` sparse, `adjacency[r, s]` the weight of edge `s -> r`; no self
        loops needed (the GCN adds them).
      center_nodes: node ids whose outputs the model returns; None means all nodes.
      feature_name: the key of the features in the dict.
      normalize_features: row-normalize the features first (GCN's preprocessing).
      sparse_features: give the features as a `tf.SparseTensor` (its nonzeros in row-major
        order) instead of a dense array. Bag-of-words features are ~1% nonzero: the GCN then
        draws dropout and multiplies by its first kernel on the nonzeros only (Cora: 49k
        instead of 3.9M entries per step).

    Returns:
      dict: `feature_name` float32 `[N, F]` (dense, or `tf.SparseTensor`), `n_node` `[1]`,
      `n_edge` `[1]`, `senders`, `receivers` int32 `[E]`, `edges` float32 `[E, 1]`,
      `globals` `[1, 0]`, `center_nodes` int32 `[M]`.
    """
    num_nodes = features.shape[0]
    adjacency = _check_adjacency(adjacency, num_nodes).tocoo()
    if normalize_features:
        features = row_normalize(features)
    if sparse_features:
        coo = sp.coo_matrix(features, dtype=np.float32)
        coo.sum_duplicates()  # canonical: row-major order, no repeated index
        values = tf.SparseTensor(
            np.stack([coo.row, coo.col], axis=1).astype(np.int64),
            coo.data.astype(np.float32),
            np.array(coo.shape, np.int64),
        )
    else:
        values = (features.toarray() if sp.issparse(features) else np.asarray(features)).astype(
            np.float32
        )
    if center_nodes is None:
        center_nodes = np.arange(num_nodes)
    center_nodes = np.asarray(center_nodes, np.int64)
    if center_nodes.size and (center_nodes.min() < 0 or center_nodes.max() >= num_nodes):
        raise ValueError(f"center_nodes must be in [0, {num_nodes}).")
    return {
        feature_name: values,
        graph_ops.N_NODE: np.array([num_nodes], np.int32),
        graph_ops.N_EDGE: np.array([adjacency.nnz], np.int32),
        graph_ops.SENDERS: adjacency.col.astype(np.int32),
        graph_ops.RECEIVERS: adjacency.row.astype(np.int32),
        graph_ops.EDGES: adjacency.data.astype(np.float32)[:, None],
        graph_ops.GLOBALS: np.zeros([1, 0], np.float32),
        graph_ops.CENTER_NODES: center_nodes.astype(np.int32),
    }


def _split_index(dataset, split: str) -> np.ndarray:
    indices = {"train": dataset.train_index, "val": dataset.val_index, "test": dataset.test_index}
    if split not in indices:
        raise ValueError(f"split={split!r} is not valid; use 'train', 'val' or 'test'.")
    return np.asarray(indices[split], np.int64)


def make_full_graph_dataset(
    dataset,
    split: str = "train",
    normalize_features: bool = True,
    feature_name: str = "words",
    sparse_features: bool | None = None,
) -> tf.data.Dataset:
    """One-element dataset: the whole graph with `center_nodes` = the split's nodes.

    Args:
      dataset: a `graphnsl.data.planetoid.PlanetoidDataset` (or anything with `features`,
        `adjacency`, `labels` and `train_index`/`val_index`/`test_index`).
      split: 'train', 'val' or 'test'.
      normalize_features: row-normalize the features.
      feature_name: the features' key.
      sparse_features: features as a `tf.SparseTensor` (see `full_graph`). None (default):
        when `dataset.features` is a SciPy sparse matrix with at most 10% nonzeros (the
        Planetoid bag-of-words). Models that cannot take sparse features get them densified
        (`NodeGraphModel.accepts_sparse_features`).

    Returns:
      `tf.data.Dataset` with one `(graph dict, labels int64 [M])`.
    """
    centers = _split_index(dataset, split)
    if sparse_features is None:
        features = dataset.features
        sparse_features = sp.issparse(features) and features.nnz <= 0.1 * np.prod(features.shape)
    graph = full_graph(
        dataset.features,
        dataset.adjacency,
        centers,
        feature_name,
        normalize_features,
        sparse_features=sparse_features,
    )
    labels = np.asarray(dataset.labels, np.int64)[centers]
    return tf.data.Dataset.from_tensors((graph, labels))


def _sample(neighbors: np.ndarray, max_neighbors: int, rng) -> np.ndarray:
    if rng is None or len(neighbors) <= max_neighbors:
        return neighbors[:max_neighbors]
    return np.sort(rng.choice(neighbors, max_neighbors, replace=False))


def neighborhood_batch(
    adjacency: sp.csr_matrix,
    centers,
    hops: int = 2,
    max_neighbors: int = 5,
    rng: np.random.Generator | None = None,
    static_shapes: bool = False,
) -> dict:
    """The k-hop sample graphs of `centers`, as node ids and graph structure (NumPy).

    Each graph: the hop-1 neighbours (up to `max_neighbors`, sampled with `rng`, else the
    first ones), then (hops=2) the new nodes among the sampled neighbours of each hop-1 node,
    then the centre, last. Edges: hop-1 -> centre, and each sampled neighbour of a hop-1 node
    -> that node (reusing the centre or a hop-1 node when the neighbour is one). Weights are
    the adjacency's. With `static_shapes`, each graph is padded to
    `1 + m + m^2` nodes (hops=2; `1 + m` for hops=1) and `m + m^2` edges (`m`): padding
    nodes have id -1 and sit before the centre, padding edges are centre -> centre with
    weight 0.

    Args:
      adjacency: CSR `[N, N]`, `adjacency[r, s]` = weight of `s -> r`.
      centers: int node ids `[B]`.
      hops: 1 or 2.
      max_neighbors: neighbours sampled per node, m.
      rng: NumPy generator for sampling; None takes the first m by id.
      static_shapes: pad as above.

    Returns:
      dict: `node_ids` int64 `[N_b]` (-1 for padding), `n_node`, `n_edge` int32 `[B]`,
      `senders`, `receivers` int32 `[E_b]`, `weights` float32 `[E_b]`.
    """
    if hops not in (1, 2):
        raise ValueError(f"hops={hops!r} must be 1 or 2.")
    if isinstance(max_neighbors, bool) or not isinstance(max_neighbors, int) or max_neighbors < 0:
        raise ValueError(f"max_neighbors={max_neighbors!r} must be an int >= 0.")
    m = max_neighbors
    max_nodes = 1 + m + (m * m if hops == 2 else 0)
    max_edges = m + (m * m if hops == 2 else 0)
    indptr, indices, data = adjacency.indptr, adjacency.indices, adjacency.data
    node_ids, n_node, n_edge, senders, receivers, weights = [], [], [], [], [], []
    offset = 0
    for center in np.asarray(centers, np.int64):

        def row(node):
            start, end = indptr[node], indptr[node + 1]
            return indices[start:end], data[start:end]

        ids = []
        local = {}
        edges = []  # (sender global id, receiver global id, weight)
        nbrs, nbr_weights = row(center)
        chosen = _sample(np.arange(len(nbrs)), m, rng)
        hop1 = [(int(nbrs[i]), float(nbr_weights[i])) for i in chosen if nbrs[i] != center]
        for node, weight in hop1:
            local[node] = len(ids)
            ids.append(node)
            edges.append((node, int(center), weight))
        if hops == 2:
            for node, _ in hop1:
                nbrs2, weights2 = row(node)
                for i in _sample(np.arange(len(nbrs2)), m, rng):
                    other = int(nbrs2[i])
                    if other == node:
                        continue
                    if other != center and other not in local:
                        local[other] = len(ids)
                        ids.append(other)
                    edges.append((other, node, float(weights2[i])))
        real_nodes = len(ids) + 1
        pad_nodes = max_nodes - real_nodes if static_shapes else 0
        center_local = len(ids) + pad_nodes
        local[int(center)] = center_local
        ids.extend([-1] * pad_nodes)
        ids.append(int(center))
        pad_edges = max_edges - len(edges) if static_shapes else 0
        for sender, receiver, weight in edges:
            senders.append(offset + local[sender])
            receivers.append(offset + local[receiver])
            weights.append(weight)
        senders.extend([offset + center_local] * pad_edges)
        receivers.extend([offset + center_local] * pad_edges)
        weights.extend([0.0] * pad_edges)
        node_ids.extend(ids)
        n_node.append(len(ids))
        n_edge.append(len(edges) + pad_edges)
        offset += len(ids)
    return {
        "node_ids": np.asarray(node_ids, np.int64),
        "n_node": np.asarray(n_node, np.int32),
        "n_edge": np.asarray(n_edge, np.int32),
        "senders": np.asarray(senders, np.int32),
        "receivers": np.asarray(receivers, np.int32),
        "weights": np.asarray(weights, np.float32),
    }


def make_neighborhood_dataset(
    dataset,
    split: str = "train",
    hops: int = 2,
    max_neighbors: int = 5,
    batch_size: int = 128,
    shuffle: bool = False,
    seed: int | None = None,
    static_shapes: bool = False,
    normalize_features: bool = True,
    feature_name: str = "words",
) -> tf.data.Dataset:
    """Batches of k-hop sample graphs (see `neighborhood_batch`) for a split's nodes.

    Neighbours are resampled every pass when `seed` is given (`max_neighbors` below the
    degree), else the first `max_neighbors` by id are taken. With `static_shapes`, the
    last partial batch is dropped so every batch has the same shapes.

    Args:
      dataset: a `PlanetoidDataset` (features, adjacency, labels, split indices).
      split: 'train', 'val' or 'test'.
      hops: 1 or 2.
      max_neighbors: neighbours sampled per node.
      batch_size: samples per batch.
      shuffle: shuffle the centres every pass (needs `seed` for determinism).
      seed: seed of shuffling and sampling.
      static_shapes: fixed node and edge counts per graph (see `neighborhood_batch`).
      normalize_features: row-normalize the features.
      feature_name: the features' key.

    Returns:
      `tf.data.Dataset` of `(graph batch dict, labels int64 [B])`.
    """
    centers_all = _split_index(dataset, split)
    features = dataset.features
    features = row_normalize(features) if normalize_features else sp.csr_matrix(features)
    num_features = features.shape[1]
    features = sp.vstack([features, sp.csr_matrix((1, num_features), dtype=np.float32)]).tocsr()
    adjacency = _check_adjacency(dataset.adjacency, dataset.features.shape[0])
    labels = np.asarray(dataset.labels, np.int64)
    padding_row = features.shape[0] - 1

    def generate():
        rng = np.random.default_rng(seed) if seed is not None else None
        order = centers_all.copy()
        if shuffle:
            (rng or np.random.default_rng(0)).shuffle(order)
        stop = len(order) - (len(order) % batch_size if static_shapes else 0)
        for start in range(0, stop, batch_size):
            centers = order[start : start + batch_size]
            batch = neighborhood_batch(adjacency, centers, hops, max_neighbors, rng, static_shapes)
            rows = np.where(batch["node_ids"] >= 0, batch["node_ids"], padding_row)
            graph = {
                feature_name: features[rows].toarray(),
                graph_ops.N_NODE: batch["n_node"],
                graph_ops.N_EDGE: batch["n_edge"],
                graph_ops.SENDERS: batch["senders"],
                graph_ops.RECEIVERS: batch["receivers"],
                graph_ops.EDGES: batch["weights"][:, None],
                graph_ops.GLOBALS: np.zeros([len(centers), 0], np.float32),
            }
            yield graph, labels[centers]

    if static_shapes:
        m = max_neighbors
        nodes = batch_size * (1 + m + (m * m if hops == 2 else 0))
        edges = batch_size * (m + (m * m if hops == 2 else 0))
        graphs = batch_size
    else:
        nodes = edges = graphs = None
    signature = (
        {
            feature_name: tf.TensorSpec([nodes, num_features], tf.float32),
            graph_ops.N_NODE: tf.TensorSpec([graphs], tf.int32),
            graph_ops.N_EDGE: tf.TensorSpec([graphs], tf.int32),
            graph_ops.SENDERS: tf.TensorSpec([edges], tf.int32),
            graph_ops.RECEIVERS: tf.TensorSpec([edges], tf.int32),
            graph_ops.EDGES: tf.TensorSpec([edges, 1], tf.float32),
            graph_ops.GLOBALS: tf.TensorSpec([graphs, 0], tf.float32),
        },
        tf.TensorSpec([graphs], tf.int64),
    )
    return tf.data.Dataset.from_generator(generate, output_signature=signature).prefetch(2)
