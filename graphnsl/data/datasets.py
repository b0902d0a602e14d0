"""`tf.data` readers of NSL-packed TFRecords."""

from __future__ import annotations

import tensorflow as tf

from graphnsl.configs import GraphNeighborConfig

UNLABELED = -1  # the label of a packed seed that has none (it only carries the graph term)


def _with_zero_default(spec: tf.io.FixedLenFeature) -> tf.io.FixedLenFeature:
    shape = list(spec.shape)
    size = 1
    for dim in shape:
        size *= int(dim)
    zero = b"" if spec.dtype == tf.string else 0
    return tf.io.FixedLenFeature(shape, spec.dtype, default_value=[zero] * size if shape else zero)


def neighbor_parse_spec(
    feature_spec: dict[str, tf.io.FixedLenFeature],
    neighbor_config: GraphNeighborConfig | None,
    label_key: str | None = None,
) -> dict[str, tf.io.FixedLenFeature]:
    """The full parse spec: sample features, label, and each neighbour's features and weight.

    Neighbour features default to zeros and neighbour weights to 0, so a sample with fewer
    than `max_neighbors` neighbours parses with the missing ones switched off.
    """
    spec = dict(feature_spec)
    if label_key is not None:
        spec[label_key] = tf.io.FixedLenFeature([], tf.int64, default_value=UNLABELED)
    if neighbor_config is not None:
        for index in range(neighbor_config.max_neighbors):
            for name, feature in feature_spec.items():
                spec[neighbor_config.feature_key(index, name)] = _with_zero_default(feature)
            spec[neighbor_config.weight_key(index)] = tf.io.FixedLenFeature(
                [1], tf.float32, default_value=[0.0]
            )
    return spec


def make_dataset(
    file_pattern: str | list[str],
    feature_spec: dict[str, tf.io.FixedLenFeature],
    label_key: str | None,
    neighbor_config: GraphNeighborConfig | None = None,
    batch_size: int = 128,
    shuffle: bool = False,
    drop_remainder: bool = False,
    seed: int | None = None,
    shuffle_buffer_size: int = 10000,
    repeat: bool = False,
    cache: bool = False,
    input_context: tf.distribute.InputContext | None = None,
) -> tf.data.Dataset:
    """A batched dataset of `(features, label)` from NSL-packed TFRecords.

    Args:
      file_pattern: a glob (or list of globs) of TFRecord files of `tf.train.Example`.
      feature_spec: sample feature name -> `tf.io.FixedLenFeature` (e.g. `words` int64[1433]).
      label_key: name of the int64 label; a record without it gets -1 (an unlabeled seed).
        None yields the features dict alone.
      neighbor_config: with `max_neighbors=k`, adds `NL_nbr_<i>_<name>` for each spec feature
        and `NL_nbr_<i>_weight` (float32 `[1]`) for i < k; missing neighbours are zeros with
        weight 0.
      batch_size: records per batch.
      shuffle: shuffle records (deterministically when `seed` is set).
      drop_remainder: drop the last partial batch (fixed batch shapes, e.g. for TPU).
      seed: shuffle seed.
      shuffle_buffer_size: records in the shuffle buffer.
      repeat: repeat forever.
      cache: cache parsed batches in memory after the first pass (only with shuffle=False).
      input_context: for `strategy.distribute_datasets_from_function`: this input
        pipeline reads every `num_input_pipelines`-th file (file-level sharding; there must
        be at least as many files as pipelines) and `batch_size` is the global batch, of
        which it makes the per-replica share. Without it, a dataset given to a
        `tf.distribute` strategy (`model.fit` does this) is auto-sharded by file across
        workers, since it reads from a list of files.

    Sharded outputs (`pack-nbrs --num_shards`, Beam's `-SSSSS-of-NNNNN`) are read as a glob
    (`packed-*-of-00004`) or a list; files are read in sorted-name order.

    Returns:
      A prefetched `tf.data.Dataset` of `(features: dict[str, Tensor[batch, ...]], label:
      int64[batch])`, or of `features` when `label_key` is None.

    Raises:
      FileNotFoundError: no file matches `file_pattern`.
      ValueError: fewer files than `input_context`'s input pipelines.
    """
    patterns = [file_pattern] if isinstance(file_pattern, str) else list(file_pattern)
    files = sorted({path for pattern in patterns for path in tf.io.gfile.glob(str(pattern))})
    if not files:
        raise FileNotFoundError(f"no TFRecord file matches {file_pattern!r}.")
    if input_context is not None:
        pipelines = input_context.num_input_pipelines
        if len(files) < pipelines:
            raise ValueError(
                f"{len(files)} files match {file_pattern!r} but {pipelines} input pipelines "
                "read them (file-level sharding needs at least one file each): write more "
                "shards (pack-nbrs --num_shards)."
            )
        files = files[input_context.input_pipeline_id :: pipelines]
        batch_size = input_context.get_per_replica_batch_size(batch_size)
    spec = neighbor_parse_spec(feature_spec, neighbor_config, label_key)

    def parse(serialized):
        features = tf.io.parse_example(serialized, spec)
        if label_key is None:
            return features
        label = features.pop(label_key)
        return features, label

    dataset = tf.data.TFRecordDataset(files)
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer_size, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    dataset = dataset.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if cache and not shuffle:
        dataset = dataset.cache()
    if repeat:
        dataset = dataset.repeat()
    return dataset.prefetch(tf.data.AUTOTUNE)


def multi_worker_strategy(*args, **kwargs) -> tf.distribute.MultiWorkerMirroredStrategy:
    """`tf.distribute.MultiWorkerMirroredStrategy(*args, **kwargs)` that Keras 3's `fit` can use.

    Keras 3.15's TensorFlow trainer reduces a whole nest of per-replica values with one
    `strategy.reduce` call (a first batch, before building) and reduces scalar logs with
    `axis=0`; `MultiWorkerMirroredStrategy` takes one value at a time and no axis on a
    scalar. This strategy's `reduce` maps over the nest and reduces a scalar across replicas
    only, so `model.fit` runs; results are otherwise unchanged.
    """
    strategy = tf.distribute.MultiWorkerMirroredStrategy(*args, **kwargs)
    reduce = strategy.reduce

    def reduce_each(reduce_op, value, axis=None):
        def one(v):
            shape = getattr(strategy.experimental_local_results(v)[0], "shape", None)
            scalar = shape is not None and shape.rank == 0
            return reduce(reduce_op, v, axis=None if scalar else axis)

        return tf.nest.map_structure(one, value)

    strategy.reduce = reduce_each
    return strategy
