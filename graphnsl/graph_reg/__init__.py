"""Graph regularization of any Keras 3 model, as NSL's `nsl.keras.GraphRegularization`.

- `NeighborFeatures`: splits a packed batch into sample features, neighbour features and
  neighbour weights.
- `PairwiseDistance`: the weighted distance between samples' and neighbours' outputs.
- `GraphRegularization(base_model, graph_reg_config)`: a `keras.Model` that adds
  `multiplier x` that distance to the training loss.
"""

from graphnsl.graph_reg.graph_regularization import GraphRegularization
from graphnsl.graph_reg.neighbor_features import NeighborFeatures
from graphnsl.graph_reg.pairwise_distance import PairwiseDistance

__all__ = ["GraphRegularization", "NeighborFeatures", "PairwiseDistance"]
