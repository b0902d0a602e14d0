"""Image embedding models: a small residual CNN, an L2-normalized embedding, classification heads.

Graph-RISE (Juan et al., WSDM 2020) = `build_classifier(build_embedding_network(...))` wrapped in
`graphnsl.graph_reg.GraphRegularization(..., regularize_layer='embedding')`: the supervised
loss sees the logits and the graph term the distance between the embeddings of each image
and its graph neighbours.

For many classes, `SampledSoftmaxHead` + `SampledSoftmaxLoss` train the classifier with
`tf.nn.sampled_softmax_loss` on the embeddings (the model's output), and give full logits at
inference with `head(embeddings)`.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf

__all__ = [
    "L2Normalize",
    "ResidualBlock",
    "build_embedding_network",
    "build_classifier",
    "SampledSoftmaxHead",
    "SampledSoftmaxLoss",
    "SampledSoftmaxModel",
]


@keras.saving.register_keras_serializable(package="graphnsl")
class L2Normalize(keras.layers.Layer):
    """Scales each row to unit L2 norm: `y = x / max(||x||, epsilon)`.

    Args:
      axis: the axis normalized, default -1.
      epsilon: floor of the norm (keeps a zero row finite), default 1e-12.

    Input shape `[B, ..., D]`; output the same shape.
    """

    def __init__(self, axis: int = -1, epsilon: float = 1e-12, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        self.epsilon = float(epsilon)

    def call(self, inputs):
        squared = keras.ops.sum(keras.ops.square(inputs), axis=self.axis, keepdims=True)
        return inputs * keras.ops.rsqrt(keras.ops.maximum(squared, self.epsilon**2))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(axis=self.axis, epsilon=self.epsilon)
        return config


@keras.saving.register_keras_serializable(package="graphnsl")
class ResidualBlock(keras.layers.Layer):
    """A two-convolution residual block (He et al. 2016): `relu(x' + conv(relu(conv(x))))`.

    `x'` is `x`, or a strided 1x1 convolution of it when the stride or the channel count
    changes.

    Args:
      filters: output channels.
      strides: stride of the first convolution (2 halves the height and width).
      kernel_size: of both convolutions, default 3.

    Input `[B, H, W, C]`; output `[B, ceil(H / strides), ceil(W / strides), filters]`.
    """

    def __init__(self, filters: int, strides: int = 1, kernel_size: int = 3, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.strides = int(strides)
        self.kernel_size = int(kernel_size)
        self.conv1 = keras.layers.Conv2D(
            filters, kernel_size, strides, padding="same", activation="relu", name="conv1"
        )
        self.conv2 = keras.layers.Conv2D(filters, kernel_size, padding="same", name="conv2")
        self.shortcut = None

    def build(self, input_shape):
        self.conv1.build(input_shape)
        self.conv2.build(self.conv1.compute_output_shape(input_shape))
        if self.strides != 1 or input_shape[-1] != self.filters:
            self.shortcut = keras.layers.Conv2D(self.filters, 1, self.strides, name="shortcut")
            self.shortcut.build(input_shape)
        self.built = True

    def call(self, inputs):
        residual = self.conv2(self.conv1(inputs))
        shortcut = inputs if self.shortcut is None else self.shortcut(inputs)
        return keras.ops.relu(shortcut + residual)

    def compute_output_shape(self, input_shape):
        return self.conv1.compute_output_shape(input_shape)[:-1] + (self.filters,)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(filters=self.filters, strides=self.strides, kernel_size=self.kernel_size)
        return config


def build_embedding_network(
    input_shape: Sequence[int] = (28, 28),
    embedding_dim: int = 64,
    filters: Sequence[int] = (16, 32),
    input_name: str = "image",
    input_scale: float = 1.0 / 255.0,
    name: str = "embedding_network",
) -> keras.Model:
    """A small residual CNN mapping images to L2-normalized embeddings.

    Layers: scale pixels by `input_scale`, a 3x3 stem convolution with stride 2, one residual
    block per entry of `filters` (the first at stride 1, the others at stride 2), global
    average pooling, a dense projection to `embedding_dim`, then `L2Normalize` named
    `'embedding'` (the layer Graph-RISE regularizes).

    Args:
      input_shape: `(H, W)` or `(H, W, C)` of one image.
      embedding_dim: D, default 64.
      filters: channels of the residual blocks.
      input_name: the input's name (the feature name in a dict of features).
      input_scale: multiplies the pixels (1/255 for uint8 images).
      name: the model's name.

    Returns:
      A functional `keras.Model`: `[B, H, W(, C)]` -> float32 `[B, D]` of unit norm.
    """
    inputs = keras.Input(tuple(input_shape), name=input_name)
    x = inputs
    if len(input_shape) == 2:
        x = keras.layers.Reshape((*input_shape, 1), name="add_channel")(x)
    x = keras.layers.Rescaling(input_scale, name="scale")(x)
    x = keras.layers.Conv2D(
        filters[0], 3, strides=2, padding="same", activation="relu", name="stem"
    )(x)
    for i, width in enumerate(filters):
        x = ResidualBlock(width, strides=1 if i == 0 else 2, name=f"block{i + 1}")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.Dense(embedding_dim, name="projection")(x)
    outputs = L2Normalize(name="embedding")(x)
    return keras.Model(inputs, outputs, name=name)


def build_classifier(
    embedding_network: keras.Model,
    num_classes: int,
    logit_scale: float | None = 16.0,
    name: str = "classifier",
) -> keras.Model:
    """The embedding network followed by a linear classification head (logits).

    Unit-norm embeddings bound a linear head's logits, so they are first multiplied by
    `logit_scale` (as normalized-softmax heads do); None leaves them unscaled.

    Args:
      embedding_network: a functional model whose output is the embedding (its `'embedding'`
        layer stays reachable by name for `GraphRegularization(regularize_layer=...)`).
      num_classes: C.
      logit_scale: the factor applied to the embedding before the head.
      name: the model's name.

    Returns:
      A functional `keras.Model` with the same inputs, output logits `[B, C]`.
    """
    x = embedding_network.output
    if logit_scale is not None:
        x = keras.layers.Rescaling(logit_scale, name="logit_scale")(x)
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(embedding_network.inputs, logits, name=name)


@keras.saving.register_keras_serializable(package="graphnsl")
class SampledSoftmaxHead(keras.layers.Layer):
    """A linear classifier over embeddings, laid out for `tf.nn.sampled_softmax_loss`.

    Holds `kernel` `[C, D]` (one row per class, the layout sampled softmax needs) and `bias`
    `[C]`. Calling it gives the full logits `[B, C]`; `sampled_loss` gives the sampled-softmax
    loss per row without ever forming them.

    Args:
      num_classes: C.
    """

    def __init__(self, num_classes: int, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = int(num_classes)

    def build(self, input_shape):
        dim = int(input_shape[-1])
        self.kernel = self.add_weight(
            shape=(self.num_classes, dim), initializer="glorot_uniform", name="kernel"
        )
        self.bias = self.add_weight(shape=(self.num_classes,), initializer="zeros", name="bias")
        self.built = True

    def call(self, embeddings):
        return tf.matmul(embeddings, self.kernel, transpose_b=True) + self.bias

    def sampled_loss(
        self,
        labels,
        embeddings,
        num_sampled: int,
        sampled_values=None,
        remove_accidental_hits: bool = True,
        seed: int | None = None,
    ) -> tf.Tensor:
        """Sampled-softmax loss per row, float32 `[B]` (`tf.nn.sampled_softmax_loss`).

        Args:
          labels: int `[B]` or `[B, 1]` classes.
          embeddings: float `[B, D]`.
          num_sampled: negative classes sampled per batch (log-uniform sampler by default).
          sampled_values: optional `(candidates, true_expected, sampled_expected)` fixing the
            sample (as `tf.random.log_uniform_candidate_sampler` returns).
          remove_accidental_hits: drop sampled classes equal to a row's label.
          seed: the sampler's seed.
        """
        if not self.built:
            self.build(embeddings.shape)
        labels = tf.reshape(tf.cast(labels, tf.int64), [-1, 1])
        return tf.nn.sampled_softmax_loss(
            weights=self.kernel,
            biases=self.bias,
            labels=labels,
            inputs=tf.cast(embeddings, self.kernel.dtype),
            num_sampled=num_sampled,
            num_classes=self.num_classes,
            sampled_values=sampled_values,
            remove_accidental_hits=remove_accidental_hits,
            seed=seed,
        )

    def get_config(self) -> dict:
        config = super().get_config()
        config["num_classes"] = self.num_classes
        return config


class SampledSoftmaxLoss(keras.losses.Loss):
    """A Keras loss: sampled softmax of a `SampledSoftmaxHead` over the model's embeddings.

    The compiled model outputs embeddings `[B, D]`; the head's weights must be tracked by that
    model so the optimizer trains them (`SampledSoftmaxModel` holds both). The loss holds the
    head, so after loading a model compile it again with `SampledSoftmaxLoss(model.head, ...)`.

    Args:
      head: the `SampledSoftmaxHead`.
      num_sampled: negative classes sampled per batch.
      seed: the sampler's seed.
      name, reduction: `keras.losses.Loss` arguments.

    Example:
      >>> model = SampledSoftmaxModel(build_embedding_network(), num_classes=40_000_000)
      >>> model.compile('adam', SampledSoftmaxLoss(model.head, num_sampled=4096))
    """

    def __init__(self, head: SampledSoftmaxHead, num_sampled: int, seed=None, name=None, **kw):
        super().__init__(name=name or "sampled_softmax_loss", **kw)
        if not isinstance(head, SampledSoftmaxHead):
            raise ValueError(f"head must be a SampledSoftmaxHead, got {type(head).__name__}.")
        if not 0 < num_sampled < head.num_classes:
            raise ValueError(
                f"num_sampled={num_sampled} must be in [1, num_classes={head.num_classes})."
            )
        self.head = head
        self.num_sampled = int(num_sampled)
        self.seed = seed

    def call(self, y_true, y_pred):
        return self.head.sampled_loss(y_true, y_pred, self.num_sampled, seed=self.seed)

    def get_config(self) -> dict:
        raise NotImplementedError(
            "SampledSoftmaxLoss holds a layer's weights and is not serializable; compile the "
            "loaded model again with SampledSoftmaxLoss(model.head, num_sampled)."
        )


@keras.saving.register_keras_serializable(package="graphnsl")
class SampledSoftmaxModel(keras.Model):
    """An embedding network with a `SampledSoftmaxHead`: outputs embeddings, trains the head.

    Compile it with `SampledSoftmaxLoss(model.head, num_sampled)`; `logits(x)` gives the
    full logits `[B, C]` at inference. Under `GraphRegularization` its output (the embedding)
    is what the graph term regularizes by default.

    Args:
      embedding_network: a model `[B, ...]` -> `[B, D]`.
      num_classes: C.
    """

    def __init__(self, embedding_network: keras.Model, num_classes: int, **kwargs):
        super().__init__(**kwargs)
        self.embedding_network = embedding_network
        self.num_classes = int(num_classes)
        self.head = SampledSoftmaxHead(num_classes, name="head")
        try:  # a functional or Sequential network on keras.Input knows its output now
            output_shape = tuple(embedding_network.outputs[0].shape)
        except (AttributeError, IndexError, TypeError, ValueError):
            output_shape = None
        if output_shape is not None:
            self.head.build(output_shape)

    def build(self, input_shape):
        if not self.head.built:
            self.head.build(self.embedding_network.compute_output_shape(input_shape))
        self.built = True

    def call(self, inputs, training=None):
        return self.embedding_network(inputs, training=training)

    def logits(self, inputs):
        """Full logits `[B, C]` of `inputs`."""
        return self.head(self(inputs, training=False))

    def get_config(self) -> dict:
        config = super().get_config()
        config["embedding_network"] = keras.saving.serialize_keras_object(self.embedding_network)
        config["num_classes"] = self.num_classes
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        network = keras.saving.deserialize_keras_object(
            config.pop("embedding_network"), custom_objects=custom_objects
        )
        return cls(network, **config)
