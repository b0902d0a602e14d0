"""Fast `compile()` defaults for graphnsl's Keras models: XLA and several steps per call.

A graph-regularized step on a small model is cheap, so `fit` at Keras' defaults spends most
of its time in Python and dispatch between steps, not in the step. Two settings remove most
of that: running several steps per call into the compiled function (`steps_per_execution`)
and fusing the step with XLA (`jit_compile`). Keras' own `jit_compile="auto"` never picks XLA
on a machine without an accelerator. `FastCompileDefaults` picks both for arguments the user
left at their defaults; arguments the user gives always win (`steps_per_execution=1` given
explicitly stays 1).

Results stay those of Keras' defaults: the same steps run on the same batches in the same
order. Where a larger `steps_per_execution` would change what a run does, one call keeps 1:
a callback with a per-batch hook (it would be called once per group of steps), or
`steps_per_epoch` / `validation_steps` / `steps` not a multiple of the group (Keras would run
a whole group). Where XLA cannot compile the model's step, the first call says so in a
warning and the model continues without XLA, on the same batches.
"""

from __future__ import annotations

import inspect
import warnings

import keras
import tensorflow as tf

# Steps run per call into the compiled training, test or predict function.
AUTO_STEPS_PER_EXECUTION = 32

_BATCH_HOOKS = (
    "on_batch_begin",
    "on_batch_end",
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_test_batch_begin",
    "on_test_batch_end",
    "on_predict_batch_begin",
    "on_predict_batch_end",
)
# Keras' own callbacks whose per-batch hooks only report (a progress bar, the history).
_REPORTING_CALLBACKS = (keras.callbacks.ProgbarLogger, keras.callbacks.History)
# What a failed XLA compilation says (tf2xla: unsupported ops, non-constant shapes).
_XLA_ERROR_MARKERS = (
    "XLA",
    "xla",
    "compile-time constant",
    "Detected unsupported operations",
    "not compilable",
)
_COMPILE_SIGNATURE = inspect.signature(keras.Model.compile)


def has_batch_hooks(callback) -> bool:
    """Whether a Keras callback acts per batch (overrides or sets a per-batch hook).

    Args:
      callback: a `keras.callbacks.Callback`.

    Returns:
      False for Keras' progress bar and history, else True when the callback's class or
      the instance itself (`LambdaCallback`) defines any `on_*batch_*` method.
    """
    if isinstance(callback, _REPORTING_CALLBACKS):
        return False
    base = keras.callbacks.Callback
    for hook in _BATCH_HOOKS:
        if hook in vars(callback):
            return True
        if getattr(type(callback), hook, None) is not getattr(base, hook):
            return True
    return False


def is_xla_compile_error(error: Exception) -> bool:
    """Whether a TensorFlow error is XLA refusing to compile a function."""
    if not isinstance(
        error,
        (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError, tf.errors.InternalError),
    ):
        return False
    message = str(error)
    return any(marker in message for marker in _XLA_ERROR_MARKERS)


def single_batch_data(data) -> bool:
    """Whether `data` is a `tf.data.Dataset` of exactly one element (such as a full graph).

    Such a call runs one step shape over and over, so XLA compiles it once and then pays
    off; see `FastCompileDefaults` for why batches of static shape do not count.
    """
    return isinstance(data, tf.data.Dataset) and int(data.cardinality()) == 1


def _replay(batches: list, element_spec) -> tf.data.Iterator:
    """An iterator over batches already taken, with the element spec of their source.

    The same spec means the same trace (and XLA compilation) as the later calls, which get
    the source iterator itself; a plain list would be traced, and compiled, once more.
    """
    dataset = tf.data.Dataset.from_generator(lambda: iter(batches), output_signature=element_spec)
    return iter(dataset)


def _callback_list(callbacks):
    if callbacks is None:
        return []
    if isinstance(callbacks, keras.callbacks.CallbackList):
        return list(callbacks.callbacks)
    return list(callbacks)


class FastCompileDefaults:
    """Mixin for a `keras.Model`: `compile()` defaults to XLA and 32 steps per execution.

    Put it before `keras.Model` in the bases. `compile(...)` arguments:

    - `jit_compile` left out or `"auto"`: XLA when the model can use it — not run eagerly,
      every layer `supports_jit`, no distribution strategy, op determinism off — on any
      device when the class attribute `auto_xla_on_cpu` is True (the default); with
      `auto_xla_on_cpu = "single_batch"`, on accelerators and, on CPU, for the `fit`,
      `evaluate` and `predict` calls whose data is a one-element dataset
      (`single_batch_data`: a full graph), where XLA compiles once; with False, Keras' own
      rule (XLA on accelerators only). Should XLA fail to compile the step, the model
      warns and continues without it. (Measured for the Cora GCN on 2 CPU cores: XLA runs
      the full-graph epoch about twice as fast, but packed batches of static shape at
      less than half the speed, so only the one-element case gets it.)
    - `steps_per_execution` left out: `AUTO_STEPS_PER_EXECUTION` steps per call (see the
      module docstring for the calls that keep 1); 1 under a distribution strategy, where
      Keras' multi-step loop fails.

    `model.jit_compile` and `model.steps_per_execution` show what was chosen. A saved
    model keeps the arguments as the user gave them, so a loaded one chooses again.
    """

    # Whether jit_compile="auto" picks XLA on machines without an accelerator: True, False,
    # or "single_batch" (per call, for a dataset of one element).
    auto_xla_on_cpu = True

    def compile(self, *args, **kwargs):
        bound = _COMPILE_SIGNATURE.bind(self, *args, **kwargs)
        given = dict(bound.arguments)
        given.pop("self")
        extra = given.pop("kwargs", {})
        user_jit = given.get("jit_compile", "auto")
        user_steps = given.get("steps_per_execution")
        run_eagerly = bool(given.get("run_eagerly", False))
        self._auto_jit = user_jit == "auto" and not run_eagerly
        # Keras' multi-step loop fails under tf.distribute (feeds a placeholder), so a
        # distributed model keeps one step per execution.
        self._auto_steps = user_steps is None and not run_eagerly and not self._distributed()
        if self._auto_jit:
            given["jit_compile"] = self._resolve_fast_jit_compile()
        if self._auto_steps:
            given["steps_per_execution"] = AUTO_STEPS_PER_EXECUTION
        self._xla_checked = set()
        super().compile(**given, **extra)
        # A saved model records what the user asked for, so loading chooses again.
        config = getattr(self, "_compile_config", None)
        if config is not None and hasattr(config, "config"):
            config.config["jit_compile"] = user_jit
            if user_steps is None:
                config.config.pop("steps_per_execution", None)

    def compile_from_config(self, config):
        """Compiles a loaded model from its saved compile config (Keras skips a custom compile)."""
        from keras.src.saving import serialization_lib

        self.compile(**serialization_lib.deserialize_keras_object(config))
        if hasattr(self, "optimizer") and self.built:
            self.optimizer.build(self.trainable_variables)

    def _distributed(self) -> bool:
        return bool(getattr(self, "_distribute_strategy", None)) or tf.distribute.has_strategy()

    def _resolve_fast_jit_compile(self) -> bool:
        if self.auto_xla_on_cpu is not True:  # False or "single_batch"
            return self._resolve_auto_jit_compile()
        if keras.backend.backend() != "tensorflow":
            return self._resolve_auto_jit_compile()
        if self._distribute_strategy:
            return False
        from keras.src.trainers.trainer import model_supports_jit

        return bool(model_supports_jit(self))

    # XLA per call for one-element data --------------------------------------------------

    def _use_xla_for(self, *datasets) -> None:
        """With `auto_xla_on_cpu="single_batch"`: XLA for this call iff its data is one batch."""
        if not getattr(self, "_auto_jit", False) or self.auto_xla_on_cpu != "single_batch":
            return
        if getattr(self, "_in_fit", False) or getattr(self, "_xla_failed", False):
            return
        if self._resolve_auto_jit_compile():
            return  # an accelerator: Keras' rule already chose XLA
        from keras.src.trainers.trainer import model_supports_jit

        wanted = (
            not self._distributed()
            and model_supports_jit(self)
            and all(single_batch_data(d) for d in datasets if d is not None)
        )
        if bool(self.jit_compile) != wanted:
            self.jit_compile = wanted
            self.train_function = self.test_function = self.predict_function = None
            self._xla_checked = set()

    # Steps per execution, per call -------------------------------------------------------

    def _use_steps_per_execution(self, callbacks, *steps) -> None:
        """Sets this call's steps per execution: the auto value, or 1 where it would differ."""
        if not getattr(self, "_auto_steps", False) or getattr(self, "_in_fit", False):
            return
        wanted = AUTO_STEPS_PER_EXECUTION
        if any(has_batch_hooks(c) for c in _callback_list(callbacks)):
            wanted = 1
        if any(s is not None and s % AUTO_STEPS_PER_EXECUTION for s in steps):
            wanted = 1
        if self.steps_per_execution != wanted:
            self.steps_per_execution = wanted
            self.train_function = self.test_function = self.predict_function = None

    def fit(self, *args, **kwargs):
        bound = inspect.signature(keras.Model.fit).bind(self, *args, **kwargs)
        arguments = bound.arguments
        self._use_steps_per_execution(
            arguments.get("callbacks"),
            arguments.get("steps_per_epoch"),
            arguments.get("validation_steps"),
        )
        validation = arguments.get("validation_data")
        if isinstance(validation, (tuple, list)):
            validation = None  # arrays: Keras batches them; only a dataset is judged
        self._use_xla_for(arguments.get("x"), validation)
        # fit's own validation (evaluate) keeps fit's choice.
        self._in_fit = True
        try:
            return super().fit(*args, **kwargs)
        finally:
            self._in_fit = False

    def evaluate(self, *args, **kwargs):
        bound = inspect.signature(keras.Model.evaluate).bind(self, *args, **kwargs)
        self._use_steps_per_execution(
            bound.arguments.get("callbacks"), bound.arguments.get("steps")
        )
        self._use_xla_for(bound.arguments.get("x"))
        return super().evaluate(*args, **kwargs)

    def predict(self, *args, **kwargs):
        bound = inspect.signature(keras.Model.predict).bind(self, *args, **kwargs)
        self._use_steps_per_execution(
            bound.arguments.get("callbacks"), bound.arguments.get("steps")
        )
        self._use_xla_for(bound.arguments.get("x"))
        if not (getattr(self, "_auto_jit", False) and self.jit_compile):
            return super().predict(*args, **kwargs)
        x = bound.arguments.get("x")
        try:
            return super().predict(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - only XLA's refusal is handled
            rerunnable = isinstance(x, tf.data.Dataset) or not hasattr(x, "__next__")
            if not (is_xla_compile_error(error) and rerunnable):
                raise
            self._disable_xla(error)
            return super().predict(*args, **kwargs)

    # XLA fallback --------------------------------------------------------------------------

    def _disable_xla(self, error: Exception) -> None:
        first_line = str(error).strip().splitlines()[0][:300] if str(error).strip() else ""
        warnings.warn(
            f"{type(self).__name__}: XLA could not compile the model's step ({first_line}); "
            "continuing without XLA. Pass jit_compile=False to compile() to skip the attempt.",
            stacklevel=3,
        )
        self.jit_compile = False
        self._xla_failed = True
        self.train_function = self.test_function = self.predict_function = None

    def _guard_first_call(self, kind: str):
        """Wraps `self.<kind>_function` so that its first call can fall back from XLA."""
        function = getattr(self, f"{kind}_function")
        if function is None or not (getattr(self, "_auto_jit", False) and self.jit_compile):
            return
        if kind in getattr(self, "_xla_checked", {kind}):
            return

        def first_call(iterator):
            if not isinstance(iterator, tf.data.Iterator):
                return function(iterator)
            # Take this call's batches first, so that a failed compilation loses none.
            batches = []
            for _ in range(self.steps_per_execution):
                optional = iterator.get_next_as_optional()
                if not optional.has_value():
                    break
                batches.append(optional.get_value())
            if not batches:
                raise StopIteration
            spec = iterator.element_spec
            try:
                outputs = function(_replay(batches, spec))
            except Exception as error:  # noqa: BLE001 - only XLA's refusal is handled
                if not is_xla_compile_error(error):
                    raise
                self._disable_xla(error)
                getattr(self, f"make_{kind}_function")()
                outputs = getattr(self, f"{kind}_function")(_replay(batches, spec))
            self._xla_checked.add(kind)
            # Later calls go straight to Keras' function.
            if getattr(self, f"{kind}_function") is first_call:
                setattr(self, f"{kind}_function", function)
            return outputs

        setattr(self, f"{kind}_function", first_call)

    def make_train_function(self, force=False):
        existed = self.train_function is not None and not force
        result = super().make_train_function(force)
        if not existed:
            self._guard_first_call("train")
        return result

    def make_test_function(self, force=False):
        existed = self.test_function is not None and not force
        result = super().make_test_function(force)
        if not existed:
            self._guard_first_call("test")
        return result
