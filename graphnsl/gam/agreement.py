"""The agreement model of GAM: the probability that two nodes share a label, from features."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf

from graphnsl.gam.config import AGGREGATIONS


@keras.saving.register_keras_serializable(package="graphnsl.gam")
class AgreementModel(keras.Model):
    """Predicts the logit of P(same label) for a pair of nodes from their features.

    A shared encoder (an MLP with leaky ReLU) maps each node's features to `e_a`, `e_b`; an
    aggregation combines them symmetrically or not:

      'dist':    (e_a - e_b)^2   (element-wise; symmetric)
      'product': e_a * e_b       (symmetric)
      'concat':  [e_a, e_b]

    then optional hidden layers and one output unit give the logit; `sigmoid(logit)` is the
    agreement probability.

    Args:
      hidden: encoder hidden sizes, e.g. (128,).
      aggregation: 'dist', 'concat' or 'product'.
      hidden_aggregation: hidden sizes after the aggregation.
      weight_decay: L2 weight on every kernel (added to `model.losses`).

    Input: a pair `(features_a, features_b)`, each float32 `[batch, num_features]`.
    Output: logits float32 `[batch]`.

    Example:
      model = AgreementModel(hidden=(128,), aggregation="dist")
      logits = model((x[src], x[tgt]))
    """

    def __init__(
        self,
        hidden: Sequence[int] = (128,),
        aggregation: str = "dist",
        hidden_aggregation: Sequence[int] = (),
        weight_decay: float = 0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if aggregation not in AGGREGATIONS:
            raise ValueError(f"AgreementModel aggregation={aggregation!r}; valid: {AGGREGATIONS}.")
        self.hidden = tuple(int(h) for h in hidden)
        self.aggregation = aggregation
        self.hidden_aggregation = tuple(int(h) for h in hidden_aggregation)
        self.weight_decay = float(weight_decay)
        reg = keras.regularizers.L2(self.weight_decay / 2) if self.weight_decay else None
        self.encoder_layers = [
            keras.layers.Dense(h, activation="leaky_relu", kernel_regularizer=reg)
            for h in self.hidden
        ]
        self.aggregation_layers = [
            keras.layers.Dense(h, activation="leaky_relu", kernel_regularizer=reg)
            for h in self.hidden_aggregation
        ]
        self.output_layer = keras.layers.Dense(1, kernel_regularizer=reg)

    def encode(self, features):
        """Encodes one side: float32 `[batch, num_features]` -> `[batch, hidden[-1]]`."""
        x = features
        for layer in self.encoder_layers:
            x = layer(x)
        return x

    def call(self, inputs, training=False):
        features_a, features_b = inputs
        # One pass over both sides keeps the encoder shared and the matmuls large.
        both = self.encode(tf.concat([features_a, features_b], axis=0))
        ea, eb = tf.split(both, 2, axis=0)
        if self.aggregation == "dist":
            x = tf.square(ea - eb)
        elif self.aggregation == "product":
            x = ea * eb
        else:
            x = tf.concat([ea, eb], axis=-1)
        for layer in self.aggregation_layers:
            x = layer(x)
        return tf.squeeze(self.output_layer(x), axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden=list(self.hidden),
            aggregation=self.aggregation,
            hidden_aggregation=list(self.hidden_aggregation),
            weight_decay=self.weight_decay,
        )
        return config
