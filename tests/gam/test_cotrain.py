"""The co-training loop on a tiny two-cluster graph: it learns, self-labels and ends."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from graphnsl import gam

FAST = dict(
    min_num_iter_cls=10,
    max_num_iter_cls=40,
    num_iter_after_best_val_cls=10,
    min_num_iter_agr=10,
    max_num_iter_agr=40,
    num_iter_after_best_val_agr=10,
    eval_step_cls=5,
    eval_step_agr=5,
    batch_size_cls=8,
    batch_size_agr=16,
    num_pairs_reg=16,
    hidden_agr=(8,),
    learning_rate_cls=0.05,
    learning_rate_agr=0.05,
    verbose=False,
)


def _two_clusters(num_nodes=40, dim=6, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.arange(num_nodes) % 2
    centers = np.array([[2.0] * 3 + [0.0] * 3, [0.0] * 3 + [2.0] * 3], np.float32)[:, :dim]
    features = centers[labels] + rng.normal(scale=0.5, size=(num_nodes, dim)).astype(np.float32)
    edges = []
    for c in (0, 1):
        members = np.flatnonzero(labels == c)
        edges += [(members[i], members[(i + 1) % len(members)]) for i in range(len(members))]
    edges += [(0, 1), (4, 7)]  # two edges across classes
    edges = np.array(edges)
    edges = np.concatenate([edges, edges[:, ::-1]])
    order = rng.permutation(num_nodes)
    return gam.CotrainData(
        features=features,
        labels=labels,
        edges=edges,
        train_index=np.sort(order[:4]),
        val_index=np.sort(order[4:12]),
        test_index=np.sort(order[12:20]),
        num_classes=2,
        name="toy",
    )


def test_loop_ends_when_no_unlabeled_nodes_are_left(tmp_path):
    data = _two_clusters()
    config = gam.CotrainConfig(
        **FAST,
        max_num_iter_cotrain=10,
        num_samples_to_label=100,
        min_confidence_new_label=0.0,
        keep_label_proportions=False,
        summary_dir=str(tmp_path / "summaries"),
        seed=1,
    )
    result = gam.cotrain(data, "mlp", config)
    records = result.iterations
    # 0: baseline, 1: labels all 20 candidates, 2: nothing left -> stop.
    assert [r.iteration for r in records] == [0, 1, 2]
    assert [r.num_labeled for r in records] == [4, 4, 24]
    assert [r.num_new_labels for r in records] == [0, 20, 0]
    assert records[0].agreement_val_accuracy is None and records[0].agreement_steps == 0
    # Trained (the reference's rule stops it at its first perfect validation accuracy).
    assert records[1].agreement_steps >= 1
    candidates = _candidates(data)
    assert (result.labels[candidates] >= 0).all()
    assert np.mean(result.labels[candidates] == data.labels[candidates]) >= 0.9
    assert (result.labels[data.val_index] == -1).all()
    assert result.test_accuracy >= 0.85 and result.best_val_accuracy >= 0.85
    assert result.baseline_test_accuracy == records[0].test_accuracy
    assert result.test_accuracy == records[result.best_iteration].test_accuracy
    # TensorBoard scalars: one test accuracy per iteration, equal to the records.
    logged = {}
    for event_file in (tmp_path / "summaries").iterdir():
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            for value in event.summary.value:
                if value.tag == "cotrain/test_acc":
                    logged[event.step] = float(tf.make_ndarray(value.tensor))
    assert logged == pytest.approx({r.iteration: r.test_accuracy for r in records})


@pytest.mark.parametrize(
    "classifier, options",
    [
        ("gcn", dict(always_agree=True)),
        ("mlp", dict(use_graph=False, aggregation_agr="concat", hidden_aggregation_agr=(4,))),
    ],
)
def test_loop_ends_at_max_iterations(classifier, options):
    data = _two_clusters()
    config = gam.CotrainConfig(
        **FAST, max_num_iter_cotrain=2, num_samples_to_label=4, seed=2, **options
    )
    result = gam.cotrain(data, classifier, config)
    assert len(result.iterations) == 2
    assert result.iterations[1].num_new_labels == 4
    assert result.iterations[1].num_labeled == 4
    assert (result.labels >= 0).sum() == 8
    assert result.best_val_accuracy >= 0.75
    if options.get("always_agree"):
        assert result.agreement_model is None


def test_same_seed_repeats_the_run():
    data = _two_clusters(seed=3)
    config = gam.CotrainConfig(**FAST, max_num_iter_cotrain=2, num_samples_to_label=6, seed=5)
    first = gam.cotrain(data, "mlp", config)
    second = gam.cotrain(data, "mlp", config)
    _assert_same_training(first, second)
    assert [r.classifier_steps for r in first.iterations] == [
        r.classifier_steps for r in second.iterations
    ]


def _assert_same_training(first, second):
    """Two runs trained alike: validation accuracy per iteration, self-labels and weights."""
    assert [r.val_accuracy for r in first.iterations] == [r.val_accuracy for r in second.iterations]
    np.testing.assert_array_equal(first.labels, second.labels)
    for a, b in zip(first.classifier.get_weights(), second.classifier.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_edge_agreement_log_odds_counts_labeled_edges_only():
    from graphnsl.gam.cotrain import edge_agreement_log_odds

    edges = np.array([[0, 1], [1, 2], [2, 3], [3, 4], [0, 4]])
    labels = np.array([0, 0, 1, 1, -1])
    labeled = labels >= 0
    # Labeled-labeled edges: (0,1) agree, (1,2) differ, (2,3) agree -> p = (2+1)/(3+2).
    p = 3.0 / 5.0
    assert edge_agreement_log_odds(edges, labels, labeled) == pytest.approx(np.log(p / (1 - p)))
    # No labeled-labeled edge: p = 1/2, log odds 0.
    none = np.array([True, False, False, False, False])
    assert edge_agreement_log_odds(edges, labels, none) == 0.0


def test_config_rejects_unknown_agreement_pairs():
    with pytest.raises(ValueError, match="agr_train_pairs"):
        gam.CotrainConfig(agr_train_pairs="all")


class _ScheduledPredictions(keras.Model):
    """Full-graph classifier whose logits are a fixed table chosen by its build order.

    The k-th instance built (k = 0 the loop's own model, k = i + 1 the fresh weights of
    iteration i) predicts `log(tables[min(k, last)])`; the table is a non-trainable weight, so
    the loop's weight copy carries it. A zero-effect trainable scalar keeps the optimizer busy.
    """

    full_graph = True

    def __init__(self, table):
        super().__init__(name="scheduled")
        self.table = self.add_weight(
            shape=table.shape, initializer="zeros", trainable=False, name="table"
        )
        self.table.assign(np.log(table).astype(np.float32))
        self.scale = self.add_weight(shape=(), initializer="zeros", name="scale")

    def call(self, features, training=False):
        return self.table + 0.0 * self.scale * tf.reduce_sum(features)


def _scheduled(tables):
    built = []

    def factory():
        model = _ScheduledPredictions(tables[min(len(built), len(tables) - 1)])
        built.append(model)
        return model

    return factory


def _table(num_nodes, class_of, confidence):
    table = np.full((num_nodes, 2), 0.5, np.float32)
    for node in range(num_nodes):
        c, p = class_of(node), confidence(node)
        table[node, c], table[node, 1 - c] = p, 1.0 - p
    return table


SCHEDULED = dict(FAST, always_agree=True, min_num_iter_cls=5, max_num_iter_cls=5)


def _candidates(data):
    """Nodes that may be self-labeled: neither training, validation nor test."""
    used = np.concatenate([data.train_index, data.val_index, data.test_index])
    return np.setdiff1d(np.arange(data.num_nodes), used)


@pytest.mark.parametrize("recheck", [False, True])
def test_recheck_drops_self_labels_the_classifier_no_longer_predicts(recheck):
    data = _two_clusters()
    n = data.num_nodes
    candidates = _candidates(data)
    true = data.labels
    # Iteration 1: every node predicted class 0 at 0.9 -> all 20 candidates labeled 0.
    # Iteration 2: class-1 nodes predicted 1 at 0.9; class-0 nodes predicted 0 at only 0.55.
    first = _table(n, lambda i: 0, lambda i: 0.9)
    second = _table(n, lambda i: int(true[i]), lambda i: 0.9 if true[i] == 1 else 0.55)
    config = gam.CotrainConfig(
        **SCHEDULED,
        max_num_iter_cotrain=3,
        num_samples_to_label=100,
        min_confidence_new_label=0.6,
        keep_label_proportions=False,
        recheck_self_labels=recheck,
    )
    tables = [first, first, first, second]  # loop model, iterations 0, 1, 2
    result = gam.cotrain(data, _scheduled(tables), config)
    records = result.iterations
    assert [r.num_new_labels for r in records[:2]] == [0, 20]
    np.testing.assert_array_equal(result.labels[data.train_index], true[data.train_index])
    ones = candidates[true[candidates] == 1]
    zeros = candidates[true[candidates] == 0]
    if recheck:
        # All 20 dropped (10 disagree, 10 at 0.55 <= 0.6); the class-1 ones come back as 1.
        assert records[2].num_dropped_labels == 20
        assert records[2].num_new_labels == len(ones)
        assert (result.labels[ones] == 1).all() and (result.labels[zeros] == -1).all()
        assert records[2].self_label_accuracy == 1.0
    else:
        assert records[2].num_dropped_labels == 0 and records[2].num_new_labels == 0
        assert (result.labels[candidates] == 0).all()
        assert records[2].self_label_accuracy == pytest.approx(len(zeros) / 20)


@pytest.mark.parametrize("source", ["train", "predicted"])
def test_label_quotas_from_training_labels_or_predictions(source):
    data = _two_clusters()
    n = data.num_nodes
    candidates = _candidates(data)
    # Candidates: the first 15 predicted class 0, the last 5 class 1 (shares 3/4, 1/4);
    # confidences all distinct so the ranking is fixed.
    rank = {node: k for k, node in enumerate(candidates)}
    table = _table(
        n,
        lambda i: 0 if rank.get(i, 0) < 15 else 1,
        lambda i: 0.95 - 0.01 * rank.get(i, 0),
    )
    config = gam.CotrainConfig(
        **SCHEDULED,
        max_num_iter_cotrain=2,
        num_samples_to_label=8,
        label_proportions_from=source,
    )
    result = gam.cotrain(data, _scheduled([table]), config)
    new = candidates[result.labels[candidates] >= 0]
    train_share = np.mean(data.labels[data.train_index] == 0)
    expected_zeros = int(0.75 * 8) if source == "predicted" else int(train_share * 8)
    # Training labels are 3 of class 1, 1 of class 0: quotas 2 and 6, but only 5 candidates
    # are predicted 1. Predicted shares give quotas 6 and 2.
    expected_ones = int(0.25 * 8) if source == "predicted" else min(int((1 - train_share) * 8), 5)
    assert (expected_zeros, expected_ones) == ((6, 2) if source == "predicted" else (2, 5))
    assert (result.labels[new] == 0).sum() == expected_zeros
    assert (result.labels[new] == 1).sum() == expected_ones
    # Most confident of each class: candidates 0.. of class 0, 15.. of class 1.
    np.testing.assert_array_equal(
        np.sort(new),
        np.sort(np.concatenate([candidates[:expected_zeros], candidates[15 : 15 + expected_ones]])),
    )


def test_config_rejects_unknown_label_proportions_source():
    with pytest.raises(ValueError, match="label_proportions_from"):
        gam.CotrainConfig(label_proportions_from="val")


def test_fit_logit_offset_matches_the_mean_probability():
    from graphnsl.gam.cotrain import fit_logit_offset

    # sigmoid(0 + b) = 0.75 -> b = log(3).
    assert fit_logit_offset(np.zeros(4), 0.75) == pytest.approx(np.log(3.0), abs=1e-5)
    # Symmetric logits: the mean is 1/2 at b = 0.
    assert fit_logit_offset(np.array([-2.0, 2.0]), 0.5) == pytest.approx(0.0, abs=1e-5)
    # Logits log(1/3) and log(3) (probabilities 1/4, 3/4) shifted by b = log(3): 1/2 and 9/10.
    b = fit_logit_offset(np.log([1 / 3, 3.0]), 0.7)
    assert b == pytest.approx(np.log(3.0), abs=1e-5)
    with pytest.raises(ValueError, match="target"):
        fit_logit_offset(np.zeros(2), 1.0)
    with pytest.raises(ValueError, match="empty"):
        fit_logit_offset(np.zeros(0), 0.5)


def test_edge_prior_fit_sets_the_mean_edge_agreement_to_the_prior():
    from graphnsl.gam.cotrain import edge_agreement_log_odds, fit_logit_offset

    data = _two_clusters()
    config = gam.CotrainConfig(
        **FAST,
        max_num_iter_cotrain=2,
        num_samples_to_label=0,
        agr_train_pairs="labeled",
        edge_prior_agr=True,
        edge_prior_fit_agr=True,
        agr_stopping="patience",  # a model trained past its first steps, whose scores spread
        seed=3,
    )
    labels = np.full(data.num_nodes, -1)
    labels[data.train_index] = data.labels[data.train_index]
    labeled = labels >= 0
    log_odds = edge_agreement_log_odds(data.edges, labels, labeled)
    prior = 1.0 / (1.0 + np.exp(-log_odds))
    result = gam.cotrain(data, "mlp", config)
    # Recompute the agreement of all LU and UU edges with the trained model and the offset
    # that matches their mean to the prior.
    ends = labeled[data.edges]
    pairs = data.edges[~(ends[:, 0] & ends[:, 1])]
    x = data.dense_features()
    logits = result.agreement_model((x[pairs[:, 0]], x[pairs[:, 1]]), training=False).numpy()
    offset = fit_logit_offset(logits, prior)
    agreement = 1.0 / (1.0 + np.exp(-(logits + offset)))
    assert agreement.mean() == pytest.approx(prior, abs=1e-4)
    # The loop used that offset, not the plain log odds.
    assert result.iterations[1].agreement_logit_offset == pytest.approx(offset, abs=1e-4)
    assert abs(offset - log_odds) > 0.1


@pytest.mark.parametrize("votes", [False, True])
def test_self_label_votes_of_labeled_neighbours(votes):
    data = _two_clusters()
    n = data.num_nodes
    candidates = _candidates(data)
    # The classifier says class 0 at 0.6 everywhere; with always_agree each labeled neighbour
    # votes with agreement 0.99 (clipped from 1).
    table = _table(n, lambda i: 0, lambda i: 0.6)
    config = gam.CotrainConfig(
        **SCHEDULED,
        max_num_iter_cotrain=2,
        num_samples_to_label=100,
        keep_label_proportions=False,
        self_label_votes_agr=votes,
    )
    result = gam.cotrain(data, _scheduled([table]), config)
    assert (result.labels[candidates] >= 0).all()
    train_labels = dict(
        zip(data.train_index.tolist(), data.labels[data.train_index].tolist(), strict=True)
    )
    for node in candidates:
        neighbours = data.edges[data.edges[:, 1] == node, 0]
        voters = [train_labels[m] for m in neighbours if m in train_labels]
        expected = 0
        if votes and voters:
            # 0.6 * 0.99^k0 * 0.01^k1 against 0.4 * 0.99^k1 * 0.01^k0 (K = 2: 1 - 0.99).
            k1 = sum(voters)
            score0 = np.log(0.6) + (len(voters) - k1) * np.log(0.99) + k1 * np.log(0.01)
            score1 = np.log(0.4) + k1 * np.log(0.99) + (len(voters) - k1) * np.log(0.01)
            expected = int(score1 > score0)
        assert result.labels[node] == expected, node
    if votes:
        assert (result.labels[candidates] == 1).any()


def test_labels_outside_the_labeled_set_never_reach_training():
    # Before PR #82 (2021-04) the reference implementation's LU pairs read the stored label of
    # the unlabeled end for half of the edges (true labels of test nodes included). Here the
    # labels of every node
    # that is neither training nor validation are flipped: training must not change at all.
    data = _two_clusters(seed=4)
    hidden = np.setdiff1d(np.arange(data.num_nodes), np.union1d(data.train_index, data.val_index))
    flipped = data.labels.copy()
    flipped[hidden] = 1 - flipped[hidden]
    config = gam.CotrainConfig(
        **FAST,
        max_num_iter_cotrain=3,
        num_samples_to_label=6,
        reg_weight_lu=10.0,
        reg_weight_uu=5.0,
        seed=6,
    )
    first = gam.cotrain(data, "mlp", config)
    second = gam.cotrain(dataclasses.replace(data, labels=flipped), "mlp", config)
    assert [r.num_new_labels for r in first.iterations][1:] == [6, 6]
    _assert_same_training(first, second)
    # The test accuracies are measured against the flipped labels, so they do change.
    assert first.iterations[0].test_accuracy != second.iterations[0].test_accuracy
