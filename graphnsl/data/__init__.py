"""The data layer: loaders, Example I/O, graph building, neighbour packing, tf.data.

Submodules: `planetoid` and `fashion_mnist` (loaders), `tfrecord` (framing, CRC32C),
`wire_format` (protobuf scans), `graph_tsv` (graph files), `examples` (tf.train.Example I/O),
`atomic` (outputs written under a temporary name), `build_graph`, `ann` (approximate
neighbours), `pack_nbrs`, `datasets` (tf.data readers), `prepare`, and `tfds` (TensorFlow
Datasets builders; `pip install graphnsl[tfds]`). `make_dataset`, `neighbor_parse_spec` and
`UNLABELED` are re-exported here.

Every submodule is imported on first use (PEP 562), so `graphnsl.data.planetoid` does not pull
in TensorFlow.
"""

import importlib as _importlib
import pkgutil as _pkgutil

_FROM_DATASETS = ("make_dataset", "neighbor_parse_spec", "UNLABELED")


def _submodules() -> frozenset:
    return frozenset(
        info.name for info in _pkgutil.iter_modules(__path__) if not info.name.startswith("_")
    )


def __getattr__(name: str):
    if name in _FROM_DATASETS:
        return getattr(_importlib.import_module(f"{__name__}.datasets"), name)
    if name in _submodules():
        return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list:
    return sorted(_submodules() | set(_FROM_DATASETS) | {n for n in globals() if n[:2] == "__"})
