"""GraphConvolutionalNodeClassifier: NumPy reference, gradients, XLA, save/load."""

import keras
import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from graphnsl.configs import GraphNeighborConfig
from graphnsl.gnn import (
    GraphConvolutionalNodeClassifier,
    PhiloxDropout,
    full_graph,
    gcn_normalize,
    pack_neighbors,
)

ADJ = sp.csr_matrix(
    (np.ones(8, np.float32), ([0, 1, 1, 2, 2, 3, 1, 4], [1, 0, 2, 1, 3, 2, 4, 1])), shape=(5, 5)
)
X = np.array([[1, 0, 2], [0, 1, 0], [3, 1, 1], [0, 0, 1], [2, 2, 0]], np.float32)


def _model(dropout_rate=0.0, **kwargs):
    model = GraphConvolutionalNodeClassifier(
        seq_length=3, num_classes=2, hidden_units=4, dropout_rate=dropout_rate, **kwargs
    )
    rng = np.random.default_rng(1)
    weights = {
        "kernel1": rng.normal(size=(3, 4)),
        "bias1": rng.normal(size=4),
        "kernel2": rng.normal(size=(4, 2)),
        "bias2": rng.normal(size=2),
    }
    model.input_model.layers[1].kernel.assign(weights["kernel1"])
    model.node_model1.layers[0].bias.assign(weights["bias1"])
    model.node_model1.layers[2].kernel.assign(weights["kernel2"])
    model.node_model2.bias.assign(weights["bias2"])
    return model, weights


def _numpy_gcn(adjacency, features, w):
    a_hat = adjacency + np.eye(adjacency.shape[0])
    d = 1.0 / np.sqrt(a_hat.sum(axis=1))
    a_hat = d[:, None] * a_hat * d[None, :]
    hidden = np.maximum(a_hat @ features @ w["kernel1"] + w["bias1"], 0.0)
    return a_hat @ hidden @ w["kernel2"] + w["bias2"]


def test_gcn_normalize_matches_the_dense_matrix():
    coo = ADJ.tocoo()
    edge_w, self_w = gcn_normalize(coo.col, coo.row, coo.data, 5)
    degree = ADJ.toarray().sum(axis=1) + 1
    np.testing.assert_allclose(self_w, 1 / degree, rtol=1e-6)
    np.testing.assert_allclose(edge_w, 1 / np.sqrt(degree[coo.col] * degree[coo.row]), rtol=1e-6)


def test_full_graph_gcn_matches_numpy_reference():
    model, weights = _model()
    graph = full_graph(X, ADJ, normalize_features=False)
    logits = model(graph, training=False)
    expected = _numpy_gcn(ADJ.toarray(), X, weights)
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-5)
    # center_nodes picks rows.
    graph["center_nodes"] = np.array([3, 0], np.int32)
    np.testing.assert_allclose(model(graph), expected[[3, 0]], rtol=1e-5, atol=1e-5)


def test_packed_gcn_matches_numpy_on_the_star_and_static_equals_dynamic():
    model, weights = _model()
    features = {
        "words": tf.constant(X[[0, 2]]),
        "NL_nbr_0_words": tf.constant(X[[1, 3]]),
        "NL_nbr_0_weight": tf.constant([[1.0], [2.0]]),
        "NL_nbr_1_words": tf.constant(X[[4, 0]] * np.array([[1], [0]], np.float32)),
        "NL_nbr_1_weight": tf.constant([[1.0], [0.0]]),
    }
    config = GraphNeighborConfig(max_neighbors=2)
    dynamic = model(pack_neighbors(features, config), training=False)
    static = model(pack_neighbors(features, config, static_shapes=True), training=False)
    np.testing.assert_allclose(dynamic, static, rtol=1e-6, atol=1e-6)
    # Sample 0: star 1 -> 0 and 4 -> 0 (weight 1); node order neighbours then centre.
    star = np.zeros((3, 3), np.float32)
    star[2, 0] = star[2, 1] = 1.0
    expected0 = _numpy_gcn(star, X[[1, 4, 0]], weights)[2]
    # Sample 1: one neighbour (3) with weight 2.
    star1 = np.array([[0, 0], [2, 0]], np.float32)
    expected1 = _numpy_gcn(star1, X[[3, 2]], weights)[1]
    np.testing.assert_allclose(dynamic, np.stack([expected0, expected1]), rtol=1e-5, atol=1e-5)


def test_gradients_reach_every_weight_and_weight_decay_is_on_the_first_kernel():
    model, weights = _model(dropout_rate=0.5)
    graph = full_graph(X, ADJ, center_nodes=[0, 2, 4], normalize_features=False)
    with tf.GradientTape() as tape:
        logits = model(graph, training=True)
        loss = keras.losses.sparse_categorical_crossentropy(
            tf.constant([0, 1, 1]), logits, from_logits=True
        )
        loss = tf.reduce_mean(loss) + tf.add_n(model.losses)
    variables = model.trainable_variables
    assert len(variables) == 4
    gradients = tape.gradient(loss, variables)
    for variable, gradient in zip(variables, gradients, strict=True):
        assert gradient is not None and float(tf.norm(gradient)) > 0, variable.path
    assert len(model.losses) == 1
    np.testing.assert_allclose(
        model.losses[0], 5e-4 / 2 * np.sum(weights["kernel1"] ** 2), rtol=1e-5
    )


def test_dropout_keeps_expected_fraction_and_is_off_at_inference():
    layer = PhiloxDropout(0.25, seed=3)
    ones = tf.ones([200, 50])
    dropped = layer(ones, training=True).numpy()
    assert abs((dropped > 0).mean() - 0.75) < 0.02
    np.testing.assert_allclose(dropped[dropped > 0], 1 / 0.75, rtol=1e-6)
    np.testing.assert_array_equal(layer(ones, training=False), ones)


def _fit_data(static=False):
    graph = full_graph(X, ADJ, center_nodes=[0, 2, 4], normalize_features=False)
    labels = np.array([0, 1, 1], np.int64)
    return tf.data.Dataset.from_tensors((graph, labels)).repeat(3)


def test_jit_compiled_training_runs_and_changes_the_model():
    model, _ = _model(dropout_rate=0.5)
    model.compile(
        keras.optimizers.Adam(0.05),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=True,
    )
    graph = full_graph(X, ADJ, normalize_features=False)
    before = model.predict(tf.data.Dataset.from_tensors(graph), verbose=0)
    history = model.fit(_fit_data(), epochs=2, verbose=0)
    after = model.predict(tf.data.Dataset.from_tensors(graph), verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert history.history["loss"][1] < history.history["loss"][0]
    assert not np.allclose(before, after)


def test_save_and_load_round_trip(tmp_path):
    model, _ = _model(dropout_rate=0.3, normalize_features=True)
    model.compile(
        keras.optimizers.Adam(0.01), keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    model.fit(_fit_data(), epochs=1, verbose=0)
    graph = full_graph(X, ADJ, normalize_features=False)
    expected = model(graph, training=False)
    path = tmp_path / "gcn.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, GraphConvolutionalNodeClassifier)
    assert loaded.get_config()["normalize_features"] is True
    np.testing.assert_allclose(loaded(graph, training=False), expected, rtol=1e-6, atol=1e-6)


def test_feature_encoder_normalizes_rows_and_keeps_a_static_width():
    from graphnsl.gnn import FeatureEncoder

    inputs = keras.Input(shape=(3,), name="words", dtype="int64")
    outputs = FeatureEncoder(normalize_rows=True)(inputs)
    assert outputs.shape[-1] == 3
    model = keras.Model(inputs, outputs)
    np.testing.assert_allclose(
        model(np.array([[1, 1, 2], [0, 0, 0]], np.int64)), [[0.25, 0.25, 0.5], [0, 0, 0]]
    )


# Sparse node features (full_graph(..., sparse_features=True)) ------------------------------


def test_sparse_dense_matmul_matches_numpy_with_replaced_values():
    from graphnsl.gnn.graph_ops import sparse_dense_matmul

    sparse = tf.sparse.from_dense(X)
    dense = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_allclose(sparse_dense_matmul(sparse, dense), X @ dense, rtol=1e-6)
    # Replaced values (as after dropout): zero the first nonzero, double the rest.
    values = sparse.values.numpy() * 2
    values[0] = 0.0
    masked = X * 2
    masked[0, 0] = 0.0  # the first nonzero in row-major order is X[0, 0]
    np.testing.assert_allclose(sparse_dense_matmul(sparse, dense, values), masked @ dense)


def test_full_graph_sparse_features_hold_the_same_matrix():
    graph = full_graph(sp.csr_matrix(X), ADJ, normalize_features=True, sparse_features=True)
    features = graph["words"]
    assert isinstance(features, tf.SparseTensor)
    expected = X / X.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(tf.sparse.to_dense(features), expected, rtol=1e-6)
    # Canonical order: row-major, so tf.sparse ops need no reorder.
    indices = features.indices.numpy()
    assert (np.lexsort((indices[:, 1], indices[:, 0])) == np.arange(len(indices))).all()


def test_sparse_and_dense_features_give_the_same_gcn_outputs_and_gradients():
    model, weights = _model(normalize_features=True)
    dense = full_graph(X, ADJ, center_nodes=[0, 2, 4], normalize_features=False)
    sparse = full_graph(X, ADJ, [0, 2, 4], normalize_features=False, sparse_features=True)
    normalized = X / X.sum(axis=1, keepdims=True)
    expected = _numpy_gcn(ADJ.toarray(), normalized, weights)[[0, 2, 4]]
    results = []
    for graph in (dense, sparse):
        with tf.GradientTape() as tape:
            logits = model(graph, training=True)  # dropout_rate=0: training is deterministic
            loss = tf.reduce_sum(logits**2)
        results.append((logits, tape.gradient(loss, model.trainable_variables)))
    np.testing.assert_allclose(results[1][0], expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-5, atol=1e-6)
    for dense_grad, sparse_grad in zip(results[0][1], results[1][1], strict=True):
        np.testing.assert_allclose(
            tf.convert_to_tensor(dense_grad), tf.convert_to_tensor(sparse_grad), atol=1e-5
        )


def test_sparse_input_dropout_drops_nonzeros_only_at_the_rate():
    model, _ = _model(dropout_rate=0.5)
    rows = 400
    features = sp.random(rows, 3, density=0.5, random_state=0, dtype=np.float32) + 0.0
    adjacency = sp.csr_matrix((rows, rows), dtype=np.float32)
    graph = full_graph(features, adjacency, normalize_features=False, sparse_features=True)
    sparse = graph["words"]
    dropout, _ = model.input_model.layers
    kept = dropout(sparse.values, training=True).numpy()
    assert abs((kept > 0).mean() - 0.5) < 0.05
    np.testing.assert_allclose(kept[kept > 0], 2 * sparse.values.numpy()[kept > 0], rtol=1e-6)


def test_full_graph_fit_at_defaults_uses_xla_and_batches_do_not():
    from graphnsl.gnn import make_full_graph_dataset

    class Tiny:
        features = sp.csr_matrix(np.eye(5, 3, dtype=np.float32) + sp.csr_matrix(X) * 0)
        adjacency = ADJ
        labels = np.array([0, 1, 1, 0, 1])
        train_index, val_index, test_index = [0, 1], [2, 3], [4]

    model, _ = _model(dropout_rate=0.5)
    model.compile(
        keras.optimizers.Adam(0.05), keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    train = make_full_graph_dataset(Tiny, "train", sparse_features=None)
    # 20% nonzero: above the 10% rule, so the default stays dense.
    assert not isinstance(next(iter(train))[0]["words"], tf.SparseTensor)
    train = make_full_graph_dataset(Tiny, "train", sparse_features=True)
    assert isinstance(next(iter(train))[0]["words"], tf.SparseTensor)
    val = make_full_graph_dataset(Tiny, "val", sparse_features=True)
    history = model.fit(train, epochs=3, validation_data=val, verbose=0)
    assert model.jit_compile is True  # one element: XLA compiles once
    assert np.isfinite(history.history["val_loss"]).all()
    # Several batches (even of one static shape): back to no XLA for this call.
    model.fit(_fit_data(), epochs=1, verbose=0)
    assert model.jit_compile is False
    model.evaluate(val, verbose=0)
    assert model.jit_compile is True


def test_models_without_sparse_support_get_densified_features():
    from graphnsl.configs import make_graph_reg_config
    from graphnsl.gnn import GraphRegularizationModel

    def node_model():
        inputs = keras.Input(shape=(3,), name="words")
        return keras.Model(inputs, keras.layers.Dense(2)(inputs))

    keras.utils.set_random_seed(0)
    model = GraphRegularizationModel(
        make_graph_reg_config(max_neighbors=1), node_model_fn=node_model
    )
    dense = full_graph(X, ADJ, [0, 2], normalize_features=False)
    sparse = full_graph(X, ADJ, [0, 2], normalize_features=False, sparse_features=True)
    np.testing.assert_allclose(model(sparse, training=False), model(dense, training=False))
