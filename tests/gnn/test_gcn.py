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
