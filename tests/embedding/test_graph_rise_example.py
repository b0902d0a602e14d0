"""The Graph-RISE example's batch plan and validation split (examples/graph_rise_fashion_mnist.py)."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def example(load_example):
    return load_example("graph_rise_fashion_mnist")


# Six nodes; out-neighbours 0: [1, 2], 1: [], 2: [0, 3, 4], 3: [5], 4: [], 5: [0].
_LABELS = np.array([0, 1, 0, 1, 0, 1])
_OFFSETS = np.array([0, 2, 2, 5, 6, 6, 7])
_TARGETS = np.array([1, 2, 0, 3, 4, 5, 0])
_LISTS = {0: {1, 2}, 1: set(), 2: {0, 3, 4}, 3: {5}, 4: set(), 5: {0}}


def test_graph_batches_draw_distinct_neighbours_and_pad_with_the_seed(example):
    plan = example.BatchPlan(_LABELS, np.array([0, 1]), _OFFSETS, _TARGETS, 50, 4, 0)
    seeds, neighbours, weights, labels = plan.graph_batches(0.5, 2)
    assert seeds.shape == labels.shape == (50, 4)
    assert neighbours.shape == weights.shape == (50, 4, 2)
    # The first half of each batch are the labeled rows 0 and 1, the rest unlabeled (-1).
    assert set(seeds[:, :2].ravel()) == {0, 1}
    # Unlabeled seeds are the unlabeled nodes with a neighbour: 2, 3 and 5, never 4.
    assert set(seeds[:, 2:].ravel()) == {2, 3, 5}
    np.testing.assert_array_equal(labels[:, :2], _LABELS[seeds[:, :2]])
    assert (labels[:, 2:] == -1).all()
    rows = zip(seeds.ravel(), neighbours.reshape(-1, 2), weights.reshape(-1, 2), strict=True)
    for seed, nbrs, w in rows:
        real = nbrs[w == 1]
        assert len(set(real)) == len(real) == min(2, len(_LISTS[seed]))
        assert set(real) <= _LISTS[seed]
        assert (nbrs[w == 0] == seed).all()
    # Node 2 has three neighbours: over 50 draws each of them is picked at least once.
    assert set(neighbours[seeds == 2].ravel()) == {0, 3, 4}


def test_validation_split_holds_out_training_images(example):
    from graphnsl.data.fashion_mnist import FashionMNIST

    images = np.arange(40, dtype=np.uint8).reshape(40, 1, 1)
    data = FashionMNIST(images, np.arange(40) % 10, images[:3], np.zeros(3, np.int64))
    split = example.validation_split(data, size=8, seed=1)
    train, held = split.train_images.ravel(), split.test_images.ravel()
    assert len(train) == 32 and len(held) == 8
    assert sorted(np.concatenate([train, held]).tolist()) == list(range(40))
    np.testing.assert_array_equal(split.train_labels, train % 10)
    np.testing.assert_array_equal(split.test_labels, held % 10)


def test_default_multiplier_is_geometric_between_the_validated_budgets(example):
    # 20 at 100 labels/class, 1 at 6000, log-linear between: at the geometric mean of the
    # budgets (sqrt(100 * 6000) ~ 774.6) it is the geometric mean of the weights, sqrt(20).
    assert example.default_multiplier(100) == pytest.approx(20.0)
    assert example.default_multiplier(6000) == pytest.approx(1.0)
    assert example.default_multiplier(int(round(np.sqrt(100 * 6000)))) == pytest.approx(
        np.sqrt(20.0), rel=1e-3
    )
    t = np.log(10) / np.log(60)  # 1000 labels/class
    assert example.default_multiplier(1000) == pytest.approx(20.0 ** (1 - t))
    assert example.default_multiplier(10) == pytest.approx(20.0)  # held at the ends
    assert example.default_multiplier(60000) == pytest.approx(1.0)


def test_rampup_rises_from_near_zero_to_one_at_the_named_step(example):
    ramp = example.rampup(6, 4)
    # exp(-5 (1 - t)^2) at t = 0, 1/4, 1/2, 3/4, then 1 from step 4 on.
    expected = np.exp(-5.0 * (1.0 - np.array([0.0, 0.25, 0.5, 0.75, 1.0, 1.0])) ** 2)
    np.testing.assert_allclose(ramp, expected, rtol=1e-6)
    assert ramp.dtype == np.float32 and 0.0 < ramp[0] < 0.01 and ramp[4] == ramp[5] == 1.0
    np.testing.assert_array_equal(example.rampup(3, 0), np.ones(3, np.float32))
