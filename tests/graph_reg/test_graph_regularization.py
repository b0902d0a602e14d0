"""Tests of graphnsl/graph_reg/graph_regularization.py."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from graphnsl.configs import make_graph_reg_config
from graphnsl.graph_reg import GraphRegularization

BATCH, DIM, CLASSES, K = 6, 4, 3, 2


def _packed(seed=0, zero_weights=True):
    rng = np.random.default_rng(seed)
    features = {"x": rng.normal(size=(BATCH, DIM)).astype("float32")}
    for i in range(K):
        features[f"NL_nbr_{i}_x"] = rng.normal(size=(BATCH, DIM)).astype("float32")
        weight = rng.uniform(0.5, 1.5, size=(BATCH, 1)).astype("float32")
        if zero_weights:
            weight[i::3] = 0.0  # missing neighbours
        features[f"NL_nbr_{i}_weight"] = weight
    labels = rng.integers(0, CLASSES, size=BATCH)
    return features, labels


def _kernel():
    rng = np.random.default_rng(7)
    return rng.normal(size=(DIM, CLASSES)).astype("float32"), np.array([0.1, -0.2, 0.3], "float32")


def _sequential():
    model = keras.Sequential([keras.Input((DIM,), name="x"), keras.layers.Dense(CLASSES)])
    model.layers[0].set_weights(list(_kernel()))
    return model


def _functional():
    inputs = keras.Input((DIM,), name="x")
    model = keras.Model(inputs, keras.layers.Dense(CLASSES)(inputs))
    model.layers[-1].set_weights(list(_kernel()))
    return model


@keras.saving.register_keras_serializable(package="graphnsl_tests")
class DictModel(keras.Model):
    """A subclassed model that reads feature 'x' from a dict."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(CLASSES)

    def call(self, inputs):
        return self.dense(inputs["x"])


def _subclassed():
    model = DictModel()
    model({"x": np.zeros((1, DIM), "float32")})
    model.dense.set_weights(list(_kernel()))
    return model


BASES = {"sequential": _sequential, "functional": _functional, "subclassed": _subclassed}


def _logits(x):
    kernel, bias = _kernel()
    return x @ kernel + bias


def _numpy_graph_loss(features):
    """L2 on logits, weighted, summed and divided by the count of non-zero weighted elements."""
    sources = np.repeat(_logits(features["x"]), K, axis=0)
    targets = np.stack([_logits(features[f"NL_nbr_{i}_x"]) for i in range(K)], 1)
    targets = targets.reshape(-1, CLASSES)
    weights = np.stack([features[f"NL_nbr_{i}_weight"] for i in range(K)], 1).reshape(-1, 1)
    weights = np.broadcast_to(weights, sources.shape)
    return np.sum(weights * (sources - targets) ** 2) / np.count_nonzero(weights)


def _numpy_cross_entropy(logits, labels, weights=None):
    log_probs = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
    losses = -log_probs[np.arange(len(labels)), labels]
    weights = np.ones_like(losses) if weights is None else weights
    return np.sum(losses * weights) / len(labels)


def _compiled(base, multiplier=0.5, **compile_kwargs):
    model = GraphRegularization(base, make_graph_reg_config(max_neighbors=K, multiplier=multiplier))
    model.compile(
        optimizer=keras.optimizers.SGD(0.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        **compile_kwargs,
    )
    return model


@pytest.mark.parametrize("kind", sorted(BASES))
def test_graph_loss_matches_numpy_for_each_base_kind(kind):
    features, labels = _packed()
    model = _compiled(BASES[kind](), multiplier=0.5)
    outputs = model(features, training=True)
    np.testing.assert_allclose(outputs, _logits(features["x"]), rtol=1e-5, atol=1e-6)
    graph_loss = _numpy_graph_loss(features)
    assert graph_loss > 0.1
    np.testing.assert_allclose(float(model.losses[0]), 0.5 * graph_loss, rtol=1e-5)
    logs = model.train_on_batch(features, labels, return_dict=True)
    expected = _numpy_cross_entropy(_logits(features["x"]), labels) + 0.5 * graph_loss
    np.testing.assert_allclose(logs["loss"], expected, rtol=1e-5)
    np.testing.assert_allclose(logs["graph_loss"], graph_loss, rtol=1e-5)
    np.testing.assert_allclose(logs["scaled_graph_loss"], 0.5 * graph_loss, rtol=1e-5)


def test_multiplier_zero_gives_the_base_model_loss():
    features, labels = _packed()
    base = _functional()
    base.compile(keras.optimizers.SGD(0.0), keras.losses.SparseCategoricalCrossentropy(True))
    base_loss = base.train_on_batch(features["x"], labels)
    zero = _compiled(_functional(), multiplier=0.0)
    logs = zero.train_on_batch(features, labels, return_dict=True)
    np.testing.assert_allclose(logs["loss"], base_loss, rtol=1e-6)
    regularized = _compiled(_functional(), multiplier=1.0)
    assert regularized.train_on_batch(features, labels, return_dict=True)["loss"] > base_loss + 0.1


def test_inference_is_the_base_model_and_needs_no_neighbours():
    features, labels = _packed()
    model = _compiled(_sequential())
    expected = _logits(features["x"])
    np.testing.assert_allclose(model.predict({"x": features["x"]}, verbose=0), expected, rtol=1e-5)
    np.testing.assert_allclose(model.predict(features, verbose=0), expected, rtol=1e-5)
    logs = model.evaluate(features, labels, return_dict=True, verbose=0)
    np.testing.assert_allclose(
        logs["loss"], _numpy_cross_entropy(expected, labels), rtol=1e-5
    )  # no graph term at evaluation
    assert model(features, training=False).shape == (BATCH, CLASSES)
    assert not model.losses


def test_unlabeled_rows_get_the_graph_term_but_no_supervised_loss():
    features, labels = _packed()
    labels = labels.copy()
    labels[[1, 4]] = -1
    logs = _compiled(_functional()).train_on_batch(features, labels, return_dict=True)
    logits = _logits(features["x"])
    keep = labels >= 0
    supervised = _numpy_cross_entropy(logits[keep], labels[keep])
    np.testing.assert_allclose(
        logs["loss"], supervised + 0.5 * _numpy_graph_loss(features), rtol=1e-5
    )


def test_sample_weights_weight_the_supervised_loss():
    features, labels = _packed()
    sample_weight = np.array([1.0, 0.0, 2.0, 0.5, 1.0, 3.0], "float32")
    model = _compiled(_functional())
    logs = model.train_on_batch(features, labels, sample_weight=sample_weight, return_dict=True)
    supervised = _numpy_cross_entropy(_logits(features["x"]), labels, sample_weight)
    np.testing.assert_allclose(
        logs["loss"], supervised + 0.5 * _numpy_graph_loss(features), rtol=1e-5
    )


def test_fit_with_jit_compile_and_callbacks_learns():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(64, DIM)).astype("float32")
    labels = (x[:, 0] > 0).astype("int64")
    features = {"x": x}
    for i in range(K):  # neighbours: noisy copies, so the graph term is small but non-zero
        features[f"NL_nbr_{i}_x"] = x + 0.1 * rng.normal(size=x.shape).astype("float32")
        features[f"NL_nbr_{i}_weight"] = np.ones((64, 1), "float32")
    model = GraphRegularization(
        keras.Sequential([keras.Input((DIM,), name="x"), keras.layers.Dense(2)]),
        make_graph_reg_config(max_neighbors=K, multiplier=0.1),
    )
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(True), jit_compile=True)
    seen = []
    callback = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(logs))
    history = model.fit(features, labels, batch_size=16, epochs=8, verbose=0, callbacks=[callback])
    assert len(seen) == 8 and "graph_loss" in seen[-1] and seen[-1]["graph_loss"] > 0
    assert history.history["loss"][-1] < history.history["loss"][0]


@pytest.mark.parametrize("kind", ["functional", "subclassed"])
def test_save_and_load_give_identical_predictions(kind, tmp_path):
    features, labels = _packed()
    model = _compiled(BASES[kind]())
    model.optimizer.learning_rate.assign(0.1)
    model.train_on_batch(features, labels)
    before = model.predict({"x": features["x"]}, verbose=0)
    assert not np.allclose(before, _logits(features["x"]))  # it trained
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, GraphRegularization)
    assert loaded.graph_reg_config == model.graph_reg_config
    np.testing.assert_array_equal(loaded.predict({"x": features["x"]}, verbose=0), before)


def test_missing_neighbour_key_in_training_names_it():
    features, labels = _packed()
    del features["NL_nbr_1_weight"]
    model = _compiled(_functional())
    with pytest.raises(KeyError, match="NL_nbr_1_weight"):
        model(features, training=True)
    with pytest.raises(KeyError, match="NL_nbr_0_x"):
        model.train_on_batch({"x": features["x"]}, labels)


def test_wrong_neighbour_shape_names_the_key():
    features, labels = _packed()
    features["NL_nbr_0_x"] = np.zeros((BATCH, DIM + 1), "float32")
    with pytest.raises(ValueError, match="NL_nbr_0_x"):
        _compiled(_functional())(features, training=True)


def test_bad_arguments():
    with pytest.raises(ValueError, match="graph_reg_config"):
        GraphRegularization(_functional(), 3)
    with pytest.raises(ValueError, match="base_model"):
        GraphRegularization("not a model")


_STRATEGY_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    sys.path.insert(0, sys.argv[1])
    import test_graph_regularization as t
    features, labels = t._packed(zero_weights=False)
    results = {}
    for name, strategy in [("single", tf.distribute.get_strategy()),
                           ("mirrored", tf.distribute.MirroredStrategy(["CPU:0", "CPU:1"]))]:
        with strategy.scope():
            model = t._compiled(t._functional(), multiplier=0.5)
            model.optimizer.learning_rate.assign(0.1)
        ds = tf.data.Dataset.from_tensor_slices((features, labels)).batch(t.BATCH)
        history = model.fit(ds, epochs=1, verbose=0)
        results[name] = {"replicas": strategy.num_replicas_in_sync,
                         "graph_loss": history.history["graph_loss"][0],
                         "kernel": model.base_model.layers[-1].kernel.numpy().tolist()}
    print("RESULT " + json.dumps(results))
    """
)


def test_mirrored_strategy_on_two_logical_cpus_matches_one_device():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    run = subprocess.run(
        [sys.executable, "-c", _STRATEGY_SCRIPT, os.path.dirname(__file__)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, run.stderr[-3000:]
    results = json.loads(lines[0][len("RESULT ") :])
    assert results["mirrored"]["replicas"] == 2
    # All weights non-zero and equal halves: the replicas' mean equals the whole batch's loss.
    features, _ = _packed(zero_weights=False)
    expected = _numpy_graph_loss(features)
    np.testing.assert_allclose(results["single"]["graph_loss"], expected, rtol=1e-5)
    np.testing.assert_allclose(results["mirrored"]["graph_loss"], expected, rtol=1e-3)
    np.testing.assert_allclose(
        results["mirrored"]["kernel"], results["single"]["kernel"], rtol=1e-4, atol=1e-6
    )
    assert not np.allclose(results["single"]["kernel"], _kernel()[0])


# --- regularize_layer: graph regularization of an inner layer (Graph-RISE's embedding) ---

EMBED = 3


def _embedding_kernels():
    rng = np.random.default_rng(11)
    return (
        rng.normal(size=(DIM, EMBED)).astype("float32"),
        rng.normal(size=(EMBED, CLASSES)).astype("float32"),
    )


def _two_layer(kind):
    first, second = _embedding_kernels()
    layers = [
        keras.layers.Dense(EMBED, use_bias=False, activation="tanh", name="embedding"),
        keras.layers.Dense(CLASSES, use_bias=False, name="logits"),
    ]
    if kind == "sequential":
        model = keras.Sequential([keras.Input((DIM,), name="x"), *layers])
    else:
        inputs = keras.Input((DIM,), name="x")
        model = keras.Model(inputs, layers[1](layers[0](inputs)))
    model.get_layer("embedding").set_weights([first])
    model.get_layer("logits").set_weights([second])
    return model


def _numpy_embedding_graph_loss(features):
    first, _ = _embedding_kernels()
    embed = lambda x: np.tanh(x @ first)  # noqa: E731
    sources = np.repeat(embed(features["x"]), K, axis=0)
    targets = np.stack([embed(features[f"NL_nbr_{i}_x"]) for i in range(K)], 1).reshape(-1, EMBED)
    weights = np.stack([features[f"NL_nbr_{i}_weight"] for i in range(K)], 1).reshape(-1, 1)
    weights = np.broadcast_to(weights, sources.shape)
    return np.sum(weights * (sources - targets) ** 2) / np.count_nonzero(weights)


@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_regularize_layer_regularizes_that_layer_and_returns_the_output(kind):
    features, labels = _packed()
    first, second = _embedding_kernels()
    logits = np.tanh(features["x"] @ first) @ second
    config = make_graph_reg_config(max_neighbors=K, multiplier=0.5)
    model = GraphRegularization(_two_layer(kind), config, regularize_layer="embedding")
    model.compile(keras.optimizers.SGD(0.0), keras.losses.SparseCategoricalCrossentropy(True))
    np.testing.assert_allclose(model(features, training=True), logits, rtol=1e-5, atol=1e-6)
    graph_loss = _numpy_embedding_graph_loss(features)
    assert abs(graph_loss - _numpy_graph_loss(features)) > 0.1  # not the output's distance
    logs = model.train_on_batch(features, labels, return_dict=True)
    np.testing.assert_allclose(logs["graph_loss"], graph_loss, rtol=1e-5)
    np.testing.assert_allclose(
        logs["loss"], _numpy_cross_entropy(logits, labels) + 0.5 * graph_loss, rtol=1e-5
    )
    np.testing.assert_allclose(model.predict(features, verbose=0), logits, rtol=1e-5, atol=1e-6)


def test_regularize_layer_config_round_trip_and_save(tmp_path):
    config = make_graph_reg_config(max_neighbors=K, multiplier=0.5)
    model = GraphRegularization(_two_layer("functional"), config, regularize_layer="embedding")
    assert model.get_config()["regularize_layer"] == "embedding"
    assert (
        GraphRegularization(_two_layer("functional"), config).get_config()["regularize_layer"]
        is None
    )  # NSL's default: the output
    clone = GraphRegularization.from_config(model.get_config())
    assert clone.regularize_layer == "embedding" and clone.graph_reg_config == config
    features, labels = _packed()
    model.compile(keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(True))
    model.train_on_batch(features, labels)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.regularize_layer == "embedding"
    np.testing.assert_allclose(
        loaded.predict(features, verbose=0), model.predict(features, verbose=0), rtol=1e-6
    )
    loaded.compile(keras.optimizers.SGD(0.0), keras.losses.SparseCategoricalCrossentropy(True))
    np.testing.assert_allclose(
        loaded.train_on_batch(features, labels, return_dict=True)["graph_loss"],
        model.train_on_batch(features, labels, return_dict=True)["graph_loss"],
        rtol=1e-5,
    )


def test_regularize_layer_errors_name_the_layer():
    config = make_graph_reg_config(max_neighbors=K)
    with pytest.raises(
        ValueError, match=r"regularize_layer='embeding' is not a layer .*'embedding'"
    ):
        GraphRegularization(_two_layer("functional"), config, regularize_layer="embeding")
    with pytest.raises(ValueError, match="needs a functional or Sequential base model"):
        GraphRegularization(_subclassed(), config, regularize_layer="dense")
