"""Pictures of embeddings: t-SNE maps, recall-vs-margin curves, query/neighbour grids (PNG).

matplotlib with the non-interactive Agg backend and scikit-learn's t-SNE.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["tsne_map", "plot_tsne", "plot_recall_vs_margin", "plot_neighbor_grid"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path) -> str:
    from graphnsl.data.examples import AtomicOutput

    path = os.fspath(path)
    with AtomicOutput(path, "wb") as file:
        fig.savefig(file, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(fig)
    return path


def tsne_map(embeddings: np.ndarray, seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """2-d t-SNE coordinates `[N, 2]` of `embeddings` `[N, D]` (cosine metric, PCA init)."""
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    # One OpenMP thread: on a loaded machine, spinning OpenMP workers stall t-SNE for minutes.
    with threadpool_limits(limits=1):
        return TSNE(
            n_components=2, perplexity=perplexity, metric="cosine", init="pca", random_state=seed
        ).fit_transform(np.asarray(embeddings, np.float32))


def plot_tsne(
    maps: Mapping[str, np.ndarray],
    labels: np.ndarray,
    path,
    class_names: Sequence[str] | None = None,
) -> str:
    """One t-SNE panel per model, points coloured by class; returns the PNG path.

    Args:
      maps: model name -> `[N, 2]` coordinates (from `tsne_map`), same points in each.
      labels: int `[N]` classes (colour only).
      path: the PNG to write.
      class_names: legend names per class.
    """
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(maps), figsize=(5 * len(maps), 5), squeeze=False)
    cmap = plt.get_cmap("tab10")
    for ax, (name, xy) in zip(axes[0], maps.items(), strict=True):
        for c in np.unique(labels):
            keep = labels == c
            label = class_names[c] if class_names is not None else str(c)
            ax.scatter(xy[keep, 0], xy[keep, 1], s=3, color=cmap(int(c) % 10), label=label)
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0][-1].legend(markerscale=4, fontsize=8, loc="center left", bbox_to_anchor=(1, 0.5))
    return _save(fig, path)


def plot_recall_vs_margin(
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]], path, title: str = ""
) -> str:
    """Recall (share of triplets with margin >= m) against m, one line per model.

    Args:
      curves: model name -> `(margins, recalls)`.
      path: the PNG to write.
      title: the figure's title.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, (margins, recalls) in curves.items():
        ax.plot(margins, recalls, marker=".", label=name)
    ax.set_xlabel("margin m (cosine distance)")
    ax.set_ylabel("share of triplets with d(a,n) - d(a,p) >= m")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    return _save(fig, path)


def plot_neighbor_grid(
    query_images: np.ndarray,
    neighbor_images: np.ndarray,
    path,
    query_labels: np.ndarray | None = None,
    neighbor_labels: np.ndarray | None = None,
    title: str = "",
) -> str:
    """A grid: each row a query image, then its nearest neighbours (wrong class framed red).

    Args:
      query_images: `[Q, H, W]`.
      neighbor_images: `[Q, K, H, W]`, best first.
      path: the PNG to write.
      query_labels, neighbor_labels: optional `[Q]`, `[Q, K]` to frame wrong neighbours.
      title: the figure's title.
    """
    plt = _pyplot()
    q, k = neighbor_images.shape[:2]
    fig, axes = plt.subplots(q, k + 1, figsize=(1.1 * (k + 1), 1.1 * q), squeeze=False)
    for i in range(q):
        cells = [query_images[i], *neighbor_images[i]]
        for j, image in enumerate(cells):
            ax = axes[i][j]
            ax.imshow(image, cmap="gray_r")
            ax.set_xticks([])
            ax.set_yticks([])
            wrong = (
                j > 0
                and query_labels is not None
                and neighbor_labels is not None
                and neighbor_labels[i, j - 1] != query_labels[i]
            )
            color = "red" if wrong else ("blue" if j == 0 else "lightgray")
            for spine in ax.spines.values():
                spine.set_color(color)
                spine.set_linewidth(2.5 if wrong or j == 0 else 0.5)
    axes[0][0].set_title("query", fontsize=8)
    if title:
        fig.suptitle(title)
    return _save(fig, path)
