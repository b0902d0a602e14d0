"""Tests of graphnsl.embedding.graph: each method on two cliques, each loss term by hand."""

import keras
import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf

from graphnsl.embedding import graph


def two_cliques(k: int = 6) -> sp.csr_matrix:
    """Two k-cliques joined by one edge (nodes k-1 and k)."""
    a = np.zeros((2 * k, 2 * k), np.float32)
    a[:k, :k] = 1
    a[k:, k:] = 1
    np.fill_diagonal(a, 0)
    a[k - 1, k] = a[k, k - 1] = 1
    return sp.csr_matrix(a)


def assert_cliques_separate(embedding: np.ndarray, k: int = 6):
    """Every node is closer (cosine, centred) to its own clique's mean than to the other's."""
    x = embedding - embedding.mean(axis=0)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    means = np.stack([x[:k].mean(axis=0), x[k:].mean(axis=0)])
    nearest = np.argmax(x @ means.T, axis=1)
    np.testing.assert_array_equal(nearest, np.repeat([0, 1], k))


def test_laplacian_eigenmaps_fiedler_vector_splits_the_cliques():
    a = two_cliques()
    embedding = graph.laplacian_eigenmaps(a, dim=1)
    assert embedding.shape == (12, 1)
    signs = np.sign(embedding[:, 0])
    assert len(set(signs[:6])) == 1 and len(set(signs[6:])) == 1 and signs[0] != signs[6]
    # A generalized eigenvector of L y = lambda D y, D-orthogonal to the constant vector.
    dense = a.toarray()
    degree = dense.sum(axis=1)
    y = embedding[:, 0].astype(np.float64)
    lam = (y @ (np.diag(degree) - dense) @ y) / (y @ (degree * y))
    np.testing.assert_allclose((np.diag(degree) - dense) @ y, lam * degree * y, atol=1e-5)
    assert abs(degree @ y) < 1e-5
    # Against NumPy's dense generalized eigenproblem: the second smallest eigenvalue.
    d_inv = np.diag(degree**-0.5)
    values = np.linalg.eigvalsh(np.eye(12) - d_inv @ dense @ d_inv)
    np.testing.assert_allclose(lam, values[1], rtol=1e-4)


def test_random_walks_follow_edges_and_stop_at_isolated_nodes():
    a = sp.csr_matrix(np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]], np.float32))
    walks = graph.random_walks(a, walks_per_node=2, walk_length=4, seed=1)
    np.testing.assert_array_equal(walks[:, 0], [0, 1, 2, 0, 1, 2])
    np.testing.assert_array_equal(walks[0], [0, 1, 0, 1])
    np.testing.assert_array_equal(walks[2], [2, -1, -1, -1])


def test_random_walks_choose_neighbours_by_weight():
    a = sp.csr_matrix(np.array([[0, 1, 3], [1, 0, 0], [3, 0, 0]], np.float32))
    walks = graph.random_walks(a, walks_per_node=4000, walk_length=2, seed=0)
    second = walks[walks[:, 0] == 0, 1]
    assert abs(np.mean(second == 2) - 0.75) < 0.03


def test_skipgram_pairs_by_hand():
    walks = np.array([[0, 1, 2], [3, 4, -1]])
    targets, contexts = graph.skipgram_pairs(walks, window=2)
    pairs = sorted(zip(targets.tolist(), contexts.tolist(), strict=True))
    assert pairs == sorted([(0, 1), (1, 0), (1, 2), (2, 1), (3, 4), (4, 3), (0, 2), (2, 0)])


def test_negative_sampling_loss_by_hand():
    logits = np.array([[2.0, -1.0, 0.5], [0.0, 3.0, -2.0]], np.float32)

    def log_sigmoid(x):
        return -np.log1p(np.exp(-x))

    expected = np.mean(
        [-log_sigmoid(row[0]) - log_sigmoid(-row[1]) - log_sigmoid(-row[2]) for row in logits]
    )
    got = graph.NegativeSamplingLoss()(np.zeros(2), logits)
    np.testing.assert_allclose(float(got), expected, rtol=1e-6)


def test_skipgram_logits_and_config_round_trip():
    model = graph.SkipGram(num_nodes=5, dim=3)
    targets, candidates = np.array([1, 4]), np.array([[0, 2], [3, 3]])
    logits = np.asarray(model((targets, candidates)))
    v = np.asarray(model.target_embedding.embeddings)
    u = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    model.context_embedding.embeddings.assign(u)
    logits = np.asarray(model((targets, candidates)))
    expected = np.einsum("bd,bcd->bc", v[targets], u[candidates])
    np.testing.assert_allclose(logits, expected, rtol=1e-5)
    clone = graph.SkipGram.from_config(model.get_config())
    assert (clone.num_nodes, clone.dim) == (5, 3)


def test_deepwalk_separates_two_cliques():
    embedding = graph.deepwalk(
        two_cliques(),
        dim=8,
        walks_per_node=20,
        walk_length=10,
        window=3,
        epochs=2,
        batch_size=256,
        learning_rate=0.05,
        verbose=0,
    )
    assert embedding.shape == (12, 8)
    assert_cliques_separate(embedding)


def test_kappa_weights_halve_and_sum_to_one():
    np.testing.assert_allclose(graph.kappa_weights(3), [4 / 7, 2 / 7, 1 / 7])
    assert len(graph.kappa_weights(0)) == 0


def test_second_order_loss_by_hand():
    u = np.array([[0.0, 0.5], [1.0, 0.0]], np.float32)
    u_hat = np.array([[0.2, 0.1], [0.7, 0.4]], np.float32)
    # b = 1 on zeros, 5 on non-zeros: 0.04 + 5 * 0.16 + 5 * 0.09 + 0.16.
    got = graph.second_order_loss(u, u_hat, nonzero_weight=5.0)
    np.testing.assert_allclose(float(got), 0.04 + 0.8 + 0.45 + 0.16, rtol=1e-6)
    scaled = graph.second_order_loss(u, u_hat, 5.0, np.array([2.0, 1.0], np.float32))
    np.testing.assert_allclose(float(scaled), 2 * (0.04 + 0.45) + 0.8 + 0.16, rtol=1e-6)


def test_first_order_loss_by_hand():
    h_i = np.array([[0.0, 1.0], [1.0, 1.0]], np.float32)
    h_j = np.array([[1.0, 1.0], [0.0, 3.0]], np.float32)
    got = graph.first_order_loss(h_i, h_j, np.array([0.5, 2.0], np.float32))
    np.testing.assert_allclose(float(got), 0.5 * 1 + 2.0 * (1 + 4), rtol=1e-6)


def test_hidden_reconstruction_and_weight_decay_by_hand():
    f = [np.array([[1.0, 0.0]], np.float32), np.array([[2.0]], np.float32)]
    f_hat = [np.array([[0.0, 0.0]], np.float32), np.array([[0.0]], np.float32)]
    got = graph.hidden_reconstruction_loss(f, f_hat, graph.kappa_weights(2))
    np.testing.assert_allclose(float(got), 2 / 3 * 1 + 1 / 3 * 4, rtol=1e-6)
    kernels = [np.ones((2, 2), np.float32), np.full((1, 3), 2.0, np.float32)]
    np.testing.assert_allclose(float(graph.weight_decay_loss(kernels)), 0.5 * (4 + 12))


def test_sdne_trainer_terms_match_numpy():
    """The trainer's batch objective equals the formula evaluated in NumPy on its weights."""
    a = two_cliques(3)
    config = graph.SDNEConfig(
        hidden_dims=(4,), alpha=1.5, beta=0.7, gamma=0.01, mu=0.8, nonzero_weight=3.0
    )
    model = graph.SDNE(input_dim=6, hidden_dims=(4,), embedding_dim=2)
    trainer = graph._SDNETrainer(model, a, config, seed=0)
    nodes = np.array([0, 4])
    terms = trainer.losses(trainer.batch(nodes))
    (k1, b1), (k2, b2) = [(np.asarray(x.kernel), np.asarray(x.bias)) for x in model.encoder_layers]
    (v1, c1), (v2, c2) = [(np.asarray(x.kernel), np.asarray(x.bias)) for x in model.decoder_layers]
    v1 = v1.T  # the last decoder layer stores its kernel transposed

    def sig(x):
        return 1 / (1 + np.exp(-x))

    def encode(x):
        f1 = sig(x @ k1 + b1)
        return f1, sig(f1 @ k2 + b2)

    dense = a.toarray()
    u = dense[nodes]
    f1, h = encode(u)
    f1_hat = sig(h @ v2 + c2)
    u_hat = sig(f1_hat @ v1 + c1)
    rec = np.sum(np.where(u > 0, 3.0, 1.0) * (u_hat - u) ** 2) / 2
    soh = np.sum((f1 - f1_hat) ** 2) / 2  # one hidden layer: kappa = [1]
    _, h_all = encode(dense)
    fo = sum(dense[i, j] * np.sum((h_all[i] - h_all[j]) ** 2) for i in nodes for j in range(6))
    fo /= 2
    # L_r of a step: the first kernel's rows of the batch's columns (rows 0 and 4 have
    # non-zeros in columns 1, 2 and 3, 5), every other kernel whole.
    present = np.asarray(trainer.batch(nodes)["input_columns"])
    np.testing.assert_array_equal(present, [1, 2, 3, 5])
    decay = 0.5 * sum(np.sum(k**2) for k in (k1[present], v1, k2, v2))
    total = 1.5 * (0.8 * rec + 0.2 * soh) + 0.7 * fo + 0.01 * decay
    np.testing.assert_allclose(float(terms["reconstruction"]), rec, rtol=1e-5)
    np.testing.assert_allclose(float(terms["hidden"]), soh, rtol=1e-5)
    np.testing.assert_allclose(float(terms["first_order"]), fo, rtol=1e-5)
    np.testing.assert_allclose(float(terms["weight_decay"]), decay, rtol=1e-5)
    np.testing.assert_allclose(float(terms["total"]), total, rtol=1e-5)


def test_sampled_columns_estimate_is_unbiased():
    """With column sampling the reconstruction term averages to the exact full-row one."""
    rng = np.random.default_rng(0)
    a = sp.random(40, 40, density=0.1, random_state=1, dtype=np.float32)
    a = (a + a.T).tocsr()
    model = graph.SDNE(input_dim=40, hidden_dims=(), embedding_dim=3)
    exact = graph._SDNETrainer(model, a, graph.SDNEConfig(hidden_dims=(), beta=0), seed=0)
    sampled = graph._SDNETrainer(
        model, a, graph.SDNEConfig(hidden_dims=(), beta=0, reconstruction_columns=8), seed=0
    )
    nodes = rng.choice(40, 5, replace=False)
    full = float(exact.losses(exact.batch(nodes))["reconstruction"])
    estimates = [float(sampled.losses(sampled.batch(nodes))["reconstruction"]) for _ in range(300)]
    assert abs(np.mean(estimates) - full) < 0.03 * full


def test_sdne_config_round_trip():
    model = graph.SDNE(input_dim=7, hidden_dims=(5, 4), embedding_dim=2)
    clone = graph.SDNE.from_config(model.get_config())
    assert clone.dims == (7, 5, 4, 2)
    rows = tf.sparse.from_dense(tf.eye(7))
    h, u_hat = model(rows)
    assert h.shape == (7, 2) and u_hat.shape == (7, 7)
    assert keras.saving.get_registered_object("graphnsl.embedding>SDNE") is graph.SDNE


@pytest.mark.parametrize("pretrain", [False, True])
def test_sdne_separates_two_cliques(pretrain):
    config = graph.SDNEConfig(
        hidden_dims=(8,),
        beta=0.1,
        epochs=150,
        batch_size=12,
        learning_rate=0.02,
        pretrain=pretrain,
        pretrain_epochs=50,
    )
    embedding = graph.sdne(two_cliques(), dim=4, config=config, verbose=False)
    assert embedding.shape == (12, 4)
    assert_cliques_separate(embedding)


def test_read_tsv_graph(tmp_path):
    path = tmp_path / "g.tsv"
    path.write_text("a\tb\t0.5\nb\ta\t0.5\nb\tc\n")
    ids, adjacency = graph.read_tsv_graph(path)
    assert ids == ["a", "b", "c"]
    np.testing.assert_allclose(adjacency.toarray(), [[0, 0.5, 0], [0.5, 0, 1], [0, 1, 0]])
    path.write_text("a\tb\tx\n")
    with pytest.raises(ValueError, match="line 1"):
        graph.read_tsv_graph(path)


def _path_graph(n: int = 30) -> sp.csr_matrix:
    """A weighted path 0 - 1 - ... - n-1 (weights 1, 0.5, 1, 0.5, ...)."""
    weights = np.where(np.arange(n - 1) % 2 == 0, 1.0, 0.5).astype(np.float32)
    a = sp.diags([weights, weights], [1, -1], shape=(n, n), format="csr", dtype=np.float32)
    return a


def test_minibatch_terms_use_the_touched_slices_by_hand():
    """A batch's loss (sampled columns, neighbours' rows, sliced L_r) against NumPy."""
    a = _path_graph(30)
    config = graph.SDNEConfig(
        hidden_dims=(), alpha=1.0, beta=0.5, gamma=0.1, nonzero_weight=4.0, reconstruction_columns=5
    )
    model = graph.SDNE(input_dim=30, hidden_dims=(), embedding_dim=3)
    trainer = graph._SDNETrainer(model, a, config, seed=0)
    nodes = np.array([3, 10])
    inputs = trainer.batch(nodes)
    # Input columns: the non-zeros of rows 3 and 10 (the neighbours' codes come from the
    # trainer's code table, here just encoded from the same weights).
    np.testing.assert_array_equal(inputs["input_columns"], [2, 4, 9, 11])
    columns = np.asarray(inputs["columns"])
    np.testing.assert_array_equal(columns[:4], [2, 4, 9, 11])  # the batch's non-zeros first
    terms = trainer.losses(inputs)
    k1, b1 = (np.asarray(v) for v in (model.encoder_layers[0].kernel, model.encoder_layers[0].bias))
    v1, c1 = (np.asarray(v) for v in (model.decoder_layers[0].kernel, model.decoder_layers[0].bias))
    v1 = v1.T  # stored transposed

    def sig(x):
        return 1 / (1 + np.exp(-x))

    dense = a.toarray()
    h_all = sig(dense @ k1 + b1)
    u_hat = sig(h_all[nodes] @ v1[:, columns] + c1[columns])
    u = dense[nodes][:, columns]
    scale = np.ones(len(columns))
    scale[4:] = (30 - 4) / (len(columns) - 4)
    rec = np.sum(np.where(u > 0, 4.0, 1.0) * (u_hat - u) ** 2 * scale) / 2
    fo = sum(dense[i, j] * np.sum((h_all[i] - h_all[j]) ** 2) for i in nodes for j in range(30))
    fo /= 2
    decay = 0.5 * (np.sum(k1[inputs["input_columns"]] ** 2) + np.sum(v1[:, columns] ** 2))
    np.testing.assert_allclose(float(terms["reconstruction"]), rec, rtol=1e-5)
    np.testing.assert_allclose(float(terms["first_order"]), fo, rtol=1e-5)
    np.testing.assert_allclose(float(terms["weight_decay"]), decay, rtol=1e-5)
    np.testing.assert_allclose(float(terms["total"]), rec + 0.5 * fo + 0.1 * decay, rtol=1e-5)


def test_sliced_adam_step_matches_dense_adam_and_leaves_the_rest():
    """First step: the sliced update equals Keras' dense Adam on the same (L_r-free) loss.

    Rows of the tables outside the batch have zero gradient, so dense Adam leaves them as
    they are on the first step too; the second step's untouched slices stay unchanged.
    """
    a = _path_graph(30)
    config = graph.SDNEConfig(
        hidden_dims=(4,), beta=0.5, gamma=0.0, learning_rate=0.05, reconstruction_columns=6
    )
    model = graph.SDNE(input_dim=30, hidden_dims=(4,), embedding_dim=2)
    reference = graph.SDNE.from_config(model.get_config())
    reference.set_weights(model.get_weights())
    trainer = graph._SDNETrainer(model, a, config, seed=0)
    inputs = trainer.batch(np.array([3, 10]))
    reference_trainer = graph._SDNETrainer(reference, a, config, seed=0)
    with tf.GradientTape() as tape:
        total = reference_trainer.losses(inputs)["total"]
    variables = reference.trainable_variables
    optimizer = keras.optimizers.Adam(0.05)
    optimizer.apply_gradients(zip(tape.gradient(total, variables), variables, strict=True))
    before = [np.asarray(v) for v in model.trainable_variables]
    trainer._step(inputs)
    for got, want in zip(model.trainable_variables, variables, strict=True):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=1e-6)
    first = model.encoder_layers[0].kernel
    touched = np.asarray(inputs["input_columns"])
    untouched = np.setdiff1d(np.arange(30), touched)
    index = [v.path for v in model.trainable_variables].index(first.path)
    np.testing.assert_array_equal(np.asarray(first)[untouched], before[index][untouched])
    assert not np.allclose(np.asarray(first)[touched], before[index][touched])
    # The code table holds the batch's codes from before the update; the rest as encoded.
    codes = np.asarray(trainer.codes)
    np.testing.assert_allclose(codes, np.asarray(reference_trainer.codes), atol=1e-6)
    # A second batch far away: the first batch's rows keep their values; its nodes' codes
    # are written to the table.
    kept = np.asarray(first)[[2, 4]].copy()
    trainer._step(trainer.batch(np.array([25, 27])))
    np.testing.assert_array_equal(np.asarray(first)[[2, 4]], kept)
    fresh = trainer.embed()[-1]
    np.testing.assert_array_equal(np.asarray(trainer.codes)[[3, 10]], codes[[3, 10]])
    assert not np.allclose(np.asarray(trainer.codes)[[25, 27]], codes[[25, 27]])
    np.testing.assert_allclose(np.asarray(trainer.codes)[[0, 15]], codes[[0, 15]])
    assert fresh.shape == (30, 2)


def test_diffusion_map_scales_eigenmaps_by_walk_eigenvalues():
    a = two_cliques()
    dense = a.toarray().astype(np.float64)
    degree = dense.sum(axis=1)
    embedding, values = graph.laplacian_eigenmaps(a, dim=3, return_eigenvalues=True)
    d_inv = np.diag(degree**-0.5)
    expected = np.sort(np.linalg.eigvalsh(np.eye(12) - d_inv @ dense @ d_inv))[1:4]
    np.testing.assert_allclose(values, expected, atol=1e-5)
    diffused = graph.diffusion_map(a, dim=3, time=4.0)
    np.testing.assert_allclose(diffused, embedding * (1 - expected) ** 4, atol=1e-5)
    # Each column is a right eigenvector of the walk matrix D^-1 W with eigenvalue 1 - lambda.
    walk = dense / degree[:, None]
    np.testing.assert_allclose(walk @ diffused, diffused * (1 - expected), atol=1e-5)
    np.testing.assert_allclose(graph.diffusion_map(a, dim=3, time=0.0), embedding, atol=1e-6)
    standardized = graph.diffusion_map(a, dim=3, time=2.0, standardize=True)
    unit = (embedding - embedding.mean(axis=0)) / embedding.std(axis=0)
    np.testing.assert_allclose(standardized, unit * (1 - expected) ** 2, atol=1e-4)
    with pytest.raises(ValueError, match="diffusion time"):
        graph.diffusion_map(a, dim=3, time=-1.0)


def test_sparse_init_uses_the_rows_mean_non_zeros_as_fan_in():
    a = _path_graph(30)  # 58 non-zeros over 30 rows
    kernel = keras.Variable(np.zeros((30, 400), np.float32))
    graph._sparse_init(kernel, a, seed=0)
    limit = np.sqrt(3.0 / (58 / 30))
    values = np.asarray(kernel)
    assert np.abs(values).max() <= limit
    assert np.abs(values).max() > 0.99 * limit
    np.testing.assert_allclose(values.std(), limit / np.sqrt(3), rtol=0.02)
