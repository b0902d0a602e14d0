"""`EmbeddingEvaluation`: a Keras callback logging the retrieval metrics every few epochs."""

from __future__ import annotations

import keras
import numpy as np

from graphnsl.embedding.metrics import evaluate

__all__ = ["EmbeddingEvaluation"]


class EmbeddingEvaluation(keras.callbacks.Callback):
    """Embeds reference and query images at the end of an epoch and logs `evaluate(...)`.

    The scalar metrics enter the epoch's `logs` (so History, CSVLogger and TensorBoard see
    them) with `prefix`, e.g. `emb_knn@1`; `self.history` keeps every full result dict.

    Args:
      embedding_model: maps the images to embeddings (e.g. the embedding network inside a
        classifier or a `GraphRegularization` wrapper; it shares their weights).
      reference: `(images, labels)` indexed for kNN and recall@k.
      queries: `(images, labels)` evaluated against them.
      every: evaluate every this many epochs.
      batch_size: of `embedding_model.predict`.
      prefix: of the log keys.
      **evaluate_kwargs: passed to `evaluate` (`num_triplets`, `margins`, `backend`, ...).
    """

    def __init__(
        self,
        embedding_model,
        reference,
        queries,
        every: int = 1,
        batch_size: int = 1024,
        prefix: str = "emb_",
        **evaluate_kwargs,
    ):
        super().__init__()
        self.embedding_model = embedding_model
        self.reference = reference
        self.queries = queries
        self.every = int(every)
        self.batch_size = int(batch_size)
        self.prefix = prefix
        self.evaluate_kwargs = evaluate_kwargs
        self.history: list[dict] = []

    def compute(self) -> dict:
        """Embeds both sets and returns `evaluate(...)`'s dict."""
        embed = lambda images: self.embedding_model.predict(  # noqa: E731
            images, batch_size=self.batch_size, verbose=0
        )
        results = evaluate(
            np.asarray(embed(self.reference[0])),
            np.asarray(self.reference[1]),
            np.asarray(embed(self.queries[0])),
            np.asarray(self.queries[1]),
            **self.evaluate_kwargs,
        )
        self.history.append(results)
        return results

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        results = self.compute()
        if logs is not None:
            for key, value in results.items():
                if not isinstance(value, list):
                    logs[self.prefix + key] = value
