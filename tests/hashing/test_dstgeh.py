"""Tests of graphnsl.hashing.dstgeh: graph, pseudo bits, MLML, the pipeline on toy images."""

import keras
import numpy as np
import pytest

from graphnsl.hashing import dstgeh, metrics


def test_knn_cosine_graph_matches_brute_force():
    rng = np.random.default_rng(0)
    x = rng.random((30, 5)).astype(np.float32)
    graph = dstgeh.knn_cosine_graph(x, num_neighbors=3)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    expected = np.zeros((30, 30))
    for i in range(30):
        for j in np.argsort(-similarity[i])[:3]:
            expected[i, j] = expected[j, i] = similarity[i, j]
    np.testing.assert_allclose(graph.toarray(), expected, atol=1e-5)


def test_pseudo_bits_are_balanced_median_splits():
    embedding = np.array([[0.1, 5.0], [0.4, 1.0], [0.2, 3.0], [0.9, 2.0]], np.float32)
    bits, thresholds = dstgeh.pseudo_bits(embedding)
    np.testing.assert_allclose(thresholds, [0.3, 2.5])
    np.testing.assert_array_equal(bits, [[0, 1], [1, 0], [0, 1], [1, 0]])
    again, _ = dstgeh.pseudo_bits(np.array([[0.35, 2.0]]), thresholds)
    np.testing.assert_array_equal(again, [[1, 0]])


def test_multi_label_margin_loss_by_hand():
    y_true = np.array([[1, 0, 1]], np.float32)
    y_pred = np.array([[0.9, 0.2, 0.4]], np.float32)
    # Pairs (positive, negative): (0, 1): 1 - 0.7 = 0.3; (2, 1): 1 - 0.2 = 0.8; / 3 bits.
    got = dstgeh.MultiLabelMarginLoss()(y_true, y_pred)
    np.testing.assert_allclose(float(got), (0.3 + 0.8) / 3, rtol=1e-6)
    clone = dstgeh.MultiLabelMarginLoss.from_config(dstgeh.MultiLabelMarginLoss(0.5).get_config())
    assert clone.margin == 0.5


def _toy_images(n_per: int = 40, seed: int = 0):
    """Two classes of 12x12 images: a bright left half or a bright right half, with noise."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 0.3, size=(2 * n_per, 12, 12))
    images[:n_per, :, :6] += 0.7
    images[n_per:, :, 6:] += 0.7
    return (np.clip(images, 0, 1) * 255).astype(np.uint8), np.repeat([0, 1], n_per)


def test_dstgeh_end_to_end_codes_retrieve_the_classes():
    keras.utils.set_random_seed(0)
    images, labels = _toy_images()
    config = dstgeh.DSTGeHConfig(
        graph_embedding="le",
        num_neighbors=5,
        le_dims=0,
        diffusion_time=0.0,
        binarization="median",
        cnn_epochs=10,
        cnn_batch_size=16,
    )
    model = dstgeh.DSTGeH(bits=4, config=config).fit(images, verbose=False)
    assert model.pseudo_bits_.shape == (80, 4)
    np.testing.assert_allclose(model.pseudo_bits_.mean(axis=0), 0.5)
    # The first pseudo bit (the Fiedler vector's median split) is the class.
    assert abs(np.corrcoef(model.pseudo_bits_[:, 0], labels)[0, 1]) > 0.95
    queries, query_labels = _toy_images(n_per=10, seed=1)
    codes = model.encode(queries)
    assert codes.shape == (20, 4) and codes.dtype == np.uint8
    score = metrics.mean_average_precision(codes, model.encode(images), query_labels, labels)
    assert score > 0.9
    # Pseudo-label codes of new items from their database neighbours.
    unit = images.reshape(80, -1) / np.linalg.norm(images.reshape(80, -1), axis=1)[:, None]
    q = queries.reshape(20, -1) / np.linalg.norm(queries.reshape(20, -1), axis=1)[:, None]
    similarity = q @ unit.T
    neighbours = np.argsort(-similarity, axis=1)[:, :5]
    pseudo = model.out_of_sample_bits(neighbours, np.take_along_axis(similarity, neighbours, 1))
    # The class bit of each query is its class (up to the eigenvector's sign).
    sign = model.pseudo_bits_[0, 0]
    np.testing.assert_array_equal(pseudo[:, 0] ^ sign, query_labels)


def test_pseudo_bit_quantizer_median_is_the_first_columns_medians():
    rng = np.random.default_rng(0)
    embedding = rng.normal(size=(50, 5))
    quantizer = dstgeh.PseudoBitQuantizer(3, "median").fit(embedding)
    expected, _ = dstgeh.pseudo_bits(embedding[:, :3])
    np.testing.assert_array_equal(quantizer.transform(embedding), expected)


def test_pseudo_bit_quantizer_itq_against_numpy():
    rng = np.random.default_rng(1)
    embedding = rng.normal(size=(200, 6)) * np.array([5.0, 3.0, 2.0, 1.0, 0.5, 0.1]) + 2.0
    quantizer = dstgeh.PseudoBitQuantizer(3, "itq", row_normalize=True, seed=0).fit(embedding)
    z = embedding - embedding.mean(axis=0)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    z -= z.mean(axis=0)
    values, vectors = np.linalg.eigh(np.cov(z.T))
    top = vectors[:, np.argsort(values)[::-1][:3]]
    # The same principal subspace (directions up to sign).
    np.testing.assert_allclose(np.abs(top.T @ quantizer.components_), np.eye(3), atol=1e-6)
    rotation = quantizer.rotation_
    np.testing.assert_allclose(rotation.T @ rotation, np.eye(3), atol=1e-10)
    projected = z @ quantizer.components_ @ rotation
    np.testing.assert_allclose(quantizer.project(embedding), projected, atol=1e-10)
    codes = quantizer.transform(embedding)
    np.testing.assert_array_equal(codes, projected > np.median(projected, axis=0))
    np.testing.assert_allclose(codes.mean(axis=0), 0.5)  # median splits: balanced bits
    objective = np.asarray(quantizer.objective_)
    assert np.all(np.diff(objective) <= 1e-9 * objective[0])
    # ITQ, PCA and the row normalization ignore a global scale of the embedding.
    scaled = dstgeh.PseudoBitQuantizer(3, "itq", row_normalize=True, seed=0).fit(7 * embedding)
    np.testing.assert_array_equal(scaled.transform(7 * embedding), codes)
    with pytest.raises(ValueError, match=r"\[N, >= 8\]"):
        dstgeh.PseudoBitQuantizer(8, "itq").fit(embedding)


def test_graph_features_centre_with_the_database_mean():
    x = np.array([[1.0, 2.0], [3.0, 6.0]], np.float32)
    same, mean = dstgeh.graph_features(x, "raw")
    assert mean is None and same is not None
    np.testing.assert_array_equal(same, x)
    centred, mean = dstgeh.graph_features(x, "centred")
    np.testing.assert_allclose(mean, [2.0, 4.0])
    np.testing.assert_allclose(centred, [[-1, -2], [1, 2]])
    query, _ = dstgeh.graph_features(np.array([[2.0, 5.0]]), "centred", mean)
    np.testing.assert_allclose(query, [[0.0, 1.0]])
    with pytest.raises(ValueError, match="graph_features"):
        dstgeh.DSTGeHConfig(graph_features="whitened").validate()
    with pytest.raises(ValueError, match="binarization"):
        dstgeh.DSTGeHConfig(binarization="sign").validate()
