"""Pure TensorFlow functions on batches of graphs: packing, indices, GCN normalization.

Everything here works under `tf.function(jit_compile=True)`: counts used as segment numbers
come from tensor shapes (compile-time constants under XLA), never from the values of
`n_node` or `n_edge`.
"""

from __future__ import annotations

import graph_nets
import tensorflow as tf

# The keys of a batch dict that describe the graph; every other key is a node feature.
N_NODE = "n_node"
N_EDGE = "n_edge"
SENDERS = "senders"
RECEIVERS = "receivers"
EDGES = "edges"
GLOBALS = "globals"
# Optional: the node ids whose outputs the model returns (full-graph mode). Without it the
# model returns the last node of every graph, the centre of an NSL-packed sample.
CENTER_NODES = "center_nodes"
STRUCTURE_KEYS = (N_NODE, N_EDGE, SENDERS, RECEIVERS, EDGES, GLOBALS, CENTER_NODES)


def _flat_int(value, name: str) -> tf.Tensor:
    # Keras may hand rank-1 fields back as [n, 1]; the graph wants [n].
    return tf.reshape(tf.cast(value, tf.int32), [-1], name=f"flat_{name}")


def node_features(inputs: dict) -> dict:
    """The node features of a batch dict: every key but the graph's structure keys."""
    return {key: value for key, value in inputs.items() if key not in STRUCTURE_KEYS}


def inputs_to_graphs_tuple(inputs: dict) -> graph_nets.graphs.GraphsTuple:
    """Turns a batch dict into a `GraphsTuple` whose `nodes` is the dict of node features.

    Args:
      inputs: dict with `n_node` int `[G]`, `n_edge` int `[G]`, `senders` and `receivers`
        int `[E]` (indices into the batch's nodes), optional `edges` float `[E, D]` (default
        weight 1, `[E, 1]`), optional `globals` `[G, ...]` (default `[G, 0]`), optional
        `center_nodes` (ignored here), and node features `[N, ...]` under any other key.

    Returns:
      A `GraphsTuple` with int32 indices and `nodes` = dict of the node features.

    Raises:
      ValueError: a structure key is missing or there is no node feature.
    """
    missing = [key for key in (N_NODE, N_EDGE, SENDERS, RECEIVERS) if key not in inputs]
    if missing:
        raise ValueError(
            f"the graph batch lacks {missing}; it needs n_node, n_edge, senders, receivers "
            f"and node features (got keys {sorted(inputs)}). Build it with "
            "graphnsl.gnn.make_graph_dataset or graphnsl.gnn.pack_neighbors."
        )
    nodes = node_features(inputs)
    if not nodes:
        raise ValueError(f"the graph batch has no node feature (got keys {sorted(inputs)}).")
    n_node = _flat_int(inputs[N_NODE], N_NODE)
    senders = _flat_int(inputs[SENDERS], SENDERS)
    edges = inputs.get(EDGES)
    if edges is None:
        edges = tf.ones([tf.shape(senders)[0], 1], tf.float32)
    edges = tf.cast(edges, tf.float32)
    if edges.shape.rank == 1:
        edges = edges[:, None]
    globals_ = inputs.get(GLOBALS)
    if globals_ is None:
        globals_ = tf.zeros([tf.shape(n_node)[0], 0], tf.float32)
    return graph_nets.graphs.GraphsTuple(
        nodes=nodes,
        edges=edges,
        receivers=_flat_int(inputs[RECEIVERS], RECEIVERS),
        senders=senders,
        globals=globals_,
        n_node=n_node,
        n_edge=_flat_int(inputs[N_EDGE], N_EDGE),
    )


def num_nodes_of(nodes) -> tf.Tensor:
    """The number of nodes, from the first node feature's shape (static under XLA).

    A `tf.SparseTensor` feature gives its static row count when it is known (a dataset of
    `full_graph(..., sparse_features=True)` has it), else its `dense_shape[0]`.
    """
    first = tf.nest.flatten(nodes)[0]
    if isinstance(first, tf.SparseTensor):
        rows = first.shape[0]
        return (
            tf.constant(rows, tf.int32)
            if rows is not None
            else tf.cast(first.dense_shape[0], tf.int32)
        )
    return tf.shape(first)[0]


def sparse_dense_matmul(sparse: tf.SparseTensor, dense: tf.Tensor, values=None) -> tf.Tensor:
    """`sparse @ dense` as a gather and a segment sum over the nonzeros (XLA-compatible).

    Args:
      sparse: `[N, F]` `tf.SparseTensor`.
      dense: `[F, H]` matrix.
      values: optional replacement for `sparse.values` (e.g. after dropout), `[nnz]`.

    Returns:
      `[N, H]` float32: row `i` is `sum_k values_k * dense[col_k]` over the nonzeros of row i.
      Costs `O(nnz * H)` instead of `O(N * F * H)`.
    """
    values = sparse.values if values is None else values
    rows = sparse.indices[:, 0]
    cols = sparse.indices[:, 1]
    products = tf.gather(dense, cols) * tf.cast(values, dense.dtype)[:, None]
    return tf.math.unsorted_segment_sum(products, rows, num_nodes_of(sparse))


def last_node_of_each_graph(n_node: tf.Tensor) -> tf.Tensor:
    """Index of each graph's last node (an NSL sample's centre): `cumsum(n_node) - 1`, `[G]`."""
    return tf.cumsum(n_node) - 1


def node_graph_index(n_node: tf.Tensor, num_nodes) -> tf.Tensor:
    """The graph each node belongs to, int32 `[N]`, for `n_node` int `[G]` (empty graphs ok).

    A node's graph is the number of graph boundaries at or before it; the boundaries are
    counted with a segment sum and a cumulative sum, so the result has a static size.
    """
    n_node = tf.cast(n_node, tf.int32)
    starts = tf.cumsum(n_node, exclusive=True)[1:]
    # Boundaries at num_nodes (trailing empty graphs) land in the extra slot and are dropped.
    marks = tf.math.unsorted_segment_sum(tf.ones_like(starts), starts, num_nodes + 1)
    return tf.cumsum(marks[:-1])


def gcn_normalize(
    senders: tf.Tensor,
    receivers: tf.Tensor,
    weights: tf.Tensor,
    num_nodes,
    normalization: str = "symmetric",
) -> tuple[tf.Tensor, tf.Tensor]:
    """Edge and self-loop weights of `D^-1/2 (A + I) D^-1/2`, Kipf & Welling's propagation.

    `A[r, s]` is the weight of edge `s -> r`, so `deg[i] = 1 + sum of the weights of the edges
    received by i` and edge `s -> r` gets `w / sqrt(deg[s] * deg[r])`, the self loop of node
    i gets `1 / deg[i]`. A graph whose edges go both ways (the full graph) gives exactly the
    GCN matrix; a packed sample (edges only into its centre) gets the in-degree version.

    Args:
      senders: int `[E]`.
      receivers: int `[E]`.
      weights: float `[E]` edge weights (0 switches an edge off).
      num_nodes: scalar, the number of nodes N.
      normalization: 'symmetric' as above, or 'none' (weights unchanged, self loops 1).

    Returns:
      `(edge_weights [E], self_weights [N])`, float32.
    """
    weights = tf.cast(weights, tf.float32)
    if normalization == "none":
        return weights, tf.ones([num_nodes], tf.float32)
    if normalization != "symmetric":
        raise ValueError(
            f"normalization={normalization!r} is not valid; use 'symmetric' or 'none'."
        )
    degree = 1.0 + tf.math.unsorted_segment_sum(weights, receivers, num_nodes)
    inverse_sqrt = tf.math.rsqrt(degree)
    edge_weights = tf.gather(inverse_sqrt, senders) * weights * tf.gather(inverse_sqrt, receivers)
    return edge_weights, inverse_sqrt * inverse_sqrt
