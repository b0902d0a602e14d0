"""Image and graph embeddings: Graph-RISE, metric-learning losses, retrieval metrics, an index.

- `losses`: `TripletSemiHardLoss`, `TripletHardLoss`, `ContrastiveLoss` (Keras 3 losses with
  TF Addons' definitions).
- `models`: a small residual CNN with an L2-normalized embedding and a classification head
  (full or sampled softmax); Graph-RISE = that model under `graph_reg.GraphRegularization`
  regularizing the embedding layer.
- `index`: `EmbeddingIndex`, exact blocked NumPy search or faiss, saved beside its model.
- `metrics`: `evaluate(...)` -> kNN accuracy, recall@k, mAP@R, triplet accuracy and the
  recall-vs-margin curve; `callbacks.EmbeddingEvaluation` logs them per epoch.
- `plots`: t-SNE, recall-vs-margin curves, query/neighbour grids.
- `similarity_graph`: a label-free similar-image graph (PCA, then `build_graph`).
- `graph`: graph embeddings (Laplacian eigenmaps, DeepWalk, SDNE).

Nothing heavy is imported here: names load on first use (PEP 562), so
`import graphnsl.embedding.graph` does not pull in the rest.
"""

from __future__ import annotations

import importlib

# Public name -> submodule that defines it.
_EXPORTS = {
    "TripletSemiHardLoss": "losses",
    "TripletHardLoss": "losses",
    "ContrastiveLoss": "losses",
    "EmbeddingIndex": "index",
    "evaluate": "metrics",
    "sample_triplets": "metrics",
    "EmbeddingEvaluation": "callbacks",
    "L2Normalize": "models",
    "ResidualBlock": "models",
    "SampledSoftmaxLoss": "models",
    "SampledSoftmaxHead": "models",
    "SampledSoftmaxModel": "models",
    "build_embedding_network": "models",
    "build_classifier": "models",
}
_SUBMODULES = (
    "losses",
    "index",
    "metrics",
    "callbacks",
    "models",
    "plots",
    "similarity_graph",
    "graph",
)

__all__ = sorted(_EXPORTS) + list(_SUBMODULES)


def __getattr__(name: str):
    if name in _EXPORTS:
        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        return getattr(module, name)
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
