"""Tests of graphnsl.hashing.codes and .metrics on hand-worked codes and rankings."""

import numpy as np
import pytest

from graphnsl.hashing import codes, metrics


@pytest.mark.parametrize("bits", [1, 7, 8, 16, 63, 64, 65, 130])
def test_pack_unpack_round_trip(bits):
    rng = np.random.default_rng(bits)
    x = rng.integers(0, 2, size=(9, bits)).astype(np.uint8)
    packed = codes.pack_codes(x)
    assert packed.dtype == np.uint64 and packed.shape == (9, -(-bits // 64))
    np.testing.assert_array_equal(codes.unpack_codes(packed, bits), x)


def test_pack_rejects_non_binary():
    with pytest.raises(ValueError, match=r"codes\[1, 0\] = 2"):
        codes.pack_codes(np.array([[0, 1], [2, 0]]))


def test_hamming_distances_match_numpy():
    rng = np.random.default_rng(0)
    q = rng.integers(0, 2, size=(5, 100))
    db = rng.integers(0, 2, size=(7, 100))
    got = codes.hamming_distances(codes.pack_codes(q), codes.pack_codes(db))
    np.testing.assert_array_equal(got, (q[:, None, :] != db[None, :, :]).sum(axis=-1))


def _ranked_database(relevance):
    """Codes whose Hamming ranking from the all-zeros query is the database order."""
    n = len(relevance)
    database = np.zeros((n, n), np.uint8)
    for i in range(n):
        database[i, :i] = 1  # item i at distance i
    labels = np.where(np.asarray(relevance) == 1, 0, 1)
    return np.zeros((1, n), np.uint8), database, np.array([0]), labels


def test_map_on_a_hand_worked_ranking():
    # Relevant at ranks 1, 3, 4: AP = (1/1 + 2/3 + 3/4) / 3.
    query, database, q_labels, db_labels = _ranked_database([1, 0, 1, 1, 0])
    got = metrics.mean_average_precision(query, database, q_labels, db_labels)
    np.testing.assert_allclose(got, (1 + 2 / 3 + 3 / 4) / 3)


def test_ties_keep_database_order():
    # All at distance 0: the ranking is the database order, relevant at ranks 2 and 3.
    database = np.zeros((4, 8), np.uint8)
    got = metrics.mean_average_precision(
        np.zeros((1, 8), np.uint8), database, [5], np.array([1, 5, 5, 2])
    )
    np.testing.assert_allclose(got, (1 / 2 + 2 / 3) / 2)


def test_precision_at_recall_and_f1_by_hand():
    # Relevant at ranks 2, 3, 6, 7 (R = 4).
    query, database, q_labels, db_labels = _ranked_database([0, 1, 1, 0, 0, 1, 1])
    result = metrics.evaluate_codes(
        query, database, q_labels, db_labels, recall_levels=(0.25, 0.5, 0.6, 1.0)
    )
    # recall 0.25 -> 1 hit at rank 2; 0.5 -> 2 at 3; 0.6 -> 3 at 6; 1.0 -> 4 at 7.
    expected = [1 / 2, 2 / 3, 3 / 6, 4 / 7]
    np.testing.assert_allclose(result["precision_at_recall"], expected)
    levels = np.array([0.25, 0.5, 0.6, 1.0])
    np.testing.assert_allclose(result["f1_at_recall"], 2 * levels * expected / (levels + expected))


def test_precision_within_radius_by_hand():
    query = np.zeros((2, 4), np.uint8)
    query[1] = 1
    database = np.array(
        [[0, 0, 0, 0], [1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]], np.uint8
    )
    db_labels = np.array([0, 1, 0, 0, 1])
    # Query 0 (label 0): within 2 = items 0, 1, 2 -> 2 relevant of 3.
    # Query 1 (all ones, label 1): within 2 = items 2, 3, 4 -> 1 relevant of 3.
    got = metrics.precision_within_radius(query, database, [0, 1], db_labels)
    np.testing.assert_allclose(got, (2 / 3 + 1 / 3) / 2)
    # A query that retrieves nothing within radius 0 scores 0.
    lone = np.array([[0, 1, 0, 1]], np.uint8)
    assert metrics.precision_within_radius(lone, database, [0], db_labels, radius=0) == 0.0


def test_evaluate_blocks_agree_and_packed_input_accepted():
    rng = np.random.default_rng(3)
    q = rng.integers(0, 2, size=(10, 16))
    db = rng.integers(0, 2, size=(50, 16))
    ql, dbl = rng.integers(0, 3, 10), rng.integers(0, 3, 50)
    one = metrics.evaluate_codes(q, db, ql, dbl, block=64)
    many = metrics.evaluate_codes(codes.pack_codes(q), codes.pack_codes(db), ql, dbl, block=3)
    np.testing.assert_allclose(one["map"], many["map"])
    np.testing.assert_allclose(one["precision_at_recall"], many["precision_at_recall"])
    # Against a direct per-query loop.
    aps = []
    for i in range(10):
        dist = (q[i] != db).sum(axis=1)
        rel = (dbl == ql[i])[np.argsort(dist, kind="stable")]
        hits = np.cumsum(rel)
        aps.append(np.sum(hits[rel] / (np.flatnonzero(rel) + 1)) / rel.sum())
    np.testing.assert_allclose(one["map"], np.mean(aps))


def test_labels_must_match_codes():
    with pytest.raises(ValueError, match="labels"):
        metrics.evaluate_codes(np.zeros((2, 8)), np.zeros((3, 8)), [0], [0, 0, 0])
