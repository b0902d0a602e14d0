"""Each metric-learning loss against a plain NumPy reference, eagerly and under XLA."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from graphnsl.embedding import losses

METRICS = ("L2", "squared-L2", "angular")


def _distance(a, b, metric):
    if metric == "L2":
        return float(np.sqrt(np.sum((a - b) ** 2)))
    if metric == "squared-L2":
        return float(np.sum((a - b) ** 2))
    return float(1.0 - a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _numpy_semihard(labels, x, margin, metric):
    """Loops over every (anchor, positive) pair, picking the negative by its definition."""
    n = len(labels)
    d = [[_distance(x[i], x[j], metric) if i != j else 0.0 for j in range(n)] for i in range(n)]
    total, count = 0.0, 0
    for a, p in itertools.product(range(n), range(n)):
        if a == p or labels[a] != labels[p]:
            continue
        negatives = [d[a][k] for k in range(n) if labels[k] != labels[a]]
        farther = [v for v in negatives if v > d[a][p]]
        negative = min(farther) if farther else max(negatives)
        total += max(d[a][p] - negative + margin, 0.0)
        count += 1
    return total / count if count else 0.0


def _numpy_hard(labels, x, margin, metric, soft=False):
    n = len(labels)
    out = []
    for a in range(n):
        pos = [_distance(x[a], x[k], metric) for k in range(n) if k != a and labels[k] == labels[a]]
        neg = [_distance(x[a], x[k], metric) for k in range(n) if labels[k] != labels[a]]
        gap = (max(pos) if pos else 0.0) - min(neg)
        out.append(np.log1p(np.exp(gap)) if soft else max(gap + margin, 0.0))
    return float(np.mean(out))


def _numpy_contrastive(labels, x, margin, metric):
    values = []
    for i, j in itertools.combinations(range(len(labels)), 2):
        d = _distance(x[i], x[j], metric)
        values.append(d**2 if labels[i] == labels[j] else max(margin - d, 0.0) ** 2)
    return float(np.mean(values))


# Hand-made batch: 3 classes, 2-d points placed so that some anchors have semi-hard negatives,
# some only harder ones, and one class has a single member (no positive).
LABELS = np.array([0, 0, 0, 1, 1, 2])
POINTS = np.array(
    [[0.1, 0.0], [0.3, 0.1], [1.2, -0.2], [0.5, 0.4], [2.0, 1.0], [-0.4, 0.9]], np.float32
)


def test_batch_is_interesting():
    # Anchor 0 / positive 2 (d = 1.118): negatives 3 (0.57), 4 (2.15), 5 (1.02); only 4 is
    # farther, so the semi-hard negative is 4, not the hardest (3).
    assert _numpy_semihard(LABELS, POINTS, 1.0, "L2") > 0
    d = lambda i, j: np.linalg.norm(POINTS[i] - POINTS[j])  # noqa: E731
    assert d(0, 3) < d(0, 2) < d(0, 4)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("margin", [0.2, 1.0])
def test_semihard_matches_numpy(metric, margin):
    loss = losses.TripletSemiHardLoss(margin=margin, distance_metric=metric)
    np.testing.assert_allclose(
        float(loss(LABELS, POINTS)), _numpy_semihard(LABELS, POINTS, margin, metric), rtol=1e-5
    )
    rng = np.random.default_rng(3)
    labels, x = rng.integers(0, 3, 12), rng.normal(size=(12, 5)).astype(np.float32)
    np.testing.assert_allclose(
        float(loss(labels, x)), _numpy_semihard(labels, x, margin, metric), rtol=1e-5
    )


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("soft", [False, True])
def test_hard_matches_numpy(metric, soft):
    loss = losses.TripletHardLoss(margin=0.5, soft=soft, distance_metric=metric)
    np.testing.assert_allclose(
        float(loss(LABELS[:, None], POINTS)),
        _numpy_hard(LABELS, POINTS, 0.5, metric, soft),
        rtol=1e-5,
    )


@pytest.mark.parametrize("metric", METRICS)
def test_contrastive_matches_numpy(metric):
    loss = losses.ContrastiveLoss(margin=1.5, distance_metric=metric)
    np.testing.assert_allclose(
        float(loss(LABELS, POINTS)), _numpy_contrastive(LABELS, POINTS, 1.5, metric), rtol=1e-5
    )
    # The per-pair function is TF Addons' formula.
    np.testing.assert_allclose(
        losses.contrastive_loss([1, 0, 0], [0.5, 0.3, 2.0], margin=1.0),
        [0.25, 0.49, 0.0],
        rtol=1e-6,
    )


def test_no_positive_pair_is_zero_not_nan():
    loss = losses.TripletSemiHardLoss()
    assert float(loss(np.arange(4), np.eye(4, dtype=np.float32))) == 0.0


def test_l2_gradient_is_finite_with_duplicate_points():
    x = tf.constant([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = losses.TripletSemiHardLoss()(np.array([0, 0, 1]), x)
    assert np.isfinite(tape.gradient(value, x).numpy()).all()


@pytest.mark.parametrize(
    "loss",
    [
        losses.TripletSemiHardLoss(margin=0.3, distance_metric="angular"),
        losses.TripletHardLoss(margin=0.4, soft=True, distance_metric="squared-L2"),
        losses.ContrastiveLoss(margin=2.0),
    ],
)
def test_serialization_round_trip(loss):
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(restored) is type(loss) and restored.get_config() == loss.get_config()
    np.testing.assert_allclose(float(restored(LABELS, POINTS)), float(loss(LABELS, POINTS)))


@pytest.mark.parametrize(
    "loss, reference",
    [
        (losses.TripletSemiHardLoss(0.5), lambda y, x: _numpy_semihard(y, x, 0.5, "L2")),
        (losses.TripletHardLoss(0.5), lambda y, x: _numpy_hard(y, x, 0.5, "L2")),
        (
            losses.ContrastiveLoss(1.0, "angular"),
            lambda y, x: _numpy_contrastive(y, x, 1.0, "angular"),
        ),
    ],
)
def test_under_jit_compile_in_a_model(loss, reference):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, use_bias=False)])
    kernel = np.array([[1.0, 0.5, -0.2], [0.3, -1.0, 0.8]], np.float32)
    model.layers[0].set_weights([kernel])
    model.compile(keras.optimizers.SGD(0.0), loss=loss, jit_compile=True)
    value = model.train_on_batch(POINTS, LABELS)
    np.testing.assert_allclose(value, reference(LABELS, POINTS @ kernel), rtol=1e-4)


def test_bad_metric_is_named():
    with pytest.raises(ValueError, match="distance_metric='cos'"):
        losses.ContrastiveLoss(distance_metric="cos")
