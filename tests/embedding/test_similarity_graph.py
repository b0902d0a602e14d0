"""The label-free image graph's options: its features and which kNN edges it keeps."""

import numpy as np
import pytest

from graphnsl.data.graph_tsv import read_graph_arrays
from graphnsl.embedding import similarity_graph


def test_edge_subset_by_hand():
    # 0->1, 1->0 (mutual), 0->2, 2->3 (one-way), 3->2 (mutual with 2->3).
    sources = np.array([0, 1, 0, 2, 3])
    targets = np.array([1, 0, 2, 3, 2])
    weights = np.array([0.9, 0.9, 0.5, 0.7, 0.7])
    s, t, w = similarity_graph.edge_subset(sources, targets, weights, "out")
    assert list(zip(s, t, strict=True)) == [(0, 1), (0, 2), (1, 0), (2, 3), (3, 2)]
    s, t, w = similarity_graph.edge_subset(sources, targets, weights, "mutual")
    assert list(zip(s, t, strict=True)) == [(0, 1), (1, 0), (2, 3), (3, 2)]
    s, t, w = similarity_graph.edge_subset(sources, targets, weights, "symmetric")
    # 2->0 is added after node 2's own edge, with 0->2's weight.
    assert list(zip(s, t, strict=True)) == [(0, 1), (0, 2), (1, 0), (2, 3), (2, 0), (3, 2)]
    np.testing.assert_allclose(w, [0.9, 0.5, 0.9, 0.7, 0.5, 0.7])
    with pytest.raises(ValueError, match="mode='both'"):
        similarity_graph.edge_subset(sources, targets, weights, "both")


def test_pca_whitening_and_pixel_features():
    rng = np.random.default_rng(0)
    images = (rng.random((200, 4, 4)) * np.linspace(1, 255, 16).reshape(4, 4)).astype(np.uint8)
    plain = similarity_graph.pca_embeddings(images, dim=3)
    whitened = similarity_graph.pca_embeddings(images, dim=3, whiten_power=0.5)
    # Whitened components have unit variance (sample variance, ddof=1, as PCA reports it);
    # the plain ones keep decreasing variances.
    np.testing.assert_allclose(whitened.var(axis=0, ddof=1), 1.0, rtol=1e-3)
    variances = plain.var(axis=0, ddof=1)
    assert variances[0] > variances[1] > variances[2]
    np.testing.assert_allclose(whitened * np.sqrt(variances), plain, rtol=1e-3, atol=1e-4)
    pixels = similarity_graph.label_free_embeddings(images, "pixels")
    np.testing.assert_allclose(pixels, images.reshape(200, 16) / 255.0)
    with pytest.raises(ValueError, match="features='sift'"):
        similarity_graph.label_free_embeddings(images, "sift")


@pytest.mark.parametrize("edges", ["out", "mutual", "symmetric"])
def test_build_similar_image_graph_keeps_the_chosen_edges(tmp_path, edges):
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (30, 5, 5)).astype(np.uint8)
    path, stats = similarity_graph.build_similar_image_graph(
        images,
        tmp_path / edges,
        max_nbrs_per_node=2,
        similarity_threshold=0.0,
        ann=None,
        features="pixels",
        edges=edges,
    )
    sources, targets, _ = read_graph_arrays(path)
    got = set(zip(sources.astype(int).tolist(), targets.astype(int).tolist(), strict=True))
    # The exact top-2 cosine neighbours of each image's pixels, by NumPy.
    x = images.reshape(30, -1) / 255.0
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    similarity = x @ x.T
    np.fill_diagonal(similarity, -np.inf)
    top = np.argsort(-similarity, axis=1)[:, :2]
    out = {(i, int(j)) for i in range(30) for j in top[i]}
    expected = {
        "out": out,
        "mutual": {(i, j) for i, j in out if (j, i) in out},
        "symmetric": out | {(j, i) for i, j in out},
    }[edges]
    assert got == expected
    assert len(sources) == len(expected)
    if edges != "out":
        assert stats["edges_kept"] == len(expected)
