"""Retrieval metrics and the index on hand-worked cases; the evaluation callback end to end."""

import numpy as np
import pytest

from graphnsl.embedding import index as index_lib
from graphnsl.embedding import metrics


def test_knn_majority_and_tie_break():
    ranked = np.array([[1, 2, 2, 1, 0], [3, 0, 0, 3, 3], [4, 5, 5, 4, 6]])
    # Row 0: k=1 -> 1; k=3 -> 2 (two votes); k=4 -> 1 and 2 tie, 1 ranks first.
    assert metrics.knn_predict(ranked, 1).tolist() == [1, 3, 4]
    assert metrics.knn_predict(ranked, 3).tolist() == [2, 0, 5]
    assert metrics.knn_predict(ranked, 4).tolist() == [1, 3, 4]
    assert metrics.knn_predict(ranked, 5).tolist() == [1, 3, 4]
    assert metrics.knn_accuracy(ranked, np.array([2, 0, 4]), 3) == pytest.approx(2 / 3)


def test_recall_at_k():
    ranked = np.array([[0, 1, 2], [1, 1, 0], [2, 2, 2]])
    query = np.array([2, 0, 1])
    assert metrics.recall_at_k(ranked, query, 1) == 0.0
    assert metrics.recall_at_k(ranked, query, 2) == 0.0
    assert metrics.recall_at_k(ranked, query, 3) == pytest.approx(2 / 3)


def test_map_at_r_hand_worked():
    # Query 0, R=3: relevant at ranks 1 and 3 -> (1/1 + 2/3) / 3 = 0.5556.
    # Query 1, R=2: relevant at rank 2 -> (1/2) / 2 = 0.25 (rank 3 lies beyond R).
    ranked = np.array([[7, 5, 7, 7], [1, 9, 9, 9]])
    value = metrics.map_at_r(ranked, np.array([7, 9]), np.array([3, 2]))
    assert value == pytest.approx(((1 + 2 / 3) / 3 + 0.25) / 2)


def test_triplets_are_valid_and_seeded():
    labels = np.array([0, 0, 0, 1, 1, 2])  # class 2 has one member: never an anchor
    triplets = metrics.sample_triplets(labels, 500, seed=3)
    a, p, n = triplets.T
    assert (labels[a] == labels[p]).all() and (a != p).all() and (labels[a] != labels[n]).all()
    assert (labels[a] != 2).all() and set(n) >= {5}
    np.testing.assert_array_equal(triplets, metrics.sample_triplets(labels, 500, seed=3))


def test_triplet_margins_and_recall_vs_margin():
    x = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]], np.float32)  # cos(0,1)=0.8, cos(0,2)=0
    triplets = np.array([[0, 1, 2], [0, 2, 1]])
    margins = metrics.triplet_margins(x, triplets)
    np.testing.assert_allclose(margins, [0.8, -0.8], atol=1e-6)
    np.testing.assert_allclose(metrics.recall_vs_margin(margins, (0.0, 0.5, 0.9)), [0.5, 0.5, 0])


@pytest.mark.parametrize("backend", ["numpy", "faiss"])
@pytest.mark.parametrize("metric", ["cosine", "l2"])
def test_index_search_matches_brute_force(backend, metric):
    if backend == "faiss" and not index_lib.faiss_available():
        pytest.skip("faiss not installed")
    rng = np.random.default_rng(0)
    base, queries = rng.normal(size=(300, 8)), rng.normal(size=(40, 8))
    index = index_lib.EmbeddingIndex(base, metric=metric, backend=backend, block_bytes=4 * 300 * 7)
    scores, rows = index.search(queries, 5)
    if metric == "cosine":
        b = base / np.linalg.norm(base, axis=1, keepdims=True)
        q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
        full = q @ b.T
    else:
        full = -((queries[:, None, :] - base[None]) ** 2).sum(-1)
    expected = np.argsort(-full, axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(rows, expected)
    np.testing.assert_allclose(scores, np.take_along_axis(full, expected, 1), rtol=1e-4, atol=1e-4)
    # Leave-one-out: a query never finds its own row.
    _, own = index.search(base[:20], 3, exclude=np.arange(20))
    assert not (own == np.arange(20)[:, None]).any()
    np.testing.assert_array_equal(
        own[:, 0], np.argsort(-_self_scores(base[:20], base, metric), 1)[:, 1]
    )


def _self_scores(q, b, metric):
    if metric == "cosine":
        return (q / np.linalg.norm(q, axis=1, keepdims=True)) @ (
            b / np.linalg.norm(b, axis=1, keepdims=True)
        ).T
    return -((q[:, None, :] - b[None]) ** 2).sum(-1)


def test_ties_go_to_the_smaller_row():
    index = index_lib.EmbeddingIndex(
        np.array([[1.0, 0], [0, 1.0], [1.0, 0], [2.0, 0]]), backend="numpy"
    )
    _, rows = index.search(np.array([[1.0, 0.0]]), 3)
    assert rows.tolist() == [[0, 2, 3]]


def test_index_and_model_save_and_load(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20, 3)).astype(np.float32)
    index = index_lib.EmbeddingIndex(model.predict(x, verbose=0), np.arange(20) % 3)
    index_lib.save_with_model(tmp_path / "m", model, index)
    loaded_model, loaded = index_lib.load_with_model(tmp_path / "m")
    np.testing.assert_allclose(loaded.embeddings, index.embeddings, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(loaded.labels, index.labels)
    assert loaded.metric == "cosine"
    np.testing.assert_allclose(
        loaded_model.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )
    with pytest.raises(FileNotFoundError, match="lacks index.npz"):
        (tmp_path / "m" / "index.npz").unlink()
        index_lib.load_with_model(tmp_path / "m")


def test_evaluate_on_a_separable_toy_set():
    rng = np.random.default_rng(2)
    centers = np.eye(4, 6)
    train_y, test_y = np.repeat(np.arange(4), 30), np.repeat(np.arange(4), 10)
    train = centers[train_y] + 0.05 * rng.normal(size=(120, 6))
    test = centers[test_y] + 0.05 * rng.normal(size=(40, 6))
    r = metrics.evaluate(train, train_y, test, test_y, num_triplets=300, backend="numpy")
    assert r["knn@1"] == r["knn@10"] == r["recall@1"] == r["map@r"] == r["triplet_accuracy"] == 1.0
    assert r["recall@margin=0.1"] == 1.0 and len(r["recall_vs_margin"]) == len(r["margins"])
    # Shuffled test labels: near chance.
    shuffled = rng.permutation(test_y)
    r = metrics.evaluate(train, train_y, test, shuffled, num_triplets=300, backend="numpy")
    assert r["knn@1"] < 0.5 and r["map@r"] < 0.5


def test_callback_logs_metrics_per_epoch():
    import keras

    from graphnsl.embedding.callbacks import EmbeddingEvaluation

    rng = np.random.default_rng(3)
    y = np.repeat(np.arange(3), 20)
    x = (np.eye(3, 5)[y] + 0.1 * rng.normal(size=(60, 5))).astype(np.float32)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4)])
    model.compile("sgd", "mse")
    callback = EmbeddingEvaluation(
        model, (x, y), (x[::2], y[::2]), num_triplets=50, backend="numpy"
    )
    history = model.fit(x, np.zeros((60, 4)), epochs=2, verbose=0, callbacks=[callback])
    assert len(callback.history) == 2
    assert len(history.history["emb_knn@1"]) == 2
    assert history.history["emb_knn@1"][-1] == callback.history[-1]["knn@1"]
