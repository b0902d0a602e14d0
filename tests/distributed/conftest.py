"""Shared by the distributed tests: four pack-nbrs shards of a small random graph."""

from pathlib import Path

import numpy as np
import pytest

from graphnsl.data import examples as ex
from graphnsl.data import pack_nbrs as pn

SEEDS = 32


def _shards(folder: Path) -> str:
    rng = np.random.default_rng(0)
    labeled = [
        ex.make_example({"id": f"s{i:02d}", "x": rng.normal(size=4), "label": i % 3})
        for i in range(SEEDS)
    ]
    unlabeled = [ex.make_example({"id": f"u{i:02d}", "x": rng.normal(size=4)}) for i in range(16)]
    names = [f"s{i:02d}" for i in range(SEEDS)] + [f"u{i:02d}" for i in range(16)]
    edges = [
        (names[a], names[b], float(w))
        for a, b, w in zip(
            rng.integers(0, len(names), 150),
            rng.integers(0, len(names), 150),
            rng.uniform(0.1, 1.0, 150),
            strict=True,
        )
    ]
    ex.write_examples(folder / "labeled.tfr", labeled)
    ex.write_examples(folder / "unlabeled.tfr", unlabeled)
    ex.write_graph_tsv(folder / "graph.tsv", edges)
    pn.pack_nbrs(
        folder / "labeled.tfr",
        folder / "unlabeled.tfr",
        folder / "graph.tsv",
        folder / "packed.tfr",
        add_undirected_edges=True,
        max_nbrs=2,
        num_shards=4,
    )
    return str(folder / "packed.tfr-*-of-00004")


@pytest.fixture(scope="session")
def write_shards():
    """`write_shards(folder)` packs SEEDS labeled seeds into 4 shards; returns their glob."""
    return _shards
