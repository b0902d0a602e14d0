"""The agreement-weighted regularization term of GAM's classifier loss (pure TensorFlow)."""

from __future__ import annotations

import tensorflow as tf


def agreement_regularization(
    *,
    ll_labels_source,
    ll_labels_target,
    ll_probs_target,
    lu_labels,
    lu_probs,
    lu_agreement,
    uu_probs_a,
    uu_probs_b,
    uu_agreement,
    reg_weight_ll: float,
    reg_weight_lu: float,
    reg_weight_uu: float,
    penalize_neg_agr: bool = False,
) -> tf.Tensor:
    """Returns the mean over all pairs of `reg_weight * agreement * ||left - right||^2`.

    Each pair compares two label distributions: for a labeled node its one-hot label, for
    an unlabeled node the classifier's predicted probabilities. LL pairs compare the source's
    label with the target's prediction (so gradients flow) and agree iff the labels match;
    LU pairs compare the labeled node's label with the unlabeled node's prediction; UU pairs
    compare two predictions; LU and UU agreements come from the agreement model. With
    `penalize_neg_agr`, every agreement a becomes relu(a - 0.5). The mean runs over the
    concatenation of the three groups (`n_ll + n_lu + n_uu` pairs; 0 when there are none).

    Args:
      ll_labels_source, ll_labels_target: int `[n_ll]` labels of the LL pairs' two ends.
      ll_probs_target: float `[n_ll, num_classes]` predictions for the LL targets.
      lu_labels: int `[n_lu]` labels of the labeled ends of LU pairs.
      lu_probs: float `[n_lu, num_classes]` predictions for the unlabeled ends.
      lu_agreement: float `[n_lu]` agreement probabilities.
      uu_probs_a, uu_probs_b: float `[n_uu, num_classes]` predictions for both ends.
      uu_agreement: float `[n_uu]` agreement probabilities.
      reg_weight_ll, reg_weight_lu, reg_weight_uu: weights of the three groups.
      penalize_neg_agr: use relu(agreement - 0.5) as the weight.

    Returns:
      A float32 scalar.
    """
    num_classes = tf.shape(ll_probs_target)[-1]
    ll_probs_target = tf.cast(ll_probs_target, tf.float32)
    left_ll = tf.one_hot(ll_labels_source, num_classes)
    ll_dist = tf.reduce_sum(tf.square(left_ll - ll_probs_target), axis=-1)
    ll_agreement = tf.cast(tf.equal(ll_labels_source, ll_labels_target), tf.float32)
    lu_dist = tf.reduce_sum(
        tf.square(tf.one_hot(lu_labels, num_classes) - tf.cast(lu_probs, tf.float32)), axis=-1
    )
    uu_dist = tf.reduce_sum(
        tf.square(tf.cast(uu_probs_a, tf.float32) - tf.cast(uu_probs_b, tf.float32)), axis=-1
    )
    lu_agreement = tf.cast(lu_agreement, tf.float32)
    uu_agreement = tf.cast(uu_agreement, tf.float32)
    if penalize_neg_agr:
        ll_agreement = tf.nn.relu(ll_agreement - 0.5)
        lu_agreement = tf.nn.relu(lu_agreement - 0.5)
        uu_agreement = tf.nn.relu(uu_agreement - 0.5)
    total = (
        reg_weight_ll * tf.reduce_sum(ll_agreement * ll_dist)
        + reg_weight_lu * tf.reduce_sum(lu_agreement * lu_dist)
        + reg_weight_uu * tf.reduce_sum(uu_agreement * uu_dist)
    )
    count = tf.size(ll_dist) + tf.size(lu_dist) + tf.size(uu_dist)
    return total / tf.cast(tf.maximum(count, 1), tf.float32)
