"""Node classifiers for GAM: an MLP on node features and a two-layer GCN on the whole graph.

`gam.cotrain` accepts any Keras model as the classifier, in one of two forms:

- a feature model (the default): `model(features[batch])` -> logits `[batch, num_classes]`;
- a full-graph model, marked by an attribute `full_graph = True`: `model(all_features)` ->
  logits `[num_nodes, num_classes]` (all nodes at once, the graph inside the model), like
  `GCN` below. `all_features` is a `tf.SparseTensor` when `model.sparse_inputs` is True,
  else a dense tensor.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import scipy.sparse as sp
import tensorflow as tf


def mlp_classifier(
    num_classes: int,
    hidden: Sequence[int] = (128,),
    dropout: float = 0.0,
    weight_decay: float = 0.0,
    name: str = "mlp_classifier",
) -> keras.Model:
    """Builds the MLP of the GAM paper: Dense layers with leaky ReLU, then class logits.

    Args:
      num_classes: output units.
      hidden: hidden sizes, e.g. (128,) (the paper's MLP_128).
      dropout: dropout rate before each Dense layer (0 disables; the paper uses none).
      weight_decay: L2 weight on the kernels (0 disables).
      name: the model's name.

    Returns:
      A `keras.Sequential`: float32 `[batch, num_features]` -> logits `[batch, num_classes]`.
    """
    reg = keras.regularizers.L2(weight_decay / 2) if weight_decay else None
    layers = []
    for h in hidden:
        if dropout:
            layers.append(keras.layers.Dropout(dropout))
        layers.append(keras.layers.Dense(h, activation="leaky_relu", kernel_regularizer=reg))
    if dropout:
        layers.append(keras.layers.Dropout(dropout))
    layers.append(keras.layers.Dense(num_classes, kernel_regularizer=reg))
    return keras.Sequential(layers, name=name)


def normalized_adjacency(adjacency: sp.spmatrix) -> sp.csr_matrix:
    """Returns GCN's propagation matrix D^-1/2 (A + I) D^-1/2 (Kipf & Welling 2017).

    Args:
      adjacency: `[num_nodes, num_nodes]` symmetric adjacency (weights kept, self loops added).

    Returns:
      float32 CSR `[num_nodes, num_nodes]`.
    """
    a = sp.csr_matrix(adjacency, dtype=np.float64)
    a = a + sp.eye(a.shape[0], format="csr")
    degree = np.asarray(a.sum(axis=1)).reshape(-1)
    inv_sqrt = np.where(degree > 0, 1.0 / np.sqrt(np.maximum(degree, 1e-12)), 0.0)
    d = sp.diags(inv_sqrt)
    return (d @ a @ d).tocsr().astype(np.float32)


def _to_sparse_tensor(matrix: sp.spmatrix) -> tf.SparseTensor:
    coo = sp.coo_matrix(matrix)
    indices = np.stack([coo.row, coo.col], axis=1).astype(np.int64)
    st = tf.SparseTensor(indices, coo.data.astype(np.float32), coo.shape)
    return tf.sparse.reorder(st)


def _sparse_dropout(x: tf.SparseTensor, rate: float, seed_generator) -> tf.SparseTensor:
    keep = keras.random.uniform(tf.shape(x.values), seed=seed_generator) >= rate
    values = tf.where(keep, x.values / (1.0 - rate), tf.zeros_like(x.values))
    return tf.SparseTensor(x.indices, values, x.dense_shape)


class GCN(keras.Model):
    """Two-layer graph convolutional network over a fixed graph (Kipf & Welling 2017).

      H = act(P dropout(X) W1),   logits = P dropout(H) W2,   P = D^-1/2 (A + I) D^-1/2

    as in the GAM reference (no biases, dropout on the sparse input and on the hidden layer).
    A full-graph classifier for `gam.cotrain` (`full_graph = True`).

    Args:
      adjacency: SciPy `[num_nodes, num_nodes]` symmetric adjacency.
      num_classes: output units.
      hidden: hidden units.
      dropout: dropout rate at train time.
      weight_decay: L2 weight on the first layer's kernel (Kipf's 5e-4; 0 disables).
      activation: hidden activation.
      sparse_inputs: the features arrive as a `tf.SparseTensor`.
      seed: seed of the dropout masks.

    Input: features of all nodes `[num_nodes, num_features]` (SparseTensor or dense).
    Output: logits `[num_nodes, num_classes]`.
    """

    full_graph = True

    def __init__(
        self,
        adjacency: sp.spmatrix,
        num_classes: int,
        hidden: int = 128,
        dropout: float = 0.5,
        weight_decay: float = 0.0,
        activation: str = "relu",
        sparse_inputs: bool = True,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.propagation = _to_sparse_tensor(normalized_adjacency(adjacency))
        self.num_nodes = int(adjacency.shape[0])
        self.num_classes = int(num_classes)
        self.hidden = int(hidden)
        self.dropout = float(dropout)
        self.weight_decay = float(weight_decay)
        self.activation = keras.activations.get(activation)
        self.sparse_inputs = bool(sparse_inputs)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        num_features = int(input_shape[-1])
        init = keras.initializers.GlorotUniform()
        reg = keras.regularizers.L2(self.weight_decay / 2) if self.weight_decay else None
        self.kernel1 = self.add_weight(
            shape=(num_features, self.hidden), initializer=init, regularizer=reg, name="kernel1"
        )
        self.kernel2 = self.add_weight(
            shape=(self.hidden, self.num_classes), initializer=init, name="kernel2"
        )

    def call(self, features, training=False):
        x = features
        if isinstance(x, tf.SparseTensor):
            if training and self.dropout:
                x = _sparse_dropout(x, self.dropout, self.seed_generator)
            h = tf.sparse.sparse_dense_matmul(x, self.kernel1)
        else:
            if training and self.dropout:
                x = keras.random.dropout(x, self.dropout, seed=self.seed_generator)
            h = tf.matmul(x, self.kernel1)
        h = self.activation(tf.sparse.sparse_dense_matmul(self.propagation, h))
        if training and self.dropout:
            h = keras.random.dropout(h, self.dropout, seed=self.seed_generator)
        return tf.sparse.sparse_dense_matmul(self.propagation, tf.matmul(h, self.kernel2))

    def __repr__(self) -> str:
        return (
            f"GCN(num_nodes={self.num_nodes}, hidden={self.hidden}, "
            f"num_classes={self.num_classes}, dropout={self.dropout})"
        )
