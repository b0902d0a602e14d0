"""The agreement model learns a separable toy problem and round-trips through Keras saving."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from graphnsl.gam import AgreementModel


def _toy_pairs(rng, num_pairs, num_classes=4, dim=8):
    centers = rng.normal(size=(num_classes, dim)).astype(np.float32) * 3.0
    classes_a = rng.integers(0, num_classes, num_pairs)
    # Half of the pairs agree.
    same = rng.random(num_pairs) < 0.5
    shift = rng.integers(1, num_classes, num_pairs)
    classes_b = np.where(same, classes_a, (classes_a + shift) % num_classes)
    xa = centers[classes_a] + rng.normal(scale=0.3, size=(num_pairs, dim)).astype(np.float32)
    xb = centers[classes_b] + rng.normal(scale=0.3, size=(num_pairs, dim)).astype(np.float32)
    return xa, xb, same.astype(np.float32)


@pytest.mark.parametrize("aggregation", ["dist", "concat", "product"])
def test_learns_separable_agreement(aggregation):
    rng = np.random.default_rng(0)
    xa, xb, y = _toy_pairs(rng, 512)
    ta, tb, ty = _toy_pairs(np.random.default_rng(0), 256)  # same centers, new noise
    ta, tb, ty = ta[:256], tb[:256], ty[:256]
    # Concatenation needs a hidden layer after it: "same class" is not linear in [e_a, e_b].
    hidden_aggregation = (16,) if aggregation == "concat" else ()
    model = AgreementModel(
        hidden=(16,), aggregation=aggregation, hidden_aggregation=hidden_aggregation
    )
    optimizer = keras.optimizers.Adam(0.01)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            logits = model((xa, xb), training=True)
            loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(grads, model.trainable_variables)
        return loss

    model((xa[:1], xb[:1]))
    initial = float(np.mean((model((ta, tb)).numpy() >= 0) == (ty > 0.5)))
    for _ in range(150):
        step()
    logits = model((ta, tb)).numpy()
    assert logits.shape == (256,)
    accuracy = float(np.mean((logits >= 0) == (ty > 0.5)))
    assert accuracy >= 0.95, (aggregation, initial, accuracy)


def test_dist_and_product_are_symmetric_concat_is_not():
    rng = np.random.default_rng(1)
    xa = rng.normal(size=(5, 6)).astype(np.float32)
    xb = rng.normal(size=(5, 6)).astype(np.float32)
    for aggregation, symmetric in [("dist", True), ("product", True), ("concat", False)]:
        keras.utils.set_random_seed(3)
        model = AgreementModel(hidden=(4,), aggregation=aggregation)
        ab, ba = model((xa, xb)).numpy(), model((xb, xa)).numpy()
        assert np.allclose(ab, ba, atol=1e-6) == symmetric, aggregation


def test_config_round_trip_and_bad_aggregation():
    model = AgreementModel(hidden=(8, 4), aggregation="concat", hidden_aggregation=(3,))
    x = np.ones((2, 5), np.float32)
    expected = model((x, x)).numpy()
    clone = AgreementModel.from_config(model.get_config())
    clone((x, x))
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone((x, x)).numpy(), expected, rtol=1e-6)
    assert clone.hidden == (8, 4) and clone.hidden_aggregation == (3,)
    with pytest.raises(ValueError, match="aggregation"):
        AgreementModel(aggregation="sum")
