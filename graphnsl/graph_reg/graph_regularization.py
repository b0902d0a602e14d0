"""`GraphRegularization`: NSL's graph-regularization wrapper for any Keras 3 model."""

from __future__ import annotations

import keras
import tensorflow as tf

from graphnsl.configs import GraphRegConfig
from graphnsl.graph_reg.neighbor_features import NeighborFeatures, sample_features_only
from graphnsl.graph_reg.pairwise_distance import PairwiseDistance
from graphnsl.lib.labels import MaskUnlabeledSteps


def _single_input_name(model: keras.Model) -> bool:
    """Whether `model` is a Sequential/functional model with exactly one input tensor."""
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        return False
    return isinstance(inputs, (list, tuple)) and len(inputs) == 1


def _tap_layer(base_model: keras.Model, layer_name: str) -> keras.Model:
    """A model on `base_model`'s layers returning `(model output, output of layer_name)`."""
    if not isinstance(layer_name, str):
        raise ValueError(f"regularize_layer must be a layer name (str), got {layer_name!r}.")
    try:
        inputs, outputs = base_model.inputs, base_model.outputs
    except (AttributeError, ValueError):
        inputs = outputs = None
    if not inputs or not outputs:
        raise ValueError(
            f"regularize_layer={layer_name!r} needs a functional or Sequential base model "
            f"built on keras.Input; {base_model.name!r} ({type(base_model).__name__}) has no "
            "known layer graph. Make the layer's output an output of the model instead."
        )
    if len(outputs) != 1:
        raise ValueError(
            f"GraphRegularization needs a base model with one output, {base_model.name!r} "
            f"has {len(outputs)}."
        )
    names = [layer.name for layer in base_model.layers]
    if layer_name not in names:
        raise ValueError(
            f"regularize_layer={layer_name!r} is not a layer of {base_model.name!r}; its "
            f"layers are {names}."
        )
    layer = base_model.get_layer(layer_name)
    try:
        tapped = layer.output
    except (AttributeError, ValueError) as error:
        raise ValueError(
            f"regularize_layer={layer_name!r}: the layer's output is not defined ({error}); "
            "a layer called more than once has no single output."
        ) from None
    return keras.Model(inputs, [outputs[0], tapped], name=f"{base_model.name}_tapped")


@keras.saving.register_keras_serializable(package="graphnsl")
class GraphRegularization(MaskUnlabeledSteps, keras.Model):
    """Wraps a Keras model so that training adds a graph regularization term to its loss.

    In training (`fit`, or a call with `training=True`) the inputs are a packed batch: a dict
    of sample features plus, per `graph_reg_config.neighbor_config`, the neighbour features
    `NL_nbr_<i>_<name>` and weights `NL_nbr_<i>_weight` for `i < K = max_neighbors`. The
    base model runs once on the samples and their neighbours joined along the batch axis
    (`B + B * K` rows) and the wrapper adds, through `add_loss`,

      `scaled_graph_loss = multiplier * distance(outputs of samples, outputs of neighbours)`

    weighted by the neighbour weights and reduced per `graph_reg_config.distance_config`
    (NSL's semantics). The metrics `graph_loss` and `scaled_graph_loss` report it. At
    inference (`predict`, `evaluate`, `training=False`) the wrapper is the base model alone
    and ignores neighbour keys, which may be absent. The base model's variables are shared,
    so training the wrapper trains the base model.

    Unlabeled seeds: rows whose integer label is negative (make_dataset reads a missing label
    as -1) contribute their graph term but no supervised loss; the supervised loss is the
    average over the batch's labeled rows (see `mask_unlabeled`). So edges between unlabeled
    nodes regularize too, as in Neural Graph Machines. To build such a training file, write
    every node as a seed — labeled nodes with their `label`, the others without — into one
    TFRecord and pack it against itself:

      write_examples('seeds.tfr', ...)  # graphnsl.data.examples
      pack_nbrs('seeds.tfr', '', 'graph.tsv', 'train.tfr', max_nbrs=K)  # graphnsl.data.pack_nbrs

    (`prepare_planetoid(..., unlabeled_seeds=True)` does this for Planetoid datasets.)

    Args:
      base_model: any Keras model (Sequential, functional or subclassed) whose single
        output tensor is regularized (usually logits). It receives the dict of sample
        features, or the single tensor when the dict has one entry and the model has one
        input.
      graph_reg_config: a `GraphRegConfig` (see `make_graph_reg_config`); None means the
        default (0 neighbours, so no regularization).
      regularize_layer: the name of a layer of `base_model` whose output is regularized
        instead of the model's output (e.g. the embedding layer of an image model, as in
        Graph-RISE); None (the default, NSL's behaviour) regularizes the model's output. The
        wrapper still returns, and the supervised loss still sees, the model's output. Needs
        a functional or Sequential base model (one whose layer graph is known).
      **kwargs: `keras.Model` arguments (`name`, ...).

    Input shapes: dict of `[B, ...]` sample features, `[B, ...]` neighbour features of the
    same shape, `[B, 1]` neighbour weights. Output: the base model's output for the samples.

    Example:
      >>> config = make_graph_reg_config(max_neighbors=2, multiplier=0.1)
      >>> model = GraphRegularization(base_model, config)
      >>> model.compile('adam', keras.losses.SparseCategoricalCrossentropy(from_logits=True))
      >>> model.fit(make_dataset(path, spec, 'label', neighbor_config=config.neighbor_config))
    """

    def __init__(
        self,
        base_model: keras.Model,
        graph_reg_config: GraphRegConfig | None = None,
        regularize_layer: str | None = None,
        **kwargs,
    ):
        kwargs.setdefault("name", "graph_regularization")
        super().__init__(**kwargs)
        if not isinstance(base_model, keras.layers.Layer):
            raise ValueError(f"base_model must be a Keras model, got {type(base_model).__name__}.")
        if graph_reg_config is None:
            graph_reg_config = GraphRegConfig()
        if isinstance(graph_reg_config, dict):
            graph_reg_config = GraphRegConfig.from_dict(graph_reg_config)
        if not isinstance(graph_reg_config, GraphRegConfig):
            raise ValueError(
                f"graph_reg_config must be a GraphRegConfig, got {graph_reg_config!r}; "
                "use graphnsl.configs.make_graph_reg_config."
            )
        self.base_model = base_model
        self._graph_reg_config = graph_reg_config
        self.neighbor_features = NeighborFeatures(
            graph_reg_config.neighbor_config, name="neighbor_features"
        )
        self.pairwise_distance = PairwiseDistance(
            graph_reg_config.distance_config, name="pairwise_distance"
        )
        self.regularize_layer = regularize_layer
        # The base model's layers with two outputs (model output, regularized layer's output).
        self._tapped_model = None
        if regularize_layer is not None:
            self._tapped_model = _tap_layer(base_model, regularize_layer)
        self.graph_loss_tracker = keras.metrics.Mean(name="graph_loss")
        self.scaled_graph_loss_tracker = keras.metrics.Mean(name="scaled_graph_loss")

    @property
    def graph_reg_config(self) -> GraphRegConfig:
        """The `GraphRegConfig` this model was built with."""
        return self._graph_reg_config

    @property
    def _regularizes(self) -> bool:
        config = self._graph_reg_config
        return config.neighbor_config.max_neighbors > 0 and config.multiplier > 0

    def _base_inputs(self, features):
        if isinstance(features, dict) and len(features) == 1:
            if _single_input_name(self.base_model):
                return next(iter(features.values()))
        return features

    def _run_base(self, features, training):
        return self.base_model(self._base_inputs(features), training=training)

    def build(self, input_shape=None):
        # The base model builds itself on its first call; nothing else holds weights.
        self.built = True

    def call(self, inputs, training=None):
        if not training or not self._regularizes:
            return self._run_base(
                sample_features_only(inputs, self._graph_reg_config.neighbor_config), training
            )
        if not isinstance(inputs, dict):
            raise ValueError(
                "GraphRegularization trains on a dict of sample and neighbour features "
                f"(max_neighbors={self._graph_reg_config.neighbor_config.max_neighbors}), "
                f"got {type(inputs).__name__}."
            )
        samples, neighbors, weights = self.neighbor_features(inputs)
        batch = tf.shape(next(iter(samples.values())))[0]
        # One call over samples and neighbours: one pass through the layers instead of two.
        joined = {
            name: tf.concat([value, tf.cast(neighbors[name], value.dtype)], axis=0)
            for name, value in samples.items()
        }
        if self._tapped_model is not None:
            outputs, regularized = self._tapped_model(self._base_inputs(joined), training=training)
        else:
            outputs = regularized = self._run_base(joined, training)
        if not isinstance(outputs, tf.Tensor):
            raise ValueError(
                "GraphRegularization needs a base model with one output tensor, got "
                f"{type(outputs).__name__}."
            )
        sample_outputs = outputs[:batch]
        graph_loss = self.pairwise_distance(regularized[:batch], regularized[batch:], weights)
        scaled_graph_loss = self._graph_reg_config.multiplier * graph_loss
        self.add_loss(scaled_graph_loss)
        self.graph_loss_tracker.update_state(graph_loss)
        self.scaled_graph_loss_tracker.update_state(scaled_graph_loss)
        return sample_outputs

    def get_config(self) -> dict:
        config = super().get_config()
        config["base_model"] = keras.saving.serialize_keras_object(self.base_model)
        config["graph_reg_config"] = self._graph_reg_config.to_dict()
        config["regularize_layer"] = self.regularize_layer
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects=None) -> GraphRegularization:
        config = dict(config)
        base_model = keras.saving.deserialize_keras_object(
            config.pop("base_model"), custom_objects=custom_objects
        )
        graph_reg_config = GraphRegConfig.from_dict(config.pop("graph_reg_config"))
        return cls(base_model, graph_reg_config, **config)
