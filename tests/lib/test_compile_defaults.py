"""Tests of graphnsl/lib/compile_defaults.py (through GraphRegularization and NodeGraphModel)."""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from graphnsl.configs import make_graph_reg_config
from graphnsl.graph_reg import GraphRegularization
from graphnsl.lib import compile_defaults
from graphnsl.lib.compile_defaults import AUTO_STEPS_PER_EXECUTION, has_batch_hooks

ROWS, DIM, CLASSES, BATCH = 80, 4, 3, 8  # 10 batches per epoch


def _dataset():
    rng = np.random.default_rng(0)
    features = {
        "x": rng.normal(size=(ROWS, DIM)).astype("float32"),
        "NL_nbr_0_x": rng.normal(size=(ROWS, DIM)).astype("float32"),
        "NL_nbr_0_weight": rng.uniform(0.5, 1.5, size=(ROWS, 1)).astype("float32"),
    }
    labels = rng.integers(0, CLASSES, size=ROWS)
    labels[::5] = -1  # unlabeled seeds
    return tf.data.Dataset.from_tensor_slices((features, labels)).batch(BATCH)


@keras.saving.register_keras_serializable(package="graphnsl_tests")
class StringRoundTrip(keras.layers.Layer):
    """Identity through strings: runs in TensorFlow, but XLA cannot compile it."""

    def call(self, inputs):
        return tf.strings.to_number(tf.strings.as_string(inputs, precision=9, scientific=True))


def _model(string_layer=False):
    keras.utils.set_random_seed(0)
    layers = [keras.Input((DIM,), name="x")]
    if string_layer:
        layers.append(StringRoundTrip())
    layers.append(keras.layers.Dense(CLASSES))
    model = GraphRegularization(
        keras.Sequential(layers), make_graph_reg_config(max_neighbors=1, multiplier=0.5)
    )
    return model


def _compile(model, **kwargs):
    model.compile(
        keras.optimizers.Adam(0.05),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        **kwargs,
    )
    return model


def _train(model, epochs=2, **fit_kwargs):
    history = model.fit(_dataset(), epochs=epochs, verbose=0, **fit_kwargs)
    return np.array(history.history["loss"]), int(model.optimizer.iterations.numpy())


def test_defaults_chosen_when_left_out():
    model = _compile(_model())
    assert model.steps_per_execution == AUTO_STEPS_PER_EXECUTION
    assert model.jit_compile is bool(model._resolve_fast_jit_compile())
    # What the user asked for is what a saved model records.
    assert model._compile_config.config["jit_compile"] == "auto"
    assert "steps_per_execution" not in model._compile_config.config


def test_user_arguments_win():
    model = _compile(_model(), jit_compile=False, steps_per_execution=1)
    assert model.jit_compile is False
    assert model.steps_per_execution == 1
    model = _compile(_model(), jit_compile=False, steps_per_execution=4)
    assert model.steps_per_execution == 4
    _, iterations = _train(model, epochs=1)
    assert iterations == 10
    assert model.steps_per_execution == 4


def test_run_eagerly_keeps_keras_defaults():
    model = _compile(_model(), run_eagerly=True)
    assert model.steps_per_execution == 1
    assert model.jit_compile is False


@pytest.fixture(scope="module")
def reference():
    """Losses of Keras' defaults without XLA (one step per call), and the step count."""
    return _train(_compile(_model(), jit_compile=False, steps_per_execution=1))


def test_defaults_train_as_keras_defaults(reference):
    # The same 20 steps on the same batches; XLA may round differently.
    losses, steps = _train(_compile(_model()))
    assert reference[1] == steps == 20
    np.testing.assert_allclose(losses, reference[0], rtol=1e-5)
    # Several steps per execution alone changes nothing.
    grouped, _ = _train(_compile(_model(), jit_compile=False))
    np.testing.assert_allclose(grouped, reference[0], rtol=1e-6)


def test_batch_callback_keeps_one_step_per_execution():
    model = _compile(_model(), jit_compile=False)  # steps_per_execution left out
    seen = []
    callback = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.append(batch)
    )
    _, iterations = _train(model, epochs=1, callbacks=[callback])
    assert seen == list(range(10))
    assert iterations == 10
    assert model.steps_per_execution == 1
    # Without it, the next fit groups steps again.
    _train(model, epochs=1, callbacks=[keras.callbacks.EarlyStopping(monitor="loss")])
    assert model.steps_per_execution == AUTO_STEPS_PER_EXECUTION


def test_steps_per_epoch_not_a_multiple_keeps_one_step():
    model = _compile(_model(), jit_compile=False)  # steps_per_execution left out
    dataset = _dataset().repeat()
    model.fit(dataset, epochs=2, steps_per_epoch=3, verbose=0)
    assert int(model.optimizer.iterations.numpy()) == 6
    assert model.steps_per_execution == 1


def test_has_batch_hooks():
    assert not has_batch_hooks(keras.callbacks.ProgbarLogger())
    assert not has_batch_hooks(keras.callbacks.History())
    assert not has_batch_hooks(keras.callbacks.EarlyStopping())
    assert not has_batch_hooks(keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: None))
    assert has_batch_hooks(keras.callbacks.LambdaCallback(on_batch_end=lambda b, logs: None))
    assert has_batch_hooks(keras.callbacks.TerminateOnNaN())

    class PerBatch(keras.callbacks.Callback):
        def on_test_batch_end(self, batch, logs=None):
            pass

    assert has_batch_hooks(PerBatch())


def test_xla_failure_falls_back_without_losing_batches(monkeypatch, reference):
    monkeypatch.setattr(GraphRegularization, "auto_xla_on_cpu", True)
    model = _compile(_model(string_layer=True))
    assert model.jit_compile is True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        losses, iterations = _train(model)
    messages = [str(w.message) for w in caught if "XLA could not compile" in str(w.message)]
    assert len(messages) == 1
    assert model.jit_compile is False
    assert iterations == 20
    # The string round trip is exact, so this is the reference model, batch for batch.
    np.testing.assert_allclose(losses, reference[0], rtol=1e-6)
    # evaluate and predict run without XLA too.
    assert np.isfinite(model.evaluate(_dataset(), verbose=0)[0])
    assert model.predict(_dataset(), verbose=0).shape == (ROWS, CLASSES)


def test_xla_error_recognized():
    assert compile_defaults.is_xla_compile_error(
        tf.errors.InvalidArgumentError(None, None, "Detected unsupported operations when ...")
    )
    assert not compile_defaults.is_xla_compile_error(
        tf.errors.InvalidArgumentError(None, None, "indices[3] = 9 is not in [0, 4)")
    )
    assert not compile_defaults.is_xla_compile_error(ValueError("XLA"))


@pytest.mark.parametrize("auto_xla_on_cpu", [True, False])
def test_auto_xla_rule(monkeypatch, auto_xla_on_cpu):
    monkeypatch.setattr(GraphRegularization, "auto_xla_on_cpu", auto_xla_on_cpu)
    model = _compile(_model())
    has_accelerator = any(d.device_type != "CPU" for d in tf.config.list_physical_devices())
    assert model.jit_compile is (auto_xla_on_cpu or has_accelerator)


def test_saved_model_chooses_again(tmp_path):
    model = _compile(_model(), jit_compile=False)
    model.fit(_dataset(), epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.compiled
    assert loaded.jit_compile is False  # given by the user
    assert loaded.steps_per_execution == AUTO_STEPS_PER_EXECUTION  # left out: chosen again


def test_single_batch_data():
    from graphnsl.lib.compile_defaults import single_batch_data

    one = tf.data.Dataset.from_tensors({"x": tf.zeros([7, 3])})
    assert single_batch_data(one) and single_batch_data(one.cache())
    assert not single_batch_data(one.repeat(2))
    static = tf.data.Dataset.from_tensor_slices(tf.zeros([10, 3])).batch(4, drop_remainder=True)
    assert not single_batch_data(static)  # static shapes, but two batches
    assert not single_batch_data(np.zeros([4, 3]))


def test_replay_keeps_the_element_spec_and_the_batches():
    from graphnsl.lib.compile_defaults import _replay

    source = tf.data.Dataset.from_tensor_slices(np.arange(6.0, dtype=np.float32)).batch(4)
    iterator = iter(source)
    batches = [next(iterator), next(iterator)]
    replay = _replay(batches, iterator.element_spec)
    assert replay.element_spec == iterator.element_spec  # so no second trace / XLA compile
    np.testing.assert_array_equal(np.concatenate(list(replay)), np.arange(6.0))
