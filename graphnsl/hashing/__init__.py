"""Binary codes for image retrieval: DSTGeH, LSH, PCA-ITQ, spectral hashing, Hamming metrics.

- `codes`: `pack_codes` / `unpack_codes` (bits <-> uint64 words), `hamming_distances`
  (XOR + vectorized popcount).
- `metrics`: `evaluate_codes` -> mAP of Hamming ranking over the whole database,
  precision at recall levels (with F1), precision within Hamming radius 2.
- `baselines`: `LSH`, `PCAITQ`, `SpectralHashing` (fit on the database, encode any set).
- `dstgeh`: DSTGeH (Liu et al., ICME 2020): kNN cosine graph -> graph embedding ->
  pseudo bits (median, or ITQ-rotated) -> a CNN hash function trained with BCEL or MLML.
- `plots`: precision-recall and mAP-vs-bits PNGs.

Names load on first use, so `from graphnsl import hashing` pulls in no TensorFlow.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "pack_codes": "codes",
    "unpack_codes": "codes",
    "hamming_distances": "codes",
    "evaluate_codes": "metrics",
    "mean_average_precision": "metrics",
    "precision_at_recall": "metrics",
    "precision_within_radius": "metrics",
    "LSH": "baselines",
    "PCAITQ": "baselines",
    "SpectralHashing": "baselines",
    "itq_rotation": "baselines",
    "DSTGeH": "dstgeh",
    "DSTGeHConfig": "dstgeh",
    "pseudo_bits": "dstgeh",
    "PseudoBitQuantizer": "dstgeh",
    "graph_features": "dstgeh",
    "knn_cosine_graph": "dstgeh",
    "MultiLabelMarginLoss": "dstgeh",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        return getattr(module, name)
    if name in ("codes", "metrics", "baselines", "dstgeh", "plots"):
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
