"""graph_nets models on Keras 3: graph regularization, a CommNet GCN, and graph batches.

Models (Keras 3, serializable, `jit_compile=True` ready):
  `NodeGraphModel`, `GraphRegularizationModel(config, node_model_fn)`,
  `GraphConvolutionalNodeClassifier(seq_length, num_classes, hidden_units=16, ...)`.
Graph batches:
  `make_cora_dataset`, `make_graph_dataset`, `pack_neighbors` (NSL-packed samples -> one
  graph each, optionally static shapes), `make_neighborhood_dataset` (one- or two-hop sample
  graphs), `make_full_graph_dataset` and `full_graph` (the whole graph, full-graph mode).
"""

from graphnsl.gnn.batches import make_cora_dataset, make_graph_dataset, pack_neighbors
from graphnsl.gnn.comm_net import WeightedCommNet
from graphnsl.gnn.gcn import GraphConvolutionalNodeClassifier
from graphnsl.gnn.gcn_layers import (
    FeatureEncoder,
    GCNNodeUpdate,
    PhiloxDropout,
    SelfLoopMessage,
    WeightedSenderMessage,
)
from graphnsl.gnn.graph_ops import gcn_normalize, inputs_to_graphs_tuple
from graphnsl.gnn.graph_regularization_model import (
    EdgeDistance,
    GraphRegularizationModel,
    degree_normalized_graph_loss,
)
from graphnsl.gnn.node_graph_model import NodeGraphModel
from graphnsl.gnn.planetoid_graphs import (
    full_graph,
    make_full_graph_dataset,
    make_neighborhood_dataset,
    neighborhood_batch,
    row_normalize,
)

__all__ = [
    "EdgeDistance",
    "FeatureEncoder",
    "GCNNodeUpdate",
    "GraphConvolutionalNodeClassifier",
    "GraphRegularizationModel",
    "NodeGraphModel",
    "PhiloxDropout",
    "SelfLoopMessage",
    "WeightedCommNet",
    "WeightedSenderMessage",
    "degree_normalized_graph_loss",
    "full_graph",
    "gcn_normalize",
    "inputs_to_graphs_tuple",
    "make_cora_dataset",
    "make_full_graph_dataset",
    "make_graph_dataset",
    "make_neighborhood_dataset",
    "neighborhood_batch",
    "pack_neighbors",
    "row_normalize",
]
