"""The embedding network, its layers, the sampled-softmax head, and a tiny Graph-RISE run."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from graphnsl.embedding import models


def test_embedding_network_shapes_unit_norm_and_round_trip(tmp_path):
    network = models.build_embedding_network((12, 12), embedding_dim=5, filters=(4, 6))
    x = np.random.default_rng(0).integers(0, 256, (3, 12, 12)).astype("float32")
    out = network.predict(x, verbose=0)
    assert out.shape == (3, 5)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)
    assert network.get_layer("embedding").output.shape == (None, 5)
    network.save(tmp_path / "n.keras")
    np.testing.assert_allclose(
        keras.models.load_model(tmp_path / "n.keras").predict(x, verbose=0), out, rtol=1e-5
    )
    classifier = models.build_classifier(network, 4)
    assert classifier.predict(x, verbose=0).shape == (3, 4)


def test_residual_block_formula():
    block = models.ResidualBlock(2, strides=1, kernel_size=1)
    x = np.random.default_rng(1).normal(size=(2, 3, 3, 2)).astype("float32")
    block.build(x.shape)
    assert block.shortcut is None  # same shape: identity shortcut
    w1, b1 = block.conv1.get_weights()
    w2, b2 = block.conv2.get_weights()
    hidden = np.maximum(x @ w1[0, 0] + b1, 0)
    expected = np.maximum(x + hidden @ w2[0, 0] + b2, 0)
    np.testing.assert_allclose(block(x), expected, rtol=1e-5, atol=1e-6)
    assert models.ResidualBlock(4, strides=2)(x).shape == (2, 2, 2, 4)
    config = models.ResidualBlock(4, strides=2).get_config()
    assert models.ResidualBlock.from_config(config).get_config() == config


def test_l2_normalize():
    layer = models.L2Normalize()
    np.testing.assert_allclose(layer(np.array([[3.0, 4.0], [0.0, 0.0]])), [[0.6, 0.8], [0, 0]])


def _numpy_sampled_softmax(kernel, bias, x, labels, sampled, true_expected, sampled_expected):
    true_logits = np.sum(x * kernel[labels], axis=1) + bias[labels] - np.log(true_expected[:, 0])
    sampled_logits = x @ kernel[sampled].T + bias[sampled] - np.log(sampled_expected)
    sampled_logits = np.where(sampled[None, :] == labels[:, None], -np.inf, sampled_logits)
    logits = np.concatenate([true_logits[:, None], sampled_logits], axis=1)
    top = logits.max(axis=1, keepdims=True)
    return -(true_logits - (top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))))


def test_sampled_softmax_matches_numpy_on_10_classes():
    rng = np.random.default_rng(2)
    head = models.SampledSoftmaxHead(10)
    x = rng.normal(size=(6, 4)).astype("float32")
    head.build(x.shape)
    head.kernel.assign(rng.normal(size=(10, 4)).astype("float32"))
    head.bias.assign(rng.normal(size=10).astype("float32"))
    labels = np.array([0, 3, 3, 7, 9, 1])
    sampled = np.array([3, 5, 8], np.int64)  # hits labels 3 (rows 1 and 2): removed
    true_expected = np.full((6, 1), 0.3, np.float32)
    sampled_expected = np.array([0.2, 0.1, 0.4], np.float32)
    loss = head.sampled_loss(
        labels, x, num_sampled=3, sampled_values=(sampled, true_expected, sampled_expected)
    )
    expected = _numpy_sampled_softmax(
        head.kernel.numpy(),
        head.bias.numpy(),
        x,
        labels,
        sampled,
        true_expected[:],
        sampled_expected,
    )
    np.testing.assert_allclose(loss, expected, rtol=1e-5)
    np.testing.assert_allclose(head(x), x @ head.kernel.numpy().T + head.bias.numpy(), rtol=1e-5)


def test_sampled_softmax_trains_a_10_class_head():
    rng = np.random.default_rng(3)
    y = np.repeat(np.arange(10), 20)
    x = (np.eye(10)[y] + 0.1 * rng.normal(size=(200, 10))).astype("float32")
    network = models.SampledSoftmaxModel(
        keras.Sequential([keras.Input((10,)), keras.layers.Dense(8), models.L2Normalize()]), 10
    )
    loss = models.SampledSoftmaxLoss(network.head, num_sampled=4, seed=0)
    network.compile(keras.optimizers.Adam(0.05), loss)
    before = network.head.kernel.numpy().copy()
    network.fit(x, y, batch_size=50, epochs=30, verbose=0)
    assert not np.allclose(network.head.kernel.numpy(), before)  # the head is trained too
    logits = network.logits(x)
    assert np.mean(np.argmax(logits, 1) == y) > 0.95
    restored = models.SampledSoftmaxModel.from_config(network.get_config())
    assert restored.num_classes == 10 and restored.head.kernel.shape == (10, 8)
    with pytest.raises(ValueError, match="num_sampled=10"):
        models.SampledSoftmaxLoss(network.head, num_sampled=10)


def test_tiny_graph_rise_end_to_end(tmp_path):
    """Images -> label-free graph (PCA + build_graph) -> Graph-RISE fit -> evaluate."""
    from graphnsl.configs import make_graph_reg_config
    from graphnsl.embedding import metrics, similarity_graph
    from graphnsl.graph_reg import GraphRegularization

    rng = np.random.default_rng(4)
    labels = np.repeat(np.arange(3), 16)
    templates = rng.integers(0, 256, (3, 8, 8))
    images = np.clip(templates[labels] + rng.normal(0, 30, (48, 8, 8)), 0, 255).astype(np.uint8)
    graph_path, stats = similarity_graph.build_similar_image_graph(
        images, tmp_path, dim=6, max_nbrs_per_node=3, similarity_threshold=0.0, ann=None
    )
    offsets, targets, _ = similarity_graph.neighbor_lists(graph_path, len(images))
    assert np.diff(offsets).max() <= 3
    graph = similarity_graph.graph_statistics(offsets, targets, labels)
    assert graph["edges"] == len(targets) > 0 and graph["same_label_edge_share"] > 0.9
    neighbours = targets[offsets[:-1]]  # each image's best neighbour
    features = {
        "image": images.astype("float32"),
        "NL_nbr_0_image": images[neighbours].astype("float32"),
        "NL_nbr_0_weight": np.ones((48, 1), "float32"),
    }
    y = np.where(np.arange(48) % 4 == 0, labels, -1)  # a quarter labeled
    network = models.build_embedding_network((8, 8), embedding_dim=4, filters=(4,))
    classifier = models.build_classifier(network, 3)
    config = make_graph_reg_config(max_neighbors=1, multiplier=1.0, sum_over_axis=-1)
    model = GraphRegularization(classifier, config, regularize_layer="embedding")
    model.compile(keras.optimizers.Adam(0.01), keras.losses.SparseCategoricalCrossentropy(True))
    history = model.fit(features, y, batch_size=16, epochs=15, verbose=0)
    assert history.history["graph_loss"][-1] > 0
    assert history.history["loss"][-1] < history.history["loss"][0]
    e = network.predict(images.astype("float32"), verbose=0)
    results = metrics.evaluate(e, labels, e, labels, num_triplets=200, backend="numpy")
    assert results["triplet_accuracy"] > 0.8
    tf.debugging.assert_near(tf.norm(e, axis=1), tf.ones(48), atol=1e-5)
