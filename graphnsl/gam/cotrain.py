"""Co-training of a classifier and an agreement model: the GAM loop (Stretcu et al. 2019).

Each iteration (1) trains the agreement model on labeled pairs, (2) trains the classifier on
its supervised loss plus the agreement-weighted regularization over LL/LU/UU pairs, and (3)
self-labels the unlabeled nodes it is most confident about. Iteration 0 trains the classifier
alone (`first_iter_original`), the baseline the paper reports. Both models train with early
stopping on validation accuracy and restore their best weights. Training runs in graph mode:
each call of a compiled chunk runs many steps and validations, keeping Python out of the loop.

Apart from validation accuracy for early stopping, labels reach training only from the
labeled set (training labels and self-labels): a labeled-unlabeled pair always compares the
labeled end's label with the unlabeled end's prediction. The reference implementation also
keeps the (unlabeled, labeled) edges as they are and reads the stored, true label of the
unlabeled end, test nodes included; graphnsl does not (see `examples/gam_planetoid.py` for
what that read is worth on Citeseer).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf
from scipy.optimize import brentq
from scipy.special import expit
from tensorflow.core.framework import summary_pb2
from tqdm.auto import tqdm

from graphnsl.gam.agreement import AgreementModel
from graphnsl.gam.classifiers import GCN, mlp_classifier
from graphnsl.gam.config import CotrainConfig
from graphnsl.gam.data import CotrainData
from graphnsl.gam.losses import agreement_regularization
from graphnsl.gam.self_labeling import (
    combine_with_neighbor_votes,
    label_proportions,
    predicted_proportions,
    select_samples_to_label,
    self_labels_to_keep,
)

logger = logging.getLogger(__name__)

_NUM_RANDOM_PAIRS = 20000  # pairs drawn per pool when pairs are not graph edges (GAM*)
_STEPS_PER_CALL = 100  # training steps per compiled call, between Python-side stop checks


@dataclasses.dataclass
class IterationRecord:
    """What one co-training iteration did and measured.

    Attributes:
      iteration: 0-based index.
      num_labeled: labeled nodes the classifier trained on (original plus self-labeled).
      num_new_labels: nodes self-labeled at the end of the iteration.
      val_accuracy, test_accuracy: the classifier's accuracies after restoring its best weights.
      agreement_val_accuracy: the agreement model's accuracy on its held-out labeled pairs
        (None when it was not trained this iteration).
      agreement_eval_accuracy: its accuracy on graph edges among val and test nodes, against
        their true labels (monitoring only; None when not trained).
      classifier_steps, agreement_steps: training steps taken.
      seconds: wall time of the iteration.
      new_label_accuracy: share of the self-labeled nodes whose label matches the data's
        label, where the data has one (monitoring only; None when none could be checked).
      num_dropped_labels: earlier self-labels dropped at the end of the iteration
        (`recheck_self_labels`), before the new ones were chosen.
      self_label_accuracy: share of all self-labels held after the iteration that match the
        data's label (monitoring only; None when none could be checked).
      agreement_logit_offset: what was added to the agreement model's logits this iteration
        (`edge_prior_agr`; 0.0 without it).
    """

    iteration: int
    num_labeled: int
    num_new_labels: int
    val_accuracy: float
    test_accuracy: float
    agreement_val_accuracy: float | None
    agreement_eval_accuracy: float | None
    classifier_steps: int
    agreement_steps: int
    seconds: float
    new_label_accuracy: float | None = None
    num_dropped_labels: int = 0
    self_label_accuracy: float | None = None
    agreement_logit_offset: float = 0.0


@dataclasses.dataclass
class CotrainResult:
    """The outcome of `cotrain`.

    Attributes:
      iterations: one `IterationRecord` per iteration.
      best_iteration: the iteration with the best validation accuracy (first on ties).
      best_val_accuracy: that accuracy.
      test_accuracy: test accuracy at `best_iteration` (what the paper reports for GAM).
      baseline_val_accuracy, baseline_test_accuracy: iteration 0's accuracies (the classifier
        alone when `first_iter_original`).
      classifier: the classifier, holding the weights of `best_iteration`.
      agreement_model: the agreement model as last trained (None with `always_agree`).
      labels: int64 `[num_nodes]` training labels at the end (-1: unlabeled).
      seconds: total wall time.
    """

    iterations: list[IterationRecord]
    best_iteration: int
    best_val_accuracy: float
    test_accuracy: float
    baseline_val_accuracy: float
    baseline_test_accuracy: float
    classifier: keras.Model
    agreement_model: keras.Model | None
    labels: np.ndarray
    seconds: float


def make_classifier_fn(
    name: str, data: CotrainData, hidden: int = 128, seed: int | None = None
) -> Callable[[], keras.Model]:
    """Returns a factory of the paper's classifiers: 'mlp' (MLP_128) or 'gcn' (GCN_128).

    Args:
      name: 'mlp' or 'gcn'.
      data: the problem (classes; the graph for 'gcn').
      hidden: hidden units.
      seed: seed of the GCN's dropout masks.

    Returns:
      A callable building a fresh, unbuilt Keras model.
    """
    if name == "mlp":
        return lambda: mlp_classifier(data.num_classes, hidden=(hidden,))
    if name == "gcn":
        adjacency = data.adjacency()
        return lambda: GCN(adjacency, data.num_classes, hidden=hidden, dropout=0.5, seed=seed)
    raise ValueError(f"classifier={name!r}; valid: 'mlp', 'gcn' or a callable returning a model.")


class _EarlyStopping:
    """Runs `step_fn` in compiled chunks, validating every `eval_every` steps, keeping the best.

    The best weights live in shadow variables updated inside the graph; `run` restores them.
    """

    def __init__(self, step_fn, eval_fn, weights, eval_every: int):
        self.weights = list(weights)
        self.best = [tf.Variable(tf.zeros(w.shape, w.dtype), trainable=False) for w in weights]
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.best_val = tf.Variable(-1.0, dtype=tf.float32, trainable=False)
        self.best_step = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.eval_every = int(eval_every)

        @tf.function
        def chunk(num_evals):
            for _ in tf.range(num_evals):
                for _ in tf.range(self.eval_every):
                    step_fn()
                self.step.assign_add(self.eval_every)
                accuracy = eval_fn()
                if accuracy > self.best_val:
                    self.best_val.assign(accuracy)
                    self.best_step.assign(self.step)
                    for best, weight in zip(self.best, self.weights, strict=True):
                        best.assign(weight)
            return self.best_val

        @tf.function
        def plain(num_steps):
            for _ in tf.range(num_steps):
                step_fn()
            self.step.assign_add(tf.cast(num_steps, tf.int64))

        self.chunk = chunk
        self.plain = plain

    def run(self, min_steps: int, max_steps: int, patience: int, validate: bool = True):
        """Trains; returns `(steps, best_validation_accuracy or None)`."""
        self.step.assign(0)
        self.best_val.assign(-1.0)
        self.best_step.assign(0)
        if not validate:
            steps = max(min_steps, 1)
            self.plain(tf.constant(steps, tf.int32))
            return steps, None
        evals_per_call = max(1, _STEPS_PER_CALL // self.eval_every)
        while True:
            step = int(self.step.numpy())
            remaining = math.ceil((max_steps - step) / self.eval_every)
            if remaining <= 0:
                break
            self.chunk(tf.constant(min(evals_per_call, remaining), tf.int32))
            step = int(self.step.numpy())
            if step >= max(min_steps, int(self.best_step.numpy()) + patience):
                break
        best_val = float(self.best_val.numpy())
        if best_val >= 0:
            for best, weight in zip(self.best, self.weights, strict=True):
                weight.assign(best)
        return int(self.step.numpy()), (best_val if best_val >= 0 else None)


def _random_pairs(rng, left: np.ndarray, right: np.ndarray, count: int) -> np.ndarray:
    if left.size == 0 or right.size == 0:
        return np.zeros((0, 2), np.int64)
    pairs = np.stack([rng.choice(left, count), rng.choice(right, count)], axis=1)
    return pairs[pairs[:, 0] != pairs[:, 1]].astype(np.int64)


def _pairs_with_label_relation(rng, nodes, labels, count: int, same: bool) -> np.ndarray:
    """Draws up to `count` random pairs of `nodes` whose labels agree (`same`) or differ."""
    found, total = [], 0
    for _ in range(20):
        pairs = _random_pairs(rng, nodes, nodes, max(4 * count, 64))
        if pairs.size == 0:
            break
        keep = (labels[pairs[:, 0]] == labels[pairs[:, 1]]) == same
        found.append(pairs[keep])
        total += int(keep.sum())
        if total >= count:
            break
    if not found:
        return np.zeros((0, 2), np.int64)
    return np.concatenate(found)[:count]


def _with_targets(pairs: np.ndarray, target: float | np.ndarray) -> np.ndarray:
    targets = np.broadcast_to(np.asarray(target, np.float32), (len(pairs),))
    return np.concatenate([pairs.astype(np.float32), targets[:, None]], axis=1)


def _both_directions(pairs: np.ndarray) -> np.ndarray:
    return np.concatenate([pairs, pairs[:, ::-1]]) if len(pairs) else pairs


def _agreement_data(data: CotrainData, labels: np.ndarray, labeled: np.ndarray, config, rng):
    """Builds the agreement model's training pools and validation set from labeled pairs.

    Returns `(positives, negatives, validation)`, float32 `[k, 3]` rows `(a, b, agree)`, ids
    as floats. With `add_negative_edges_agr` each batch is half positives, half negatives.
    """
    labeled_nodes = np.flatnonzero(labeled)
    if config.use_graph and config.agr_train_pairs == "edges":
        edges = data.edges[labeled[data.edges[:, 0]] & labeled[data.edges[:, 1]]]
        edges = np.unique(np.sort(edges, axis=1), axis=0)
        order = rng.permutation(len(edges))
        num_val = int(len(edges) * config.ratio_valid_agr)
        val_edges, train_edges = edges[order[:num_val]], edges[order[num_val:]]
        train_agree = labels[train_edges[:, 0]] == labels[train_edges[:, 1]]
        val_agree = labels[val_edges[:, 0]] == labels[val_edges[:, 1]]
        pos = _both_directions(train_edges[train_agree])
        neg = _both_directions(train_edges[~train_agree])
        validation = [_with_targets(val_edges, val_agree.astype(np.float32))]
        if not config.add_negative_edges_agr:
            all_edges = np.concatenate([_with_targets(pos, 1.0), _with_targets(neg, 0.0)])
            return all_edges, np.zeros((0, 3), np.float32), np.concatenate(validation)
        # As many negatives as positives: the negative edges, then random differing pairs;
        # repeated so that one pool holds many random draws in the same proportion.
        repeats = max(1, 2000 // max(len(pos), 1))
        missing = max(len(pos) - len(neg), 0) * repeats
        extra = _pairs_with_label_relation(rng, labeled_nodes, labels, missing, same=False)
        negatives = np.concatenate([np.tile(neg, (repeats, 1)).reshape(-1, 2), extra])
        val_missing = max(int(val_agree.sum()) - int((~val_agree).sum()), 0)
        if val_missing:
            val_extra = _pairs_with_label_relation(rng, labeled_nodes, labels, val_missing, False)
            validation.append(_with_targets(val_extra, 0.0))
        return (
            _with_targets(pos, 1.0),
            _with_targets(negatives, 0.0),
            np.concatenate(validation),
        )
    # No graph (GAM*): random pairs of labeled nodes, split by node, balanced.
    nodes = rng.permutation(labeled_nodes)
    num_val = int(len(nodes) * config.ratio_valid_agr)
    val_nodes, train_nodes = nodes[:num_val], nodes[num_val:]
    pos = _pairs_with_label_relation(rng, train_nodes, labels, _NUM_RANDOM_PAIRS, same=True)
    neg = _pairs_with_label_relation(rng, train_nodes, labels, _NUM_RANDOM_PAIRS, same=False)
    val_pos = _pairs_with_label_relation(rng, val_nodes, labels, 500, same=True)
    val_neg = _pairs_with_label_relation(rng, val_nodes, labels, len(val_pos), same=False)
    validation = np.concatenate([_with_targets(val_pos, 1.0), _with_targets(val_neg, 0.0)])
    return _with_targets(pos, 1.0), _with_targets(neg, 0.0), validation


def edge_agreement_log_odds(edges: np.ndarray, labels: np.ndarray, labeled: np.ndarray) -> float:
    """Returns log(p / (1 - p)), p the Laplace-smoothed share of agreeing labeled-labeled edges.

    Args:
      edges: int `[num_edges, 2]` graph edges (each undirected edge counted once or twice).
      labels: int `[num_nodes]` training labels (-1 where unlabeled).
      labeled: bool `[num_nodes]` which nodes carry a training label.

    Returns:
      The log odds, 0.0 when no edge joins two labeled nodes (p = 1/2).
    """
    both = edges[labeled[edges[:, 0]] & labeled[edges[:, 1]]]
    agree = int(np.sum(labels[both[:, 0]] == labels[both[:, 1]]))
    p = (agree + 1.0) / (len(both) + 2.0)
    return float(np.log(p / (1.0 - p)))


def fit_logit_offset(logits: np.ndarray, target: float) -> float:
    """Returns b with mean(sigmoid(logits + b)) = target (SciPy's Brent root finder).

    Args:
      logits: float `[n]` scores (n >= 1).
      target: the wanted mean probability, in (0, 1).

    Returns:
      The offset b (within 1e-6 of the root, clipped to [-50, 50]).
    """
    logits = np.asarray(logits, np.float64).reshape(-1)
    if not 0.0 < target < 1.0:
        raise ValueError(f"fit_logit_offset: target={target} not in (0, 1).")
    if logits.size == 0:
        raise ValueError("fit_logit_offset: logits is empty.")

    def excess(b: float) -> float:
        return float(np.mean(expit(logits + b))) - target

    # The mean is increasing in b: a root outside the bracket is clipped to its end.
    if excess(-50.0) >= 0.0:
        return -50.0
    if excess(50.0) <= 0.0:
        return 50.0
    return float(brentq(excess, -50.0, 50.0, xtol=1e-6))


def _regularization_pools(data: CotrainData, labeled: np.ndarray, config, rng):
    """Returns the LL, LU (labeled end first) and UU pair pools, int64 `[k, 2]` each."""
    if config.use_graph:
        src, tgt = data.edges[:, 0], data.edges[:, 1]
        ls, lt = labeled[src], labeled[tgt]
        ll = data.edges[ls & lt]
        lu = np.concatenate([data.edges[ls & ~lt], data.edges[~ls & lt][:, ::-1]])
        uu = data.edges[~ls & ~lt]
        return ll, lu, uu
    labeled_nodes = np.flatnonzero(labeled)
    unlabeled_nodes = np.flatnonzero(~labeled)
    return (
        _random_pairs(rng, labeled_nodes, labeled_nodes, _NUM_RANDOM_PAIRS),
        _random_pairs(rng, labeled_nodes, unlabeled_nodes, _NUM_RANDOM_PAIRS),
        _random_pairs(rng, unlabeled_nodes, unlabeled_nodes, _NUM_RANDOM_PAIRS),
    )


def _dynamic_variable(value, dtype) -> tf.Variable:
    value = np.asarray(value)
    shape = [None] + list(value.shape[1:])
    return tf.Variable(tf.constant(value, dtype), shape=tf.TensorShape(shape), trainable=False)


def _reset_optimizer(optimizer, initial_values):
    for variable, value in zip(optimizer.variables, initial_values, strict=True):
        variable.assign(value)


def cotrain(
    data: CotrainData,
    classifier: str | Callable[[], keras.Model] = "mlp",
    config: CotrainConfig | None = None,
    agreement_model_fn: Callable[[], keras.Model] | None = None,
) -> CotrainResult:
    """Co-trains a classifier and an agreement model on `data` (Graph Agreement Models).

    Args:
      data: the nodes, labels, split and edges (`gam.from_planetoid(...)`, ...).
      classifier: 'mlp', 'gcn', or a callable returning a fresh Keras model, either a feature
        model (`[batch, num_features]` -> logits) or a full-graph model (`full_graph = True`:
        all nodes' features -> all nodes' logits); see `graphnsl.gam.classifiers`.
      config: hyperparameters; default `CotrainConfig()`.
      agreement_model_fn: callable returning a fresh agreement model `(x_a, x_b)` -> logits
        `[batch]`; default `AgreementModel` from the config.

    Returns:
      A `CotrainResult`: per-iteration records, the test accuracy at the best validation
      iteration and at iteration 0, and the trained models.
    """
    config = config or CotrainConfig()
    start = time.perf_counter()
    keras.utils.set_random_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    generator = tf.random.Generator.from_seed(config.seed)
    num_nodes, num_classes = data.num_nodes, data.num_classes

    classifier_fn = (
        make_classifier_fn(classifier, data, seed=config.seed)
        if isinstance(classifier, str)
        else classifier
    )
    if agreement_model_fn is None:

        def agreement_model_fn():
            return AgreementModel(
                hidden=config.hidden_agr,
                aggregation=config.aggregation_agr,
                hidden_aggregation=config.hidden_aggregation_agr,
                weight_decay=config.weight_decay_agr,
            )

    dense_features = tf.constant(data.dense_features())
    model = classifier_fn()
    full_graph = bool(getattr(model, "full_graph", False))
    if full_graph and getattr(model, "sparse_inputs", False):
        coo = data.sparse_features().tocoo()
        model_features = tf.sparse.reorder(
            tf.SparseTensor(
                np.stack([coo.row, coo.col], axis=1).astype(np.int64),
                coo.data.astype(np.float32),
                coo.shape,
            )
        )
    else:
        model_features = dense_features

    def build(m):
        if full_graph:
            m(model_features)
        else:
            m(dense_features[:1])
        return m

    build(model)
    cls_optimizer = keras.optimizers.Adam(config.learning_rate_cls)
    cls_optimizer.build(model.trainable_variables)
    cls_optimizer_initial = [v.numpy() for v in cls_optimizer.variables]

    use_agreement_model = not config.always_agree
    agreement_model = None
    if use_agreement_model:
        agreement_model = agreement_model_fn()
        agreement_model((dense_features[:1], dense_features[:1]))
        agr_optimizer = keras.optimizers.Adam(config.learning_rate_agr)
        agr_optimizer.build(agreement_model.trainable_variables)
        agr_optimizer_initial = [v.numpy() for v in agr_optimizer.variables]

    # Per-iteration state lives in variables of unknown length, so nothing retraces.
    labels_var = tf.Variable(np.full(num_nodes, -1, np.int64), trainable=False)
    labeled_ids = _dynamic_variable(np.zeros(1, np.int64), tf.int64)
    ll_pool = _dynamic_variable(np.zeros((0, 2), np.int64), tf.int64)
    lu_pool = _dynamic_variable(np.zeros((0, 3), np.float32), tf.float32)
    uu_pool = _dynamic_variable(np.zeros((0, 3), np.float32), tf.float32)
    reg_on = tf.Variable(0.0, trainable=False)
    agr_pools = [_dynamic_variable(np.zeros((0, 3), np.float32), tf.float32) for _ in range(2)]
    agr_counts = [tf.Variable(0, dtype=tf.int64, trainable=False) for _ in range(2)]
    agr_val = _dynamic_variable(np.zeros((0, 3), np.float32), tf.float32)
    val_ids = tf.constant(data.val_index)
    val_labels = tf.constant(data.labels[data.val_index])

    def sample_rows(pool, count):
        size = tf.shape(pool, out_type=tf.int64)[0]
        count = tf.where(size > 0, tf.cast(count, tf.int64), tf.constant(0, tf.int64))
        index = generator.uniform(
            tf.reshape(count, [1]), minval=0, maxval=tf.maximum(size, 1), dtype=tf.int64
        )
        return tf.gather(pool, index)

    def classifier_logits(ids, training):
        if full_graph:
            return tf.gather(model(model_features, training=training), ids)
        return model(tf.gather(dense_features, ids), training=training)

    @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.int64)])
    def agreement_of_pairs(pairs):
        logits = agreement_model(
            (tf.gather(dense_features, pairs[:, 0]), tf.gather(dense_features, pairs[:, 1])),
            training=False,
        )
        return logits

    def agreement_logits(pairs: np.ndarray) -> np.ndarray:
        pairs = pairs.astype(np.int64).reshape(-1, 2)
        parts = [
            agreement_of_pairs(tf.constant(pairs[i : i + 4096])).numpy()
            for i in range(0, len(pairs), 4096)
        ]
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)

    def with_agreement_column(
        pairs: np.ndarray, trained: bool, logit_offset: float = 0.0
    ) -> np.ndarray:
        """Appends the (fixed) agreement of each pair, so classifier steps only look it up."""
        pairs = pairs.astype(np.int64).reshape(-1, 2)
        if not use_agreement_model:
            agreement = np.ones(len(pairs), np.float32)
        elif not trained:
            agreement = np.zeros(len(pairs), np.float32)
        else:
            logits = agreement_logits(pairs)
            agreement = expit(logits + logit_offset).astype(np.float32)
        return _with_targets(pairs, agreement)

    # A group with a zero weight still counts in the mean (as in the reference), but its
    # pairs skip the forward pass: their predictions are replaced by zeros.
    weighted = {
        "ll": config.reg_weight_ll > 0,
        "lu": config.reg_weight_lu > 0,
        "uu": config.reg_weight_uu > 0,
    }

    def classifier_step():
        batch = sample_rows(labeled_ids, config.batch_size_cls)
        num_pairs = tf.cast(config.num_pairs_reg * reg_on, tf.int64)
        ll = sample_rows(ll_pool, num_pairs)
        lu_rows = sample_rows(lu_pool, num_pairs)
        uu_rows = sample_rows(uu_pool, num_pairs)
        lu = tf.cast(lu_rows[:, :2], tf.int64)
        uu = tf.cast(uu_rows[:, :2], tf.int64)
        groups = [("batch", batch)]
        if weighted["ll"]:
            groups.append(("ll", ll[:, 1]))
        if weighted["lu"]:
            groups.append(("lu", lu[:, 1]))
        if weighted["uu"]:
            groups += [("uu_a", uu[:, 0]), ("uu_b", uu[:, 1])]
        ids = tf.concat([g for _, g in groups], axis=0)
        sizes = tf.stack([tf.size(g) for _, g in groups])
        with tf.GradientTape() as tape:
            logits = classifier_logits(ids, training=True)
            split = dict(zip([n for n, _ in groups], tf.split(logits, sizes), strict=True))
            probs = {n: tf.nn.softmax(v) for n, v in split.items() if n != "batch"}

            def probs_of(name, rows):
                if name in probs:
                    return probs[name]
                return tf.zeros([tf.shape(rows)[0], num_classes], tf.float32)

            supervised = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(
                    labels=tf.gather(labels_var, batch), logits=split["batch"]
                )
            )
            regularization = agreement_regularization(
                ll_labels_source=tf.gather(labels_var, ll[:, 0]),
                ll_labels_target=tf.gather(labels_var, ll[:, 1]),
                ll_probs_target=probs_of("ll", ll),
                lu_labels=tf.gather(labels_var, lu[:, 0]),
                lu_probs=probs_of("lu", lu),
                lu_agreement=lu_rows[:, 2],
                uu_probs_a=probs_of("uu_a", uu),
                uu_probs_b=probs_of("uu_b", uu),
                uu_agreement=uu_rows[:, 2],
                reg_weight_ll=config.reg_weight_ll,
                reg_weight_lu=config.reg_weight_lu,
                reg_weight_uu=config.reg_weight_uu,
                penalize_neg_agr=config.penalize_neg_agr,
            )
            loss = supervised + reg_on * regularization
            if model.losses:
                loss += tf.add_n(model.losses)
        gradients = tape.gradient(loss, model.trainable_variables)
        cls_optimizer.apply(gradients, model.trainable_variables)

    def classifier_val_accuracy():
        predicted = tf.argmax(classifier_logits(val_ids, training=False), axis=-1)
        return tf.reduce_mean(tf.cast(tf.equal(predicted, val_labels), tf.float32))

    cls_loop = _EarlyStopping(
        classifier_step, classifier_val_accuracy, model.weights, config.eval_step_cls
    )

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int64)])
    def predict_probabilities(ids):
        return tf.nn.softmax(classifier_logits(ids, training=False))

    if use_agreement_model:

        def agreement_step():
            rows = tf.concat(
                [sample_rows(p, c) for p, c in zip(agr_pools, agr_counts, strict=True)], axis=0
            )
            a, b = tf.cast(rows[:, 0], tf.int64), tf.cast(rows[:, 1], tf.int64)
            with tf.GradientTape() as tape:
                logits = agreement_model(
                    (tf.gather(dense_features, a), tf.gather(dense_features, b)), training=True
                )
                loss = tf.reduce_mean(
                    tf.nn.sigmoid_cross_entropy_with_logits(labels=rows[:, 2], logits=logits)
                )
                if agreement_model.losses:
                    loss += tf.add_n(agreement_model.losses)
            variables = agreement_model.trainable_variables
            agr_optimizer.apply(tape.gradient(loss, variables), variables)

        def agreement_accuracy(rows):
            a, b = tf.cast(rows[:, 0], tf.int64), tf.cast(rows[:, 1], tf.int64)
            logits = agreement_model(
                (tf.gather(dense_features, a), tf.gather(dense_features, b)), training=False
            )
            correct = tf.equal(logits >= 0.0, rows[:, 2] > 0.5)
            return tf.reduce_mean(tf.cast(correct, tf.float32))

        agr_loop = _EarlyStopping(
            agreement_step,
            lambda: agreement_accuracy(agr_val),
            agreement_model.weights,
            config.eval_step_agr,
        )

    # Pairs of evaluation nodes, for monitoring the agreement model against true labels.
    is_eval = np.zeros(num_nodes, bool)
    is_eval[data.val_index] = True
    is_eval[data.test_index] = True
    eval_edges = data.edges[is_eval[data.edges[:, 0]] & is_eval[data.edges[:, 1]]]
    eval_rows = _with_targets(
        eval_edges, (data.labels[eval_edges[:, 0]] == data.labels[eval_edges[:, 1]])
    )

    labels = np.full(num_nodes, -1, np.int64)
    labels[data.train_index] = data.labels[data.train_index]
    labeled = np.zeros(num_nodes, bool)
    labeled[data.train_index] = True
    is_original = labeled.copy()
    proportions = (
        label_proportions(data.labels[data.train_index], num_classes)
        if config.keep_label_proportions
        else None
    )
    writer = tf.summary.create_file_writer(config.summary_dir) if config.summary_dir else None
    progress = tqdm(
        total=int((~labeled & ~is_eval).sum()),
        desc=f"GAM {data.name}: self-labeled nodes",
        disable=not config.verbose,
        leave=False,
    )

    records: list[IterationRecord] = []
    best_weights, best_val, best_iteration = None, -1.0, 0
    for iteration in range(config.max_num_iter_cotrain):
        iteration_start = time.perf_counter()
        with_agreement = not (config.first_iter_original and iteration == 0)
        labels_var.assign(labels)
        labeled_ids.assign(np.flatnonzero(labeled).astype(np.int64))

        agr_steps, agr_val_acc, agr_eval_acc = 0, None, None
        # Logit shift from the balanced training prior to the graph's edge prior.
        offset = 0.0
        balanced = config.add_negative_edges_agr or config.agr_train_pairs == "labeled"
        use_prior = config.edge_prior_agr and config.use_graph and balanced
        if use_prior:
            offset = edge_agreement_log_odds(data.edges, labels, labeled)
        agreement_trained = False
        pools = None  # the LL/LU/UU pools, when the prior fit below already built them
        if with_agreement and use_agreement_model:
            positives, negatives, validation = _agreement_data(data, labels, labeled, config, rng)
            agreement_trained = len(positives) > 0
            if agreement_trained:
                if not (config.warm_start_agr and iteration > 0):
                    fresh = agreement_model_fn()
                    fresh((dense_features[:1], dense_features[:1]))
                    agreement_model.set_weights(fresh.get_weights())
                _reset_optimizer(agr_optimizer, agr_optimizer_initial)
                agr_pools[0].assign(positives)
                agr_pools[1].assign(negatives if len(negatives) else np.zeros((0, 3), np.float32))
                half = config.batch_size_agr // 2 if len(negatives) else config.batch_size_agr
                agr_counts[0].assign(max(half, 1))
                agr_counts[1].assign(config.batch_size_agr - half if len(negatives) else 0)
                agr_val.assign(validation)
                agr_steps, agr_val_acc = agr_loop.run(
                    config.min_num_iter_agr,
                    config.max_num_iter_agr,
                    config.num_iter_after_best_val_agr,
                    validate=len(validation) > 0,
                )
                if use_prior and config.edge_prior_fit_agr:
                    # Fit the offset so the mean agreement of the LU/UU edges is the prior.
                    pools = _regularization_pools(data, labeled, config, rng)
                    _, lu, uu = pools
                    if len(lu) + len(uu):
                        prior = float(expit(offset))
                        fit_logits = agreement_logits(np.concatenate([lu, uu]))
                        offset = fit_logit_offset(fit_logits, prior)
                if len(eval_rows):
                    predicted = with_agreement_column(eval_edges, True, offset)[:, 2] >= 0.5
                    agr_eval_acc = float(np.mean(predicted == (eval_rows[:, 2] > 0.5)))

        if with_agreement:
            if pools is None:
                pools = _regularization_pools(data, labeled, config, rng)
            ll, lu, uu = pools
            ll_pool.assign(ll.astype(np.int64).reshape(-1, 2))
            lu_agreement_rows = with_agreement_column(lu, agreement_trained, offset)
            lu_pool.assign(lu_agreement_rows)
            uu_pool.assign(with_agreement_column(uu, agreement_trained, offset))
            reg_on.assign(1.0)
        else:
            reg_on.assign(0.0)

        if not (config.warm_start_cls and iteration > 0):
            model.set_weights(build(classifier_fn()).get_weights())
        _reset_optimizer(cls_optimizer, cls_optimizer_initial)
        cls_steps, _ = cls_loop.run(
            config.min_num_iter_cls, config.max_num_iter_cls, config.num_iter_after_best_val_cls
        )
        probabilities_val = predict_probabilities(tf.constant(data.val_index)).numpy()
        probabilities_test = predict_probabilities(tf.constant(data.test_index)).numpy()
        val_acc = float((probabilities_val.argmax(-1) == data.labels[data.val_index]).mean())
        test_acc = float((probabilities_test.argmax(-1) == data.labels[data.test_index]).mean())
        if val_acc > best_val:
            best_val, best_iteration = val_acc, iteration
            best_weights = model.get_weights()

        num_labeled = int(labeled.sum())
        num_new = num_dropped = 0
        new_label_acc = None
        stop = False
        if with_agreement:
            self_labeled = np.flatnonzero(labeled & ~is_original)
            if config.recheck_self_labels and self_labeled.size:
                current = predict_probabilities(tf.constant(self_labeled)).numpy()
                keep = self_labels_to_keep(
                    current, labels[self_labeled], config.min_confidence_new_label
                )
                dropped = self_labeled[~keep]
                labels[dropped] = -1
                labeled[dropped] = False
                num_dropped = int(dropped.size)
                progress.update(-num_dropped)
            candidates = np.flatnonzero(~labeled & ~is_eval)
            if candidates.size:
                probabilities = predict_probabilities(tf.constant(candidates)).numpy()
                votes_known = agreement_trained or not use_agreement_model
                if config.self_label_votes_agr and votes_known and len(lu_agreement_rows):
                    voters = lu_agreement_rows[:, :2].astype(np.int64)
                    still = labeled[voters[:, 0]]
                    probabilities = combine_with_neighbor_votes(
                        probabilities,
                        candidates,
                        voters[still],
                        lu_agreement_rows[still, 2],
                        labels,
                    )
                if config.keep_label_proportions and config.label_proportions_from == "predicted":
                    proportions = predicted_proportions(probabilities, num_classes)
                nodes, new_labels = select_samples_to_label(
                    probabilities,
                    candidates,
                    config.num_samples_to_label,
                    config.min_confidence_new_label,
                    proportions,
                )
                labels[nodes] = new_labels
                labeled[nodes] = True
                num_new = int(nodes.size)
                known = data.labels[nodes] >= 0
                if known.any():
                    new_label_acc = float(np.mean(new_labels[known] == data.labels[nodes][known]))
                progress.update(num_new)
            # Dropping labels alone changes the labeled set; stop only when nothing changed.
            stop = num_new == 0 and num_dropped == 0
        held = np.flatnonzero(labeled & ~is_original)
        held = held[data.labels[held] >= 0]
        self_label_acc = float(np.mean(labels[held] == data.labels[held])) if held.size else None

        record = IterationRecord(
            iteration=iteration,
            num_labeled=num_labeled,
            num_new_labels=num_new,
            val_accuracy=val_acc,
            test_accuracy=test_acc,
            agreement_val_accuracy=agr_val_acc,
            agreement_eval_accuracy=agr_eval_acc,
            classifier_steps=cls_steps,
            agreement_steps=agr_steps,
            seconds=time.perf_counter() - iteration_start,
            new_label_accuracy=new_label_acc,
            num_dropped_labels=num_dropped,
            self_label_accuracy=self_label_acc,
            agreement_logit_offset=float(offset),
        )
        records.append(record)
        _log(record, config.verbose)
        if writer is not None:
            _write_scalars(
                writer,
                iteration,
                {
                    "cotrain/val_acc": val_acc,
                    "cotrain/test_acc": test_acc,
                    "cotrain/num_labeled": num_labeled,
                    "cotrain/num_new_labels": num_new,
                    "cotrain/classifier_steps": cls_steps,
                    "cotrain/agreement_steps": agr_steps,
                    "cotrain/agreement_val_acc": agr_val_acc,
                    "cotrain/agreement_eval_acc": agr_eval_acc,
                    "cotrain/new_label_acc": new_label_acc,
                    "cotrain/num_dropped_labels": num_dropped,
                    "cotrain/self_label_acc": self_label_acc,
                },
            )
        if stop:
            break
    progress.close()
    if writer is not None:
        writer.close()
    model.set_weights(best_weights)
    return CotrainResult(
        iterations=records,
        best_iteration=best_iteration,
        best_val_accuracy=best_val,
        test_accuracy=records[best_iteration].test_accuracy,
        baseline_val_accuracy=records[0].val_accuracy,
        baseline_test_accuracy=records[0].test_accuracy,
        classifier=model,
        agreement_model=agreement_model,
        labels=labels,
        seconds=time.perf_counter() - start,
    )


def _write_scalars(writer, step: int, scalars: dict) -> None:
    """Writes TensorBoard scalars with core TensorFlow ops (no TensorBoard install needed)."""
    metadata = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
    ).SerializeToString()
    with writer.as_default():
        for name, value in scalars.items():
            if value is not None:
                tf.summary.write(name, tf.constant(value, tf.float32), step=step, metadata=metadata)
    writer.flush()


def _log(record: IterationRecord, verbose: bool) -> None:
    def fmt(value):
        return "  -  " if value is None else f"{value:.4f}"

    line = (
        f"iter {record.iteration:3d} | labeled {record.num_labeled:5d} (+{record.num_new_labels:4d})"
        f" | agr val {fmt(record.agreement_val_accuracy)} eval {fmt(record.agreement_eval_accuracy)}"
        f" ({record.agreement_steps} steps) | cls val {record.val_accuracy:.4f} "
        f"test {record.test_accuracy:.4f} ({record.classifier_steps} steps) | "
        f"new labels acc {fmt(record.new_label_accuracy)} all {fmt(record.self_label_accuracy)}"
        f" (-{record.num_dropped_labels}) | {record.seconds:.1f}s"
    )
    # One console line per iteration: through tqdm (keeps the progress bar intact) when
    # verbose, else through logging.
    if verbose:
        tqdm.write(line)
    else:
        logger.info(line)
