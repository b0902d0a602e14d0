"""GCN and the propagation matrix against NumPy references."""

import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from graphnsl.gam import GCN, mlp_classifier, normalized_adjacency


def test_normalized_adjacency_by_hand():
    # Path 0 - 1 - 2: degrees with self loops 2, 3, 2.
    a = sp.csr_matrix(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], np.float32))
    p = normalized_adjacency(a).toarray()
    expected = np.array(
        [
            [1 / 2, 1 / np.sqrt(6), 0],
            [1 / np.sqrt(6), 1 / 3, 1 / np.sqrt(6)],
            [0, 1 / np.sqrt(6), 1 / 2],
        ]
    )
    np.testing.assert_allclose(p, expected, rtol=1e-6)


def test_gcn_matches_numpy_for_sparse_and_dense_inputs():
    rng = np.random.default_rng(0)
    a = sp.random(6, 6, density=0.4, random_state=0)
    a = ((a + a.T) > 0).astype(np.float32)
    a.setdiag(0)
    x = (rng.random((6, 5)) < 0.4).astype(np.float32)
    model = GCN(a, num_classes=3, hidden=4, dropout=0.5)
    sparse_x = tf.sparse.from_dense(x)
    out = model(sparse_x).numpy()
    p = normalized_adjacency(a).toarray()
    w1, w2 = (w.numpy() for w in (model.kernel1, model.kernel2))
    expected = p @ (np.maximum(p @ (x @ w1), 0) @ w2)
    assert out.shape == (6, 3)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    dense_model = GCN(a, num_classes=3, hidden=4, sparse_inputs=False)
    dense_model(x)
    dense_model.set_weights(model.get_weights())
    np.testing.assert_allclose(dense_model(x).numpy(), expected, rtol=1e-5, atol=1e-6)
    # Dropout is active only in training.
    assert not np.allclose(model(sparse_x, training=True).numpy(), out)


def test_mlp_classifier_shapes():
    model = mlp_classifier(4, hidden=(8, 6))
    assert model(np.zeros((3, 5), np.float32)).shape == (3, 4)
    assert [layer.units for layer in model.layers] == [8, 6, 4]
