"""Each phase of `gam.cotrain.CoTrainer` on its own, on a tiny two-cluster graph."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy.special import expit

from graphnsl import gam
from graphnsl.gam.cotrain import AgreementOutcome, CoTrainer, SelfLabelOutcome

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
    seed=0,
)


def _graph(num_nodes=24, seed=0):
    """Two classes (even / odd node ids), a ring inside each class, two edges across.

    Nodes 0-9 are training nodes (so several labeled-labeled edges exist), 10-13 validation,
    14-17 test, 18-23 the self-labeling candidates.
    """
    rng = np.random.default_rng(seed)
    labels = np.arange(num_nodes) % 2
    centers = np.array([[2.0, 2.0, 0.0, 0.0], [0.0, 0.0, 2.0, 2.0]], np.float32)
    features = centers[labels] + rng.normal(scale=0.4, size=(num_nodes, 4)).astype(np.float32)
    edges = []
    for c in (0, 1):
        members = np.flatnonzero(labels == c)
        edges += [(members[i], members[(i + 1) % len(members)]) for i in range(len(members))]
    edges += [(0, 1), (6, 19)]
    edges = np.array(edges)
    return gam.CotrainData(
        features=features,
        labels=labels,
        edges=np.concatenate([edges, edges[:, ::-1]]),
        train_index=np.arange(10),
        val_index=np.arange(10, 14),
        test_index=np.arange(14, 18),
        num_classes=2,
        name="phases",
    )


class _FixedPredictions(keras.Model):
    """Full-graph classifier predicting a fixed table (a non-trainable weight), by build order."""

    full_graph = True

    def __init__(self, table):
        super().__init__(name="fixed")
        self.table = self.add_weight(
            shape=table.shape, initializer="zeros", trainable=False, name="table"
        )
        self.table.assign(np.log(table).astype(np.float32))
        self.scale = self.add_weight(shape=(), initializer="zeros", name="scale")

    def call(self, features, training=False):
        return self.table + 0.0 * self.scale * tf.reduce_sum(features)


def _fixed(tables):
    """A factory whose k-th model predicts `tables[min(k, last)]` (k = 0: the loop's own)."""
    built = []

    def factory():
        model = _FixedPredictions(tables[min(len(built), len(tables) - 1)])
        built.append(model)
        return model

    return factory


def _table(predicted, confidence):
    table = np.stack([1.0 - confidence, confidence], axis=1).astype(np.float32)
    flip = predicted == 0
    table[flip] = table[flip][:, ::-1]
    return table


def test_train_agreement_uses_labeled_pairs_and_reports_its_validation_accuracy():
    data = _graph()
    # 9 distinct labeled-labeled edges: 2 held out for validation.
    trainer = CoTrainer(data, "mlp", gam.CotrainConfig(**FAST, ratio_valid_agr=0.3))
    trainer.load_labels()
    outcome = trainer.train_agreement(1)
    assert len(trainer.agr_val.numpy()) >= 2
    assert outcome.trained and outcome.steps >= 10 and outcome.logit_offset == 0.0
    positives = trainer.agr_pools[0].numpy()
    negatives = trainer.agr_pools[1].numpy()
    for rows, agree in ((positives, True), (negatives, False)):
        ids = rows[:, :2].astype(int)
        assert (ids < 10).all(), "agreement pairs must join two labeled nodes"
        assert ((data.labels[ids[:, 0]] == data.labels[ids[:, 1]]) == agree).all()
        assert (rows[:, 2] == float(agree)).all()
    # Positives are labeled graph edges (both directions); negatives balance them.
    edge_set = {tuple(e) for e in data.edges.tolist()}
    assert all(tuple(p) in edge_set for p in positives[:, :2].astype(int).tolist())
    validation = trainer.agr_val.numpy()
    logits = trainer.agreement_logits(validation[:, :2])
    expected = np.mean((logits >= 0) == (validation[:, 2] > 0.5))
    assert outcome.val_accuracy == pytest.approx(expected)


def test_train_agreement_does_nothing_without_agreeing_labeled_pairs():
    data = _graph()
    trainer = CoTrainer(data, "mlp", gam.CotrainConfig(**FAST))
    # Only nodes 0 and 1 (different classes) labeled: no agreeing labeled edge.
    trainer.labeled[:] = False
    trainer.labeled[[0, 1]] = True
    trainer.labels[~trainer.labeled] = -1
    before = [w.copy() for w in trainer.agreement_model.get_weights()]
    outcome = trainer.train_agreement(1)
    assert outcome == AgreementOutcome()
    for a, b in zip(before, trainer.agreement_model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_regularization_pools_orient_labeled_first_and_carry_the_agreement():
    data = _graph()
    trainer = CoTrainer(data, "mlp", gam.CotrainConfig(**FAST))
    trainer.load_labels()
    outcome = trainer.train_agreement(1)
    outcome.logit_offset = 0.7
    ll, lu, uu = trainer.regularization_pools()
    labeled = trainer.labeled
    assert labeled[ll].all() and (~labeled[uu]).all()
    assert labeled[lu[:, 0]].all() and (~labeled[lu[:, 1]]).all()
    assert len(ll) + len(lu) + len(uu) == len(data.edges)
    one_end = labeled[data.edges[:, 0]] != labeled[data.edges[:, 1]]
    expected_lu = {tuple(sorted(e, key=lambda n: not labeled[n])) for e in data.edges[one_end]}
    assert {tuple(p) for p in lu.tolist()} == expected_lu
    trainer.set_regularization((ll, lu, uu), outcome)
    assert float(trainer.reg_on.numpy()) == 1.0
    rows = trainer.lu_pool.numpy()
    np.testing.assert_array_equal(rows[:, :2], lu)
    np.testing.assert_allclose(rows[:, 2], expit(trainer.agreement_logits(lu) + 0.7), rtol=1e-5)
    untrained = AgreementOutcome(trained=False)
    trainer.set_regularization((ll, lu, uu), untrained)
    assert (trainer.uu_pool.numpy()[:, 2] == 0.0).all()
    trainer.set_regularization(None, None)
    assert float(trainer.reg_on.numpy()) == 0.0


def test_always_agree_puts_agreement_one_on_every_pair():
    data = _graph()
    trainer = CoTrainer(data, "mlp", gam.CotrainConfig(**FAST, always_agree=True))
    assert trainer.agreement_model is None
    pools = trainer.regularization_pools()
    trainer.set_regularization(pools, AgreementOutcome())
    assert len(trainer.lu_rows) and (trainer.lu_rows[:, 2] == 1.0).all()
    assert (trainer.uu_pool.numpy()[:, 2] == 1.0).all()


def test_train_classifier_measures_the_restored_model_and_keeps_the_first_best():
    data = _graph()
    n = data.num_nodes
    truth = data.labels
    confident = np.full(n, 0.9)
    # Iteration 0: every node predicted 0 (val 2/4); iteration 1: all right (val 1); iteration
    # 2: all right again (a tie: the best stays iteration 1).
    tables = [_table(np.zeros(n, int), confident)] * 2 + [_table(truth, confident)] * 2
    trainer = CoTrainer(data, _fixed(tables), gam.CotrainConfig(**FAST, always_agree=True))
    trainer.load_labels()
    trainer.set_regularization(None, None)
    results = [trainer.train_classifier(i) for i in range(3)]
    assert [r[1] for r in results] == [0.5, 1.0, 1.0]
    assert [r[2] for r in results] == [0.5, 1.0, 1.0]
    assert all(r[0] >= 10 for r in results)
    assert trainer.best_iteration == 1 and trainer.best_val_accuracy == 1.0
    (kept,) = [w for w in trainer.best_weights if w.shape == tables[2].shape]
    np.testing.assert_allclose(kept, np.log(tables[2]), rtol=1e-6)


def test_self_label_takes_the_most_confident_candidates_never_val_or_test():
    data = _graph()
    n = data.num_nodes
    # Confidence rises with the node id, so validation/test nodes (10-17) would outrank
    # nothing; candidates 18-23 rank 23 > 22 > ... Node 18 is below the threshold.
    confidence = np.linspace(0.55, 0.99, n)
    confidence[10:18] = 0.999  # most confident of all, but never self-labeled
    predicted = np.where(np.arange(n) == 23, 0, data.labels)  # node 23 (class 1) predicted 0
    table = _table(predicted, confidence)
    config = gam.CotrainConfig(
        **FAST,
        always_agree=True,
        num_samples_to_label=4,
        min_confidence_new_label=float(confidence[18]),
        keep_label_proportions=False,
    )
    trainer = CoTrainer(data, _fixed([table]), config)
    outcome = trainer.self_label(agreement_known=True)
    assert (outcome.num_new, outcome.num_dropped, outcome.new_label_accuracy) == (4, 0, 0.75)
    # Candidates 19-23 are strictly above the floor; the most confident is node 23.
    assert outcome.num_confident == 5
    assert outcome.max_confidence == pytest.approx(confidence[23], abs=1e-5)
    np.testing.assert_array_equal(np.flatnonzero(trainer.labeled[10:]) + 10, [20, 21, 22, 23])
    np.testing.assert_array_equal(trainer.labels[20:24], [0, 1, 0, 0])
    # Next: only 19 is left above the threshold (18 is not strictly above it).
    outcome = trainer.self_label(agreement_known=True)
    assert outcome.num_new == 1 and trainer.labels[19] == 1 and trainer.labels[18] == -1
    assert (trainer.labels[10:18] == -1).all()


def test_self_label_reports_a_floor_no_candidate_clears(caplog):
    data = _graph()
    confidence = np.full(data.num_nodes, 0.6)
    confidence[20] = 0.7
    config = gam.CotrainConfig(
        **FAST, always_agree=True, num_samples_to_label=4, min_confidence_new_label=0.75
    )
    trainer = CoTrainer(data, _fixed([_table(data.labels, confidence)]), config)
    with caplog.at_level("WARNING", logger="graphnsl.gam.cotrain"):
        outcome = trainer.self_label(agreement_known=True)
    assert outcome.num_new == 0 and outcome.num_confident == 0
    assert outcome.max_confidence == pytest.approx(0.7, abs=1e-5)
    assert "none of 6 candidates" in caplog.text and "largest 0.7000" in caplog.text
    assert not trainer.labeled[10:].any()
    record = trainer.record(0, 10, AgreementOutcome(), (10, 0.5, 0.5), outcome, 1.0)
    assert record.num_confident_candidates == 0
    assert record.max_candidate_confidence == pytest.approx(0.7, abs=1e-5)


def test_record_measures_held_self_labels_and_writes_scalars(tmp_path):
    data = _graph()
    config = gam.CotrainConfig(**FAST, always_agree=True, summary_dir=str(tmp_path))
    trainer = CoTrainer(data, "mlp", config)
    trainer.labels[[18, 19, 20]] = [0, 0, 0]  # true labels 0, 1, 0
    trainer.labeled[[18, 19, 20]] = True
    record = trainer.record(
        3,
        10,
        AgreementOutcome(trained=True, steps=7, val_accuracy=0.5, logit_offset=0.25),
        (40, 0.75, 0.5),
        SelfLabelOutcome(num_new=3, new_label_accuracy=2 / 3),
        1.5,
    )
    assert trainer.records == [record]
    assert record.self_label_accuracy == pytest.approx(2 / 3)
    assert (record.iteration, record.num_labeled, record.num_new_labels) == (3, 10, 3)
    assert (record.classifier_steps, record.val_accuracy, record.test_accuracy) == (40, 0.75, 0.5)
    assert (record.agreement_steps, record.agreement_logit_offset) == (7, 0.25)
    trainer.writer.close()
    logged = {}
    for event_file in tmp_path.iterdir():
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            for value in event.summary.value:
                logged[(value.tag, event.step)] = float(tf.make_ndarray(value.tensor))
    assert logged[("cotrain/val_acc", 3)] == pytest.approx(0.75)
    assert logged[("cotrain/num_new_labels", 3)] == 3.0
    assert ("cotrain/agreement_eval_acc", 3) not in logged  # None is not written


def test_iteration_zero_is_the_plain_classifier_only_with_first_iter_original():
    data = _graph()
    assert not CoTrainer(data, "mlp", gam.CotrainConfig(**FAST)).uses_agreement(0)
    config = gam.CotrainConfig(**FAST, first_iter_original=False)
    assert CoTrainer(data, "mlp", config).uses_agreement(0)


class _LinearFullGraph(keras.Model):
    """Full-graph classifier without randomness: logits = features @ kernel."""

    full_graph = True

    def __init__(self, num_features, num_classes):
        super().__init__(name="linear")
        self.kernel = self.add_weight(
            shape=(num_features, num_classes),
            initializer=keras.initializers.RandomNormal(seed=3),
            name="kernel",
        )

    def call(self, features, training=False):
        return tf.matmul(features, self.kernel)


def test_full_graph_classifier_steps_on_every_labeled_node_and_mlp_samples():
    data = _graph()
    config = gam.CotrainConfig(**FAST)
    trainer = CoTrainer(data, lambda: _LinearFullGraph(4, 2), config)
    trainer.load_labels()
    np.testing.assert_array_equal(np.sort(trainer._classifier_batch().numpy()), np.arange(10))

    # One step is one gradient step on the mean cross-entropy of all 10 labeled nodes (plain
    # SGD in place of Adam, whose first step only keeps the gradient's sign).
    trainer.cls_optimizer = keras.optimizers.SGD(config.learning_rate_cls)
    start = trainer.model.kernel.numpy()
    features = tf.constant(data.features, tf.float32)
    with tf.GradientTape() as tape:
        logits = tf.matmul(features[:10], trainer.model.kernel)
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=data.labels[:10], logits=logits)
        )
    gradient = tape.gradient(loss, trainer.model.kernel).numpy()
    expected = start - config.learning_rate_cls * gradient
    trainer.cls_loop.plain(tf.constant(1, tf.int32))
    np.testing.assert_allclose(trainer.model.kernel.numpy(), expected, rtol=1e-5, atol=1e-6)

    sampled = gam.CotrainConfig(**FAST, full_graph_batch="sampled")
    for classifier, options in ((lambda: _LinearFullGraph(4, 2), sampled), ("mlp", config)):
        other = CoTrainer(data, classifier, options)
        other.load_labels()
        batch = other._classifier_batch().numpy()
        assert len(batch) == config.batch_size_cls and set(batch) <= set(range(10))


class _CountingLinearFullGraph(_LinearFullGraph):
    """`_LinearFullGraph` that counts its calls (traced calls, inside a compiled step)."""

    def __init__(self, num_features, num_classes):
        super().__init__(num_features, num_classes)
        self.calls = 0

    def call(self, features, training=False):
        self.calls += 1
        return super().call(features, training=training)


def test_two_full_graph_passes_give_the_agreement_term_a_second_pass():
    data = _graph()
    kernels, calls = {}, {}
    for passes in ("one", "two"):
        config = gam.CotrainConfig(**FAST, always_agree=True, full_graph_passes=passes)
        trainer = CoTrainer(data, lambda: _CountingLinearFullGraph(4, 2), config)
        trainer.load_labels()
        trainer.set_regularization(trainer.regularization_pools(), AgreementOutcome())
        trainer.cls_optimizer = keras.optimizers.SGD(config.learning_rate_cls)
        before = trainer.model.calls
        trainer.cls_loop.plain(tf.constant(3, tf.int32))
        calls[passes] = trainer.model.calls - before
        kernels[passes] = trainer.model.kernel.numpy()
    # The step is traced once: one model call in it, or two with a second pass.
    assert calls == {"one": 1, "two": 2}
    # Without randomness in the model both passes are the same, so are the seeded steps: the
    # second pass feeds the pairs' rows, the first the labeled batch, in the same order.
    np.testing.assert_allclose(kernels["two"], kernels["one"], rtol=1e-6, atol=1e-7)
    start = _CountingLinearFullGraph(4, 2)
    start.build((None, 4))
    assert not np.allclose(kernels["one"], start.kernel.numpy()), "the steps moved the kernel"
    with pytest.raises(ValueError, match="full_graph_passes='three'"):
        gam.CotrainConfig(full_graph_passes="three")


def test_config_rejects_unknown_batch_modes():
    with pytest.raises(ValueError, match="full_graph_batch='every'"):
        gam.CotrainConfig(full_graph_batch="every")
    with pytest.raises(ValueError, match="node_batch='all'"):
        gam.CotrainConfig(node_batch="all")


def test_epoch_batches_visit_every_labeled_node_once_a_pass():
    data = _graph()
    config = gam.CotrainConfig(**dict(FAST, batch_size_cls=4), node_batch="epochs")
    trainer = CoTrainer(data, "mlp", config)
    trainer.load_labels()
    draw = tf.function(trainer._classifier_batch)
    # 10 labeled nodes, batches of 4: two batches a pass, the last 2 nodes of a pass skipped.
    for _ in range(3):
        first, second = draw().numpy(), draw().numpy()
        assert len(first) == len(second) == 4
        assert len(set(first) | set(second)) == 8 and set(first) | set(second) <= set(range(10))
    # The compiled training step reads the same pass state.
    trainer.cls_loop.plain(tf.constant(1, tf.int32))
    assert trainer.pass_cursor.numpy() == 4
    # No more labeled nodes than the batch: all of them each step.
    whole = CoTrainer(
        data, "mlp", gam.CotrainConfig(**dict(FAST, batch_size_cls=16), node_batch="epochs")
    )
    whole.load_labels()
    np.testing.assert_array_equal(np.sort(whole._classifier_batch().numpy()), np.arange(10))


def test_reference_pairs_keep_agreeing_ll_edges_and_take_short_pools_whole():
    data = _graph()
    trainer = CoTrainer(data, "mlp", gam.CotrainConfig(**FAST))
    trainer.load_labels()
    pools = trainer.regularization_pools()
    ll, lu, uu = pools
    # Nodes 0-9 are labeled: the rings inside each class give 8 agreeing LL edges, (0, 1) one
    # that disagrees; both directions of each.
    assert len(ll) == 18
    trainer.set_regularization(pools, AgreementOutcome(trained=False))
    kept = trainer.ll_pool.numpy()
    assert len(kept) == 16 and (data.labels[kept[:, 0]] == data.labels[kept[:, 1]]).all()
    pair_rows = tf.function(trainer._pair_rows)
    # A pool no larger than the count comes whole, in order; a larger one gives `count` rows.
    np.testing.assert_array_equal(pair_rows(trainer.ll_pool, 16).numpy(), kept)
    np.testing.assert_array_equal(pair_rows(trainer.ll_pool, 40).numpy(), kept)
    drawn = pair_rows(trainer.ll_pool, 5).numpy()
    assert len(drawn) == 5 and {tuple(r) for r in drawn} <= {tuple(r) for r in kept}
    assert len(pair_rows(trainer.ll_pool, 0).numpy()) == 0
    assert len(pair_rows(trainer.uu_pool, 16).numpy()) == min(16, len(uu))
    empty = tf.zeros((0, 3), tf.float32)
    assert pair_rows(empty, 16).numpy().shape == (0, 3)

    sampled = CoTrainer(data, "mlp", gam.CotrainConfig(**FAST, reg_pairs="sampled"))
    sampled.load_labels()
    sampled.set_regularization(sampled.regularization_pools(), AgreementOutcome(trained=False))
    assert len(sampled.ll_pool.numpy()) == 18
    assert len(tf.function(sampled._pair_rows)(sampled.ll_pool, 40).numpy()) == 40
    with pytest.raises(ValueError, match="reg_pairs='all'"):
        gam.CotrainConfig(reg_pairs="all")


def test_reference_agreement_validation_holds_directed_edges_as_they_are():
    data = _graph()
    edge_set = {tuple(e) for e in data.edges.tolist()}
    # 18 directed labeled-labeled edges (9 undirected, 1 of them across the classes).
    trainer = CoTrainer(data, "mlp", gam.CotrainConfig(**FAST, ratio_valid_agr=0.3))
    trainer.load_labels()
    trainer.train_agreement(1)
    validation = trainer.agr_val.numpy()
    assert len(validation) == int(0.3 * 18)
    ids = validation[:, :2].astype(int)
    assert all(tuple(p) in edge_set for p in ids.tolist()), "no random pairs in validation"
    np.testing.assert_array_equal(
        validation[:, 2], data.labels[ids[:, 0]] == data.labels[ids[:, 1]]
    )
    positives = {tuple(p) for p in trainer.agr_pools[0].numpy()[:, :2].astype(int).tolist()}
    agreeing = {e for e in edge_set if max(e) < 10 and data.labels[e[0]] == data.labels[e[1]]}
    assert positives == agreeing - {tuple(p) for p in ids.tolist()}

    patience = CoTrainer(
        data, "mlp", gam.CotrainConfig(**FAST, ratio_valid_agr=0.3, agr_stopping="patience")
    )
    patience.load_labels()
    patience.train_agreement(1)
    held = patience.agr_val.numpy()[:, 2]
    assert held.sum() == (1 - held).sum(), "patience balances validation with random pairs"


def test_early_stopping_stops_at_a_perfect_validation_accuracy():
    from graphnsl.gam.cotrain import _EarlyStopping

    counter = tf.Variable(0, dtype=tf.int64)
    weight = tf.Variable(0.0)

    def step():
        counter.assign_add(1)
        weight.assign_add(1.0)

    def accuracy():
        return tf.where(counter >= 23, 1.0, 0.5)

    loop = _EarlyStopping(step, accuracy, [weight], eval_every=5)
    # The first validation at or after step 23 is at step 25: stop there, keep its weights.
    assert loop.run(200, 1000, 100, stop_at=1.0) == (25, 1.0)
    assert weight.numpy() == 25.0
    counter.assign(0)
    # Without stop_at: patience from the best step (25) and at least 200 steps.
    steps, best = loop.run(200, 1000, 100)
    # The best weights restored: 25 (the first run's) + 25 steps to the first perfect one.
    assert steps == 200 and best == 1.0 and weight.numpy() == 50.0
    counter.assign(30)
    # Validating after the first step, already perfect: one step.
    assert loop.run(200, 1000, 100, stop_at=1.0, validate_first_step=True) == (1, 1.0)


def test_reference_agreement_trains_one_step_when_nothing_is_held_out():
    data = _graph()
    for mode, steps in (("reference", 1), ("patience", FAST["min_num_iter_agr"])):
        config = gam.CotrainConfig(**FAST, ratio_valid_agr=0.0, agr_stopping=mode)
        trainer = CoTrainer(data, "mlp", config)
        trainer.load_labels()
        outcome = trainer.train_agreement(1)
        assert outcome.trained and outcome.val_accuracy is None and outcome.steps == steps
    with pytest.raises(ValueError, match="agr_stopping='never'"):
        gam.CotrainConfig(agr_stopping="never")


def test_fresh_random_pairs_are_drawn_and_scored_every_step():
    data = _graph()
    trainer = CoTrainer(data, "mlp", gam.CotrainConfig(**FAST, use_graph=False))
    assert trainer.fresh_pairs
    trainer.load_labels()
    outcome = trainer.train_agreement(1)
    outcome.logit_offset = -0.4
    trainer.set_regularization(trainer.regularization_pools(), outcome)
    draw = tf.function(trainer._fresh_random_pairs)
    ll, lu, uu = (t.numpy() for t in draw(16))
    labeled = trainer.labeled
    assert ll.shape == (16, 2) and labeled[ll].all()
    lu_ids, uu_ids = lu[:, :2].astype(int), uu[:, :2].astype(int)
    assert labeled[lu_ids[:, 0]].all() and (~labeled[lu_ids[:, 1]]).all()
    assert (~labeled[uu_ids]).all() and len(lu) == len(uu) == 16
    for rows, ids in ((lu, lu_ids), (uu, uu_ids)):
        expected = expit(trainer.agreement_logits(ids) - 0.4)
        np.testing.assert_allclose(rows[:, 2], expected, rtol=1e-5, atol=1e-6)
    again = draw(16)[2].numpy()
    assert not np.array_equal(again[:, :2], uu[:, :2]), "new pairs each step"
    trainer.set_regularization(trainer.regularization_pools(), AgreementOutcome(trained=False))
    assert (draw(16)[1].numpy()[:, 2] == 0.0).all()
    # No unlabeled node left: no LU or UU pair.
    trainer.labeled[:] = True
    trainer.load_labels()
    ll, lu, uu = (t.numpy() for t in draw(16))
    assert len(ll) == 16 and lu.shape == (0, 3) and uu.shape == (0, 3)

    ngm = CoTrainer(data, "mlp", gam.CotrainConfig(**FAST, use_graph=False, always_agree=True))
    ngm.load_labels()
    assert (tf.function(ngm._fresh_random_pairs)(8)[2].numpy()[:, 2] == 1.0).all()
    pools = CoTrainer(data, "mlp", gam.CotrainConfig(**FAST, use_graph=False, random_pairs="pools"))
    assert not pools.fresh_pairs
    with pytest.raises(ValueError, match="random_pairs='new'"):
        gam.CotrainConfig(random_pairs="new")
