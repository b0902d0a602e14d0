"""`EmbeddingIndex`: exact nearest-neighbour search over embeddings (NumPy blocks or faiss).

Similarity is cosine (`metric='cosine'`, the default: rows are L2-normalized when added) or
negative squared Euclidean distance (`metric='l2'`). Search is exact either way: NumPy
matrix products over blocks of queries (memory bounded by `block_bytes`), or faiss' flat
indexes (`IndexFlatIP`, `IndexFlatL2`) when `backend='faiss'`, or with `backend='auto'` when
the index holds at least `faiss_min_size` rows and faiss imports. Results are sorted by
similarity, best first; equal similarities go to the smaller row number (NumPy backend).

An index saves to one `.npz` file, and `save_with_model` / `load_with_model` keep it beside
its Keras model (`model.keras` + `index.npz` in one folder).
"""

from __future__ import annotations

import os
import pathlib

import numpy as np

__all__ = ["EmbeddingIndex", "save_with_model", "load_with_model", "faiss_available"]

METRICS = ("cosine", "l2")
BACKENDS = ("auto", "numpy", "faiss")


def faiss_available() -> bool:
    """Whether `faiss` (the `graphnsl[faiss]` extra, faiss-cpu) imports."""
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


def _normalize(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


class EmbeddingIndex:
    """Exact k-nearest-neighbour search over a fixed set of embeddings.

    Args:
      embeddings: float `[N, D]`.
      labels: optional int `[N]`, kept with the index (kNN classification reads them).
      metric: 'cosine' (default) or 'l2'.
      backend: 'auto' (faiss when `N >= faiss_min_size` and faiss imports), 'numpy' or 'faiss'.
      faiss_min_size: the size from which 'auto' uses faiss.
      block_bytes: the NumPy backend's memory budget for one block of similarities.

    Example:
      >>> index = EmbeddingIndex(train_embeddings, train_labels)
      >>> similarities, rows = index.search(test_embeddings, k=10)   # [Q, 10] each
    """

    def __init__(
        self,
        embeddings: np.ndarray,
        labels: np.ndarray | None = None,
        metric: str = "cosine",
        backend: str = "auto",
        faiss_min_size: int = 20_000,
        block_bytes: int = 64 << 20,
    ):
        if metric not in METRICS:
            raise ValueError(f"metric={metric!r} is not supported; valid: {METRICS}.")
        if backend not in BACKENDS:
            raise ValueError(f"backend={backend!r} is not supported; valid: {BACKENDS}.")
        embeddings = np.asarray(embeddings, np.float32)
        if embeddings.ndim != 2 or not len(embeddings):
            raise ValueError(
                f"embeddings must be a non-empty [N, D] array, got {embeddings.shape}."
            )
        if not np.isfinite(embeddings).all():
            row = int(np.flatnonzero(~np.isfinite(embeddings).all(axis=1))[0])
            raise ValueError(f"embeddings row {row} holds NaN or infinity.")
        if labels is not None:
            labels = np.asarray(labels)
            if labels.shape != (len(embeddings),):
                raise ValueError(f"labels must be [{len(embeddings)}], got {labels.shape}.")
        self.metric = metric
        self.labels = labels
        self.block_bytes = int(block_bytes)
        self.embeddings = _normalize(embeddings) if metric == "cosine" else embeddings
        if backend == "auto":
            backend = (
                "faiss" if len(embeddings) >= faiss_min_size and faiss_available() else "numpy"
            )
        if backend == "faiss" and not faiss_available():
            raise ImportError("backend='faiss' needs faiss: pip install 'graphnsl[faiss]'.")
        self.backend = backend
        self._faiss = None
        self._squared_norms = np.einsum("ij,ij->i", self.embeddings, self.embeddings)

    def __len__(self) -> int:
        return len(self.embeddings)

    @property
    def dim(self) -> int:
        return self.embeddings.shape[1]

    def _prepare(self, queries) -> np.ndarray:
        queries = np.asarray(queries, np.float32)
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise ValueError(f"queries must be [Q, {self.dim}], got {queries.shape}.")
        return _normalize(queries) if self.metric == "cosine" else queries

    def similarities(self, queries: np.ndarray) -> np.ndarray:
        """All similarities float32 `[Q, N]` (cosine, or minus the squared L2 distance)."""
        queries = self._prepare(queries)
        scores = queries @ self.embeddings.T
        if self.metric == "l2":
            scores = (
                2.0 * scores
                - self._squared_norms[None, :]
                - np.einsum("ij,ij->i", queries, queries)[:, None]
            )
        return scores

    def search(
        self, queries: np.ndarray, k: int, exclude: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The k most similar rows of each query.

        Args:
          queries: float `[Q, D]`.
          k: neighbours per query, `1 <= k <= N` (`N - 1` with `exclude`).
          exclude: optional int `[Q]`: a row never returned for that query (its own row when
            the queries are the indexed embeddings, for leave-one-out evaluation).

        Returns:
          `(scores, rows)`: float32 and int64 `[Q, k]`, best first; scores are cosine
          similarities, or minus squared L2 distances.
        """
        limit = len(self) - (exclude is not None)
        if not 1 <= k <= limit:
            raise ValueError(f"k={k} must be in [1, {limit}] for an index of {len(self)} rows.")
        if self.backend == "faiss":
            return self._search_faiss(self._prepare(queries), k, exclude)
        queries = np.asarray(queries)
        rows_per_block = max(1, self.block_bytes // (4 * len(self)))
        scores = np.empty((len(queries), k), np.float32)
        rows = np.empty((len(queries), k), np.int64)
        for start in range(0, len(queries), rows_per_block):
            stop = min(start + rows_per_block, len(queries))
            block = self.similarities(queries[start:stop])
            if exclude is not None:
                block[np.arange(stop - start), np.asarray(exclude[start:stop])] = -np.inf
            if k < block.shape[1]:
                part = np.argpartition(-block, k - 1, axis=1)[:, :k]
            else:
                part = np.broadcast_to(np.arange(block.shape[1]), block.shape)
            part_scores = np.take_along_axis(block, part, axis=1)
            # Sort by score (best first), then by row number.
            order = np.lexsort((part, -part_scores), axis=1)
            rows[start:stop] = np.take_along_axis(part, order, axis=1)
            scores[start:stop] = np.take_along_axis(part_scores, order, axis=1)
        return scores, rows

    def _search_faiss(self, queries: np.ndarray, k: int, exclude):
        import faiss

        if self._faiss is None:
            index = (
                faiss.IndexFlatIP(self.dim)
                if self.metric == "cosine"
                else faiss.IndexFlatL2(self.dim)
            )
            index.add(np.ascontiguousarray(self.embeddings))
            self._faiss = index
        extra = 1 if exclude is not None else 0
        scores, rows = self._faiss.search(np.ascontiguousarray(queries), k + extra)
        if self.metric == "l2":
            scores = -scores
        if exclude is not None:
            keep = rows != np.asarray(exclude)[:, None]
            # Drop the excluded row where found, else the last one.
            keep[keep.all(axis=1), -1] = False
            scores = scores[keep].reshape(len(queries), k)
            rows = rows[keep].reshape(len(queries), k)
        return scores.astype(np.float32), rows.astype(np.int64)

    def save(self, path: str | os.PathLike) -> None:
        """Writes the index (embeddings, labels, metric) to one `.npz`, atomically."""
        from graphnsl.data.examples import AtomicOutput

        arrays = {"embeddings": self.embeddings, "metric": np.array(self.metric)}
        if self.labels is not None:
            arrays["labels"] = self.labels
        with AtomicOutput(path, "wb") as file:
            np.savez(file, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike, backend: str = "auto") -> EmbeddingIndex:
        """Reads an index written by `save`."""
        try:
            with np.load(path, allow_pickle=False) as data:
                embeddings = data["embeddings"]
                metric = str(data["metric"])
                labels = data["labels"] if "labels" in data else None
        except (KeyError, ValueError, OSError) as error:
            raise ValueError(f"{path}: not an EmbeddingIndex file ({error}).") from None
        return cls(embeddings, labels, metric=metric, backend=backend)


def save_with_model(directory: str | os.PathLike, model, index: EmbeddingIndex) -> None:
    """Saves a Keras model and its index together: `directory/model.keras`, `index.npz`."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model.save(directory / "model.keras")
    index.save(directory / "index.npz")


def load_with_model(directory: str | os.PathLike, backend: str = "auto"):
    """Loads what `save_with_model` wrote; returns `(model, index)`."""
    import keras

    directory = pathlib.Path(directory)
    for name in ("model.keras", "index.npz"):
        if not (directory / name).is_file():
            raise FileNotFoundError(f"{directory} lacks {name} (written by save_with_model).")
    model = keras.models.load_model(directory / "model.keras")
    return model, EmbeddingIndex.load(directory / "index.npz", backend=backend)
