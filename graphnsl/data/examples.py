"""Builds, writes and reads `tf.train.Example` TFRecord files.

`make_example` builds an Example from a dict of Python or NumPy values; `write_examples`
writes Examples (or such dicts, or serialized bytes) atomically; `read_examples` yields them
back. Only these import TensorFlow. The TensorFlow-free layers underneath have their own
modules: `tfrecord` (framing, CRC32C, `RecordFile`), `wire_format` (protobuf scans of
serialized Examples), `graph_tsv` (NSL's graph TSV files) and `atomic` (output checks and
atomic writes).

This module also re-exports those modules' names that code written against the former
single module imports from here (`graphnsl.data.examples.RecordFile` and so on), so both
import paths work.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from graphnsl.data.atomic import AtomicOutput, check_output_path
from graphnsl.data.graph_tsv import (
    read_graph_arrays,
    read_graph_edges,
    read_graph_tsv,
    spans_to_array,
    write_graph_tsv,
)
from graphnsl.data.tfrecord import (
    RecordFile,
    _check_exists,
    count_records,
    crc32c,
    crc32c_many,
    read_records,
    write_records,
)
from graphnsl.data.wire_format import (
    FeatureIndex,
    WireFormatError,
    bytes_list_values,
    decode_varints,
    encode_varint,
    feature_entries,
    feature_kind,
    find_feature,
    find_single_bytes_feature,
    float_list_values,
    index_features,
    int64_list_values,
    spans_equal,
)

__all__ = [
    "make_example",
    "write_examples",
    "read_examples",
    "write_records",
    "read_records",
    "write_graph_tsv",
    "read_graph_tsv",
    "read_graph_edges",
    "read_graph_arrays",
    "RecordFile",
    "count_records",
    "index_features",
    "crc32c",
    "feature_entries",
    "find_feature",
    "bytes_list_values",
    "float_list_values",
    "int64_list_values",
    "feature_kind",
    "crc32c_many",
    "spans_to_array",
    "spans_equal",
    "find_single_bytes_feature",
    "FeatureIndex",
    "WireFormatError",
    "encode_varint",
    "decode_varints",
    "AtomicOutput",
    "check_output_path",
]


# ---------------------------------------------------------------------------------------
# tf.train.Example
# ---------------------------------------------------------------------------------------


def _feature(tf, name: str, value: Any):
    """Builds one `tf.train.Feature` from a Python or NumPy value."""
    if isinstance(value, tf.train.Feature):
        return value
    if isinstance(value, (str, bytes, np.bytes_, np.str_)):
        value = [value]
    elif isinstance(value, (bool, int, float, np.integer, np.floating, np.bool_)):
        value = [value]
    array = None
    if isinstance(value, np.ndarray):
        array = value.reshape(-1)
    else:
        try:
            items = list(value)
        except TypeError:
            raise TypeError(
                f"make_example: feature {name!r} has unsupported type {type(value).__name__}; "
                "use bytes/str, int, float, a list of one of them, or a NumPy array"
            ) from None
        if not items:
            raise ValueError(
                f"make_example: feature {name!r} is an empty list, whose type cannot be "
                "inferred; pass an empty NumPy array with a dtype instead"
            )
        if all(isinstance(v, (str, bytes, np.bytes_, np.str_)) for v in items):
            array = np.array([v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in items])
        elif all(isinstance(v, (bool, int, np.integer, np.bool_)) for v in items):
            array = np.array(items, dtype=np.int64)
        elif all(
            isinstance(v, (bool, int, float, np.integer, np.floating, np.bool_)) for v in items
        ):
            array = np.array(items, dtype=np.float32)
        else:
            raise TypeError(
                f"make_example: feature {name!r} mixes value types "
                f"({sorted({type(v).__name__ for v in items})}); use one type per feature"
            )
    kind = array.dtype.kind
    if kind in "biu":
        return tf.train.Feature(int64_list=tf.train.Int64List(value=array.astype(np.int64)))
    if kind == "f":
        return tf.train.Feature(float_list=tf.train.FloatList(value=array.astype(np.float32)))
    if kind in "SUO":
        values = []
        for v in array.tolist():
            if isinstance(v, str):
                v = v.encode("utf-8")
            if not isinstance(v, bytes):
                raise TypeError(
                    f"make_example: feature {name!r} holds a {type(v).__name__}; an object "
                    "array must hold only bytes or str"
                )
            values.append(v)
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))
    raise TypeError(f"make_example: feature {name!r} has unsupported dtype {array.dtype}")


def make_example(features: dict[str, Any]):
    """Builds a `tf.train.Example` from a dict of feature values.

    bytes/str values become a `bytes_list` (str is UTF-8 encoded), ints and bools an
    `int64_list`, floats a `float_list`; a list takes its items' type (ints mixed with floats
    become floats); NumPy arrays go by dtype (integer/bool -> int64, floating -> float32,
    bytes/str -> bytes) and are flattened. A `tf.train.Feature` is kept as is.

    Args:
      features: feature name -> value.

    Returns:
      A `tf.train.Example`.
    """
    import tensorflow as tf

    if not isinstance(features, dict):
        raise TypeError(f"make_example expects a dict, got {type(features).__name__}")
    feature_map = {}
    for name, value in features.items():
        if not isinstance(name, str):
            raise TypeError(f"make_example: feature names must be str, got {name!r}")
        feature_map[name] = _feature(tf, name, value)
    return tf.train.Example(features=tf.train.Features(feature=feature_map))


def write_examples(path: str | os.PathLike, examples: Iterable[Any]) -> int:
    """Writes `tf.train.Example`s (or dicts for `make_example`) to a TFRecord file, atomically.

    Args:
      path: the output file; written under a temporary name, renamed when complete.
      examples: `tf.train.Example`s, dicts of feature values, or serialized bytes.

    Returns:
      The number of examples written.
    """

    def serialized() -> Iterator[bytes]:
        for example in examples:
            if isinstance(example, (bytes, bytearray)):
                yield bytes(example)
            elif isinstance(example, dict):
                yield make_example(example).SerializeToString()
            elif hasattr(example, "SerializeToString"):
                yield example.SerializeToString()
            else:
                raise TypeError(
                    f"write_examples({os.fspath(path)!r}): got {type(example).__name__}; "
                    "expected a tf.train.Example, a dict or bytes"
                )

    return write_records(path, serialized())


def read_examples(path: str | os.PathLike):
    """Yields the `tf.train.Example`s of a TFRecord file.

    Args:
      path: an uncompressed TFRecord file of serialized `tf.train.Example`s.

    Yields:
      `tf.train.Example` protos in file order.

    Raises:
      FileNotFoundError: `path` does not exist.
      ValueError: a corrupted record or one that is not a `tf.train.Example`, naming the
        file and the record number (1-based).
    """
    path = _check_exists(path)
    import tensorflow as tf
    from google.protobuf.message import DecodeError

    for number, record in enumerate(read_records(path), start=1):
        try:
            yield tf.train.Example.FromString(record)
        except DecodeError as error:
            raise ValueError(
                f"{path}: record {number} is not a valid serialized tf.train.Example ({error})"
            ) from None
