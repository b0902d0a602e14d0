"""Tests for self-labeling: most confident first, the threshold, and label proportions."""

import numpy as np
import pytest

from graphnsl.gam import label_proportions, select_samples_to_label


def test_picks_most_confident_nodes_in_order():
    probabilities = np.array(
        [[0.6, 0.4], [0.1, 0.9], [0.5, 0.5], [0.95, 0.05], [0.3, 0.7]], np.float32
    )
    candidates = np.array([10, 11, 12, 13, 14])
    nodes, labels = select_samples_to_label(probabilities, candidates, num_samples=3)
    np.testing.assert_array_equal(nodes, [13, 11, 14])
    np.testing.assert_array_equal(labels, [0, 1, 1])


def test_min_confidence_is_strict():
    probabilities = np.array([[0.6, 0.4], [0.1, 0.9], [0.7, 0.3]], np.float32)
    nodes, labels = select_samples_to_label(
        probabilities, np.array([0, 1, 2]), num_samples=10, min_confidence=0.6
    )
    np.testing.assert_array_equal(nodes, [1, 2])
    np.testing.assert_array_equal(labels, [1, 0])


def test_keeps_label_proportions():
    # Class 0 is far more confident, but the quota is 3 of class 0 and 1 of class 1.
    probabilities = np.array(
        [
            [0.99, 0.01],
            [0.98, 0.02],
            [0.97, 0.03],
            [0.96, 0.04],
            [0.95, 0.05],
            [0.2, 0.8],
            [0.4, 0.6],
        ],
        np.float32,
    )
    candidates = np.arange(100, 107)
    proportions = label_proportions(np.array([0, 0, 0, 1]), num_classes=2)
    np.testing.assert_allclose(proportions, [0.75, 0.25])
    nodes, labels = select_samples_to_label(
        probabilities, candidates, num_samples=4, proportions=proportions
    )
    np.testing.assert_array_equal(nodes, [100, 101, 102, 105])
    np.testing.assert_array_equal(labels, [0, 0, 0, 1])
    # Without proportions the four most confident are all class 0.
    plain, _ = select_samples_to_label(probabilities, candidates, num_samples=4)
    np.testing.assert_array_equal(plain, [100, 101, 102, 103])


def test_quota_uses_floor_and_fewer_when_class_runs_out():
    probabilities = np.array([[0.9, 0.1, 0.0], [0.8, 0.2, 0.0], [0.1, 0.9, 0.0]], np.float32)
    proportions = np.array([1 / 3, 1 / 3, 1 / 3])
    # int(1/3 * 5) = 1 per class; class 2 has no candidate.
    nodes, labels = select_samples_to_label(
        probabilities, np.array([5, 6, 7]), 5, proportions=proportions
    )
    np.testing.assert_array_equal(nodes, [5, 7])
    np.testing.assert_array_equal(labels, [0, 1])


def test_empty_and_mismatched_inputs():
    nodes, labels = select_samples_to_label(np.zeros((0, 3)), np.zeros(0, np.int64), 5)
    assert nodes.size == 0 and labels.size == 0
    with pytest.raises(ValueError, match="candidates"):
        select_samples_to_label(np.zeros((2, 3)), np.zeros(3, np.int64), 5)


def test_predicted_proportions_are_argmax_shares():
    from graphnsl.gam.self_labeling import predicted_proportions

    probabilities = np.array(
        [[0.5, 0.2, 0.3], [0.1, 0.3, 0.6], [0.2, 0.2, 0.6], [0.3, 0.4, 0.3]], np.float32
    )
    np.testing.assert_allclose(predicted_proportions(probabilities, 3), [0.25, 0.25, 0.5])
    with pytest.raises(ValueError, match="probabilities"):
        predicted_proportions(probabilities, 4)


def test_self_labels_to_keep_needs_same_argmax_above_threshold():
    from graphnsl.gam.self_labeling import self_labels_to_keep

    probabilities = np.array([[0.7, 0.3], [0.45, 0.55], [0.35, 0.65], [0.6, 0.4]], np.float32)
    labels = np.array([0, 0, 1, 0])
    # Row 1 changed its mind; row 3 sits exactly at 0.6, not strictly above.
    np.testing.assert_array_equal(
        self_labels_to_keep(probabilities, labels, 0.6), [True, False, True, False]
    )
    np.testing.assert_array_equal(
        self_labels_to_keep(probabilities, labels, 0.68), [True, False, False, False]
    )
    np.testing.assert_array_equal(
        self_labels_to_keep(probabilities, labels), [True, False, True, True]
    )
    with pytest.raises(ValueError, match="labels"):
        self_labels_to_keep(probabilities, labels[:2])


def test_neighbor_votes_multiply_the_probabilities():
    from graphnsl.gam.self_labeling import combine_with_neighbor_votes

    labels = np.array([1, 0, 2, -1, -1, -1])
    probabilities = np.array([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6], [0.5, 0.25, 0.25]])
    candidates = np.array([3, 4, 5])
    # Node 3: one neighbour of class 1 with agreement 0.8 -> likelihood [0.1, 0.8, 0.1].
    # Node 4: neighbours of class 0 (a = 0.5 -> [0.5, 0.25, 0.25]) and class 2 (a = 0.9 ->
    # [0.05, 0.05, 0.9]). Node 5: no pair, unchanged. Pair (2, 0) has no candidate: ignored.
    pairs = np.array([[0, 3], [1, 4], [2, 4], [2, 0]])
    agreement = np.array([0.8, 0.5, 0.9, 0.99])
    combined = combine_with_neighbor_votes(probabilities, candidates, pairs, agreement, labels)
    q3 = np.array([0.6 * 0.1, 0.3 * 0.8, 0.1 * 0.1])
    q4 = np.array([0.2 * 0.5 * 0.05, 0.2 * 0.25 * 0.05, 0.6 * 0.25 * 0.9])
    np.testing.assert_allclose(combined[0], q3 / q3.sum())
    np.testing.assert_allclose(combined[1], q4 / q4.sum())
    np.testing.assert_allclose(combined[2], probabilities[2])
    # The vote flips node 3 from class 0 to class 1.
    assert combined[0].argmax() == 1
    # Agreement 1.0 is clipped to 0.99: the other classes keep 0.01 / 2.
    hard = combine_with_neighbor_votes(
        probabilities[:1], candidates[:1], pairs[:1], np.array([1.0]), labels
    )
    q = np.array([0.6 * 0.005, 0.3 * 0.99, 0.1 * 0.005])
    np.testing.assert_allclose(hard[0], q / q.sum())
    with pytest.raises(ValueError, match="agreement"):
        combine_with_neighbor_votes(probabilities, candidates, pairs, agreement[:2], labels)
