"""A similar-image graph made without labels: PCA of the pixels, then `build_graph` with a cap.

The stand-in for Graph-RISE's co-click and similar-image graphs: every image's embedding
is its PCA projection (fit on the images only, no labels) or its pixels, written as NSL
Examples (`id`, `embedding`), and `graphnsl.data.build_graph.build_graph` keeps each image's
`max_nbrs_per_node` most cosine-similar images above a threshold. The capped out-edges can
then be kept as they are, made symmetric (an edge either way becomes both), or cut to the
mutual ones (kept only when both ends chose each other), the usual ways to turn a kNN list
into a graph.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np

__all__ = [
    "pca_embeddings",
    "label_free_embeddings",
    "write_embedding_examples",
    "edge_subset",
    "build_similar_image_graph",
    "neighbor_lists",
    "graph_statistics",
]


EDGE_MODES = ("out", "symmetric", "mutual")
FEATURES = ("pca", "pixels")


def _scaled_pixels(images: np.ndarray) -> np.ndarray:
    """The flattened pixels / 255, float32 `[N, H * W]`."""
    return np.asarray(images, np.float32).reshape(len(images), -1) / 255.0


def pca_embeddings(
    images: np.ndarray, dim: int = 64, seed: int = 0, whiten_power: float = 0.0
) -> np.ndarray:
    """PCA projections float32 `[N, dim]` of the flattened pixels / 255 (randomized SVD).

    `whiten_power` p divides each component by its variance to the power p: 0 keeps the
    projections, 0.5 whitens them (unit variance), values between flatten the spectrum.
    """
    from sklearn.decomposition import PCA

    x = _scaled_pixels(images)
    pca = PCA(n_components=dim, svd_solver="randomized", random_state=seed)
    projections = pca.fit_transform(x)
    if whiten_power:
        projections = projections / pca.explained_variance_**whiten_power
    return projections.astype(np.float32)


def label_free_embeddings(
    images: np.ndarray,
    features: str = "pca",
    dim: int = 64,
    seed: int = 0,
    whiten_power: float = 0.0,
) -> np.ndarray:
    """The label-free embedding a graph is built on: 'pca' (`pca_embeddings`) or 'pixels'."""
    if features == "pca":
        return pca_embeddings(images, dim, seed, whiten_power)
    if features == "pixels":
        return _scaled_pixels(images)
    raise ValueError(f"features={features!r}; valid: {', '.join(FEATURES)}.")


def edge_subset(
    sources: np.ndarray, targets: np.ndarray, weights: np.ndarray, mode: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The edges of a directed kNN list kept by `mode`, in source order (stable).

    Args:
      sources, targets: int `[E]` node ids, at most one edge per ordered pair.
      weights: `[E]` edge weights.
      mode: 'out' keeps every edge; 'symmetric' adds the reverse of each edge whose reverse
        is missing (same weight); 'mutual' keeps an edge only when its reverse is present.

    Returns:
      `(sources, targets, weights)` sorted by source, each source's edges in their order
      (the added reverses after the original ones).
    """
    sources = np.asarray(sources, np.int64)
    targets = np.asarray(targets, np.int64)
    weights = np.asarray(weights)
    if mode not in EDGE_MODES:
        raise ValueError(f"mode={mode!r}; valid: {', '.join(EDGE_MODES)}.")
    if mode != "out" and len(sources):
        size = int(max(sources.max(), targets.max())) + 1
        pair = sources * size + targets
        reverse_present = np.isin(targets * size + sources, pair)
        if mode == "mutual":
            keep = reverse_present
            sources, targets, weights = sources[keep], targets[keep], weights[keep]
        else:
            add = ~reverse_present
            sources, targets = (
                np.concatenate([sources, targets[add]]),
                np.concatenate([targets, sources[add]]),
            )
            weights = np.concatenate([weights, weights[add]])
    order = np.argsort(sources, kind="stable")
    return sources[order], targets[order], weights[order]


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
    features: str = "pca",
    whiten_power: float = 0.0,
    edges: str = "out",
) -> tuple[pathlib.Path, dict]:
    """Embeds `images` without labels, runs `build_graph` with a per-node cap, keeps `edges`.

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
      features: 'pca' (of the pixels / 255) or 'pixels' (/ 255), see `label_free_embeddings`.
      whiten_power: see `pca_embeddings`.
      edges: 'out' (the capped out-edges, at most `max_nbrs_per_node` a node), 'symmetric'
        or 'mutual' (`edge_subset`; the graph is rewritten, `stats["edges_kept"]` counts
        its lines).

    Returns:
      `(graph_path, build_graph's statistics dict)`.
    """
    from graphnsl.data.build_graph import build_graph
    from graphnsl.data.graph_tsv import read_graph_arrays, write_graph_tsv
    from graphnsl.embedding.index import faiss_available

    if edges not in EDGE_MODES:
        raise ValueError(f"edges={edges!r}; valid: {', '.join(EDGE_MODES)}.")
    if ann == "faiss" and not faiss_available():
        ann = None

    work_dir = pathlib.Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    ids = [str(i) for i in range(len(images))] if ids is None else list(ids)
    embeddings_path = work_dir / "pca_embeddings.tfr"
    embeddings = label_free_embeddings(images, features, dim, seed, whiten_power)
    write_embedding_examples(embeddings_path, ids, embeddings)
    graph_path = work_dir / "graph.tsv"
    stats = build_graph(
        [os.fspath(embeddings_path)],
        os.fspath(graph_path),
        similarity_threshold=similarity_threshold,
        max_nbrs_per_node=max_nbrs_per_node,
        ann=ann,
        faiss_options={"k": max_nbrs_per_node} if ann == "faiss" else None,
    )
    if edges != "out":
        row_of = {node: row for row, node in enumerate(ids)}
        sources, targets, weights = read_graph_arrays(graph_path)
        rows = [np.array([row_of[n.decode()] for n in a], np.int64) for a in (sources, targets)]
        sources, targets, weights = edge_subset(*rows, weights, edges)
        names = np.asarray(ids, dtype=object)
        stats["edges_kept"] = write_graph_tsv(
            graph_path, zip(names[sources], names[targets], weights, strict=True)
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
