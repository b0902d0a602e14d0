"""Graph batches from NSL-packed samples: each sample becomes one small graph.

A packed sample (features plus `NL_nbr_<i>_<name>` and `NL_nbr_<i>_weight` for `i < k`)
becomes a graph whose nodes are its present neighbours (weight > 0), in neighbour order, then
the sample itself (the centre, last, as in NSL), and whose edges go neighbour -> centre and
carry the neighbour weight as `edges[:, 0]`. A batch of samples is the disjoint union of
their graphs, as a dict with the `GraphsTuple` fields (`n_node`, `n_edge`, `senders`,
`receivers`, `edges`, `globals`) next to the node features.

With `static_shapes=True` every graph keeps all `k` neighbour slots: `k + 1` nodes and `k`
edges per graph, a missing neighbour being a zero-feature node whose edge has weight 0. The
batch then has the same shapes every step (with `drop_remainder`, the default there), so an
XLA-compiled step compiles once and runs on TPU. graph_nets' `utils_tf.pad_graphs_tuple`
instead gathers the padding in one extra graph; padding inside each graph keeps one graph per
label and the centre at `cumsum(n_node) - 1`. A weight-0 edge changes neither the GCN
propagation nor the graph loss, so both layouts give the same centre outputs.
"""

from __future__ import annotations

import tensorflow as tf

from graphnsl.configs import GraphNeighborConfig
from graphnsl.gnn import graph_ops


def _sample_feature_names(features: dict, neighbor_config: GraphNeighborConfig) -> list[str]:
    return [key for key in features if not key.startswith(neighbor_config.prefix)]


def pack_neighbors(
    features: dict,
    neighbor_config: GraphNeighborConfig | None,
    static_shapes: bool = False,
) -> dict:
    """Packs a batch of NSL-packed samples into a graph batch dict (see the module doc).

    Args:
      features: dict of sample features `[B, ...]`, and for `i < k = max_neighbors` the
        neighbour features `NL_nbr_<i>_<name>` `[B, ...]` and weights `NL_nbr_<i>_weight`
        `[B, 1]` (as `graphnsl.data.make_dataset` yields them).
      neighbor_config: prefix, weight suffix and `max_neighbors`; None means no neighbours.
      static_shapes: keep every neighbour slot (fixed shapes) instead of only present ones.

    Returns:
      dict with the sample feature names `[N, ...]`, `n_node` and `n_edge` int32 `[B]`,
      `senders` and `receivers` int32 `[E]`, `edges` float32 `[E, 1]`, `globals` `[B, 0]`.

    Raises:
      ValueError: a neighbour feature or weight is missing.
    """
    neighbor_config = neighbor_config or GraphNeighborConfig()
    names = _sample_feature_names(features, neighbor_config)
    if not names:
        raise ValueError(f"no sample feature in the batch (keys {sorted(features)}).")
    k = neighbor_config.max_neighbors
    batch = tf.shape(features[names[0]])[0]
    for i in range(k):
        needed = [neighbor_config.feature_key(i, n) for n in names]
        needed.append(neighbor_config.weight_key(i))
        missing = [key for key in needed if key not in features]
        if missing:
            raise ValueError(
                f"neighbour keys {missing} missing for max_neighbors={k}; read the file with "
                "the same neighbor_config (graphnsl.data.make_dataset(..., neighbor_config))."
            )
    if k == 0:
        weights = tf.zeros([batch, 0], tf.float32)
    else:
        weights = tf.concat(
            [
                tf.reshape(tf.cast(features[neighbor_config.weight_key(i)], tf.float32), [-1, 1])
                for i in range(k)
            ],
            axis=1,
        )
    present = tf.ones_like(weights, tf.bool) if static_shapes else weights > 0
    # Slots [B, k + 1]: the neighbours, then the centre (always present).
    slots = tf.concat([present, tf.ones([batch, 1], tf.bool)], axis=1)
    graph = {}
    for name in names:
        stacked = tf.stack(
            [tf.convert_to_tensor(features[neighbor_config.feature_key(i, name)]) for i in range(k)]
            + [tf.convert_to_tensor(features[name])],
            axis=1,
        )
        graph[name] = tf.boolean_mask(stacked, slots) if not static_shapes else _merge(stacked)
    n_edge = tf.reduce_sum(tf.cast(present, tf.int32), axis=1)
    n_node = n_edge + 1
    offsets = tf.cumsum(n_node, exclusive=True)
    centers = offsets + n_edge
    # A present neighbour's node index: its graph's offset plus its rank among the present.
    ranks = tf.cumsum(tf.cast(present, tf.int32), axis=1) - 1
    sender_matrix = offsets[:, None] + ranks
    receiver_matrix = tf.broadcast_to(centers[:, None], tf.shape(ranks))
    graph[graph_ops.N_NODE] = n_node
    graph[graph_ops.N_EDGE] = n_edge
    graph[graph_ops.SENDERS] = (
        tf.boolean_mask(sender_matrix, present)
        if not static_shapes
        else tf.reshape(sender_matrix, [-1])
    )
    graph[graph_ops.RECEIVERS] = (
        tf.boolean_mask(receiver_matrix, present)
        if not static_shapes
        else tf.reshape(receiver_matrix, [-1])
    )
    edge_weights = (
        tf.boolean_mask(weights, present) if not static_shapes else tf.reshape(weights, [-1])
    )
    graph[graph_ops.EDGES] = edge_weights[:, None]
    graph[graph_ops.GLOBALS] = tf.zeros([batch, 0], tf.float32)
    return graph


def _merge(stacked: tf.Tensor) -> tf.Tensor:
    """`[B, k + 1, ...]` -> `[B * (k + 1), ...]`, keeping the static shape where known."""
    shape = stacked.shape
    if shape[0] is not None and shape[1] is not None:
        return tf.reshape(stacked, [shape[0] * shape[1]] + shape[2:].as_list())
    return tf.reshape(stacked, tf.concat([[-1], tf.shape(stacked)[2:]], axis=0))


def make_graph_dataset(
    file_pattern,
    feature_spec: dict,
    label_key: str | None,
    neighbor_config: GraphNeighborConfig | None = None,
    batch_size: int = 128,
    shuffle: bool = False,
    static_shapes: bool = False,
    drop_remainder: bool | None = None,
    seed: int | None = None,
    **make_dataset_kwargs,
) -> tf.data.Dataset:
    """A dataset of graph batches from NSL-packed TFRecords (any feature spec).

    Args:
      file_pattern: glob (or list) of TFRecord files of packed `tf.train.Example`.
      feature_spec: sample feature name -> `tf.io.FixedLenFeature`.
      label_key: the int64 label's name (missing -> -1, an unlabeled seed); None for none.
      neighbor_config: neighbours to read; None means none (one-node graphs).
      batch_size: samples (graphs) per batch.
      shuffle: shuffle the records.
      static_shapes: fixed-shape batches (see the module doc).
      drop_remainder: drop the last partial batch; None means `static_shapes`.
      seed: shuffle seed.
      **make_dataset_kwargs: passed to `graphnsl.data.make_dataset` (`repeat`, `cache`, ...).

    Returns:
      `tf.data.Dataset` of `(graph batch dict, label [B])` (or the dict alone).
    """
    from graphnsl.data import make_dataset

    if drop_remainder is None:
        drop_remainder = static_shapes
    dataset = make_dataset(
        file_pattern,
        feature_spec,
        label_key,
        neighbor_config=neighbor_config,
        batch_size=batch_size,
        shuffle=shuffle,
        drop_remainder=drop_remainder,
        seed=seed,
        **make_dataset_kwargs,
    )

    def to_graph(*element):
        graph = pack_neighbors(element[0], neighbor_config, static_shapes=static_shapes)
        return (graph,) + tuple(element[1:]) if len(element) > 1 else graph

    return dataset.map(to_graph, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def make_cora_dataset(
    file_path,
    batch_size: int = 128,
    shuffle: bool = False,
    neighbor_config: GraphNeighborConfig | None = None,
    max_seq_length: int = 1433,
    static_shapes: bool = False,
    seed: int | None = None,
    **kwargs,
) -> tf.data.Dataset:
    """Graph batches of the files `graphnsl prepare-planetoid` writes (NSL's Cora schema).

    Args:
      file_path: a TFRecord file (or glob) with `words` int64[max_seq_length] and `label`.
      batch_size: samples per batch.
      shuffle: shuffle the records.
      neighbor_config: neighbours to read (`max_neighbors`); None means none.
      max_seq_length: the width of `words` (1433 for Cora, 3703 for Citeseer).
      static_shapes: fixed-shape batches (see the module doc).
      seed: shuffle seed.
      **kwargs: passed to `make_graph_dataset`.

    Returns:
      `tf.data.Dataset` of `(graph batch dict with 'words', label int64 [B])`.
    """
    spec = {"words": tf.io.FixedLenFeature([max_seq_length], tf.int64)}
    return make_graph_dataset(
        file_path,
        spec,
        "label",
        neighbor_config=neighbor_config,
        batch_size=batch_size,
        shuffle=shuffle,
        static_shapes=static_shapes,
        seed=seed,
        **kwargs,
    )
