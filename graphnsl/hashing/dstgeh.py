"""DSTGeH: deep self-taught graph embedding hashing with pseudo labels (Liu et al., ICME 2020).

Stage 1, pseudo labels: a kNN cosine-similarity graph over the database's features
(`knn_cosine_graph`, faiss with a per-node cap; `graph_features` optionally centres them)
is embedded (`graphnsl.embedding.graph`; by default Laplacian eigenmaps as a diffusion map,
64 standardized eigenvectors damped by `(1 - lambda)^100`, the measured best on
Fashion-MNIST; DeepWalk, SDNE and SDNE on a pretrained stacked autoencoder, the paper's, for
the ablation) and quantized to `bits` balanced bits (`PseudoBitQuantizer`: each dimension at
its median, or, the default, row-normalized, PCA to `bits`, ITQ-rotated, then the medians).
Stage 2, hash function: a small CNN with `bits` sigmoid outputs learns the pseudo bits from
the images, with binary cross-entropy (BCEL) or the multi-label margin loss (MLML); its
outputs thresholded at 0.5 are the codes of any image (`DSTGeH.encode`).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import scipy.sparse as sp
from absl import logging

from graphnsl.embedding import graph as embedding_graph

__all__ = [
    "GRAPH_EMBEDDINGS",
    "DSTGeHConfig",
    "DSTGeH",
    "knn_cosine_graph",
    "graph_features",
    "embed_graph",
    "pseudo_bits",
    "PseudoBitQuantizer",
    "MultiLabelMarginLoss",
    "hash_cnn",
]

GRAPH_EMBEDDINGS = ("le", "deepwalk", "sdne", "sdne_sae")
GRAPH_FEATURES = ("raw", "centred")
BINARIZATIONS = ("median", "itq")


def graph_features(features: np.ndarray, mode: str = "raw", mean=None):
    """The vectors the cosine graph is built on: the features as they are, or mean-centred.

    On centred vectors the cosine similarity is the Pearson correlation of two images'
    pixels; the mean pixel (large where most garments are) no longer dominates it.

    Args:
      features: `[N, D]`.
      mode: 'raw' or 'centred'.
      mean: `[D]` to centre with (the database's, for queries); the features' own if None.

    Returns:
      `(vectors float32 [N, D], mean [D] or None)`.
    """
    features = np.asarray(features, dtype=np.float32)
    if mode == "raw":
        return features, None
    if mode != "centred":
        raise ValueError(f"mode must be one of {GRAPH_FEATURES}, got {mode!r}")
    if mean is None:
        mean = features.mean(axis=0, dtype=np.float64).astype(np.float32)
    return features - mean, mean


def knn_cosine_graph(
    features: np.ndarray,
    num_neighbors: int = 10,
    similarity_threshold: float = 0.0,
    exact_below: int = 20000,
    nprobe: int = 16,
    seed: int = 0,
) -> sp.csr_matrix:
    """The symmetric kNN cosine-similarity graph `u_ij = v_i . v_j / (|v_i| |v_j|)`.

    Each node keeps its `num_neighbors` most similar other nodes at or above the threshold
    (the per-node cap of `build_graph`); an edge kept by either endpoint is kept, so the
    graph is symmetric. Search with faiss: exact inner products (`IndexFlatIP`) below
    `exact_below` nodes, else `IndexIVFFlat` with `4 sqrt(N)` lists and `nprobe` probes
    (on 60,000 x 784 pixels it takes a fraction of the exact search's time).

    `graphnsl.data.build_graph(..., max_nbrs_per_node=k, ann="faiss")` gives the same graph
    from TFRecords; it is not called here because its round trip through TFRecord and TSV
    files costs minutes at 60,000 x 784, and its IVF path currently fails (see the report).

    Args:
      features: `[N, D]`.
      num_neighbors: the per-node cap k.
      similarity_threshold: drop pairs below this cosine similarity.
      exact_below: exact search for fewer nodes than this.
      nprobe: IVF lists scanned per query.
      seed: seeds IVF's k-means.

    Returns:
      CSR float32 `[N, N]`, no self loops.
    """
    import faiss

    features = np.ascontiguousarray(features, dtype=np.float32)
    if features.ndim != 2:
        raise ValueError(f"features must be [N, D], got shape {features.shape}")
    n, dim = features.shape
    if not 0 < num_neighbors < n:
        raise ValueError(f"num_neighbors must be in [1, {n - 1}], got {num_neighbors}")
    started = time.perf_counter()
    unit = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-6)
    if n < exact_below:
        index = faiss.IndexFlatIP(dim)
    else:
        quantizer = faiss.IndexFlatIP(dim)
        nlist = int(4 * np.sqrt(n))
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = seed
        index.train(unit)
        index.nprobe = nprobe
    index.add(unit)
    rows, cols, weights = [], [], []
    for lo in range(0, n, 8192):
        similarity, found = index.search(unit[lo : lo + 8192], num_neighbors + 1)
        source = np.broadcast_to(np.arange(lo, lo + len(found))[:, None], found.shape)
        keep = (found >= 0) & (found != source) & (similarity >= similarity_threshold)
        # A node is its own best match; without a self hit the last candidate is dropped.
        keep &= np.cumsum(keep, axis=1) <= num_neighbors
        rows.append(source[keep])
        cols.append(found[keep])
        weights.append(similarity[keep])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    graph = sp.coo_matrix((np.concatenate(weights), (rows, cols)), shape=(n, n)).tocsr()
    graph = graph.maximum(graph.T).tocsr().astype(np.float32)
    isolated = int(np.sum(np.diff(graph.indptr) == 0))
    logging.info(
        "knn_cosine_graph: %d nodes, k=%d, %d undirected edges, %d isolated, %.1f s",
        n,
        num_neighbors,
        graph.nnz // 2,
        isolated,
        time.perf_counter() - started,
    )
    return graph


@dataclasses.dataclass(frozen=True)
class DSTGeHConfig:
    """DSTGeH settings (defaults sized for 60,000 28x28 images on a few CPU cores).

    Attributes:
      graph_embedding: 'le' (with the defaults below a diffusion map: the measured best
        on Fashion-MNIST), 'deepwalk', 'sdne' or 'sdne_sae' (the paper's).
      num_neighbors: per-node cap of the kNN cosine graph.
      sdne: SDNE settings (`pretrain` is set from `graph_embedding`).
      deepwalk_walks, deepwalk_length, deepwalk_window, deepwalk_max_pairs: DeepWalk's.
      loss: 'bcel' (binary cross-entropy) or 'mlml' (multi-label margin loss).
      graph_features: 'raw' or 'centred' (`graph_features`): what the cosine graph sees
        when DSTGeH builds it from features.
      le_dims: eigenvectors computed for 'le' (the embedding has max(le_dims, bits)
        dimensions; 'itq' binarization reduces them to the bits by PCA).
      diffusion_time: for 'le', scale each eigenvector by `(1 - lambda)^t` (a diffusion
        map, `graphnsl.embedding.graph.diffusion_map`; 0 = plain eigenmaps).
      standardize_eigenvectors: for 'le', scale each eigenvector to unit variance over the
        nodes before the damping.
      binarization: 'median' (each of the first g embedding dimensions at its median) or
        'itq' (see `PseudoBitQuantizer`: standardized, optionally row-normalized, PCA to g,
        rotated by ITQ, then each rotated dimension at its median).
      row_normalize: with 'itq', scale each node's standardized embedding to unit length.
      itq_iterations: ITQ's iterations.
      cnn_epochs, cnn_batch_size, cnn_learning_rate: the hash CNN's training.
      seed: seeds every stage.
    """

    graph_embedding: str = "le"
    num_neighbors: int = 10
    sdne: embedding_graph.SDNEConfig = embedding_graph.SDNEConfig(
        hidden_dims=(256,),
        alpha=1.0,
        beta=0.1,
        gamma=1e-5,
        mu=0.9,
        nonzero_weight=10.0,
        pretrain_epochs=1,
        epochs=3,
        batch_size=256,
        learning_rate=2e-3,
        reconstruction_columns=2048,
    )
    deepwalk_walks: int = 4
    deepwalk_length: int = 20
    deepwalk_window: int = 5
    deepwalk_max_pairs: int = 4_000_000
    loss: str = "bcel"
    cnn_epochs: int = 3
    cnn_batch_size: int = 256
    cnn_learning_rate: float = 1e-3
    graph_features: str = "raw"
    le_dims: int = 64
    diffusion_time: float = 100.0
    standardize_eigenvectors: bool = True
    binarization: str = "itq"
    row_normalize: bool = True
    itq_iterations: int = 50
    seed: int = 0

    def validate(self) -> DSTGeHConfig:
        if self.graph_embedding not in GRAPH_EMBEDDINGS:
            raise ValueError(
                f"graph_embedding must be one of {GRAPH_EMBEDDINGS}, got {self.graph_embedding!r}"
            )
        if self.loss not in ("bcel", "mlml"):
            raise ValueError(f"loss must be 'bcel' or 'mlml', got {self.loss!r}")
        if self.graph_features not in GRAPH_FEATURES:
            raise ValueError(
                f"graph_features must be one of {GRAPH_FEATURES}, got {self.graph_features!r}"
            )
        if self.le_dims < 0 or self.diffusion_time < 0:
            raise ValueError(
                f"le_dims ({self.le_dims}) and diffusion_time ({self.diffusion_time}) must be >= 0"
            )
        if self.binarization not in BINARIZATIONS:
            raise ValueError(
                f"binarization must be one of {BINARIZATIONS}, got {self.binarization!r}"
            )
        return self


def embed_graph(adjacency, bits: int, config: DSTGeHConfig, verbose: bool = True) -> np.ndarray:
    """The node embedding of `config.graph_embedding`: `bits` dimensions (LE: `max(le_dims, bits)`)."""
    config.validate()
    method = config.graph_embedding
    if method == "le":
        return embedding_graph.diffusion_map(
            adjacency,
            max(config.le_dims, bits),
            time=config.diffusion_time,
            standardize=config.standardize_eigenvectors,
            seed=config.seed,
        )
    if method == "deepwalk":
        return embedding_graph.deepwalk(
            adjacency,
            dim=bits,
            walks_per_node=config.deepwalk_walks,
            walk_length=config.deepwalk_length,
            window=config.deepwalk_window,
            max_pairs=config.deepwalk_max_pairs,
            batch_size=4096,
            learning_rate=0.01,
            seed=config.seed,
            verbose=2 if verbose else 0,
        )
    sdne_config = dataclasses.replace(config.sdne, pretrain=method == "sdne_sae")
    return embedding_graph.sdne(
        adjacency, dim=bits, config=sdne_config, seed=config.seed, verbose=verbose
    )


def pseudo_bits(embedding: np.ndarray, thresholds: np.ndarray | None = None):
    """Binarizes each embedding dimension at its median (or the given thresholds).

    Args:
      embedding: `[N, g]`.
      thresholds: optional `[g]`; the column medians of `embedding` if None.

    Returns:
      `(bits uint8 [N, g], thresholds [g])`.
    """
    embedding = np.asarray(embedding, dtype=np.float32)
    if thresholds is None:
        thresholds = np.median(embedding, axis=0)
    return (embedding > thresholds).astype(np.uint8), thresholds


class PseudoBitQuantizer:
    """Turns a node embedding into g-bit pseudo labels; fitted on the database's embedding.

    - 'median': the first g dimensions, each thresholded at its database median.
    - 'itq': centred at the database mean (each dimension keeps its scale, so weights such
      as a diffusion map's `(1 - lambda)^t` matter), each row optionally scaled to unit
      length (`row_normalize`, as in spectral clustering, so a node's code depends on its
      direction in the embedding, not on how far it sits from the origin), centred again,
      projected on its top-g principal directions, rotated by ITQ (Gong & Lazebnik,
      `graphnsl.hashing.baselines.itq_rotation`) and each rotated dimension thresholded at
      its median. The rotation spreads the variance over all g bits instead of giving each
      later, noisier coordinate a bit of its own.
    Every bit is balanced on the database either way.

    Args:
      bits: g.
      method: 'median' or 'itq'.
      row_normalize: see above ('itq' only).
      iterations: ITQ iterations.
      seed: ITQ's initial rotation.
    """

    def __init__(
        self,
        bits: int,
        method: str = "median",
        row_normalize: bool = False,
        iterations: int = 50,
        seed: int = 0,
    ):
        if method not in BINARIZATIONS:
            raise ValueError(f"method must be one of {BINARIZATIONS}, got {method!r}")
        self.bits = int(bits)
        self.method = method
        self.row_normalize = bool(row_normalize)
        self.iterations = int(iterations)
        self.seed = seed

    def _standardized(self, embedding):
        z = embedding - self.mean_
        if self.row_normalize:
            z = z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
        return z

    def fit(self, embedding) -> PseudoBitQuantizer:
        embedding = np.asarray(embedding, dtype=np.float64)
        if embedding.ndim != 2 or embedding.shape[1] < self.bits:
            raise ValueError(
                f"the embedding must be [N, >= {self.bits}] for {self.bits} bits, "
                f"got shape {embedding.shape}"
            )
        if self.method == "itq":
            from graphnsl.hashing.baselines import itq_rotation, pca

            self.mean_ = embedding.mean(axis=0)
            z = self._standardized(embedding)
            self.centre_, self.components_, _ = pca(z, self.bits, dtype=np.float64)
            self.rotation_, self.objective_ = itq_rotation(
                (z - self.centre_) @ self.components_, self.iterations, self.seed
            )
        self.thresholds_ = np.median(self.project(embedding), axis=0)
        return self

    def project(self, embedding) -> np.ndarray:
        """The g values per node that the thresholds cut: `[M, e]` -> `[M, g]`."""
        embedding = np.asarray(embedding, dtype=np.float64)
        if self.method == "median":
            return embedding[:, : self.bits]
        z = self._standardized(embedding) - self.centre_
        return z @ self.components_ @ self.rotation_

    def transform(self, embedding) -> np.ndarray:
        """uint8 0/1 `[M, g]`."""
        return (self.project(embedding) > self.thresholds_).astype(np.uint8)


def _keras():
    import keras

    return keras


@_keras().saving.register_keras_serializable(package="graphnsl.hashing")
class MultiLabelMarginLoss(_keras().losses.Loss):
    """Multi-label margin loss on the hash outputs, the pseudo bits as the label set.

    Per example with outputs `x [g]` and 0/1 targets `y [g]`:
    `sum_{p: y_p = 1} sum_{n: y_n = 0} max(0, margin - (x_p - x_n)) / g` (PyTorch's
    `MultiLabelMarginLoss` with the set bits as the labels).

    Shapes:
      y_true 0/1 `[B, g]`, y_pred `[B, g]` -> `[B]`.
    """

    def __init__(self, margin: float = 1.0, name: str = "multi_label_margin_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.margin = float(margin)

    def call(self, y_true, y_pred):
        ops = _keras().ops
        y_true = ops.cast(y_true, y_pred.dtype)
        gap = self.margin - (y_pred[:, :, None] - y_pred[:, None, :])  # [B, p, n]
        pairs = y_true[:, :, None] * (1 - y_true[:, None, :])
        return ops.sum(ops.relu(gap) * pairs, axis=(1, 2)) / ops.cast(
            ops.shape(y_pred)[-1], y_pred.dtype
        )

    def get_config(self):
        return {**super().get_config(), "margin": self.margin}


def hash_cnn(input_shape: tuple[int, ...], bits: int, filters: tuple[int, int] = (16, 32)):
    """A small CNN with `bits` sigmoid outputs: two conv+pool blocks, one dense layer.

    Args:
      input_shape: `(H, W, C)`.
      bits: outputs.
      filters: the two conv layers' widths (the dense layer has 4x the second).

    Shapes: images float `[B, H, W, C]` in [0, 1] -> `[B, bits]` in (0, 1).
    """
    keras = _keras()
    return keras.Sequential(
        [
            keras.Input(input_shape),
            keras.layers.Conv2D(filters[0], 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(filters[1], 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(4 * filters[1], activation="relu"),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(bits, activation="sigmoid"),
        ],
        name=f"hash_cnn_{bits}",
    )


def _images(images) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4:
        raise ValueError(f"images must be [N, H, W] or [N, H, W, C], got shape {images.shape}")
    if images.dtype == np.uint8:
        return images.astype(np.float32) / 255.0
    return images.astype(np.float32)


class DSTGeH:
    """DSTGeH's two stages; `fit` on the database, `encode` any images.

    Args:
      bits: code length g.
      config: `DSTGeHConfig`.

    Attributes (after `fit`): `embedding_` `[N, e]` (e >= g), `quantizer_` (the fitted
    `PseudoBitQuantizer`), `pseudo_bits_` `[N, g]`, `model_` (the hash CNN), `seconds_` (per stage), `history_` (CNN losses).
    """

    def __init__(self, bits: int, config: DSTGeHConfig | None = None):
        self.bits = int(bits)
        self.config = (config or DSTGeHConfig()).validate()

    def fit_pseudo_bits(self, adjacency=None, features=None, embedding=None, verbose=True):
        """Stage 1: the graph (from `features` if `adjacency` is None), its embedding, the bits."""
        seconds = {}
        if embedding is None:
            if adjacency is None:
                if features is None:
                    raise ValueError("fit_pseudo_bits needs adjacency, features or embedding")
                started = time.perf_counter()
                vectors, _ = graph_features(features, self.config.graph_features)
                adjacency = knn_cosine_graph(vectors, self.config.num_neighbors)
                seconds["graph"] = time.perf_counter() - started
            started = time.perf_counter()
            embedding = embed_graph(adjacency, self.bits, self.config, verbose=verbose)
            seconds["embedding"] = time.perf_counter() - started
        self.embedding_ = np.asarray(embedding, dtype=np.float32)
        self.quantizer_ = PseudoBitQuantizer(
            self.bits,
            self.config.binarization,
            row_normalize=self.config.row_normalize,
            iterations=self.config.itq_iterations,
            seed=self.config.seed,
        ).fit(self.embedding_)
        self.pseudo_bits_ = self.quantizer_.transform(self.embedding_)
        self.seconds_ = seconds
        return self

    def fit_hash_function(self, images, verbose: int = 2):
        """Stage 2: trains the CNN on `images` (the database, in graph order) to the bits."""
        keras = _keras()
        images = _images(images)
        if len(images) != len(self.pseudo_bits_):
            raise ValueError(
                f"{len(images)} images but {len(self.pseudo_bits_)} pseudo labels (graph nodes)"
            )
        keras.utils.set_random_seed(self.config.seed)
        started = time.perf_counter()
        self.model_ = hash_cnn(images.shape[1:], self.bits)
        loss = (
            keras.losses.BinaryCrossentropy()
            if self.config.loss == "bcel"
            else MultiLabelMarginLoss()
        )
        self.model_.compile(
            optimizer=keras.optimizers.Adam(self.config.cnn_learning_rate), loss=loss
        )
        history = self.model_.fit(
            images,
            self.pseudo_bits_.astype(np.float32),
            batch_size=self.config.cnn_batch_size,
            epochs=self.config.cnn_epochs,
            shuffle=True,
            verbose=verbose,
        )
        self.history_ = history.history
        self.seconds_["cnn"] = time.perf_counter() - started
        return self

    def fit(self, images, features=None, adjacency=None, embedding=None, verbose=True):
        """Both stages; `features` default to the flattened pixels."""
        if features is None and adjacency is None and embedding is None:
            features = _images(images).reshape(len(images), -1)
        self.fit_pseudo_bits(adjacency, features, embedding, verbose=verbose)
        return self.fit_hash_function(images, verbose=2 if verbose else 0)

    def encode(self, images, batch_size: int = 2048) -> np.ndarray:
        """0/1 codes uint8 `[N, bits]`: the CNN's outputs thresholded at 0.5."""
        outputs = self.model_.predict(_images(images), batch_size=batch_size, verbose=0)
        return (outputs > 0.5).astype(np.uint8)

    def out_of_sample_bits(self, neighbours: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Pseudo-label codes of new items without the CNN (the 'pseudo labels' baseline).

        A new item's embedding is the weight-averaged embedding of its database neighbours,
        binarized at the database's thresholds.

        Args:
          neighbours: int `[M, k]` database rows of each item's nearest neighbours.
          weights: `[M, k]` their similarities (>= 0).
        """
        weights = np.maximum(np.asarray(weights, dtype=np.float32), 0) + 1e-12
        mixed = np.einsum("mk,mkd->md", weights, self.embedding_[neighbours])
        mixed /= weights.sum(axis=1, keepdims=True)
        return self.quantizer_.transform(mixed)
