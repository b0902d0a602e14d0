"""TPU-readiness: every training path has static shapes and trains the same under XLA."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from graphnsl.configs import make_graph_reg_config
from graphnsl.data import make_dataset
from graphnsl.gnn import GraphRegularizationModel, make_graph_dataset
from graphnsl.graph_reg import GraphRegularization

DIM, CLASSES, BATCH = 4, 3, 8
SPEC = {"x": tf.io.FixedLenFeature([DIM], tf.float32)}
CONFIG = make_graph_reg_config(max_neighbors=2, multiplier=0.5)


@pytest.fixture(scope="module")
def pattern(tmp_path_factory, write_shards):
    return write_shards(tmp_path_factory.mktemp("static"))


def _node_model():
    inputs = keras.Input(shape=(DIM,), name="x")
    return keras.Model(inputs, keras.layers.Dense(CLASSES, name="dense")(inputs))


def _datasets(pattern):
    return {
        "graph_reg": make_dataset(
            pattern,
            SPEC,
            "label",
            CONFIG.neighbor_config,
            batch_size=BATCH,
            drop_remainder=True,
            repeat=True,
        ),
        "gnn": make_graph_dataset(
            pattern,
            SPEC,
            "label",
            neighbor_config=CONFIG.neighbor_config,
            batch_size=BATCH,
            static_shapes=True,
            repeat=True,
        ),
    }


def _fully_defined(spec):
    return all(s.shape.is_fully_defined() for s in tf.nest.flatten(spec))


def test_training_inputs_have_static_shapes(pattern):
    for name, dataset in _datasets(pattern).items():
        assert _fully_defined(dataset.element_spec), (name, dataset.element_spec)
    features, labels = _datasets(pattern)["graph_reg"].element_spec
    assert labels.shape == [BATCH] and features["NL_nbr_1_weight"].shape == [BATCH, 1]


@pytest.mark.parametrize("name", ["graph_reg", "gnn"])
def test_jit_compile_trains_like_the_plain_graph(pattern, name):
    weights = {}
    for jit in (False, True):
        keras.utils.set_random_seed(0)
        if name == "graph_reg":
            model = GraphRegularization(_node_model(), CONFIG)
        else:
            model = GraphRegularizationModel(CONFIG, node_model_fn=_node_model)
        model.compile(
            keras.optimizers.SGD(0.5),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            jit_compile=jit,
        )
        history = model.fit(_datasets(pattern)[name], steps_per_epoch=4, epochs=2, verbose=0)
        assert np.isfinite(history.history["loss"]).all()
        assert model.jit_compile is jit
        weights[jit] = [v.numpy() for v in model.trainable_weights]
    for plain, xla in zip(weights[False], weights[True], strict=True):
        np.testing.assert_allclose(plain, xla, rtol=1e-4, atol=1e-5)
