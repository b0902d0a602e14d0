"""CotrainData from NSL-packed TFRecords and from Planetoid; bad input is named."""

import numpy as np
import pytest
import tensorflow as tf

from graphnsl import gam


def _example(node_id, words, label=None, neighbors=()):
    feature = {
        "id": tf.train.Feature(bytes_list=tf.train.BytesList(value=[node_id.encode()])),
        "words": tf.train.Feature(int64_list=tf.train.Int64List(value=words)),
    }
    if label is not None:
        feature["label"] = tf.train.Feature(int64_list=tf.train.Int64List(value=[label]))
    for i, (nbr_id, nbr_words) in enumerate(neighbors):
        feature[f"NL_nbr_{i}_id"] = tf.train.Feature(
            bytes_list=tf.train.BytesList(value=[nbr_id.encode()])
        )
        feature[f"NL_nbr_{i}_words"] = tf.train.Feature(
            int64_list=tf.train.Int64List(value=nbr_words)
        )
        feature[f"NL_nbr_{i}_weight"] = tf.train.Feature(float_list=tf.train.FloatList(value=[1.0]))
    feature["NL_num_nbrs"] = tf.train.Feature(int64_list=tf.train.Int64List(value=[len(neighbors)]))
    return tf.train.Example(features=tf.train.Features(feature=feature))


def _write(path, examples):
    with tf.io.TFRecordWriter(str(path)) as writer:
        for example in examples:
            writer.write(example.SerializeToString())
    return str(path)


def test_from_packed_tfrecords(tmp_path):
    train = _write(
        tmp_path / "train.tfr",
        [
            _example("a", [1, 0, 0], 0, [("b", [0, 1, 0])]),
            _example("b", [0, 1, 0], -1, [("c", [0, 0, 1])]),
        ],
    )
    val = _write(tmp_path / "val.tfr", [_example("c", [0, 0, 1], 1)])
    test = _write(tmp_path / "test.tfr", [_example("d", [1, 1, 0], 0, [("e", [1, 1, 1])])])
    data = gam.from_packed_tfrecords(train, val, test)
    assert data.num_nodes == 5 and data.num_features == 3 and data.num_classes == 2
    # Node order: first seen. a=0, b=1, c=2, d=3, e=4.
    np.testing.assert_array_equal(data.train_index, [0])
    np.testing.assert_array_equal(data.val_index, [2])
    np.testing.assert_array_equal(data.test_index, [3])
    np.testing.assert_array_equal(data.labels, [0, -1, 1, 0, -1])
    np.testing.assert_array_equal(data.features[4], [1, 1, 1])
    edges = {tuple(e) for e in data.edges.tolist()}
    assert edges == {(0, 1), (1, 0), (1, 2), (2, 1), (3, 4), (4, 3)}


def test_packed_record_without_id_is_named(tmp_path):
    example = _example("a", [1, 0], 0)
    del example.features.feature["id"]
    bad = _write(tmp_path / "bad.tfr", [example])
    good = _write(tmp_path / "val.tfr", [_example("v", [1, 0], 0)])
    with pytest.raises(ValueError, match=r"bad\.tfr: record 0 .*'id'"):
        gam.from_packed_tfrecords(bad, good, good)


def test_cotrain_data_validates():
    with pytest.raises(ValueError, match="edges"):
        gam.CotrainData(np.zeros((2, 3)), np.array([0, 1]), np.array([[0, 5]]), [0], [1], [], 2)
    with pytest.raises(ValueError, match="val_index holds nodes without a label"):
        gam.CotrainData(np.zeros((2, 3)), np.array([0, -1]), np.zeros((0, 2)), [0], [1], [], 2)


def test_from_planetoid(planetoid_dir):
    from graphnsl.data import planetoid

    data = gam.from_planetoid(planetoid.load("cora", planetoid_dir, download=False))
    assert data.num_nodes == 2708 and data.num_classes == 7
    assert len(data.edges) == 10556  # both directions of 5278 links
    assert data.adjacency().nnz == 10556
    assert len(data.train_index) == 140


def test_from_planetoid_row_normalize_divides_by_the_row_sum():
    import scipy.sparse as sp

    from graphnsl.data.planetoid import PlanetoidDataset

    features = sp.csr_matrix(np.array([[1, 1, 0, 2], [0, 0, 0, 0], [0, 3, 0, 0]], np.float32))
    adjacency = sp.csr_matrix(np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]], np.float32))
    dataset = PlanetoidDataset(
        name="tiny",
        features=features,
        labels=np.array([0, 1, 0]),
        adjacency=adjacency,
        train_index=np.array([0]),
        val_index=np.array([1]),
        test_index=np.array([2]),
    )
    plain = gam.from_planetoid(dataset).dense_features()
    normalized = gam.from_planetoid(dataset, row_normalize=True).dense_features()
    np.testing.assert_array_equal(plain, features.toarray())
    # Rows divided by 4, left at 0 (an empty row), divided by 3.
    np.testing.assert_allclose(normalized, [[0.25, 0.25, 0, 0.5], [0, 0, 0, 0], [0, 1, 0, 0]])
