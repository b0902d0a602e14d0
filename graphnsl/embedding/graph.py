"""Node embeddings of a weighted graph: Laplacian eigenmaps, DeepWalk and SDNE.

Every method takes a symmetric SciPy sparse adjacency `[N, N]` (weights >= 0, no self loops
needed; see `read_tsv_graph` for NSL's TSV graphs) and returns float32 node embeddings
`[N, dim]`:

- `laplacian_eigenmaps`: the `dim` smallest non-trivial generalized eigenvectors of
  `L y = lambda D y` (Belkin & Niyogi 2003), through `scipy.sparse.linalg.eigsh`;
  `diffusion_map`: the same scaled by `(1 - lambda)^t` (Coifman & Lafon 2006).
- `deepwalk`: truncated weighted random walks (Perozzi et al. 2014) fed to a skip-gram
  word2vec with negative sampling (`SkipGram`, a Keras model, and `NegativeSamplingLoss`).
- `sdne`: Structural Deep Network Embedding (Wang, Cui & Zhu, KDD 2016), a deep autoencoder
  of each node's adjacency row with the first-order (Laplacian) term on its code, optionally
  on a greedily pretrained stacked autoencoder with the hidden-layer reconstruction terms of
  DSTGeH (Liu et al., ICME 2020): `pretrain=True`.

SDNE scales to large sparse graphs: a step takes a batch of nodes with their sparse rows
(the encoder's first layer is a sparse-dense product) and updates only the slices of the
N-sized weight tables it touches (lazy Adam); the first-order term runs over the edges
leaving the batch against a table of the other ends' latest codes; and with
`reconstruction_columns=M` the decoder is evaluated only on the batch's non-zero columns
plus M random columns, whose error is scaled to an unbiased estimate of the full row's.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from absl import logging

__all__ = [
    "read_tsv_graph",
    "laplacian_eigenmaps",
    "diffusion_map",
    "random_walks",
    "skipgram_pairs",
    "SkipGram",
    "NegativeSamplingLoss",
    "deepwalk",
    "SDNE",
    "SDNEConfig",
    "kappa_weights",
    "second_order_loss",
    "first_order_loss",
    "hidden_reconstruction_loss",
    "weight_decay_loss",
    "sdne",
]


def read_tsv_graph(path: str | os.PathLike) -> tuple[list[str], sp.csr_matrix]:
    """Reads an NSL TSV graph (`source<TAB>target[<TAB>weight]`) as a symmetric matrix.

    A missing weight counts as 1. An edge listed in both directions keeps the larger weight
    (NSL's build-graph writes both directions with the same weight); an edge listed once is
    made symmetric.

    Args:
      path: the TSV file.

    Returns:
      `(ids, adjacency)`: node ids in order of first appearance and CSR float32 `[N, N]`.

    Raises:
      ValueError: a line without two fields or with a weight that is not a number (naming
        the file and line).
    """
    index: dict[str, int] = {}
    rows, cols, weights = [], [], []
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, start=1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) < 2:
                raise ValueError(f"{path}: line {number}: expected source<TAB>target[<TAB>weight]")
            try:
                weight = float(fields[2]) if len(fields) > 2 else 1.0
            except ValueError:
                raise ValueError(
                    f"{path}: line {number}: weight {fields[2]!r} is not a number"
                ) from None
            rows.append(index.setdefault(fields[0], len(index)))
            cols.append(index.setdefault(fields[1], len(index)))
            weights.append(weight)
    n = len(index)
    matrix = sp.coo_matrix((weights, (rows, cols)), shape=(n, n)).tocsr()
    matrix.sum_duplicates()
    matrix = matrix.maximum(matrix.T).tocsr().astype(np.float32)
    return list(index), matrix


def _check_adjacency(adjacency, name: str = "adjacency") -> sp.csr_matrix:
    if not sp.issparse(adjacency):
        adjacency = sp.csr_matrix(np.asarray(adjacency))
    adjacency = sp.csr_matrix(adjacency, dtype=np.float32)
    if adjacency.ndim != 2 or adjacency.shape[0] != adjacency.shape[1]:
        raise ValueError(f"{name} must be square [N, N], got shape {adjacency.shape}")
    if adjacency.nnz and adjacency.data.min() < 0:
        raise ValueError(f"{name} has negative weights (min {adjacency.data.min()})")
    adjacency.sum_duplicates()
    adjacency.sort_indices()
    return adjacency


# ------------------------------------------------------------------ Laplacian eigenmaps


def laplacian_eigenmaps(adjacency, dim: int, seed: int = 0, return_eigenvalues: bool = False):
    """The `dim` smallest non-trivial eigenvectors of `L y = lambda D y` (`L = D - W`).

    Computed as eigenvectors `v` of the normalized adjacency `D^-1/2 W D^-1/2` with the
    largest eigenvalues (`eigsh`), dropping the first (the trivial, constant `y`), mapped
    back by `y = D^-1/2 v`. Isolated nodes get zero rows.

    Args:
      adjacency: symmetric sparse `[N, N]`, weights >= 0.
      dim: embedding size, < N - 1.
      seed: seeds `eigsh`'s start vector.
      return_eigenvalues: also return the eigenvalues `lambda` (of `L y = lambda D y`).

    Returns:
      float32 `[N, dim]`, columns in order of increasing eigenvalue of `L`; with
      `return_eigenvalues`, `(embedding, float64 [dim] eigenvalues)`.
    """
    from scipy.sparse.linalg import eigsh

    adjacency = _check_adjacency(adjacency)
    n = adjacency.shape[0]
    if not 0 < dim < n - 1:
        raise ValueError(f"dim must be in [1, N - 2] = [1, {n - 2}], got {dim}")
    degree = np.asarray(adjacency.sum(axis=1)).ravel().astype(np.float64)
    inv_sqrt = np.where(degree > 0, 1.0 / np.sqrt(np.maximum(degree, 1e-300)), 0.0)
    normalized = sp.diags(inv_sqrt) @ adjacency.astype(np.float64) @ sp.diags(inv_sqrt)
    # Shifted by I so that the wanted end of the spectrum (eigenvalues near 2) is the
    # largest in magnitude too, which Lanczos finds fastest.
    shifted = normalized + sp.identity(n, format="csr")
    v0 = np.random.default_rng(seed).uniform(0.5, 1.5, n)
    values, vectors = eigsh(shifted, k=dim + 1, which="LA", v0=v0, tol=1e-6)
    order = np.argsort(-values)
    vectors = vectors[:, order[1:]]
    embedding = inv_sqrt[:, None] * vectors
    # Fix each column's sign so results do not depend on the eigensolver's choice.
    signs = np.sign(embedding[np.argmax(np.abs(embedding), axis=0), np.arange(dim)])
    embedding = (embedding * np.where(signs == 0, 1, signs)).astype(np.float32)
    if return_eigenvalues:
        # eigenvalue of D^-1/2 W D^-1/2 + I is 2 - lambda.
        return embedding, np.clip(2.0 - values[order[1:]], 0.0, 2.0)
    return embedding


def diffusion_map(
    adjacency, dim: int, time: float = 1.0, standardize: bool = False, seed: int = 0
) -> np.ndarray:
    """Diffusion maps (Coifman & Lafon 2006): Laplacian eigenmaps scaled by `(1 - lambda)^t`.

    `1 - lambda` are the eigenvalues of the random-walk matrix `D^-1 W` whose right
    eigenvectors are the eigenmaps `y`; `t` steps of the walk damp each `y` by
    `(1 - lambda)^t`, so the smooth, low-frequency coordinates dominate distances and the
    noisy high-frequency ones (often localized on a few nodes of a kNN graph) fade.
    `t = 0` gives the eigenmaps themselves.

    Args:
      adjacency: symmetric sparse `[N, N]`, weights >= 0.
      dim: embedding size, < N - 1.
      time: the diffusion time t >= 0.
      standardize: scale each eigenvector to mean 0 and variance 1 over the nodes before
        the damping (instead of the eigenmaps' `y^T D y = 1`), so that the damping alone
        sets the coordinates' relative scales.
      seed: seeds `eigsh`.

    Returns:
      float32 `[N, dim]`.
    """
    if time < 0:
        raise ValueError(f"diffusion time must be >= 0, got {time}")
    embedding, values = laplacian_eigenmaps(adjacency, dim, seed=seed, return_eigenvalues=True)
    if standardize:
        embedding = embedding - embedding.mean(axis=0)
        embedding = embedding / np.maximum(embedding.std(axis=0), 1e-12)
    weights = np.abs(1.0 - values) ** float(time)
    return (embedding * weights[None, :]).astype(np.float32)


# ------------------------------------------------------------------ DeepWalk


def random_walks(adjacency, walks_per_node: int, walk_length: int, seed: int = 0) -> np.ndarray:
    """Truncated random walks, each step to a neighbour with probability proportional to weight.

    All walks advance together (one vectorized step per position). A walk that reaches a
    node without neighbours stops there: its remaining positions are -1.

    Args:
      adjacency: sparse `[N, N]`, weights >= 0.
      walks_per_node: walks started at every node.
      walk_length: nodes per walk, the start included.
      seed: NumPy seed.

    Returns:
      int64 `[walks_per_node * N, walk_length]`: walk r * N + i starts at node i.
    """
    adjacency = _check_adjacency(adjacency)
    if walks_per_node < 1 or walk_length < 1:
        raise ValueError(
            f"walks_per_node ({walks_per_node}) and walk_length ({walk_length}) must be >= 1"
        )
    rng = np.random.default_rng(seed)
    n = adjacency.shape[0]
    indptr, indices = adjacency.indptr, adjacency.indices
    cumulative = np.cumsum(adjacency.data, dtype=np.float64)
    before = np.concatenate([[0.0], cumulative])[indptr[:-1]]  # weight before each row
    row_weight = np.asarray(adjacency.sum(axis=1), dtype=np.float64).ravel()
    walks = np.full((walks_per_node * n, walk_length), -1, dtype=np.int64)
    walks[:, 0] = np.tile(np.arange(n), walks_per_node)
    current = walks[:, 0].copy()
    alive = np.ones(len(current), dtype=bool)
    for t in range(1, walk_length):
        alive &= row_weight[np.maximum(current, 0)] > 0
        live = np.flatnonzero(alive)
        if not len(live):
            break
        node = current[live]
        target = before[node] + rng.random(len(live)) * row_weight[node]
        position = np.searchsorted(cumulative, target, side="right")
        position = np.clip(position, indptr[node], indptr[node + 1] - 1)
        current[live] = indices[position]
        walks[live, t] = current[live]
    return walks


def skipgram_pairs(walks: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """(target, context) pairs of nodes at most `window` apart on a walk, both directions.

    Args:
      walks: int `[num_walks, walk_length]`, -1 for positions after a walk stopped.
      window: the largest distance along the walk.

    Returns:
      `(targets, contexts)`, int64 `[num_pairs]` each.
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    targets, contexts = [], []
    for offset in range(1, min(window, walks.shape[1] - 1) + 1):
        left, right = walks[:, :-offset].ravel(), walks[:, offset:].ravel()
        keep = (left >= 0) & (right >= 0)
        left, right = left[keep], right[keep]
        targets += [left, right]
        contexts += [right, left]
    if not targets:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(targets), np.concatenate(contexts)


def _keras():
    import keras

    return keras


def _register(cls):
    return _keras().saving.register_keras_serializable(package="graphnsl.embedding")(cls)


@_register
class SkipGram(_keras().Model):
    """Skip-gram word2vec scores: target embedding dot each candidate context's embedding.

    Two tables, `target_embedding` (the node embedding kept afterwards) and
    `context_embedding`, as in word2vec. `call((targets, candidates))` returns the logits
    `s_bk = v_{t_b} . u_{c_bk}`.

    Args:
      num_nodes: vocabulary size N.
      dim: embedding size.

    Shapes:
      targets int `[B]`, candidates int `[B, C]` (column 0 the true context, the rest
      negatives) -> logits float32 `[B, C]`.

    Example:
      >>> model = SkipGram(num_nodes=10, dim=4)
      >>> model((np.array([0, 1]), np.array([[2, 5, 7], [3, 0, 9]]))).shape
      TensorShape([2, 3])
    """

    def __init__(self, num_nodes: int, dim: int, **kwargs):
        super().__init__(**kwargs)
        keras = _keras()
        self.num_nodes = int(num_nodes)
        self.dim = int(dim)
        scale = 0.5 / self.dim
        self.target_embedding = keras.layers.Embedding(
            self.num_nodes,
            self.dim,
            embeddings_initializer=keras.initializers.RandomUniform(-scale, scale),
            name="target_embedding",
        )
        self.context_embedding = keras.layers.Embedding(
            self.num_nodes, self.dim, embeddings_initializer="zeros", name="context_embedding"
        )

    def call(self, inputs):
        targets, candidates = inputs
        ops = _keras().ops
        target = self.target_embedding(targets)  # [B, dim]
        context = self.context_embedding(candidates)  # [B, C, dim]
        return ops.einsum("bd,bcd->bc", target, context)

    def get_config(self):
        return {**super().get_config(), "num_nodes": self.num_nodes, "dim": self.dim}


@_register
class NegativeSamplingLoss(_keras().losses.Loss):
    """word2vec's negative-sampling loss from skip-gram logits, column 0 the true context.

    Per pair: `-log sigmoid(s_0) - sum_{k>=1} log sigmoid(-s_k)`, averaged over the batch by
    the usual Keras reduction. `y_true` is ignored (the positive is always column 0).

    Shapes:
      y_pred float `[B, 1 + K]` -> per-pair loss `[B]`.
    """

    def __init__(self, name: str = "negative_sampling_loss", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        ops = _keras().ops
        del y_true
        positive = -ops.log_sigmoid(y_pred[:, 0])
        negative = -ops.sum(ops.log_sigmoid(-y_pred[:, 1:]), axis=-1)
        return positive + negative


def deepwalk(
    adjacency,
    dim: int = 128,
    walks_per_node: int = 10,
    walk_length: int = 40,
    window: int = 5,
    negatives: int = 5,
    epochs: int = 1,
    batch_size: int = 1024,
    learning_rate: float = 0.01,
    max_pairs: int | None = None,
    seed: int = 0,
    verbose: int = 1,
) -> np.ndarray:
    """DeepWalk: random walks, then skip-gram with negative sampling (Keras, Adam).

    Negatives are drawn per batch from word2vec's noise distribution, node frequency in the
    walks to the power 3/4.

    Args:
      adjacency: symmetric sparse `[N, N]`.
      dim: embedding size.
      walks_per_node, walk_length: see `random_walks`.
      window: skip-gram window (nodes at most this far apart on a walk make a pair).
      negatives: negative samples per pair.
      epochs: passes over the pairs.
      batch_size: pairs per step.
      learning_rate: Adam's.
      max_pairs: if set, a random subset of at most this many pairs is used (logged).
      seed: seeds walks, pair order, negatives and initialization.
      verbose: Keras progress (0 silent, 1 bar, 2 one line per epoch).

    Returns:
      float32 `[N, dim]`, the target embeddings.
    """
    import tensorflow as tf

    keras = _keras()
    adjacency = _check_adjacency(adjacency)
    n = adjacency.shape[0]
    rng = np.random.default_rng(seed)
    walks = random_walks(adjacency, walks_per_node, walk_length, seed=seed)
    targets, contexts = skipgram_pairs(walks, window)
    if not len(targets):
        raise ValueError("the graph has no edges: DeepWalk has no pairs to train on")
    order = rng.permutation(len(targets))
    if max_pairs is not None and len(order) > max_pairs:
        logging.info("deepwalk: using %d of %d skip-gram pairs", max_pairs, len(order))
        order = order[:max_pairs]
    targets, contexts = targets[order], contexts[order]
    counts = np.bincount(walks[walks >= 0], minlength=n).astype(np.float64)
    noise = counts**0.75
    noise_cdf = tf.constant(np.cumsum(noise / noise.sum()), tf.float64)
    keras.utils.set_random_seed(seed)

    def with_negatives(target, context):
        shape = [tf.shape(target)[0], negatives]
        draw = tf.random.uniform([shape[0] * negatives], dtype=tf.float64)
        negative = tf.searchsorted(noise_cdf, draw, side="right", out_type=tf.int64)
        negative = tf.reshape(tf.minimum(negative, n - 1), shape)
        candidates = tf.concat([context[:, None], tf.cast(negative, context.dtype)], axis=1)
        return (target, candidates), tf.zeros_like(target, tf.float32)

    dataset = (
        tf.data.Dataset.from_tensor_slices((targets, contexts))
        .batch(batch_size)
        .map(with_negatives, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    model = SkipGram(n, dim)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=NegativeSamplingLoss())
    model.fit(dataset, epochs=epochs, verbose=verbose, shuffle=False)
    return np.asarray(model.target_embedding.embeddings, dtype=np.float32)


# ------------------------------------------------------------------ SDNE


def kappa_weights(num_layers: int) -> np.ndarray:
    """DSTGeH's hidden-layer weights: `kappa_t / kappa_{t+1} = 2`, summing to 1.

    Args:
      num_layers: number of hidden layers reconstructed (M - 1 for an M-layer encoder).

    Returns:
      float64 `[num_layers]`, largest first (the layer next to the input).
    """
    if num_layers <= 0:
        return np.zeros(0)
    raw = 2.0 ** -np.arange(num_layers, dtype=np.float64)
    return raw / raw.sum()


def second_order_loss(u, u_hat, nonzero_weight: float = 1.0, column_scale=None):
    """SDNE's second-order term `sum_i ||(u_hat_i - u_i) * b_i||^2` with SDNE's `B`.

    `b_ij = nonzero_weight` where `u_ij > 0`, else 1; the weight multiplies the squared
    error (SDNE's `B` multiplies the error inside the norm; here `nonzero_weight = beta^2`
    matches it). `column_scale` (optional, `[C]`) multiplies each column's squared error
    (used for the sampled-columns estimate).

    Args:
      u: target rows `[B, C]`.
      u_hat: reconstructions `[B, C]`.
      nonzero_weight: weight of the squared error on non-zero targets.
      column_scale: optional `[C]`.

    Returns:
      scalar, the sum over the batch.
    """
    ops = _keras().ops
    weight = ops.where(u > 0, nonzero_weight, 1.0)
    squared = weight * ops.square(u_hat - u)
    if column_scale is not None:
        squared = squared * column_scale[None, :]
    return ops.sum(squared)


def first_order_loss(h_source, h_target, weight):
    """SDNE's first-order term `sum_(i,j) u_ij ||h_i - h_j||^2` over the listed edges.

    Args:
      h_source: `[E, d]` embeddings of each edge's source.
      h_target: `[E, d]` embeddings of each edge's target.
      weight: `[E]` edge weights `u_ij`.

    Returns:
      scalar.
    """
    ops = _keras().ops
    return ops.sum(weight * ops.sum(ops.square(h_source - h_target), axis=-1))


def hidden_reconstruction_loss(hidden, reconstructed, kappa):
    """DSTGeH's `L_soh = sum_i sum_m kappa_m ||f_i^(m) - f_hat_i^(m)||^2`.

    Args:
      hidden: list of encoder activations `f^(m)`, each `[B, d_m]`.
      reconstructed: the decoder's activations `f_hat^(m)` at the same layers.
      kappa: the weights, one per layer (see `kappa_weights`).

    Returns:
      scalar (0 for no layers).
    """
    ops = _keras().ops
    total = 0.0
    for f, f_hat, k in zip(hidden, reconstructed, kappa, strict=True):
        total = total + float(k) * ops.sum(ops.square(f - f_hat))
    return total


def weight_decay_loss(kernels):
    """`L_r = 1/2 sum ||W||_F^2` over the given weight matrices (biases excluded)."""
    ops = _keras().ops
    total = 0.0
    for kernel in kernels:
        total = total + 0.5 * ops.sum(ops.square(kernel))
    return total


class _OutputLayer(_keras().layers.Layer):
    """A dense layer with its kernel stored transposed, `[units, input_dim]`.

    `call(x) = act(x K^T + b)`; `columns(x, index)` evaluates only the outputs in `index`
    from the kernel's rows `K[index]`, a contiguous gather (SDNE's reconstruction of
    sampled columns, with row-wise sparse updates of the `[N, d_1]` kernel).
    """

    def __init__(self, units: int, input_dim: int, activation: str, **kwargs):
        super().__init__(**kwargs)
        keras = _keras()
        self.units, self.input_dim = int(units), int(input_dim)
        self.activation = keras.activations.get(activation)
        self.kernel = self.add_weight(
            shape=(self.units, self.input_dim), initializer="glorot_uniform", name="kernel"
        )
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, x):
        ops = _keras().ops
        return self.activation(ops.matmul(x, ops.transpose(self.kernel)) + self.bias)


@_register
class SDNE(_keras().Model):
    """SDNE's deep autoencoder of adjacency rows (Wang, Cui & Zhu, KDD 2016).

    Encoder: dims `[input_dim] + hidden_dims + [embedding_dim]`, each layer
    `f^(m) = act(f^(m-1) W_m + b_m)`, `hidden_activation` inside, `embedding_activation` on
    the code `h = f^(M)`. Decoder: the mirror, `f_hat^(m-1) = act(f_hat^(m) V_m + c_m)`,
    `output_activation` on the reconstruction `u_hat = f_hat^(0)`; the last decoder layer
    keeps `V_1` transposed, `decoder_layers[0].kernel` is `[input_dim, d_1]`. The encoder's first layer
    takes a `tf.SparseTensor` (a batch of sparse adjacency rows) or a dense tensor; the
    decoder's last layer can be evaluated on a subset of columns.

    Args:
      input_dim: N (the length of a row).
      hidden_dims: widths of the encoder's hidden layers (may be empty).
      embedding_dim: code size d.
      hidden_activation, embedding_activation, output_activation: Keras activation names.

    Shapes:
      `call(rows)`: `[B, input_dim]` -> `(h [B, d], u_hat [B, input_dim])`.
    """

    def __init__(
        self,
        input_dim: int,
        hidden_dims: Sequence[int] = (256,),
        embedding_dim: int = 64,
        hidden_activation: str = "sigmoid",
        embedding_activation: str = "sigmoid",
        output_activation: str = "sigmoid",
        **kwargs,
    ):
        super().__init__(**kwargs)
        keras = _keras()
        self.input_dim = int(input_dim)
        self.hidden_dims = tuple(int(d) for d in hidden_dims)
        self.embedding_dim = int(embedding_dim)
        self.hidden_activation = hidden_activation
        self.embedding_activation = embedding_activation
        self.output_activation = output_activation
        dims = (self.input_dim, *self.hidden_dims, self.embedding_dim)
        self.dims = dims
        depth = len(dims) - 1
        self.encoder_layers = []
        self.decoder_layers = []
        for m in range(1, depth + 1):
            enc = keras.layers.Dense(
                dims[m],
                activation=embedding_activation if m == depth else hidden_activation,
                name=f"encoder_{m}",
            )
            enc.build((None, dims[m - 1]))
            if m == 1:
                dec = _OutputLayer(dims[0], dims[1], output_activation, name="decoder_1")
            else:
                dec = keras.layers.Dense(
                    dims[m - 1], activation=hidden_activation, name=f"decoder_{m}"
                )
                dec.build((None, dims[m]))
            self.encoder_layers.append(enc)
            self.decoder_layers.append(dec)

    @property
    def kernels(self):
        """All encoder and decoder weight matrices (for the weight decay)."""
        return [layer.kernel for layer in self.encoder_layers + self.decoder_layers]

    def encode(self, rows, first_kernel=None) -> list:
        """The encoder's activations `[f^(1), ..., f^(M) = h]` of `rows` (sparse or dense).

        Args:
          rows: `[B, input_dim]`, or `[B, C]` with `first_kernel`.
          first_kernel: optional `[C, d_1]`, the first kernel's rows of the `C` columns
            `rows` is indexed by (the trainer's gathered slice); the whole kernel if None.
        """
        import tensorflow as tf

        first = self.encoder_layers[0]
        kernel = first.kernel if first_kernel is None else first_kernel
        if isinstance(rows, tf.SparseTensor):
            x = tf.sparse.sparse_dense_matmul(rows, kernel) + first.bias
        else:
            x = tf.matmul(tf.convert_to_tensor(rows, tf.float32), kernel) + first.bias
        x = first.activation(x)
        outputs = [x]
        for layer in self.encoder_layers[1:]:
            x = layer(x)
            outputs.append(x)
        return outputs

    def decode(self, h, columns=None, last_kernel=None, last_bias=None) -> list:
        """The decoder's activations `[f_hat^(M-1), ..., f_hat^(1), u_hat]`.

        Args:
          h: codes `[B, d]`.
          columns: optional int `[C]`: evaluate `u_hat` only on these columns.
          last_kernel, last_bias: optional `[C, d_1]` and `[C]`, the last layer's weights
            of `columns` (rows of its transposed kernel), already gathered (the trainer's
            slices).
        """
        import tensorflow as tf

        outputs = []
        x = h
        for layer in reversed(self.decoder_layers[1:]):
            x = layer(x)
            outputs.append(x)
        last = self.decoder_layers[0]
        if columns is None and last_kernel is None:
            x = last(x)
        else:
            kernel = tf.gather(last.kernel, columns) if last_kernel is None else last_kernel
            bias = tf.gather(last.bias, columns) if last_bias is None else last_bias
            x = last.activation(tf.matmul(x, kernel, transpose_b=True) + bias)
        outputs.append(x)
        return outputs

    def call(self, rows):
        h = self.encode(rows)[-1]
        return h, self.decode(h)[-1]

    def get_config(self):
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "hidden_dims": list(self.hidden_dims),
            "embedding_dim": self.embedding_dim,
            "hidden_activation": self.hidden_activation,
            "embedding_activation": self.embedding_activation,
            "output_activation": self.output_activation,
        }


@dataclasses.dataclass(frozen=True)
class SDNEConfig:
    """SDNE / DSTGeH stage-1 hyper-parameters.

    The objective, as a mean over a batch's nodes (the paper's sums divided by N):
    `alpha L_so + beta L_fo + gamma L_r`, `L_so = mu L_rec + (1 - mu) L_soh`.

    Attributes:
      hidden_dims: encoder hidden widths (the embedding size is `sdne`'s `dim`).
      alpha: weight of the second-order term `L_so`.
      beta: weight of the first-order term `L_fo` (over each batch node's edges).
      gamma: weight decay `L_r` (on the sum of squared kernels, not divided by N).
      mu: share of the row reconstruction in `L_so`; the rest goes to the hidden layers
        (`L_soh`, kappa-weighted). With no hidden layers `L_so = L_rec`.
      nonzero_weight: SDNE's beta^2, the weight of the error on non-zero row entries.
      pretrain: greedily pretrain each layer as an autoencoder first (SDNE + SAE).
      pretrain_epochs: epochs per pretrained layer.
      epochs: fine-tuning epochs over the nodes.
      batch_size: nodes per step.
      learning_rate: Adam's.
      reconstruction_columns: None for exact full rows, else the number of random columns
        sampled per step besides the batch's non-zero columns.
      sparse_init: draw the first encoder kernel as LeCun-uniform with the rows' mean
        number of non-zeros as its fan-in (`U(+-sqrt(3 / nnz))`) instead of Glorot's
        `N + d_1` (+-0.01 at N = 60,000, which leaves every pre-activation near 0). On the
        60k Fashion-MNIST kNN graph it changed nothing measurable (pseudo-label mAP at
        chance either way after 3 epochs), so it is off by default.
      hidden_activation, embedding_activation, output_activation: see `SDNE` (sigmoid
        everywhere, as in SDNE; with ReLU the hidden-layer term `L_soh` can be met by dead
        units, f = f_hat = 0).
    """

    hidden_dims: tuple[int, ...] = (256,)
    alpha: float = 1.0
    beta: float = 1.0
    gamma: float = 1e-5
    mu: float = 0.9
    nonzero_weight: float = 10.0
    pretrain: bool = False
    pretrain_epochs: int = 2
    epochs: int = 5
    batch_size: int = 256
    learning_rate: float = 1e-3
    reconstruction_columns: int | None = None
    sparse_init: bool = False
    hidden_activation: str = "sigmoid"
    embedding_activation: str = "sigmoid"
    output_activation: str = "sigmoid"


class _SlicedAdam:
    """Adam (Kingma & Ba 2015) that updates only the gathered slices of the two N-sized tables.

    SDNE's first encoder kernel `[N, d_1]` and last decoder kernel (stored transposed,
    `[N, d_1]`, with its bias `[N]`) hold most of the weights, but a step touches only the rows of the input columns
    present in its batch and the output columns it reconstructs. Those slices get Adam's
    update, their moment estimates too; the rest of the table is left as it is (lazy Adam,
    as TensorFlow Addons' `LazyAdam`), so a step costs O(touched) instead of O(N d_1).
    Every other variable gets the plain dense Adam update. Bias correction uses the global
    step: `var -= lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps)`, Keras' form.

    Args:
      variables: all trainable variables (slots are made for each, eagerly).
      learning_rate, beta_1, beta_2, epsilon: Adam's.
    """

    def __init__(self, variables, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        import tensorflow as tf

        self.learning_rate = float(learning_rate)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self.iterations = tf.Variable(0, dtype=tf.int64, trainable=False)
        self._slots = {
            id(var): (
                tf.Variable(tf.zeros_like(var), trainable=False),
                tf.Variable(tf.zeros_like(var), trainable=False),
            )
            for var in variables
        }

    def _moments(self, m, v, gradient):
        m = self.beta_1 * m + (1 - self.beta_1) * gradient
        v = self.beta_2 * v + (1 - self.beta_2) * gradient * gradient
        return m, v

    def apply(self, dense, sliced):
        """One step.

        Args:
          dense: `[(gradient, variable)]`, updated whole.
          sliced: `[(gradient, variable, index)]`: `gradient` is the loss's gradient with
            respect to the rows `tf.gather(variable, index)` (`index` without repeats), and
            only those rows change.
        """
        import tensorflow as tf

        self.iterations.assign_add(1)
        step = tf.cast(self.iterations, tf.float32)
        alpha = (
            self.learning_rate
            * tf.sqrt(1 - tf.pow(self.beta_2, step))
            / (1 - tf.pow(self.beta_1, step))
        )
        for gradient, var in dense:
            m_slot, v_slot = self._slots[id(var)]
            m, v = self._moments(m_slot, v_slot, gradient)
            m_slot.assign(m)
            v_slot.assign(v)
            var.assign_sub(alpha * m / (tf.sqrt(v) + self.epsilon))
        for gradient, var, index in sliced:
            m_slot, v_slot = self._slots[id(var)]
            m, v = self._moments(tf.gather(m_slot, index), tf.gather(v_slot, index), gradient)
            new = tf.gather(var, index) - alpha * m / (tf.sqrt(v) + self.epsilon)
            for target, value in ((m_slot, m), (v_slot, v), (var, new)):
                if isinstance(target, _keras().Variable):
                    target = target.value  # the backing tf.Variable
                target.scatter_update(tf.IndexedSlices(value, index))


class _SDNETrainer:
    """Trains an `SDNE` on the rows of a sparse matrix with the `SDNEConfig` objective.

    Minibatches of nodes, as in SDNE: a step takes `batch_size` nodes with their sparse
    similarity rows. The first-order term runs over every edge leaving the batch; the far
    end's code comes from a table of all nodes' codes (`codes`, encoded once at the start,
    then each batch's rows written back after its step), so it is a constant in the step:
    edge (i, j) moves h_i when i is in a batch and h_j when j is (the graph is symmetric),
    and a step never encodes the neighbours' rows (their columns would be the 2-hop
    neighbourhood, half of a 60,000-node kNN graph for 256 nodes). Only the slices of the
    two N-sized tables that the batch touches enter the step (the first encoder kernel's
    rows of the columns present in the batch's rows; the last decoder layer's columns being
    reconstructed) and only they are updated (`_SlicedAdam`). The weight decay `L_r` of a
    step is over the other kernels and those slices.

    Phases: `batch` (NumPy: rows, neighbours, columns), `losses`, `step` (one gradient
    step), `fit` (epochs with a progress bar), `embed` (codes of all rows).
    """

    def __init__(self, model: SDNE, rows: sp.csr_matrix, config: SDNEConfig, seed: int):
        import tensorflow as tf

        self.model = model
        self.rows = rows
        self.config = config
        self.rng = np.random.default_rng(seed)
        self.kappa = kappa_weights(len(model.hidden_dims))
        self.first_order = config.beta > 0
        first, last = model.encoder_layers[0], model.decoder_layers[0]
        self._tables = (first.kernel, last.kernel, last.bias)
        table_ids = {id(var) for var in self._tables}
        self._dense_variables = [
            var for var in model.trainable_variables if id(var) not in table_ids
        ]
        self.optimizer = _SlicedAdam(model.trainable_variables, config.learning_rate)
        if self.first_order:
            # Every node's current code, for the far ends of the batch's edges.
            self.codes = tf.Variable(self.embed()[-1], trainable=False)
        self._step = tf.function(self._step_fn, reduce_retracing=True)

    @staticmethod
    def _sparse(block: sp.csr_matrix, columns: np.ndarray | None = None):
        """A `tf.SparseTensor` of `block`; with `columns`, its columns renumbered into them."""
        import tensorflow as tf

        coo = block.tocoo()
        col = coo.col if columns is None else np.searchsorted(columns, coo.col)
        shape = coo.shape if columns is None else (coo.shape[0], len(columns))
        return tf.SparseTensor(
            np.stack([coo.row, col], axis=1).astype(np.int64),
            coo.data.astype(np.float32),
            np.asarray(shape, np.int64),
        )

    def batch(self, nodes: np.ndarray):
        """The NumPy/TF inputs of one step over `nodes`."""
        block = self.rows[nodes]
        n_cols = block.shape[1]
        sample = self.config.reconstruction_columns
        if sample is None or sample >= n_cols:
            columns = np.arange(n_cols)
            scale = np.ones(n_cols, np.float32)
        else:
            nonzero = np.unique(block.indices)
            drawn = np.setdiff1d(self.rng.choice(n_cols, sample, replace=False), nonzero)
            columns = np.concatenate([nonzero, drawn])
            scale = np.ones(len(columns), np.float32)
            if len(drawn):
                scale[len(nonzero) :] = (n_cols - len(nonzero)) / len(drawn)
        target = block[:, columns].toarray().astype(np.float32)
        input_columns = np.unique(block.indices)
        if not len(input_columns):  # rows without entries: any one column (its weight gets 0)
            input_columns = np.zeros(1, np.int64)
        inputs = {
            "rows": self._sparse(block, input_columns),
            "input_columns": input_columns.astype(np.int64),
            "columns": columns.astype(np.int64),
            "target": target,
            "scale": scale,
        }
        if self.first_order:
            edges = block.tocoo()
            inputs.update(
                nodes=np.asarray(nodes, np.int64),
                edge_source=edges.row.astype(np.int64),
                edge_target=edges.col.astype(np.int64),
                edge_weight=edges.data.astype(np.float32),
            )
        return inputs

    def slices(self, inputs):
        """The batch's slices of the tables: first kernel rows, last kernel columns and bias."""
        import tensorflow as tf

        first_kernel, last_kernel, last_bias = self._tables
        return (
            tf.gather(first_kernel, inputs["input_columns"]),
            tf.gather(last_kernel, inputs["columns"]),
            tf.gather(last_bias, inputs["columns"]),
        )

    def losses(self, inputs, slices=None) -> dict:
        """The objective's terms on one batch (means over its nodes; `L_r` as is)."""
        import tensorflow as tf

        config, model = self.config, self.model
        first_kernel, last_kernel, last_bias = slices or self.slices(inputs)
        hidden = model.encode(inputs["rows"], first_kernel)
        decoded = model.decode(hidden[-1], inputs["columns"], last_kernel, last_bias)
        size = tf.cast(tf.shape(inputs["target"])[0], tf.float32)
        rec = second_order_loss(
            inputs["target"], decoded[-1], config.nonzero_weight, inputs["scale"]
        )
        terms = {"reconstruction": rec / size}
        if len(self.kappa):
            soh = hidden_reconstruction_loss(hidden[:-1], decoded[-2::-1], self.kappa)
            terms["hidden"] = soh / size
            terms["second_order"] = (
                config.mu * terms["reconstruction"] + (1 - config.mu) * terms["hidden"]
            )
        else:
            terms["second_order"] = terms["reconstruction"]
        if self.first_order:
            fo = first_order_loss(
                tf.gather(hidden[-1], inputs["edge_source"]),
                tf.gather(self.codes, inputs["edge_target"]),
                inputs["edge_weight"],
            )
            terms["first_order"] = fo / size
        # The two tables enter as the batch's slices; every other kernel whole.
        tables = (self._tables[0], self._tables[1])
        others = [kernel for kernel in model.kernels if not any(kernel is t for t in tables)]
        terms["weight_decay"] = weight_decay_loss([first_kernel, last_kernel, *others])
        total = config.alpha * terms["second_order"] + config.gamma * terms["weight_decay"]
        if self.first_order:
            total = total + config.beta * terms["first_order"]
        terms["total"] = total
        if self.first_order:
            terms["codes"] = tf.stop_gradient(hidden[-1])
        return terms

    def _step_fn(self, inputs):
        import tensorflow as tf

        slices = self.slices(inputs)
        with tf.GradientTape() as tape:
            tape.watch(slices)
            terms = self.losses(inputs, slices)
        gradients = tape.gradient(terms["total"], [*self._dense_variables, *slices])
        dense = list(
            zip(gradients[: len(self._dense_variables)], self._dense_variables, strict=True)
        )
        first_kernel, last_kernel, last_bias = self._tables
        sliced = [
            (gradients[-3], first_kernel, inputs["input_columns"]),
            (gradients[-2], last_kernel, inputs["columns"]),
            (gradients[-1], last_bias, inputs["columns"]),
        ]
        self.optimizer.apply(dense, sliced)
        if self.first_order:
            self.codes.scatter_update(tf.IndexedSlices(terms.pop("codes"), inputs["nodes"]))
        return terms

    def step(self, nodes: np.ndarray) -> dict:
        """One gradient step on `nodes`; returns the batch's terms before the update."""
        return {key: float(value) for key, value in self._step(self.batch(nodes)).items()}

    def fit(self, epochs: int, label: str = "sdne", verbose: bool = True) -> list[dict]:
        """Runs `epochs` passes over the rows in shuffled batches; returns per-epoch means."""
        from tqdm import tqdm

        n = self.rows.shape[0]
        size = self.config.batch_size
        history = []
        for epoch in range(epochs):
            started = time.perf_counter()
            order = self.rng.permutation(n)
            sums: dict[str, float] = {}
            steps = range(0, n, size)
            bar = tqdm(steps, desc=f"{label} epoch {epoch + 1}/{epochs}", disable=not verbose)
            for start in bar:
                terms = self._step(self.batch(order[start : start + size]))
                for key, value in terms.items():
                    sums[key] = sums.get(key, 0.0) + float(value)
                bar.set_postfix(loss=f"{float(terms['total']):.4g}")
            means = {key: value / len(steps) for key, value in sums.items()}
            means["seconds"] = time.perf_counter() - started
            logging.info("%s epoch %d: %s", label, epoch + 1, means)
            history.append(means)
        return history

    def embed(self, batch_size: int = 4096) -> list[np.ndarray]:
        """All encoder activations of every row, `[f^(1), ..., h]`, each `[N, d_m]`."""
        n = self.rows.shape[0]
        parts = None
        for start in range(0, n, batch_size):
            block = self._sparse(self.rows[start : start + batch_size])
            outputs = [np.asarray(x) for x in self.model.encode(block)]
            if parts is None:
                parts = [[] for _ in outputs]
            for part, x in zip(parts, outputs, strict=True):
                part.append(x)
        return [np.concatenate(part).astype(np.float32) for part in parts]


def _sparse_init(kernel, rows: sp.csr_matrix, seed: int) -> None:
    """`kernel ~ U(-sqrt(3 / f), sqrt(3 / f))`, `f` the rows' mean non-zero count (>= 1)."""
    fan_in = max(rows.nnz / max(rows.shape[0], 1), 1.0)
    limit = np.sqrt(3.0 / fan_in)
    rng = np.random.default_rng(seed)
    kernel.assign(rng.uniform(-limit, limit, size=tuple(kernel.shape)).astype(np.float32))


def _pretrain_layers(model: SDNE, rows: sp.csr_matrix, config: SDNEConfig, seed: int, verbose):
    """Greedy layer-wise pretraining: each encoder/decoder pair as a one-layer autoencoder.

    Layer 1 reconstructs the adjacency rows (with SDNE's non-zero weight and column
    sampling); layer m > 1 reconstructs layer m-1's activations of all nodes. Each pair's
    weights are then copied into `model`.
    """
    inputs = rows
    depth = len(model.encoder_layers)
    for m in range(1, depth + 1):
        enc, dec = model.encoder_layers[m - 1], model.decoder_layers[m - 1]
        layer_model = SDNE(
            input_dim=model.dims[m - 1],
            hidden_dims=(),
            embedding_dim=model.dims[m],
            embedding_activation=enc.activation.__name__,
            output_activation=dec.activation.__name__,
        )
        layer_config = dataclasses.replace(
            config,
            hidden_dims=(),
            alpha=1.0,
            beta=0.0,
            mu=1.0,
            nonzero_weight=config.nonzero_weight if m == 1 else 1.0,
            reconstruction_columns=config.reconstruction_columns if m == 1 else None,
        )
        if m == 1 and config.sparse_init:
            _sparse_init(layer_model.encoder_layers[0].kernel, inputs, seed + m)
        trainer = _SDNETrainer(layer_model, inputs, layer_config, seed + m)
        trainer.fit(config.pretrain_epochs, label=f"pretrain layer {m}/{depth}", verbose=verbose)
        enc.kernel.assign(layer_model.encoder_layers[0].kernel)
        enc.bias.assign(layer_model.encoder_layers[0].bias)
        kernel = layer_model.decoder_layers[0].kernel  # stored transposed
        dec.kernel.assign(kernel if m == 1 else _keras().ops.transpose(kernel))
        dec.bias.assign(layer_model.decoder_layers[0].bias)
        if m < depth:
            inputs = sp.csr_matrix(trainer.embed()[-1])


def sdne(
    adjacency,
    dim: int = 64,
    config: SDNEConfig | None = None,
    seed: int = 0,
    verbose: bool = True,
    return_model: bool = False,
):
    """SDNE node embeddings (with `config.pretrain`, SDNE on a pretrained stacked autoencoder).

    Args:
      adjacency: symmetric sparse `[N, N]` (e.g. a kNN cosine-similarity graph); row i is
        node i's input `u_i`.
      dim: embedding size.
      config: hyper-parameters (`SDNEConfig()` if None).
      seed: seeds initialization, batches and column samples.
      verbose: progress bars.
      return_model: also return the trained `SDNE` and the per-epoch loss history.

    Returns:
      float32 `[N, dim]` embeddings; with `return_model`, `(embeddings, model, history)`.
    """
    config = config or SDNEConfig()
    adjacency = _check_adjacency(adjacency)
    _keras().utils.set_random_seed(seed)
    started = time.perf_counter()
    model = SDNE(
        input_dim=adjacency.shape[1],
        hidden_dims=config.hidden_dims,
        embedding_dim=dim,
        hidden_activation=config.hidden_activation,
        embedding_activation=config.embedding_activation,
        output_activation=config.output_activation,
    )
    if config.sparse_init:
        _sparse_init(model.encoder_layers[0].kernel, adjacency, seed)
    if config.pretrain:
        _pretrain_layers(model, adjacency, config, seed, verbose)
    trainer = _SDNETrainer(model, adjacency, config, seed)
    history = trainer.fit(
        config.epochs, label="sdne+sae" if config.pretrain else "sdne", verbose=verbose
    )
    embedding = trainer.embed()[-1]
    logging.info(
        "sdne: %d nodes, dim %d, %.1f s", adjacency.shape[0], dim, time.perf_counter() - started
    )
    if return_model:
        return embedding, model, history
    return embedding
