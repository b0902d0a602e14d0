"""`WeightedCommNet`: graph_nets' CommNet whose edge model also sees the edge features."""

from __future__ import annotations

from collections.abc import Callable

import graph_nets
import tensorflow as tf


class WeightedCommNet(graph_nets.modules.CommNet):
    """graph_nets `CommNet` (Sukhbaatar et al. 2016, Hoshen 2017) with weighted messages.

    `CommNet` computes `x'_i = node_model([sum_{j->i} edge_model(x_j), node_encoder(x_i)])`.
    Here the edge model receives `[edges, x_sender]` instead of `x_sender` alone, so a
    message can be scaled by its edge's weight; the node encoder and node blocks are
    CommNet's own. With `edge_model(w, x_j) = w * x_j`, `node_encoder(x_i) = w_ii * x_i` and
    `node_model(a, b) = act(a + b + bias)` one block is a GCN propagation step.

    Args:
      edge_model_fn: callable returning the edge model: `[E, D_e + D_n] -> [E, M]`.
      node_encoder_model_fn: callable returning the node encoder: `[N, D_n] -> [N, M']`.
      node_model_fn: callable returning the node model: `[N, M + M'] -> [N, D_out]`.
      reducer: `unsorted_segment_sum`-like aggregation of received messages.
      name: module name.
    """

    def __init__(
        self,
        edge_model_fn: Callable,
        node_encoder_model_fn: Callable,
        node_model_fn: Callable,
        reducer: Callable = tf.math.unsorted_segment_sum,
        name: str = "weighted_comm_net",
    ):
        super().__init__(
            edge_model_fn=edge_model_fn,
            node_encoder_model_fn=node_encoder_model_fn,
            node_model_fn=node_model_fn,
            reducer=reducer,
            name=name,
        )
        # CommNet's edge block reads only the sender; this one reads the edge features too.
        self._edge_block = graph_nets.blocks.EdgeBlock(
            edge_model_fn=edge_model_fn,
            use_edges=True,
            use_receiver_nodes=False,
            use_sender_nodes=True,
            use_globals=False,
        )
