"""GraphRegularizationModel: the degree-normalized graph loss by hand, metrics, XLA, saving."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from graphnsl.configs import make_graph_reg_config
from graphnsl.gnn import GraphRegularizationModel, NodeGraphModel, pack_neighbors
from graphnsl.lib.labels import mask_unlabeled


def _node_model():
    inputs = keras.Input(shape=(2,), name="x")
    dense = keras.layers.Dense(2, use_bias=False, kernel_initializer="identity", name="dense")
    return keras.Model(inputs, dense(inputs), name="node_model")


def _features():
    # Sample 0: centre [1, 0], one neighbour [0, 1] (w 1), one missing.
    # Sample 1: centre [2, 2], neighbours [0, 2] (w 0.5) and [2, 5] (w 2).
    # Sample 2: centre [3, 3], no neighbour.
    return {
        "x": tf.constant([[1.0, 0.0], [2.0, 2.0], [3.0, 3.0]]),
        "NL_nbr_0_x": tf.constant([[0.0, 1.0], [0.0, 2.0], [0.0, 0.0]]),
        "NL_nbr_0_weight": tf.constant([[1.0], [0.5], [0.0]]),
        "NL_nbr_1_x": tf.constant([[0.0, 0.0], [2.0, 5.0], [0.0, 0.0]]),
        "NL_nbr_1_weight": tf.constant([[0.0], [2.0], [0.0]]),
    }


@pytest.mark.parametrize(
    "distance_type, expected",
    [
        # Per graph: sum_e w_e * distance / sum_e w_e; then the mean over the 3 graphs.
        # L2: g0 = 1 * (1 + 1) / 1 = 2; g1 = (0.5 * 4 + 2 * 9) / 2.5 = 8; g2 = 0.
        ("l2", (2.0 + 8.0 + 0.0) / 3),
        # L1: g0 = 2; g1 = (0.5 * 2 + 2 * 3) / 2.5 = 2.8; g2 = 0.
        ("l1", (2.0 + 2.8 + 0.0) / 3),
    ],
)
@pytest.mark.parametrize("static_shapes", [False, True])
def test_graph_loss_matches_hand_computation(distance_type, expected, static_shapes):
    config = make_graph_reg_config(max_neighbors=2, multiplier=0.3, distance_type=distance_type)
    model = GraphRegularizationModel(config, node_model_fn=_node_model)
    graph = pack_neighbors(_features(), config.neighbor_config, static_shapes=static_shapes)
    outputs = model(graph, training=True)
    np.testing.assert_allclose(outputs, [[1, 0], [2, 2], [3, 3]], rtol=1e-6)
    assert len(model.losses) == 1
    np.testing.assert_allclose(model.losses[0], 0.3 * expected, rtol=1e-5)
    np.testing.assert_allclose(model.graph_loss_tracker.result(), expected, rtol=1e-5)


def test_graph_loss_in_fit_metrics_and_gradients_reach_the_node_model():
    config = make_graph_reg_config(max_neighbors=2, multiplier=1.0)
    model = GraphRegularizationModel(config, node_model_fn=_node_model)
    graph = pack_neighbors(_features(), config.neighbor_config)
    with tf.GradientTape() as tape:
        model(graph, training=True)
        loss = tf.add_n(model.losses)
    gradients = tape.gradient(loss, model.trainable_variables)
    assert len(model.trainable_variables) == 1
    assert float(tf.norm(gradients[0])) > 0
    model.compile(keras.optimizers.SGD(0.0), keras.losses.MeanSquaredError())
    labels = tf.zeros([3, 2])
    result = model.evaluate(
        tf.data.Dataset.from_tensors((graph, labels)), return_dict=True, verbose=0
    )
    np.testing.assert_allclose(result["graph_loss"], 10.0 / 3, rtol=1e-5)
    # Total loss = MSE of the centre outputs + 1.0 * graph loss.
    mse = np.mean(np.square([[1, 0], [2, 2], [3, 3]]))
    np.testing.assert_allclose(result["loss"], mse + 10.0 / 3, rtol=1e-5)


def test_jit_fit_and_save_load_round_trip(tmp_path):
    config = make_graph_reg_config(max_neighbors=2, multiplier=0.1)
    model = GraphRegularizationModel(config, node_model_fn=_node_model)
    model.compile(
        keras.optimizers.Adam(0.05),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=True,
    )
    graph = pack_neighbors(_features(), config.neighbor_config, static_shapes=True)
    data = tf.data.Dataset.from_tensors((graph, tf.constant([0, 1, 1]))).repeat(4)
    history = model.fit(data, epochs=2, verbose=0)
    assert history.history["loss"][1] < history.history["loss"][0]
    assert "graph_loss" in history.history
    expected = model(graph, training=False)
    path = tmp_path / "graph_reg.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, GraphRegularizationModel)
    assert loaded.config == config
    np.testing.assert_allclose(loaded(graph, training=False), expected, rtol=1e-6)


def test_unlabeled_rows_get_no_supervised_loss():
    y, weight = mask_unlabeled(tf.constant([2, -1, 0, -1], tf.int64), None)
    np.testing.assert_array_equal(y, [2, 0, 0, 0])
    np.testing.assert_allclose(weight, [2.0, 0.0, 2.0, 0.0])


def test_errors_name_the_input():
    with pytest.raises(ValueError, match="GraphRegConfig"):
        GraphRegularizationModel("l2", node_model_fn=_node_model)
    model = GraphRegularizationModel(make_graph_reg_config(), node_model_fn=_node_model)
    with pytest.raises(ValueError, match="n_node"):
        model({"x": tf.zeros([1, 2])})
    with pytest.raises(NotImplementedError, match="graph_call"):
        NodeGraphModel()(pack_neighbors({"x": tf.zeros([1, 2])}, None))
