"""A similar-image graph made without labels: PCA of the pixels, then `build_graph` with a cap.

The stand-in for Graph-RISE's co-click and similar-image graphs: every image's embedding
is its PCA projection (fit on the images only, no labels), written as NSL Examples
(`id`, `embedding`), and `graphnsl.data.build_graph.build_graph` keeps each image's
`max_nbrs_per_node` most cosine-similar images above a threshold.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np

__all__ = [
    "pca_embeddings",
    "write_embedding_examples",
    "build_similar_image_graph",
    "neighbor_lists",
    "graph_statistics",
]


def pca_embeddings(images: np.ndarray, dim: int = 64, seed: int = 0) -> np.ndarray:
    """PCA projections float32 `[N, dim]` of the flattened pixels / 255 (randomized SVD)."""
    from sklearn.decomposition import PCA

    x = np.asarray(images, np.float32).reshape(len(images), -1) / 255.0
    pca = PCA(n_components=dim, svd_solver="randomized", random_state=seed)
    return pca.fit_transform(x).astype(np.float32)


def write_embedding_examples(path, ids, embeddings) -> int:
    """Writes `{'id', 'embedding'}` Examples (what build-graph reads); returns the count."""
    from graphnsl.data import examples

    return examples.write_examples(
        path,
        ({"id": str(i), "embedding": e} for i, e in zip(ids, embeddings, strict=True)),
    )


def build_similar_image_graph(
    images: np.ndarray,
    work_dir,
    ids=None,
    dim: int = 64,
    max_nbrs_per_node: int = 10,
    similarity_threshold: float = 0.5,
    seed: int = 0,
    ann: str | None = "faiss",
) -> tuple[pathlib.Path, dict]:
    """PCA-embeds `images`, writes them as Examples, runs `build_graph` with a per-node cap.

    Args:
      images: uint8 `[N, H, W]`.
      work_dir: folder for `pca_embeddings.tfr` and `graph.tsv`.
      ids: N node ids (default the row numbers as strings).
      dim: PCA dimensions.
      max_nbrs_per_node: each image's k most similar images are its out-edges.
      similarity_threshold: cosine similarity floor of an edge.
      seed: of the randomized PCA.
      ann: `build_graph`'s candidate search: 'faiss' (HNSW, `max_nbrs_per_node` candidates
        a node, the default when faiss imports), 'lsh', or None for the exact all-pairs scan.

    Returns:
      `(graph_path, build_graph's statistics dict)`.
    """
    from graphnsl.data.build_graph import build_graph
    from graphnsl.embedding.index import faiss_available

    if ann == "faiss" and not faiss_available():
        ann = None

    work_dir = pathlib.Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    ids = [str(i) for i in range(len(images))] if ids is None else list(ids)
    embeddings_path = work_dir / "pca_embeddings.tfr"
    write_embedding_examples(embeddings_path, ids, pca_embeddings(images, dim, seed))
    graph_path = work_dir / "graph.tsv"
    stats = build_graph(
        [os.fspath(embeddings_path)],
        os.fspath(graph_path),
        similarity_threshold=similarity_threshold,
        max_nbrs_per_node=max_nbrs_per_node,
        ann=ann,
        faiss_options={"k": max_nbrs_per_node} if ann == "faiss" else None,
    )
    return graph_path, stats


def neighbor_lists(graph_path, num_nodes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A graph TSV over ids `0..num_nodes-1` as CSR arrays of out-neighbours.

    Returns:
      `(offsets [num_nodes + 1], targets [E], weights [E])`: node i's neighbours are
      `targets[offsets[i]:offsets[i + 1]]`.
    """
    from graphnsl.data.examples import read_graph_arrays

    sources, targets, weights = read_graph_arrays(graph_path)
    sources = sources.astype(np.int64)
    targets = targets.astype(np.int64)
    bad = (sources < 0) | (sources >= num_nodes) | (targets < 0) | (targets >= num_nodes)
    if bad.any():
        line = int(np.flatnonzero(bad)[0]) + 1
        raise ValueError(f"{graph_path}:{line}: node id outside 0..{num_nodes - 1}.")
    order = np.argsort(sources, kind="stable")
    counts = np.bincount(sources, minlength=num_nodes)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    return offsets, targets[order], weights[order]


def graph_statistics(offsets, targets, labels) -> dict:
    """Edge count, degrees and the share of edges joining two images of one class.

    The labels serve this report only; the graph never saw them.
    """
    labels = np.asarray(labels)
    sources = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    degrees = np.diff(offsets)
    return {
        "nodes": int(len(degrees)),
        "edges": int(len(targets)),
        "nodes_with_neighbors": int(np.count_nonzero(degrees)),
        "mean_out_degree": float(degrees.mean()),
        "same_label_edge_share": float(np.mean(labels[sources] == labels[targets])),
    }
