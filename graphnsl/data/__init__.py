"""The data layer: Planetoid loaders, Example I/O, graph building, neighbour packing, tf.data.

Submodules: `planetoid`, `examples`, `build_graph`, `pack_nbrs`, `datasets`, `prepare`.
`make_dataset` is re-exported here.
"""


def __getattr__(name):
    # Lazy, so `import graphnsl.data.planetoid` does not pull in TensorFlow.
    if name in ("make_dataset", "neighbor_parse_spec", "UNLABELED"):
        from graphnsl.data import datasets

        return getattr(datasets, name)
    raise AttributeError(f"module 'graphnsl.data' has no attribute {name!r}")
