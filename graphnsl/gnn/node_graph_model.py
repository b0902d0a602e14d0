"""`NodeGraphModel`: a Keras model that runs on a batch of graphs and returns centre nodes."""

from __future__ import annotations

import graph_nets
import keras
import numpy as np
import tensorflow as tf

from graphnsl.gnn import graph_ops
from graphnsl.lib.labels import MaskUnlabeledSteps


@keras.saving.register_keras_serializable(package="graphnsl")
class NodeGraphModel(MaskUnlabeledSteps, keras.Model):
    """A Keras model over a batch of graphs that returns the outputs of each sample's centre.

    `call(inputs)` turns the batch dict into a `graph_nets.graphs.GraphsTuple` whose `nodes`
    is the dict of node features (every key but `n_node`, `n_edge`, `senders`, `receivers`,
    `edges`, `globals`, `center_nodes`), calls `graph_call(graph, training)` — what
    subclasses implement — and gathers the output nodes: the last node of every graph (the
    centre of an NSL-packed sample), or the ids in `inputs['center_nodes']` when present
    (full-graph mode, where the batch is one graph).

    Rows whose label is negative (unlabeled seeds, read as -1) get no supervised loss.

    `compile()` defaults: 32 steps per execution (see `graphnsl.lib.compile_defaults`);
    `jit_compile="auto"` means XLA on accelerators and, on CPU, for the `fit`/`evaluate`/
    `predict` calls whose dataset has one element (a full graph). Graph batches usually
    change shape from batch to batch, and XLA compiles once per shape; on CPU even
    `static_shapes=True` batches ran slower under XLA (Cora GCN, packed: 3,190 against
    7,456 examples/s), so pass `jit_compile=True` for those where it helps (accelerators).

    Node features may be `tf.SparseTensor`s (`full_graph(..., sparse_features=True)`):
    models whose `accepts_sparse_features` is True (the GCN) use them as they are, others get
    them densified.

    Input: the dict above, node features `[N, ...]`. Output: `graph_call`'s node outputs
    gathered at the centres, `[G, ...]` (or `[len(center_nodes), ...]`).
    """

    # Graph batches change shape; XLA would compile each new shape (see the docstring).
    auto_xla_on_cpu = "single_batch"
    # Whether graph_call takes tf.SparseTensor node features; if not, call() densifies them.
    accepts_sparse_features = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._input_signature = None

    def graph_call(self, graph: graph_nets.graphs.GraphsTuple, training=None):
        """Transforms the graph; returns a `GraphsTuple` whose nodes are the outputs."""
        raise NotImplementedError(f"{type(self).__name__} must implement graph_call.")

    def call(self, inputs: dict, training=None):
        if not isinstance(inputs, dict):
            raise ValueError(
                f"{type(self).__name__} takes a dict batch of graphs, got "
                f"{type(inputs).__name__}; build it with graphnsl.gnn.make_graph_dataset."
            )
        self._remember_signature(inputs)
        if not self.accepts_sparse_features:
            inputs = {
                key: tf.sparse.to_dense(value) if isinstance(value, tf.SparseTensor) else value
                for key, value in inputs.items()
            }
        graph = graph_ops.inputs_to_graphs_tuple(inputs)
        graph = self.graph_call(graph, training=training)
        if graph_ops.CENTER_NODES in inputs:
            centers = tf.reshape(tf.cast(inputs[graph_ops.CENTER_NODES], tf.int32), [-1])
        else:
            centers = graph_ops.last_node_of_each_graph(graph.n_node)
        return tf.nest.map_structure(lambda nodes: tf.gather(nodes, centers), graph.nodes)

    # Saving: a subclassed model with a dict input is rebuilt on load by calling it once on
    # a one-node graph with the recorded feature shapes and dtypes.
    def _remember_signature(self, inputs: dict) -> None:
        if self._input_signature is not None:
            return
        signature = {}
        for key, value in inputs.items():
            if key in (graph_ops.CENTER_NODES,):
                continue
            if not isinstance(value, tf.SparseTensor):
                value = tf.convert_to_tensor(value)
            signature[key] = {
                "shape": [None if d is None else int(d) for d in value.shape.as_list()[1:]],
                "dtype": value.dtype.name,
            }
        self._input_signature = signature

    def get_build_config(self) -> dict | None:
        if self._input_signature is None:
            return None
        return {"input_signature": self._input_signature}

    def build_from_config(self, config: dict) -> None:
        signature = (config or {}).get("input_signature")
        if not signature:
            return
        dummy = {}
        for key, spec in signature.items():
            shape = [1 if d is None else d for d in spec["shape"]]
            rows = 0 if key in (graph_ops.SENDERS, graph_ops.RECEIVERS, graph_ops.EDGES) else 1
            dummy[key] = np.zeros([rows] + shape, dtype=spec["dtype"])
        dummy[graph_ops.N_NODE] = np.ones([1], signature[graph_ops.N_NODE]["dtype"])
        dummy[graph_ops.N_EDGE] = np.zeros([1], signature[graph_ops.N_EDGE]["dtype"])
        self(dummy, training=False)

    def get_config(self) -> dict:
        return {"name": self.name, "trainable": self.trainable}
