"""make_dataset: neighbour features and weights, missing neighbours, labels, determinism."""

import numpy as np
import pytest
import tensorflow as tf

from graphnsl.configs import GraphNeighborConfig
from graphnsl.data import make_dataset


def _example(node: int, x, label=None, neighbors=()):
    feature = {
        "id": tf.train.Feature(bytes_list=tf.train.BytesList(value=[str(node).encode()])),
        "x": tf.train.Feature(float_list=tf.train.FloatList(value=x)),
    }
    if label is not None:
        feature["label"] = tf.train.Feature(int64_list=tf.train.Int64List(value=[label]))
    for i, (nx, weight) in enumerate(neighbors):
        feature[f"NL_nbr_{i}_x"] = tf.train.Feature(float_list=tf.train.FloatList(value=nx))
        feature[f"NL_nbr_{i}_weight"] = tf.train.Feature(
            float_list=tf.train.FloatList(value=[weight])
        )
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


@pytest.fixture()
def packed(tmp_path):
    path = tmp_path / "packed.tfr"
    with tf.io.TFRecordWriter(str(path)) as writer:
        writer.write(_example(0, [1.0, 2.0], 3, [([5.0, 6.0], 0.5), ([7.0, 8.0], 0.25)]))
        writer.write(_example(1, [3.0, 4.0], 1, [([9.0, 9.5], 1.0)]))
        writer.write(_example(2, [0.5, 0.5], None, []))
    return str(path)


def test_neighbours_weights_and_missing(packed):
    spec = {"x": tf.io.FixedLenFeature([2], tf.float32)}
    config = GraphNeighborConfig(max_neighbors=2)
    features, labels = next(iter(make_dataset(packed, spec, "label", config, batch_size=3)))
    np.testing.assert_array_equal(labels.numpy(), [3, 1, -1])
    np.testing.assert_array_equal(features["x"].numpy(), [[1, 2], [3, 4], [0.5, 0.5]])
    np.testing.assert_array_equal(features["NL_nbr_0_x"].numpy(), [[5, 6], [9, 9.5], [0, 0]])
    np.testing.assert_array_equal(features["NL_nbr_1_x"].numpy(), [[7, 8], [0, 0], [0, 0]])
    np.testing.assert_array_equal(features["NL_nbr_0_weight"].numpy(), [[0.5], [1.0], [0.0]])
    np.testing.assert_array_equal(features["NL_nbr_1_weight"].numpy(), [[0.25], [0.0], [0.0]])
    assert "NL_nbr_2_x" not in features


def test_without_neighbours_or_label(packed):
    spec = {"x": tf.io.FixedLenFeature([2], tf.float32)}
    batches = list(make_dataset(packed, spec, None, batch_size=2))
    assert [sorted(b) for b in batches] == [["x"], ["x"]]
    assert [len(b["x"]) for b in batches] == [2, 1]
    assert len(list(make_dataset(packed, spec, None, batch_size=2, drop_remainder=True))) == 1


def test_shuffle_is_deterministic_under_seed(tmp_path):
    path = tmp_path / "many.tfr"
    with tf.io.TFRecordWriter(str(path)) as writer:
        for node in range(50):
            writer.write(_example(node, [float(node), 0.0], node % 3))
    spec = {"x": tf.io.FixedLenFeature([2], tf.float32)}

    def order(seed):
        dataset = make_dataset(str(path), spec, "label", batch_size=50, shuffle=True, seed=seed)
        return next(iter(dataset))[0]["x"].numpy()[:, 0].tolist()

    assert order(1) == order(1)
    assert order(1) != order(2)
    assert sorted(order(1)) == list(range(50))


def test_no_matching_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing"):
        make_dataset(str(tmp_path / "nothing*.tfr"), {}, "label")


def test_sharded_files_and_input_context(tmp_path):
    from graphnsl.data import examples as ex

    for shard in range(4):
        ex.write_examples(
            tmp_path / f"p-{shard:05d}-of-00004",
            [{"id": f"{shard}{i}", "x": [float(shard), float(i)]} for i in range(4)],
        )
    spec = {"id": tf.io.FixedLenFeature([], tf.string)}
    every = make_dataset(str(tmp_path / "p-*-of-00004"), spec, None, batch_size=16)
    assert sorted(next(iter(every))["id"].numpy().tolist()) == sorted(
        f"{s}{i}".encode() for s in range(4) for i in range(4)
    )
    context = tf.distribute.InputContext(
        num_input_pipelines=2, input_pipeline_id=1, num_replicas_in_sync=2
    )
    mine = make_dataset(
        str(tmp_path / "p-*"), spec, None, batch_size=4, drop_remainder=True,
        input_context=context,
    )  # fmt: skip
    batches = [b["id"].numpy().tolist() for b in mine]
    # Files 1 and 3 (every 2nd from the 2nd), batches of the per-replica 4 // 2 = 2 records.
    assert batches == [[b"10", b"11"], [b"12", b"13"], [b"30", b"31"], [b"32", b"33"]]
    too_many = tf.distribute.InputContext(num_input_pipelines=5, input_pipeline_id=0)
    with pytest.raises(ValueError, match="4 files match .* but 5 input pipelines"):
        make_dataset(str(tmp_path / "p-*"), spec, None, input_context=too_many)
