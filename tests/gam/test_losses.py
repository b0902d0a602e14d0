"""The agreement regularization term against a hand computation on a tiny graph."""

import numpy as np
import pytest

from graphnsl.gam import agreement_regularization


def _term(penalize=False, weights=(0.5, 2.0, 3.0)):
    # Tiny graph, 3 classes. Nodes 0, 1 labeled (classes 0, 2); nodes 2, 3 unlabeled.
    # LL edge 0->1, LU edges (0,2), (1,3), UU edge (2,3).
    p2 = np.array([0.7, 0.2, 0.1], np.float32)
    p3 = np.array([0.1, 0.3, 0.6], np.float32)
    p1 = np.array([0.2, 0.2, 0.6], np.float32)  # the classifier's prediction for node 1
    return agreement_regularization(
        ll_labels_source=np.array([0]),
        ll_labels_target=np.array([2]),
        ll_probs_target=p1[None],
        lu_labels=np.array([0, 2]),
        lu_probs=np.stack([p2, p3]),
        lu_agreement=np.array([0.9, 0.4], np.float32),
        uu_probs_a=p2[None],
        uu_probs_b=p3[None],
        uu_agreement=np.array([0.8], np.float32),
        reg_weight_ll=weights[0],
        reg_weight_lu=weights[1],
        reg_weight_uu=weights[2],
        penalize_neg_agr=penalize,
    )


def test_matches_hand_computation():
    # LL: labels differ -> agreement 0, contributes 0.
    # LU (0,2): ||[1,0,0]-[.7,.2,.1]||^2 = .09+.04+.01 = .14, * .9 * 2 = .252
    # LU (1,3): ||[0,0,1]-[.1,.3,.6]||^2 = .01+.09+.16 = .26, * .4 * 2 = .208
    # UU (2,3): ||[.7,.2,.1]-[.1,.3,.6]||^2 = .36+.01+.25 = .62, * .8 * 3 = 1.488
    # Mean over 4 pairs: (0 + .252 + .208 + 1.488) / 4 = .487
    np.testing.assert_allclose(float(_term()), 0.487, rtol=1e-5)


def test_penalize_negative_agreement():
    # Agreements become relu(a - .5): LL 0, LU .4 and 0, UU .3.
    expected = (0.14 * 0.4 * 2 + 0.62 * 0.3 * 3) / 4
    np.testing.assert_allclose(float(_term(penalize=True)), expected, rtol=1e-5)


def test_agreeing_labeled_pair_uses_label_against_prediction():
    value = agreement_regularization(
        ll_labels_source=np.array([1]),
        ll_labels_target=np.array([1]),
        ll_probs_target=np.array([[0.25, 0.5, 0.25]], np.float32),
        lu_labels=np.zeros(0, np.int64),
        lu_probs=np.zeros((0, 3), np.float32),
        lu_agreement=np.zeros(0, np.float32),
        uu_probs_a=np.zeros((0, 3), np.float32),
        uu_probs_b=np.zeros((0, 3), np.float32),
        uu_agreement=np.zeros(0, np.float32),
        reg_weight_ll=2.0,
        reg_weight_lu=1.0,
        reg_weight_uu=1.0,
    )
    # (.0625 + .25 + .0625) * 1 * 2 / 1 pair
    np.testing.assert_allclose(float(value), 0.75, rtol=1e-6)


@pytest.mark.parametrize("weights", [(0.0, 0.0, 0.0)])
def test_zero_weights_give_zero(weights):
    assert float(_term(weights=weights)) == 0.0
