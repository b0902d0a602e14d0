"""Co-training of a classifier and an agreement model: the GAM loop (Stretcu et al. 2019).

Each iteration (1) trains the agreement model on labeled pairs, (2) trains the classifier on
its supervised loss plus the agreement-weighted regularization over LL/LU/UU pairs, and (3)
self-labels the unlabeled nodes it is most confident about. Iteration 0 trains the classifier
alone (`first_iter_original`), the baseline the paper reports. Both models train with early
stopping on validation accuracy and restore their best weights. Training runs in graph mode:
each call of a compiled chunk runs many steps and validations, keeping Python out of the loop.

Apart from validation accuracy for early stopping, labels reach training only from the
labeled set (training labels and self-labels): a labeled-unlabeled pair always compares the
labeled end's label with the unlabeled end's prediction. The reference implementation (NSL
`research/gam`) did not do so before PR #82 (commit 52ea737, 2021-04-10, NSL issue #81): it
kept the (unlabeled, labeled) edges as they were and read the stored, true label of the
unlabeled end, test nodes included. PR #82 reversed those edges, and the GAM results of the
reference's "Updated Results" table were re-measured after it, so that table is leak-free and
is what `examples/gam_planetoid.py` compares against.

By default the pairs and the stopping follow the reference's trainers (`CotrainConfig`'s
`reg_pairs`, `agr_stopping` and `random_pairs`): a classifier step takes `num_pairs_reg`
pairs of each kind, or a whole pool when it is smaller, the LL group holding only the
label-matching LL edges, and averages over all of them; without the graph (GAM*) it draws new
random pairs every step; the agreement model validates on held-out directed labeled edges as
they are and stops at its first perfect validation accuracy.

The loop is a `CoTrainer`: one method per phase (`train_agreement`, `set_regularization`,
`train_classifier`, `self_label`, `record`), the labeled set and the pair pools in its fields.
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
      num_confident_candidates: self-labeling candidates whose top class probability was
        above `min_confidence_new_label` (None when the iteration did not self-label).
      max_candidate_confidence: the largest top class probability among the candidates
        (None when the iteration did not self-label or had no candidate).
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
    num_confident_candidates: int | None = None
    max_candidate_confidence: float | None = None


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
    `run(..., stop_at=a)` also stops at the first validation accuracy >= a.
    """

    def __init__(self, step_fn, eval_fn, weights, eval_every: int):
        self.weights = list(weights)
        self.best = [tf.Variable(tf.zeros(w.shape, w.dtype), trainable=False) for w in weights]
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.best_val = tf.Variable(-1.0, dtype=tf.float32, trainable=False)
        self.best_step = tf.Variable(0, dtype=tf.int64, trainable=False)
        # Validation accuracy at which training stops at once (above 1: never).
        self.stop_at = tf.Variable(2.0, dtype=tf.float32, trainable=False)
        self.eval_every = int(eval_every)

        def evaluate():
            accuracy = eval_fn()
            if accuracy > self.best_val:
                self.best_val.assign(accuracy)
                self.best_step.assign(self.step)
                for best, weight in zip(self.best, self.weights, strict=True):
                    best.assign(weight)

        @tf.function
        def chunk(num_evals):
            for _ in tf.range(num_evals):
                for _ in tf.range(self.eval_every):
                    step_fn()
                self.step.assign_add(self.eval_every)
                evaluate()
                if self.best_val >= self.stop_at:
                    break
            return self.best_val

        @tf.function
        def first():
            step_fn()
            self.step.assign_add(1)
            evaluate()

        @tf.function
        def plain(num_steps):
            for _ in tf.range(num_steps):
                step_fn()
            self.step.assign_add(tf.cast(num_steps, tf.int64))

        self.chunk = chunk
        self.first = first
        self.plain = plain

    def run(
        self,
        min_steps: int,
        max_steps: int,
        patience: int,
        validate: bool = True,
        stop_at: float | None = None,
        validate_first_step: bool = False,
    ):
        """Trains; returns `(steps, best_validation_accuracy or None)`.

        Without `validate`, trains `max(min_steps, 1)` steps. Otherwise validates every
        `eval_every` steps (and after the first one with `validate_first_step`), and stops
        `patience` steps after the best (at least `min_steps`, at most `max_steps`), or at the
        first validation accuracy >= `stop_at`.
        """
        self.step.assign(0)
        self.best_val.assign(-1.0)
        self.best_step.assign(0)
        self.stop_at.assign(2.0 if stop_at is None else stop_at)
        if not validate:
            steps = max(min_steps, 1)
            self.plain(tf.constant(steps, tf.int32))
            return steps, None
        evals_per_call = max(1, _STEPS_PER_CALL // self.eval_every)
        if validate_first_step:
            self.first()
        while float(self.best_val.numpy()) < float(self.stop_at.numpy()):
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
        reference = config.agr_stopping == "reference"
        edges = data.edges[labeled[data.edges[:, 0]] & labeled[data.edges[:, 1]]]
        if not reference:
            edges = np.unique(np.sort(edges, axis=1), axis=0)
        # 'reference' splits the directed edges (an edge's reverse may fall on the other side).
        order = rng.permutation(len(edges))
        num_val = int(len(edges) * config.ratio_valid_agr)
        val_edges, train_edges = edges[order[:num_val]], edges[order[num_val:]]
        train_agree = labels[train_edges[:, 0]] == labels[train_edges[:, 1]]
        val_agree = labels[val_edges[:, 0]] == labels[val_edges[:, 1]]
        pos, neg = train_edges[train_agree], train_edges[~train_agree]
        if not reference:
            pos, neg = _both_directions(pos), _both_directions(neg)
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
        if val_missing and not reference:
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


@dataclasses.dataclass
class AgreementOutcome:
    """What the agreement phase of one iteration did.

    Attributes:
      trained: the agreement model was (re)trained this iteration (False without labeled
        pairs to train on, in iteration 0 with `first_iter_original`, or with `always_agree`).
      steps: its training steps.
      val_accuracy: its accuracy on its held-out labeled pairs (None when not validated).
      eval_accuracy: its accuracy on graph edges among val and test nodes against their true
        labels (monitoring only; None when not trained).
      logit_offset: what is added to its logits (`edge_prior_agr`; 0.0 without it).
    """

    trained: bool = False
    steps: int = 0
    val_accuracy: float | None = None
    eval_accuracy: float | None = None
    logit_offset: float = 0.0


@dataclasses.dataclass
class SelfLabelOutcome:
    """What the self-labeling phase of one iteration did.

    Attributes:
      num_new: nodes self-labeled.
      num_dropped: earlier self-labels dropped first (`recheck_self_labels`).
      new_label_accuracy: share of the new labels that match the data's label, where the data
        has one (monitoring only; None when none could be checked).
      num_confident: candidates above `min_confidence_new_label` (None: no self-labeling).
      max_confidence: the candidates' largest top class probability (None: no candidate).
    """

    num_new: int = 0
    num_dropped: int = 0
    new_label_accuracy: float | None = None
    num_confident: int | None = None
    max_confidence: float | None = None


class CoTrainer:
    """The GAM co-training loop as an object: one method per phase, the state in fields.

    `cotrain` builds one and calls `run`. Each iteration `run_iteration` calls, in order:
    `load_labels` (the labeled set into the compiled steps), `train_agreement`,
    `set_regularization` (the LL/LU/UU pools and their agreement), `train_classifier`,
    `self_label` and `record`. The phases can also be called one by one (the tests do).

    Attributes:
      data, config: the problem and the hyperparameters.
      rng: NumPy generator of the pair pools (seeded by `config.seed`).
      model: the classifier; `agreement_model` the agreement model (None with `always_agree`).
      labels: int64 `[num_nodes]` training labels (-1: unlabeled): the original training
        labels and the self-labels. `labeled`: bool `[num_nodes]`, `labels >= 0`.
      is_original: bool `[num_nodes]`, the original training nodes (never dropped).
      is_eval: bool `[num_nodes]`, validation and test nodes (never self-labeled).
      proportions: the class shares of the self-label quotas (None: no quotas).
      lu_rows: float32 `[k, 3]` this iteration's LU pairs `(labeled, unlabeled, agreement)`.
      records: one `IterationRecord` per finished iteration.
      best_iteration, best_val_accuracy, best_weights: the best validation iteration so far.
    """

    def __init__(
        self,
        data: CotrainData,
        classifier: str | Callable[[], keras.Model] = "mlp",
        config: CotrainConfig | None = None,
        agreement_model_fn: Callable[[], keras.Model] | None = None,
    ):
        config = config or CotrainConfig()
        self.data, self.config = data, config
        self.start = time.perf_counter()
        keras.utils.set_random_seed(config.seed)
        self.rng = np.random.default_rng(config.seed)
        self.generator = tf.random.Generator.from_seed(config.seed)
        num_nodes = data.num_nodes
        self.classifier_fn = (
            make_classifier_fn(classifier, data, seed=config.seed)
            if isinstance(classifier, str)
            else classifier
        )
        self.agreement_model_fn = agreement_model_fn or self._default_agreement_model

        self.dense_features = tf.constant(data.dense_features())
        self.model = self.classifier_fn()
        self.full_graph = bool(getattr(self.model, "full_graph", False))
        self.model_features = self.dense_features
        if self.full_graph and getattr(self.model, "sparse_inputs", False):
            coo = data.sparse_features().tocoo()
            self.model_features = tf.sparse.reorder(
                tf.SparseTensor(
                    np.stack([coo.row, coo.col], axis=1).astype(np.int64),
                    coo.data.astype(np.float32),
                    coo.shape,
                )
            )
        self._build_classifier(self.model)
        self.cls_optimizer = keras.optimizers.Adam(config.learning_rate_cls)
        self.cls_optimizer.build(self.model.trainable_variables)
        self._cls_optimizer_initial = [v.numpy() for v in self.cls_optimizer.variables]

        self.use_agreement_model = not config.always_agree
        self.agreement_model = None
        if self.use_agreement_model:
            self.agreement_model = self.agreement_model_fn()
            self.agreement_model((self.dense_features[:1], self.dense_features[:1]))
            self.agr_optimizer = keras.optimizers.Adam(config.learning_rate_agr)
            self.agr_optimizer.build(self.agreement_model.trainable_variables)
            self._agr_optimizer_initial = [v.numpy() for v in self.agr_optimizer.variables]

        # Per-iteration state the compiled steps read lives in variables of unknown length,
        # so nothing retraces.
        self.labels_var = tf.Variable(np.full(num_nodes, -1, np.int64), trainable=False)
        self.labeled_ids = _dynamic_variable(np.zeros(1, np.int64), tf.int64)
        # The current pass over the labeled set with node_batch='epochs'.
        self.pass_order = _dynamic_variable(np.zeros(0, np.int64), tf.int64)
        self.pass_cursor = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.ll_pool = _dynamic_variable(np.zeros((0, 2), np.int64), tf.int64)
        self.lu_pool = _dynamic_variable(np.zeros((0, 3), np.float32), tf.float32)
        self.uu_pool = _dynamic_variable(np.zeros((0, 3), np.float32), tf.float32)
        self.reg_on = tf.Variable(0.0, trainable=False)
        # random_pairs='fresh' (no graph): the unlabeled nodes, and what the step needs to
        # score the pairs it draws (whether the agreement model was trained, its offset).
        self.unlabeled_ids = _dynamic_variable(np.zeros(0, np.int64), tf.int64)
        self.agr_trained = tf.Variable(0.0, trainable=False)
        self.agr_offset = tf.Variable(0.0, trainable=False)
        self.fresh_pairs = not config.use_graph and config.random_pairs == "fresh"
        self.agr_pools = [
            _dynamic_variable(np.zeros((0, 3), np.float32), tf.float32) for _ in range(2)
        ]
        self.agr_counts = [tf.Variable(0, dtype=tf.int64, trainable=False) for _ in range(2)]
        self.agr_val = _dynamic_variable(np.zeros((0, 3), np.float32), tf.float32)
        self.val_ids = tf.constant(data.val_index)
        self.val_labels = tf.constant(data.labels[data.val_index])
        # A group with a zero weight still counts in the mean (as in the reference), but its
        # pairs skip the forward pass: their predictions are replaced by zeros.
        self.weighted = {
            "ll": config.reg_weight_ll > 0,
            "lu": config.reg_weight_lu > 0,
            "uu": config.reg_weight_uu > 0,
        }

        self.cls_loop = _EarlyStopping(
            self._classifier_step,
            self._classifier_val_accuracy,
            self.model.weights,
            config.eval_step_cls,
        )
        self.predict_probabilities = tf.function(
            self._predict_probabilities, input_signature=[tf.TensorSpec([None], tf.int64)]
        )
        if self.use_agreement_model:
            self._agreement_of_pairs = tf.function(
                self._agreement_of_pairs_fn, input_signature=[tf.TensorSpec([None, 2], tf.int64)]
            )
            self.agr_loop = _EarlyStopping(
                self._agreement_step,
                lambda: self._agreement_accuracy(self.agr_val),
                self.agreement_model.weights,
                config.eval_step_agr,
            )

        # Pairs of evaluation nodes, for monitoring the agreement model against true labels.
        self.is_eval = np.zeros(num_nodes, bool)
        self.is_eval[data.val_index] = True
        self.is_eval[data.test_index] = True
        self.eval_edges = data.edges[
            self.is_eval[data.edges[:, 0]] & self.is_eval[data.edges[:, 1]]
        ]
        self.eval_agree = data.labels[self.eval_edges[:, 0]] == data.labels[self.eval_edges[:, 1]]

        self.labels = np.full(num_nodes, -1, np.int64)
        self.labels[data.train_index] = data.labels[data.train_index]
        self.labeled = np.zeros(num_nodes, bool)
        self.labeled[data.train_index] = True
        self.is_original = self.labeled.copy()
        self.proportions = (
            label_proportions(data.labels[data.train_index], data.num_classes)
            if config.keep_label_proportions
            else None
        )
        self.lu_rows = np.zeros((0, 3), np.float32)
        self.records: list[IterationRecord] = []
        self.best_weights, self.best_val_accuracy, self.best_iteration = None, -1.0, 0
        self.writer = (
            tf.summary.create_file_writer(config.summary_dir) if config.summary_dir else None
        )
        self.progress = tqdm(
            total=int((~self.labeled & ~self.is_eval).sum()),
            desc=f"GAM {data.name}: self-labeled nodes",
            disable=not config.verbose,
            leave=False,
        )

    # -- models and compiled steps ------------------------------------------------------

    def _default_agreement_model(self) -> keras.Model:
        config = self.config
        return AgreementModel(
            hidden=config.hidden_agr,
            aggregation=config.aggregation_agr,
            hidden_aggregation=config.hidden_aggregation_agr,
            weight_decay=config.weight_decay_agr,
        )

    def _build_classifier(self, model: keras.Model) -> keras.Model:
        if self.full_graph:
            model(self.model_features)
        else:
            model(self.dense_features[:1])
        return model

    def _sample_rows(self, pool, count):
        """Draws `count` rows of `pool` uniformly with replacement (none if it is empty)."""
        size = tf.shape(pool, out_type=tf.int64)[0]
        count = tf.where(size > 0, tf.cast(count, tf.int64), tf.constant(0, tf.int64))
        index = self.generator.uniform(
            tf.reshape(count, [1]), minval=0, maxval=tf.maximum(size, 1), dtype=tf.int64
        )
        return tf.gather(pool, index)

    def _pair_rows(self, pool, count):
        """One step's pairs of `pool` for the agreement term (see `CotrainConfig.reg_pairs`).

        'reference': the whole pool when it holds no more than `count` pairs (the reference's
        edge iterator yields a short pool whole), else `count` drawn with replacement.
        'sampled': always `count` drawn with replacement (none from an empty pool).
        """
        if self.config.reg_pairs == "sampled":
            return self._sample_rows(pool, count)
        size = tf.shape(pool, out_type=tf.int64)[0]
        count = tf.cast(count, tf.int64)
        return tf.cond(
            tf.logical_and(count > 0, size <= count),
            lambda: tf.identity(pool),
            lambda: self._sample_rows(pool, count),
        )

    def _random_pairs_of(self, left, right, count):
        """int64 `[count, 2]` pairs, ends drawn uniformly from `left` and `right` (none if empty)."""
        sizes = tf.stack([tf.size(left, out_type=tf.int64), tf.size(right, out_type=tf.int64)])
        count = tf.where(tf.reduce_min(sizes) > 0, tf.cast(count, tf.int64), 0)
        return tf.stack([self._sample_rows(left, count), self._sample_rows(right, count)], axis=1)

    def _scored(self, pairs):
        """float32 `[k, 3]` rows `(a, b, agreement)` of int64 pairs, scored in the step."""
        if not self.use_agreement_model:
            agreement = tf.ones(tf.shape(pairs)[:1], tf.float32)
        else:
            logits = tf.stop_gradient(self._agreement_of_pairs_fn(pairs))
            agreement = self.agr_trained * tf.sigmoid(logits + self.agr_offset)
        return tf.concat([tf.cast(pairs, tf.float32), agreement[:, None]], axis=1)

    def _fresh_random_pairs(self, count):
        """One step's LL, LU and UU random pairs (`random_pairs='fresh'`, the reference's
        GAM*): `count` new pairs of each kind, LU and UU scored by the agreement model."""
        labeled, unlabeled = self.labeled_ids, self.unlabeled_ids
        ll = self._random_pairs_of(labeled, labeled, count)
        lu = self._scored(self._random_pairs_of(labeled, unlabeled, count))
        uu = self._scored(self._random_pairs_of(unlabeled, unlabeled, count))
        return ll, lu, uu

    def _classifier_logits(self, ids, training):
        if self.full_graph:
            return tf.gather(self.model(self.model_features, training=training), ids)
        return self.model(tf.gather(self.dense_features, ids), training=training)

    def _predict_probabilities(self, ids):
        return tf.nn.softmax(self._classifier_logits(ids, training=False))

    def _agreement_of_pairs_fn(self, pairs):
        return self.agreement_model(
            (
                tf.gather(self.dense_features, pairs[:, 0]),
                tf.gather(self.dense_features, pairs[:, 1]),
            ),
            training=False,
        )

    def agreement_logits(self, pairs: np.ndarray) -> np.ndarray:
        """The agreement model's logits of int `[k, 2]` node pairs, float32 `[k]`."""
        pairs = pairs.astype(np.int64).reshape(-1, 2)
        parts = [
            self._agreement_of_pairs(tf.constant(pairs[i : i + 4096])).numpy()
            for i in range(0, len(pairs), 4096)
        ]
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)

    def with_agreement_column(
        self, pairs: np.ndarray, trained: bool, logit_offset: float = 0.0
    ) -> np.ndarray:
        """Appends each pair's (fixed) agreement, so classifier steps only look it up.

        Args:
          pairs: int `[k, 2]` node pairs.
          trained: whether the agreement model was trained (untrained: agreement 0).
          logit_offset: added to the logits before the sigmoid.

        Returns:
          float32 `[k, 3]` rows `(a, b, agreement)`; agreement 1 with `always_agree`.
        """
        pairs = pairs.astype(np.int64).reshape(-1, 2)
        if not self.use_agreement_model:
            agreement = np.ones(len(pairs), np.float32)
        elif not trained:
            agreement = np.zeros(len(pairs), np.float32)
        else:
            agreement = expit(self.agreement_logits(pairs) + logit_offset).astype(np.float32)
        return _with_targets(pairs, agreement)

    def _classifier_batch(self):
        """The labeled nodes of one classifier step.

        A full-graph classifier computes every node anyway, so by default (as the reference's
        GCN trainer) it takes every labeled node each step; see `CotrainConfig.node_batch` and
        `full_graph_batch` for the others.
        """
        config = self.config
        if self.full_graph:
            if config.full_graph_batch == "all":
                return tf.identity(self.labeled_ids)
        elif config.node_batch == "epochs":
            return self._next_in_pass(config.batch_size_cls)
        return self._sample_rows(self.labeled_ids, config.batch_size_cls)

    def _next_in_pass(self, batch_size: int):
        """The next `batch_size` nodes of a shuffled pass over the labeled set."""
        size = tf.shape(self.labeled_ids, out_type=tf.int64)[0]
        if size <= batch_size:
            return tf.identity(self.labeled_ids)
        if self.pass_cursor + batch_size > tf.shape(self.pass_order, out_type=tf.int64)[0]:
            order = tf.argsort(self.generator.uniform(tf.reshape(size, [1])))
            self.pass_order.assign(tf.gather(self.labeled_ids, order))
            self.pass_cursor.assign(0)
        start = self.pass_cursor.read_value()
        self.pass_cursor.assign_add(batch_size)
        return self.pass_order[start : start + batch_size]

    def _classifier_step(self):
        config = self.config
        batch = self._classifier_batch()
        num_pairs = tf.cast(config.num_pairs_reg * self.reg_on, tf.int64)
        if self.fresh_pairs:
            ll, lu_rows, uu_rows = self._fresh_random_pairs(num_pairs)
        else:
            ll = self._pair_rows(self.ll_pool, num_pairs)
            lu_rows = self._pair_rows(self.lu_pool, num_pairs)
            uu_rows = self._pair_rows(self.uu_pool, num_pairs)
        lu = tf.cast(lu_rows[:, :2], tf.int64)
        uu = tf.cast(uu_rows[:, :2], tf.int64)
        groups = [("batch", batch)]
        if self.weighted["ll"]:
            groups.append(("ll", ll[:, 1]))
        if self.weighted["lu"]:
            groups.append(("lu", lu[:, 1]))
        if self.weighted["uu"]:
            groups += [("uu_a", uu[:, 0]), ("uu_b", uu[:, 1])]
        ids = tf.concat([g for _, g in groups], axis=0)
        sizes = tf.stack([tf.size(g) for _, g in groups])
        num_classes = self.data.num_classes
        with tf.GradientTape() as tape:
            if self.full_graph and config.full_graph_passes == "two":
                # The reference's GCN trainer: the agreement term's predictions come from a
                # second pass over the graph, which draws its own dropout masks.
                logits = tf.concat(
                    [
                        self._classifier_logits(batch, training=True),
                        self._classifier_logits(ids[tf.size(batch) :], training=True),
                    ],
                    axis=0,
                )
            else:
                logits = self._classifier_logits(ids, training=True)
            split = dict(zip([n for n, _ in groups], tf.split(logits, sizes), strict=True))
            probs = {n: tf.nn.softmax(v) for n, v in split.items() if n != "batch"}

            def probs_of(name, rows):
                if name in probs:
                    return probs[name]
                return tf.zeros([tf.shape(rows)[0], num_classes], tf.float32)

            supervised = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(
                    labels=tf.gather(self.labels_var, batch), logits=split["batch"]
                )
            )
            regularization = agreement_regularization(
                ll_labels_source=tf.gather(self.labels_var, ll[:, 0]),
                ll_labels_target=tf.gather(self.labels_var, ll[:, 1]),
                ll_probs_target=probs_of("ll", ll),
                lu_labels=tf.gather(self.labels_var, lu[:, 0]),
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
            loss = supervised + self.reg_on * regularization
            if self.model.losses:
                loss += tf.add_n(self.model.losses)
        gradients = tape.gradient(loss, self.model.trainable_variables)
        self.cls_optimizer.apply(gradients, self.model.trainable_variables)

    def _classifier_val_accuracy(self):
        predicted = tf.argmax(self._classifier_logits(self.val_ids, training=False), axis=-1)
        return tf.reduce_mean(tf.cast(tf.equal(predicted, self.val_labels), tf.float32))

    def _agreement_step(self):
        rows = tf.concat(
            [
                self._sample_rows(pool, count)
                for pool, count in zip(self.agr_pools, self.agr_counts, strict=True)
            ],
            axis=0,
        )
        a, b = tf.cast(rows[:, 0], tf.int64), tf.cast(rows[:, 1], tf.int64)
        with tf.GradientTape() as tape:
            logits = self.agreement_model(
                (tf.gather(self.dense_features, a), tf.gather(self.dense_features, b)),
                training=True,
            )
            loss = tf.reduce_mean(
                tf.nn.sigmoid_cross_entropy_with_logits(labels=rows[:, 2], logits=logits)
            )
            if self.agreement_model.losses:
                loss += tf.add_n(self.agreement_model.losses)
        variables = self.agreement_model.trainable_variables
        self.agr_optimizer.apply(tape.gradient(loss, variables), variables)

    def _agreement_accuracy(self, rows):
        a, b = tf.cast(rows[:, 0], tf.int64), tf.cast(rows[:, 1], tf.int64)
        logits = self.agreement_model(
            (tf.gather(self.dense_features, a), tf.gather(self.dense_features, b)),
            training=False,
        )
        correct = tf.equal(logits >= 0.0, rows[:, 2] > 0.5)
        return tf.reduce_mean(tf.cast(correct, tf.float32))

    # -- the phases ---------------------------------------------------------------------

    def uses_agreement(self, iteration: int) -> bool:
        """Whether `iteration` trains with the agreement term and self-labels."""
        return not (self.config.first_iter_original and iteration == 0)

    def load_labels(self) -> None:
        """Copies the labeled set into the variables the compiled steps read."""
        self.labels_var.assign(self.labels)
        self.labeled_ids.assign(np.flatnonzero(self.labeled).astype(np.int64))
        self.unlabeled_ids.assign(np.flatnonzero(~self.labeled).astype(np.int64))
        self.pass_order.assign(np.zeros(0, np.int64))
        self.pass_cursor.assign(0)

    def prior_logit_offset(self) -> float:
        """The log odds of agreement among labeled edges (`edge_prior_agr`), else 0.0."""
        if self._uses_prior():
            return edge_agreement_log_odds(self.data.edges, self.labels, self.labeled)
        return 0.0

    def _uses_prior(self) -> bool:
        config = self.config
        balanced = config.add_negative_edges_agr or config.agr_train_pairs == "labeled"
        return config.edge_prior_agr and config.use_graph and balanced

    def train_agreement(self, iteration: int) -> AgreementOutcome:
        """Phase 1: (re)trains the agreement model on pairs of labeled nodes.

        Draws the training pools and the held-out pairs from the current labeled set,
        re-initializes the model unless `warm_start_agr`, resets its optimizer and trains it
        with early stopping on the held-out pairs. Nothing is trained without positive pairs.

        Args:
          iteration: the co-training iteration (0-based).

        Returns:
          An `AgreementOutcome` (its `logit_offset` left at 0.0; `run_iteration` sets it).
        """
        config = self.config
        outcome = AgreementOutcome()
        positives, negatives, validation = _agreement_data(
            self.data, self.labels, self.labeled, config, self.rng
        )
        if len(positives) == 0:
            return outcome
        if not (config.warm_start_agr and iteration > 0):
            fresh = self.agreement_model_fn()
            fresh((self.dense_features[:1], self.dense_features[:1]))
            self.agreement_model.set_weights(fresh.get_weights())
        _reset_optimizer(self.agr_optimizer, self._agr_optimizer_initial)
        self.agr_pools[0].assign(positives)
        self.agr_pools[1].assign(negatives if len(negatives) else np.zeros((0, 3), np.float32))
        half = config.batch_size_agr // 2 if len(negatives) else config.batch_size_agr
        self.agr_counts[0].assign(max(half, 1))
        self.agr_counts[1].assign(config.batch_size_agr - half if len(negatives) else 0)
        self.agr_val.assign(validation)
        reference = config.agr_stopping == "reference"
        outcome.steps, outcome.val_accuracy = self.agr_loop.run(
            1 if reference and not len(validation) else config.min_num_iter_agr,
            config.max_num_iter_agr,
            config.num_iter_after_best_val_agr,
            validate=len(validation) > 0,
            stop_at=1.0 if reference else None,
            validate_first_step=reference,
        )
        outcome.trained = True
        return outcome

    def regularization_pools(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The LL, LU (labeled end first) and UU pair pools of the current labeled set."""
        return _regularization_pools(self.data, self.labeled, self.config, self.rng)

    def calibrate_agreement(self, outcome: AgreementOutcome, pools) -> None:
        """Fits the logit offset (`edge_prior_fit_agr`) and measures the eval-edge accuracy.

        With `edge_prior_fit_agr`, the offset is chosen so that the mean agreement of the LU
        and UU pairs equals the labeled edges' agreement prior. Updates `outcome` in place.
        """
        if not outcome.trained:
            return
        if self._uses_prior() and self.config.edge_prior_fit_agr:
            _, lu, uu = pools
            if len(lu) + len(uu):
                prior = float(expit(outcome.logit_offset))
                fit_logits = self.agreement_logits(np.concatenate([lu, uu]))
                outcome.logit_offset = fit_logit_offset(fit_logits, prior)
        if len(self.eval_edges):
            rows = self.with_agreement_column(self.eval_edges, True, outcome.logit_offset)
            outcome.eval_accuracy = float(np.mean((rows[:, 2] >= 0.5) == self.eval_agree))

    def set_regularization(self, pools, outcome: AgreementOutcome | None) -> None:
        """Loads the pair pools and their agreement for the classifier's agreement term.

        Args:
          pools: `(ll, lu, uu)` int `[k, 2]` pairs, or None to switch the term off.
          outcome: the iteration's agreement phase (its `trained` and `logit_offset`).
        """
        if pools is None:
            self.reg_on.assign(0.0)
            return
        ll, lu, uu = pools
        ll = ll.astype(np.int64).reshape(-1, 2)
        if self.config.reg_pairs == "reference" and self.config.use_graph:
            # The reference's LL edge iterator keeps the label-matching edges only.
            ll = ll[self.labels[ll[:, 0]] == self.labels[ll[:, 1]]]
        self.ll_pool.assign(ll)
        self.lu_rows = self.with_agreement_column(lu, outcome.trained, outcome.logit_offset)
        self.lu_pool.assign(self.lu_rows)
        self.uu_pool.assign(self.with_agreement_column(uu, outcome.trained, outcome.logit_offset))
        self.agr_trained.assign(1.0 if outcome.trained else 0.0)
        self.agr_offset.assign(outcome.logit_offset)
        self.reg_on.assign(1.0)

    def train_classifier(self, iteration: int) -> tuple[int, float, float]:
        """Phase 2: (re)trains the classifier with early stopping; keeps the best iteration.

        Re-initializes the classifier unless `warm_start_cls`, resets its optimizer, trains
        it on the labeled set (plus the agreement term when `set_regularization` switched it
        on) and restores its best validation weights.

        Args:
          iteration: the co-training iteration (0-based).

        Returns:
          `(steps, val_accuracy, test_accuracy)`.
        """
        config, data = self.config, self.data
        if not (config.warm_start_cls and iteration > 0):
            self.model.set_weights(self._build_classifier(self.classifier_fn()).get_weights())
        _reset_optimizer(self.cls_optimizer, self._cls_optimizer_initial)
        steps, _ = self.cls_loop.run(
            config.min_num_iter_cls, config.max_num_iter_cls, config.num_iter_after_best_val_cls
        )
        val = self.predict_probabilities(tf.constant(data.val_index)).numpy()
        test = self.predict_probabilities(tf.constant(data.test_index)).numpy()
        val_accuracy = float((val.argmax(-1) == data.labels[data.val_index]).mean())
        test_accuracy = float((test.argmax(-1) == data.labels[data.test_index]).mean())
        if val_accuracy > self.best_val_accuracy:
            self.best_val_accuracy, self.best_iteration = val_accuracy, iteration
            self.best_weights = self.model.get_weights()
        return steps, val_accuracy, test_accuracy

    def self_label(self, agreement_known: bool) -> SelfLabelOutcome:
        """Phase 3: extends the labeled set with the classifier's most confident predictions.

        With `recheck_self_labels`, first drops the earlier self-labels the classifier no
        longer predicts confidently. Candidates are the unlabeled nodes outside validation
        and test; `select_samples_to_label` picks them (per-class quotas when
        `keep_label_proportions`), after combining with the labeled neighbours' votes when
        `self_label_votes_agr` and the LU agreement is known.

        Args:
          agreement_known: the LU agreement in `lu_rows` comes from a trained model (or
            `always_agree`).

        Returns:
          A `SelfLabelOutcome`.
        """
        config, data = self.config, self.data
        outcome = SelfLabelOutcome()
        self_labeled = np.flatnonzero(self.labeled & ~self.is_original)
        if config.recheck_self_labels and self_labeled.size:
            current = self.predict_probabilities(tf.constant(self_labeled)).numpy()
            keep = self_labels_to_keep(
                current, self.labels[self_labeled], config.min_confidence_new_label
            )
            dropped = self_labeled[~keep]
            self.labels[dropped] = -1
            self.labeled[dropped] = False
            outcome.num_dropped = int(dropped.size)
            self.progress.update(-outcome.num_dropped)
        candidates = np.flatnonzero(~self.labeled & ~self.is_eval)
        outcome.num_confident = 0
        if not candidates.size:
            return outcome
        probabilities = self.predict_probabilities(tf.constant(candidates)).numpy()
        if config.self_label_votes_agr and agreement_known and len(self.lu_rows):
            voters = self.lu_rows[:, :2].astype(np.int64)
            still = self.labeled[voters[:, 0]]
            probabilities = combine_with_neighbor_votes(
                probabilities, candidates, voters[still], self.lu_rows[still, 2], self.labels
            )
        confidence = probabilities.max(axis=-1)
        outcome.max_confidence = float(confidence.max())
        outcome.num_confident = int(np.count_nonzero(confidence > config.min_confidence_new_label))
        if not outcome.num_confident:
            logger.warning(
                "self-labeling: none of %d candidates has a top class probability above "
                "min_confidence_new_label=%g (largest %.4f); no label added, so co-training "
                "stops after this iteration",
                candidates.size,
                config.min_confidence_new_label,
                outcome.max_confidence,
            )
        if config.keep_label_proportions and config.label_proportions_from == "predicted":
            self.proportions = predicted_proportions(probabilities, data.num_classes)
        nodes, new_labels = select_samples_to_label(
            probabilities,
            candidates,
            config.num_samples_to_label,
            config.min_confidence_new_label,
            self.proportions,
        )
        self.labels[nodes] = new_labels
        self.labeled[nodes] = True
        outcome.num_new = int(nodes.size)
        known = data.labels[nodes] >= 0
        if known.any():
            outcome.new_label_accuracy = float(
                np.mean(new_labels[known] == data.labels[nodes][known])
            )
        self.progress.update(outcome.num_new)
        return outcome

    def record(
        self,
        iteration: int,
        num_labeled: int,
        agreement: AgreementOutcome,
        classifier: tuple[int, float, float],
        self_labels: SelfLabelOutcome,
        seconds: float,
    ) -> IterationRecord:
        """Phase 4: records the iteration (records list, log line, TensorBoard scalars)."""
        data = self.data
        held = np.flatnonzero(self.labeled & ~self.is_original)
        held = held[data.labels[held] >= 0]
        self_label_accuracy = (
            float(np.mean(self.labels[held] == data.labels[held])) if held.size else None
        )
        steps, val_accuracy, test_accuracy = classifier
        record = IterationRecord(
            iteration=iteration,
            num_labeled=num_labeled,
            num_new_labels=self_labels.num_new,
            val_accuracy=val_accuracy,
            test_accuracy=test_accuracy,
            agreement_val_accuracy=agreement.val_accuracy,
            agreement_eval_accuracy=agreement.eval_accuracy,
            classifier_steps=steps,
            agreement_steps=agreement.steps,
            seconds=seconds,
            new_label_accuracy=self_labels.new_label_accuracy,
            num_dropped_labels=self_labels.num_dropped,
            self_label_accuracy=self_label_accuracy,
            agreement_logit_offset=float(agreement.logit_offset),
            num_confident_candidates=self_labels.num_confident,
            max_candidate_confidence=self_labels.max_confidence,
        )
        self.records.append(record)
        _log(record, self.config.verbose)
        if self.writer is not None:
            _write_scalars(
                self.writer,
                iteration,
                {
                    "cotrain/val_acc": record.val_accuracy,
                    "cotrain/test_acc": record.test_accuracy,
                    "cotrain/num_labeled": record.num_labeled,
                    "cotrain/num_new_labels": record.num_new_labels,
                    "cotrain/classifier_steps": record.classifier_steps,
                    "cotrain/agreement_steps": record.agreement_steps,
                    "cotrain/agreement_val_acc": record.agreement_val_accuracy,
                    "cotrain/agreement_eval_acc": record.agreement_eval_accuracy,
                    "cotrain/new_label_acc": record.new_label_accuracy,
                    "cotrain/num_dropped_labels": record.num_dropped_labels,
                    "cotrain/self_label_acc": record.self_label_accuracy,
                },
            )
        return record

    # -- the loop -----------------------------------------------------------------------

    def run_iteration(self, iteration: int) -> bool:
        """Runs one co-training iteration (all phases); returns whether the loop should stop.

        The loop stops when an iteration with the agreement term neither added nor dropped a
        label.
        """
        start = time.perf_counter()
        with_agreement = self.uses_agreement(iteration)
        self.load_labels()
        agreement = AgreementOutcome()
        if with_agreement and self.use_agreement_model:
            agreement = self.train_agreement(iteration)
        agreement.logit_offset = self.prior_logit_offset()
        pools = self.regularization_pools() if with_agreement else None
        self.calibrate_agreement(agreement, pools)
        self.set_regularization(pools, agreement)
        classifier = self.train_classifier(iteration)
        num_labeled = int(self.labeled.sum())
        self_labels = SelfLabelOutcome()
        if with_agreement:
            self_labels = self.self_label(agreement.trained or not self.use_agreement_model)
        self.record(
            iteration,
            num_labeled,
            agreement,
            classifier,
            self_labels,
            time.perf_counter() - start,
        )
        # Dropping labels alone changes the labeled set; stop only when nothing changed.
        return with_agreement and self_labels.num_new == 0 and self_labels.num_dropped == 0

    def run(self) -> CotrainResult:
        """Runs up to `max_num_iter_cotrain` iterations and returns the `CotrainResult`."""
        for iteration in range(self.config.max_num_iter_cotrain):
            if self.run_iteration(iteration):
                break
        self.progress.close()
        if self.writer is not None:
            self.writer.close()
        self.model.set_weights(self.best_weights)
        return CotrainResult(
            iterations=self.records,
            best_iteration=self.best_iteration,
            best_val_accuracy=self.best_val_accuracy,
            test_accuracy=self.records[self.best_iteration].test_accuracy,
            baseline_val_accuracy=self.records[0].val_accuracy,
            baseline_test_accuracy=self.records[0].test_accuracy,
            classifier=self.model,
            agreement_model=self.agreement_model,
            labels=self.labels,
            seconds=time.perf_counter() - self.start,
        )


def cotrain(
    data: CotrainData,
    classifier: str | Callable[[], keras.Model] = "mlp",
    config: CotrainConfig | None = None,
    agreement_model_fn: Callable[[], keras.Model] | None = None,
) -> CotrainResult:
    """Co-trains a classifier and an agreement model on `data` (Graph Agreement Models).

    Builds a `CoTrainer` and runs it.

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
    return CoTrainer(data, classifier, config, agreement_model_fn).run()


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
