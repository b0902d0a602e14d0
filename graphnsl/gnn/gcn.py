"""`GraphConvolutionalNodeClassifier`: Kipf & Welling's two-layer GCN from CommNet blocks."""

from __future__ import annotations

import graph_nets
import keras
import tensorflow as tf

from graphnsl.gnn import graph_ops
from graphnsl.gnn.comm_net import WeightedCommNet
from graphnsl.gnn.gcn_layers import (
    FeatureEncoder,
    GCNNodeUpdate,
    PhiloxDropout,
    SelfLoopMessage,
    WeightedSenderMessage,
)
from graphnsl.gnn.node_graph_model import NodeGraphModel


@keras.saving.register_keras_serializable(package="graphnsl")
class GraphConvolutionalNodeClassifier(NodeGraphModel):
    """Classifies nodes with a two-layer Graph Convolutional Network (Kipf & Welling 2017).

    `logits = Â dropout(relu(Â dropout(X) W1 + b1)) W2 + b2` with
    `Â = D^-1/2 (A + I) D^-1/2` computed per batch from the edges' weights
    (`graph_ops.gcn_normalize`). The dense feature encoding (`FeatureEncoder`, dropout,
    `X W1`) runs on every node through graph_nets' `GraphIndependent`; each propagation is
    one `WeightedCommNet` (graph_nets `CommNet` with weighted messages) whose edge,
    node-encoder and node models are the Keras layers of `gcn_layers`. The first block's node
    model also applies dropout and the second layer's kernel `W2`, so every matrix product
    runs once per node, not once per edge. Weight decay (`weight_decay * ||W1||^2 / 2`, as in
    Kipf & Welling) applies to `W1` only.

    On a packed sample (neighbours -> centre) a two-layer GCN sees one hop; on a two-hop
    batch or the full graph it sees two.

    Args:
      seq_length: number of input features per node (1433 on Cora).
      num_classes: number of output logits.
      hidden_units: width of the hidden layer.
      dropout_rate: dropout on the input features and on the hidden layer.
      weight_decay: L2 coefficient on the first kernel (Kipf & Welling: 5e-4).
      normalization: 'symmetric' (GCN) or 'none' (raw edge weights, self loops of weight 1).
      normalize_features: row-normalize the input features inside the model.
      feature_names: node feature keys to use; None means all, sorted.
      **kwargs: `keras.Model` arguments.

    Input: a graph batch dict (see `NodeGraphModel`). Output: logits `[G, num_classes]`.

    Example:
      >>> model = GraphConvolutionalNodeClassifier(seq_length=1433, num_classes=7)
      >>> model.compile(keras.optimizers.Adam(0.01),
      ...               keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    """

    def __init__(
        self,
        seq_length: int,
        num_classes: int,
        hidden_units: int = 16,
        dropout_rate: float = 0.5,
        weight_decay: float = 5e-4,
        normalization: str = "symmetric",
        normalize_features: bool = False,
        feature_names=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for field, value in (
            ("seq_length", seq_length),
            ("num_classes", num_classes),
            ("hidden_units", hidden_units),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{field}={value!r} must be an int >= 1.")
        if not 0.0 <= dropout_rate < 1.0:
            raise ValueError(f"dropout_rate={dropout_rate!r} must be in [0, 1).")
        if weight_decay < 0:
            raise ValueError(f"weight_decay={weight_decay!r} must be >= 0.")
        if normalization not in ("symmetric", "none"):
            raise ValueError(
                f"normalization={normalization!r} is not valid; use 'symmetric' or 'none'."
            )
        self.seq_length = seq_length
        self.num_classes = num_classes
        self.hidden_units = hidden_units
        self.dropout_rate = float(dropout_rate)
        self.weight_decay = float(weight_decay)
        self.normalization = normalization
        self.normalize_features = bool(normalize_features)
        self.feature_names = None if feature_names is None else list(feature_names)

        self.feature_encoder = FeatureEncoder(
            self.feature_names, normalize_rows=normalize_features, name="feature_encoder"
        )
        regularizer = keras.regularizers.L2(weight_decay / 2) if weight_decay > 0 else None
        # Dense feature encoding: dropout(X) W1, once per node.
        self.input_model = keras.Sequential(
            [
                PhiloxDropout(dropout_rate, name="input_dropout"),
                keras.layers.Dense(
                    hidden_units, use_bias=False, kernel_regularizer=regularizer, name="kernel1"
                ),
            ],
            name="input_model",
        )
        # Block 1: messages of X W1; node model adds b1, relu, dropout, then the kernel W2.
        self.message1 = WeightedSenderMessage(name="message1")
        self.self_loop1 = SelfLoopMessage(name="self_loop1")
        self.node_model1 = keras.Sequential(
            [
                GCNNodeUpdate("relu", name="update1"),
                PhiloxDropout(dropout_rate, name="hidden_dropout"),
                keras.layers.Dense(num_classes, use_bias=False, name="kernel2"),
            ],
            name="node_model1",
        )
        # Block 2: messages of H W2; node model adds b2.
        self.message2 = WeightedSenderMessage(name="message2")
        self.self_loop2 = SelfLoopMessage(name="self_loop2")
        self.node_model2 = GCNNodeUpdate(None, name="node_model2")
        self.input_model.build((None, seq_length))
        self.node_model1.build((None, 2 * hidden_units))
        self.node_model2.build((None, 2 * num_classes))

    # Node features may come as a tf.SparseTensor (full_graph(..., sparse_features=True)).
    accepts_sparse_features = True

    def _encode(self, nodes, training):
        features = self.feature_encoder(nodes)
        if features.shape[-1] is not None and features.shape[-1] != self.seq_length:
            raise ValueError(
                f"node features have width {features.shape[-1]}, but seq_length={self.seq_length}."
            )
        if isinstance(features, tf.SparseTensor):
            # dropout(X) W1 on the nonzeros only: the same distribution as dense dropout
            # (a dropped zero stays zero) at O(nnz) instead of O(N F) random numbers.
            dropout, kernel = self.input_model.layers
            values = dropout(features.values, training=training)
            return graph_ops.sparse_dense_matmul(features, kernel.kernel, values)
        return self.input_model(features, training=training)

    def graph_call(self, graph, training=None):
        num_nodes = graph_ops.num_nodes_of(graph.nodes)
        edge_weights, self_weights = graph_ops.gcn_normalize(
            graph.senders, graph.receivers, graph.edges[:, 0], num_nodes, self.normalization
        )

        def reducer(data, segment_ids, unused_num_segments):
            # The node count from a shape, not from sum(n_node), so XLA sees a constant.
            return tf.math.unsorted_segment_sum(data, segment_ids, num_nodes)

        graph = graph_nets.modules.GraphIndependent(
            node_model_fn=lambda: lambda nodes: self._encode(nodes, training)
        )(graph)
        blocks = (
            (self.message1, self.self_loop1, self.node_model1),
            (self.message2, self.self_loop2, self.node_model2),
        )
        for message, self_loop, update in blocks:
            graph = graph.replace(
                nodes=tf.concat([graph.nodes, self_weights[:, None]], axis=-1),
                edges=edge_weights[:, None],
            )
            graph = WeightedCommNet(
                edge_model_fn=lambda m=message: m,
                node_encoder_model_fn=lambda s=self_loop: s,
                node_model_fn=lambda u=update: lambda x: u(x, training=training),
                reducer=reducer,
            )(graph)
        return graph

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            seq_length=self.seq_length,
            num_classes=self.num_classes,
            hidden_units=self.hidden_units,
            dropout_rate=self.dropout_rate,
            weight_decay=self.weight_decay,
            normalization=self.normalization,
            normalize_features=self.normalize_features,
            feature_names=self.feature_names,
        )
        return config
