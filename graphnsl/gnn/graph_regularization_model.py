"""`GraphRegularizationModel`: graph regularization of any node model on graph batches."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import graph_nets
import keras
import tensorflow as tf

from graphnsl.configs import DistanceConfig, GraphRegConfig, Reduction
from graphnsl.gnn import graph_ops
from graphnsl.gnn.node_graph_model import NodeGraphModel
from graphnsl.lib.distances import pairwise_distance_wrapper


@keras.saving.register_keras_serializable(package="graphnsl")
class EdgeDistance(keras.layers.Layer):
    """Weighted distance between the two ends of every edge, the edge model of graph reg.

    The input is what a graph_nets `EdgeBlock` with edges, receiver and sender nodes
    collects: `[weight, receiver output, sender output]` per edge. The distance is
    `distance_config`'s (its distance type, transform and `sum_over_axis`; its reduction is
    per edge) between receiver (the sample, NSL's sources) and sender (the neighbour, NSL's
    targets), times the weight, summed over the output's elements.

    Args:
      distance_config: a `DistanceConfig`, or its fields as a dict.

    Input shape: `[E, 1 + 2 * C]`. Output shape: `[E]`.
    """

    def __init__(self, distance_config: DistanceConfig | dict | None = None, **kwargs):
        super().__init__(**kwargs)
        if distance_config is None:
            distance_config = DistanceConfig()
        if isinstance(distance_config, dict):
            distance_config = DistanceConfig(**distance_config)
        self.distance_config = distance_config
        self._per_edge = dataclasses.replace(distance_config, reduction=Reduction.NONE)

    def call(self, inputs):
        weights = inputs[:, :1]
        receiver_outputs, sender_outputs = tf.split(inputs[:, 1:], 2, axis=-1)
        distances = pairwise_distance_wrapper(
            receiver_outputs, sender_outputs, weights, self._per_edge
        )
        return tf.reduce_sum(distances, axis=-1)

    def get_config(self) -> dict:
        config = super().get_config()
        config["distance_config"] = {
            "distance_type": self.distance_config.distance_type.value,
            "reduction": self.distance_config.reduction,
            "sum_over_axis": self.distance_config.sum_over_axis,
            "transform_fn": self.distance_config.transform_fn.value,
        }
        return config


def degree_normalized_graph_loss(graph: graph_nets.graphs.GraphsTuple, edge_distances):
    """The graph loss: per graph, the summed edge distances over the summed edge weights.

    Args:
      graph: the input `GraphsTuple` (for `n_node`, `receivers` and the weights `edges[:, 0]`).
      edge_distances: float `[E]`, each edge's weighted distance.

    Returns:
      float `[G]`: `sum_e d_e / sum_e w_e` over each graph's edges; 0 for a graph without
      edges (or with zero total weight).
    """
    num_nodes = graph_ops.num_nodes_of(graph.nodes)
    num_graphs = tf.shape(graph.n_node)[0]
    edge_graph = tf.gather(graph_ops.node_graph_index(graph.n_node, num_nodes), graph.receivers)
    weights = tf.cast(graph.edges[:, 0], tf.float32)
    distance_sums = tf.math.unsorted_segment_sum(edge_distances, edge_graph, num_graphs)
    weight_sums = tf.math.unsorted_segment_sum(weights, edge_graph, num_graphs)
    return tf.math.divide_no_nan(distance_sums, weight_sums)


@keras.saving.register_keras_serializable(package="graphnsl")
class GraphRegularizationModel(NodeGraphModel):
    """Runs a node model on every node and regularizes neighbour -> centre distances.

    The node model (any Keras layer or model taking the node features dict, or the single
    feature when the model has one input) runs on every node of the batch through graph_nets'
    `GraphIndependent`. An `EdgeBlock` then computes each edge's distance (`EdgeDistance`,
    weighted by the edge's weight), the per-graph readout sums them and divides by the
    centre's weighted degree (`degree_normalized_graph_loss`), and `multiplier x` its mean over
    the batch's graphs is added as a loss, reported as the metric `graph_loss` (unscaled).
    The model's output is the node model's output at each sample's centre.

    Args:
      config: a `GraphRegConfig` (or its `to_dict()`): multiplier and distance.
      node_model_fn: a callable returning the node model (NSL's signature), or the node model.
      **kwargs: `keras.Model` arguments.

    Input: a graph batch dict (see `NodeGraphModel`). Output: `[G, ...]`, centre outputs.

    Example:
      >>> model = GraphRegularizationModel(config, node_model_fn=lambda: NodeClassifier())
      >>> model.compile('adam', keras.losses.SparseCategoricalCrossentropy(from_logits=True))
      >>> model.fit(make_cora_dataset(path, neighbor_config=config.neighbor_config))
    """

    def __init__(
        self,
        config: GraphRegConfig | dict,
        node_model_fn: Callable[[], keras.layers.Layer] | keras.layers.Layer,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(config, dict):
            config = GraphRegConfig.from_dict(config)
        if not isinstance(config, GraphRegConfig):
            raise ValueError(f"config must be a GraphRegConfig, got {config!r}.")
        self.config = config
        node_model = (
            node_model_fn if isinstance(node_model_fn, keras.layers.Layer) else node_model_fn()
        )
        if not isinstance(node_model, keras.layers.Layer):
            raise ValueError(
                f"node_model_fn must return a Keras layer or model, got {type(node_model).__name__}."
            )
        self.node_model = node_model
        self.edge_distance = EdgeDistance(config.distance_config, name="edge_distance")
        self.graph_loss_tracker = keras.metrics.Mean(name="graph_loss")

    def _node_model_inputs(self, nodes):
        model = self.node_model
        if isinstance(nodes, dict) and len(nodes) == 1:
            inputs = getattr(model, "_inputs_struct", None)
            # A functional model with one input takes the tensor itself.
            if inputs is not None and len(tf.nest.flatten(inputs)) == 1:
                return next(iter(nodes.values()))
        return nodes

    def graph_call(self, graph, training=None):
        graph = graph_nets.modules.GraphIndependent(
            node_model_fn=lambda: (
                lambda nodes: self.node_model(self._node_model_inputs(nodes), training=training)
            )
        )(graph)
        distances = graph_nets.blocks.EdgeBlock(
            edge_model_fn=lambda: self.edge_distance,
            use_edges=True,
            use_receiver_nodes=True,
            use_sender_nodes=True,
            use_globals=False,
        )(graph).edges
        graph_loss = tf.reduce_mean(degree_normalized_graph_loss(graph, distances))
        self.graph_loss_tracker.update_state(graph_loss)
        if self.config.multiplier > 0:
            self.add_loss(self.config.multiplier * graph_loss)
        return graph

    def get_config(self) -> dict:
        config = super().get_config()
        config["config"] = self.config.to_dict()
        config["node_model"] = keras.saving.serialize_keras_object(self.node_model)
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        config = dict(config)
        node_model = keras.saving.deserialize_keras_object(
            config.pop("node_model"), custom_objects=custom_objects
        )
        return cls(config.pop("config"), node_model_fn=node_model, **config)
