"""Configuration of Graph Agreement Models co-training, with the reference code's names.

Field names follow the GAM reference implementation (NSL's `research/gam`,
`run_train_gam_graph.py`), so its published commands translate flag by flag. Defaults are the
reference defaults except where noted: step counts are smaller (`num_iter_after_best_val_*`
2000 -> 1000, `max_num_iter_*` 100000 -> 20000) so a Planetoid run stays within minutes on a
laptop-class CPU; the patience still spans many evaluations.
"""

from __future__ import annotations

import dataclasses

AGGREGATIONS = ("dist", "concat", "product")

# The string fields of CotrainConfig and their valid values (the first is the default).
CHOICES = {
    "aggregation_agr": AGGREGATIONS,
    "agr_train_pairs": ("edges", "labeled"),
    "label_proportions_from": ("train", "predicted"),
    "full_graph_batch": ("all", "sampled"),
    "full_graph_passes": ("one", "two"),
    "node_batch": ("epochs", "sampled"),
    "reg_pairs": ("reference", "sampled"),
    "agr_stopping": ("reference", "patience"),
    "random_pairs": ("fresh", "pools"),
}


@dataclasses.dataclass(frozen=True)
class CotrainConfig:
    """Hyperparameters of `gam.cotrain`: the co-training loop and both models' training.

    Attributes:
      max_num_iter_cotrain: co-training iterations at most (iteration 0 included).
      first_iter_original: iteration 0 trains the classifier alone (no agreement term, no
        self-labeling): the baseline the paper reports beside GAM.
      num_samples_to_label: nodes self-labeled per iteration at most.
      min_confidence_new_label: a node is self-labeled only if its top probability exceeds this.
      keep_label_proportions: self-label `int(p_c * num_samples_to_label)` nodes of class c,
        p_c the class's share given by `label_proportions_from`.
      label_proportions_from: where the shares p_c come from: 'train' (the original training
        labels, fixed; the reference) or 'predicted' (the classifier's argmax predictions over
        the current self-labeling candidates, recomputed each iteration: no labels used, and
        the quotas follow the classes that remain in the pool).
      recheck_self_labels: before each self-labeling step, drop the earlier self-labels that
        the classifier just trained no longer predicts (argmax differs, or top probability not
        above `min_confidence_new_label`); the dropped nodes are candidates again. Original
        training labels are never dropped.
      self_label_votes_agr: self-labeling ranks and labels the candidates by the classifier's
        probabilities multiplied by the agreement-weighted votes of their labeled graph
        neighbours (`self_labeling.combine_with_neighbor_votes`; the LU pairs and agreement
        of the iteration), instead of the classifier's probabilities alone.
      reg_weight_ll, reg_weight_lu, reg_weight_uu: weights of the agreement term over
        labeled-labeled, labeled-unlabeled and unlabeled-unlabeled pairs.
      num_pairs_reg: pairs of each kind (LL, LU, UU) sampled per classifier step.
      penalize_neg_agr: weight pairs by `relu(agreement - 0.5)` instead of the agreement.
      always_agree: the agreement model always answers 1 (Neural Graph Machines, NGM).
      use_graph: pairs are graph edges; False draws pairs among all nodes (the paper's GAM*).
      add_negative_edges_agr: balance the agreement model's batches with random pairs of
        labeled nodes whose labels differ.
      agr_train_pairs: what the agreement model trains on when `use_graph`: 'edges' (the
        graph edges joining two labeled nodes, plus random negatives; the reference) or
        'labeled' (random balanced pairs of labeled nodes, edges or not, as in GAM*: many more
        pairs, so it learns feature similarity instead of memorizing a few edges).
      edge_prior_agr: with balanced agreement batches, shift the agreement logit by the log
        odds of agreement among labeled-labeled edges (Laplace-smoothed), so that the
        agreement of LU/UU edges is calibrated to the graph's homophily instead of the 50/50
        prior of the balanced batches (a Bayes prior correction; labeled labels only).
      edge_prior_fit_agr: with `edge_prior_agr`, instead of adding log(p/(1-p)) to the logit,
        choose the offset so that the mean agreement over the LU and UU edges equals p (a
        prior-matching correction: it also corrects an agreement model whose raw scores on
        unseen pairs are off, e.g. early rounds with few labels).
      aggregation_agr: how the agreement model combines the two encodings: 'dist' (squared
        difference), 'concat' or 'product'.
      hidden_agr: hidden sizes of the agreement model's shared encoder.
      hidden_aggregation_agr: hidden sizes applied after the aggregation.
      ratio_valid_agr: share of the labeled edges held out to validate the agreement model.
      learning_rate_cls, learning_rate_agr: Adam learning rates.
      batch_size_cls, batch_size_agr: labeled nodes (classifier) / pairs (agreement) per step.
        A full-graph classifier (GCN) uses `batch_size_cls` only with
        `full_graph_batch='sampled'`.
      full_graph_batch: the labeled nodes of a full-graph classifier's step: 'all' (every
        labeled node, as the reference's GCN trainer) or 'sampled' (`batch_size_cls` of them
        with replacement).
      full_graph_passes: forward passes of a full-graph classifier (GCN) per step: 'one'
        (the supervised and the agreement term read the same pass, so the same dropout
        masks) or 'two' (as the reference's GCN trainer: the agreement term's predictions
        come from a second full-graph pass with dropout masks of its own; twice the work).
      node_batch: the labeled nodes of a per-node classifier's (MLP's) step: 'epochs' (as
        the reference's MLP trainer: shuffled passes over the labeled set, each node once a
        pass, the last incomplete batch of a pass skipped; every node each step when there
        are no more than `batch_size_cls`) or 'sampled' (`batch_size_cls` of them with
        replacement, the default before 2026-12-03).
      agr_stopping: how the agreement model is validated and stopped: 'reference' (as the
        reference's agreement trainer: with `use_graph` the held-out pairs are a
        `ratio_valid_agr` share of the directed labeled-labeled edges as they are, not
        balanced; it validates after the first step and every `eval_step_agr` steps after,
        stops at the first perfect validation accuracy, and trains one step when nothing is
        held out) or 'patience' (the default before 2026-12-04: held-out undirected edges
        topped up with random differing labeled pairs to balance them, no stop at 100%,
        `min_num_iter_agr` steps when nothing is held out). Both otherwise stop
        `num_iter_after_best_val_agr` steps after the best validation accuracy.
      random_pairs: the agreement term's pairs without the graph (`use_graph=False`, GAM*):
        'fresh' (as the reference: each classifier step draws `num_pairs_reg` new random LL,
        LU and UU pairs and scores them with the agreement model) or 'pools' (the default
        before 2026-12-04: fixed pools of 20,000 random pairs of each kind, drawn and scored
        once an iteration).
      reg_pairs: the pairs of the agreement term in one classifier step: 'reference' (as
        the reference's edge iterators: the LL group holds only the label-matching LL edges,
        and each group takes `num_pairs_reg` pairs, or its whole pool when the pool is
        smaller; the mean runs over all of them, so a small LL group weighs the LU and UU
        terms less down) or 'sampled' (`num_pairs_reg` pairs with replacement from every
        non-empty pool, LL from all LL edges: the default before 2026-12-04, whose LU and UU
        terms are 0.67-0.76 of the reference's while few LL edges agree).
      weight_decay_cls, weight_decay_agr: L2 weight on the model's kernels (0 disables).
      min_num_iter_cls, max_num_iter_cls, num_iter_after_best_val_cls: the classifier trains at
        least `min` steps, at most `max`, and stops `num_iter_after_best_val` steps after its
        best validation accuracy, whose weights it restores.
      min_num_iter_agr, max_num_iter_agr, num_iter_after_best_val_agr: the same for the
        agreement model (validated on held-out labeled edges).
      eval_step_cls, eval_step_agr: steps between validations.
      warm_start_cls, warm_start_agr: keep the weights from the previous iteration instead of
        re-initializing (the reference re-initializes).
      seed: seeds weight initialization, batch sampling and pair sampling.
      summary_dir: folder for TensorBoard summaries (None: none written).
      verbose: log each iteration (absl/standard logging) and show a progress bar.
    """

    max_num_iter_cotrain: int = 100
    first_iter_original: bool = True
    num_samples_to_label: int = 200
    min_confidence_new_label: float = 0.4
    keep_label_proportions: bool = True
    label_proportions_from: str = "train"
    recheck_self_labels: bool = False
    self_label_votes_agr: bool = False
    reg_weight_ll: float = 0.0
    reg_weight_lu: float = 0.1
    reg_weight_uu: float = 0.05
    num_pairs_reg: int = 128
    penalize_neg_agr: bool = False
    always_agree: bool = False
    use_graph: bool = True
    add_negative_edges_agr: bool = True
    agr_train_pairs: str = "edges"
    edge_prior_agr: bool = False
    edge_prior_fit_agr: bool = False
    aggregation_agr: str = "dist"
    hidden_agr: tuple[int, ...] = (128,)
    hidden_aggregation_agr: tuple[int, ...] = ()
    ratio_valid_agr: float = 0.1
    learning_rate_cls: float = 1e-3
    learning_rate_agr: float = 1e-3
    batch_size_cls: int = 128
    batch_size_agr: int = 128
    full_graph_batch: str = "all"
    full_graph_passes: str = "one"
    node_batch: str = "epochs"
    reg_pairs: str = "reference"
    agr_stopping: str = "reference"
    random_pairs: str = "fresh"
    weight_decay_cls: float = 0.0
    weight_decay_agr: float = 0.0
    min_num_iter_cls: int = 200
    max_num_iter_cls: int = 20000
    num_iter_after_best_val_cls: int = 1000
    min_num_iter_agr: int = 200
    max_num_iter_agr: int = 20000
    num_iter_after_best_val_agr: int = 1000
    eval_step_cls: int = 5
    eval_step_agr: int = 10
    warm_start_cls: bool = False
    warm_start_agr: bool = False
    seed: int = 0
    summary_dir: str | None = None
    verbose: bool = True

    def __post_init__(self):
        for name, valid in CHOICES.items():
            value = getattr(self, name)
            if value not in valid:
                raise ValueError(
                    f"CotrainConfig.{name}={value!r}; valid: {', '.join(map(repr, valid))}."
                )
        positive = (
            "max_num_iter_cotrain",
            "batch_size_cls",
            "batch_size_agr",
            "num_pairs_reg",
            "eval_step_cls",
            "eval_step_agr",
        )
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"CotrainConfig.{name}={getattr(self, name)} must be >= 1.")
        for name in ("num_samples_to_label", "min_num_iter_cls", "min_num_iter_agr"):
            if getattr(self, name) < 0:
                raise ValueError(f"CotrainConfig.{name}={getattr(self, name)} must be >= 0.")
        if not 0.0 <= self.ratio_valid_agr < 1.0:
            raise ValueError(f"CotrainConfig.ratio_valid_agr={self.ratio_valid_agr} not in [0, 1).")
        for name in ("reg_weight_ll", "reg_weight_lu", "reg_weight_uu"):
            if getattr(self, name) < 0:
                raise ValueError(f"CotrainConfig.{name}={getattr(self, name)} must be >= 0.")
        object.__setattr__(self, "hidden_agr", tuple(int(h) for h in self.hidden_agr))
        object.__setattr__(
            self, "hidden_aggregation_agr", tuple(int(h) for h in self.hidden_aggregation_agr)
        )
