"""pairwise_distance_wrapper against NumPy references of NSL's semantics."""

import itertools

import numpy as np
import pytest

from graphnsl.configs import DistanceConfig, DistanceType, Reduction, TransformType
from graphnsl.lib import pairwise_distance_wrapper

RNG = np.random.default_rng(7)
SOURCES = RNG.normal(size=(4, 3)).astype(np.float32)
TARGETS = RNG.normal(size=(4, 3)).astype(np.float32)
WEIGHTS = np.array([[1.0], [0.0], [2.0], [0.5]], np.float32)


_DIVERGENCES = (DistanceType.KL_DIVERGENCE, DistanceType.JENSEN_SHANNON_DIVERGENCE)


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _kl(p, q):
    return p * (np.log(p + 1e-7) - np.log(q + 1e-7))


def _reference(sources, targets, weights, config: DistanceConfig):
    axis = config.sum_over_axis
    if config.transform_fn == TransformType.SOFTMAX:
        sources, targets = _softmax(sources), _softmax(targets)
    elif config.transform_fn == TransformType.SIGMOID:
        sources, targets = 1 / (1 + np.exp(-sources)), 1 / (1 + np.exp(-targets))
    kind = config.distance_type
    if kind == DistanceType.L1:
        losses = np.abs(sources - targets)
    elif kind == DistanceType.L2:
        losses = (sources - targets) ** 2
    elif kind == DistanceType.COSINE:
        s = sources / np.linalg.norm(sources, axis=axis, keepdims=True)
        t = targets / np.linalg.norm(targets, axis=axis, keepdims=True)
        losses = 1 - (s * t).sum(axis=axis, keepdims=True)
    elif kind == DistanceType.KL_DIVERGENCE:
        losses = _kl(sources, targets).sum(axis=axis, keepdims=True)
    else:
        m = (sources + targets) / 2
        losses = (0.5 * _kl(sources, m) + 0.5 * _kl(targets, m)).sum(axis=axis, keepdims=True)
    w = np.broadcast_to(weights, losses.shape)
    weighted = losses * w
    if config.reduction == Reduction.NONE:
        return weighted
    total = weighted.sum()
    denominator = {
        Reduction.SUM: 1.0,
        Reduction.MEAN: w.sum(),
        Reduction.SUM_OVER_BATCH_SIZE: losses.size,
        Reduction.SUM_BY_NONZERO_WEIGHTS: np.count_nonzero(w),
    }[config.reduction]
    value = total / denominator
    if (
        axis is not None
        and kind in (DistanceType.L1, DistanceType.L2)
        and config.reduction != Reduction.SUM
    ):
        value *= sources.shape[axis]
    return value


def test_nsl_docstring_examples():
    sources = np.array([[1, 1], [2, 2], [0, 2], [5, 5]], np.float32)
    targets = np.array([[1, 1], [0, 2], [4, 4], [1, 4]], np.float32)
    per_sample = DistanceConfig("l2", sum_over_axis=-1)
    assert float(
        pairwise_distance_wrapper(sources, targets, distance_config=per_sample)
    ) == pytest.approx(10.25)
    assert float(pairwise_distance_wrapper(sources, targets)) == pytest.approx(5.125)


@pytest.mark.parametrize(
    "distance_type,reduction,sum_over_axis,transform_fn,weights",
    [
        combo
        for combo in itertools.product(
            list(DistanceType),
            Reduction.all(),
            [None, -1],
            list(TransformType),
            ["scalar", "per_sample"],
        )
        if (combo[0] in (DistanceType.L1, DistanceType.L2) or combo[2] is not None)
        and not (combo[0] in _DIVERGENCES and combo[3] == TransformType.SIGMOID)
    ],
)
def test_matches_numpy_reference(distance_type, reduction, sum_over_axis, transform_fn, weights):
    config = DistanceConfig(distance_type, reduction, sum_over_axis, transform_fn)
    if distance_type in _DIVERGENCES and transform_fn != TransformType.SOFTMAX:
        sources, targets = _softmax(SOURCES), _softmax(TARGETS)
    else:
        sources, targets = SOURCES, TARGETS
    w = 1.5 if weights == "scalar" else WEIGHTS
    got = pairwise_distance_wrapper(sources, targets, w, config).numpy()
    want = _reference(sources, targets, w, config)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_divergence_requires_axis_and_distributions():
    with pytest.raises(ValueError, match="sum_over_axis"):
        pairwise_distance_wrapper(SOURCES, TARGETS, distance_config=DistanceConfig("kl_divergence"))
    with pytest.raises(Exception, match="distribution"):
        pairwise_distance_wrapper(
            SOURCES, TARGETS, distance_config=DistanceConfig("kl_divergence", sum_over_axis=-1)
        )


def test_bad_shapes_and_axis():
    with pytest.raises(ValueError, match="does not match"):
        pairwise_distance_wrapper(SOURCES, TARGETS[:, :2])
    with pytest.raises(ValueError, match="not in"):
        pairwise_distance_wrapper(
            SOURCES, TARGETS, distance_config=DistanceConfig("l2", sum_over_axis=2)
        )
    with pytest.raises(ValueError, match="size 1 along"):
        pairwise_distance_wrapper(
            SOURCES, TARGETS, np.ones((4, 3), np.float32), DistanceConfig("l1", sum_over_axis=-1)
        )
