"""Tests of the hashing baselines: ITQ's rotation, LSH, spectral hashing."""

import numpy as np

from graphnsl.hashing import baselines, metrics


def _clusters(n_per=60, dim=10, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4, size=(3, dim))
    x = np.concatenate([c + rng.normal(size=(n_per, dim)) for c in centres])
    return x, np.repeat(np.arange(3), n_per)


def test_itq_rotation_is_orthogonal_and_objective_non_increasing():
    x, _ = _clusters()
    model = baselines.PCAITQ(bits=6, iterations=30, seed=1).fit(x)
    r = model.rotation_
    np.testing.assert_allclose(r.T @ r, np.eye(6), atol=1e-10)
    objective = np.asarray(model.objective_)
    assert len(objective) == 31
    assert np.all(np.diff(objective) <= 1e-6 * objective[0])
    assert objective[-1] < objective[0]
    # The recorded objective is ||B - V R||^2 of the final rotation.
    v = (x.astype(np.float32) - model.mean_) @ model.components_
    b = np.where(v @ r >= 0, 1.0, -1.0)
    np.testing.assert_allclose(objective[-1], np.sum((b - v @ r) ** 2), rtol=1e-4)


def test_pca_matches_svd():
    x, _ = _clusters()
    mean, components, variances = baselines.pca(x, 3)
    _, s, vt = np.linalg.svd(x - x.mean(axis=0), full_matrices=False)
    np.testing.assert_allclose(np.abs(components.T @ vt[:3].T), np.eye(3), atol=1e-4)
    np.testing.assert_allclose(variances, s[:3] ** 2 / (len(x) - 1), rtol=1e-4)


def test_lsh_codes_are_sign_projections():
    x, _ = _clusters()
    model = baselines.LSH(bits=8, seed=2).fit(x)
    expected = (x - x.mean(axis=0)) @ model.projection_ > 0
    np.testing.assert_array_equal(model.encode(x), expected)


def test_spectral_hashing_picks_smallest_eigenvalue_modes():
    rng = np.random.default_rng(0)
    # Two directions with ranges 4:1: modes 1-3 of the wide direction (omega = k pi / 4)
    # come before the narrow direction's first (omega = pi), then the narrow one's mode 1
    # ties the wide one's mode 4: with 3 bits only the wide direction is used.
    x = np.stack([rng.uniform(-2, 2, 4000), rng.uniform(-0.5, 0.5, 4000)], axis=1)
    model = baselines.SpectralHashing(bits=3).fit(x)
    pairs = [(int(d), int(k)) for d, k in zip(model.directions_, model.modes_, strict=True)]
    assert pairs == [(0, 1), (0, 2), (0, 3)]
    narrow = baselines.SpectralHashing(bits=5).fit(x)
    assert sorted(zip(narrow.directions_.tolist(), narrow.modes_.tolist(), strict=True))[-1] == (
        1,
        1,
    )
    codes = model.encode(x)
    # Mode 1 of a uniform range splits it in half: balanced bit.
    assert abs(codes[:, 0].mean() - 0.5) < 0.05


def test_every_baseline_beats_chance_on_clusters():
    x, labels = _clusters()
    for model in (baselines.LSH(16), baselines.PCAITQ(8), baselines.SpectralHashing(8)):
        c = model.fit(x).encode(x)
        assert c.shape[1] in (8, 16) and set(np.unique(c)) <= {0, 1}
        assert metrics.mean_average_precision(c, c, labels, labels) > 0.6
