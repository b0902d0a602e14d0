"""prepare-planetoid: NSL's Cora schema, the two splits, packed neighbours are graph neighbours."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from graphnsl.data import planetoid
from graphnsl.data.prepare import prepare_planetoid


def _records(path):
    return [tf.train.Example.FromString(r.numpy()) for r in tf.data.TFRecordDataset(str(path))]


def _id(example, key="id"):
    return int(example.features.feature[key].bytes_list.value[0])


@pytest.fixture(scope="module")
def cora(planetoid_dir):
    return planetoid.load("cora", planetoid_dir)


def test_planetoid_split_files(tmp_path, planetoid_dir, cora):
    info = prepare_planetoid("cora", tmp_path, max_nbrs=3, data_dir=planetoid_dir)
    assert json.loads((tmp_path / "dataset_info.json").read_text()) == info
    assert (info["train"], info["val"], info["test"], info["unlabeled"]) == (140, 500, 1000, 2568)
    train = _records(tmp_path / "train_merged_examples.tfr")
    assert sorted(_id(e) for e in train) == list(range(140))
    for example in train:
        feature = example.features.feature
        node = _id(example)
        assert feature["label"].int64_list.value[0] == cora.labels[node]
        np.testing.assert_array_equal(
            feature["words"].int64_list.value, cora.features[node].toarray()[0]
        )
        count = feature["NL_num_nbrs"].int64_list.value[0]
        assert count == min(3, cora.adjacency[node].nnz)
        for i in range(count):
            neighbour = int(feature[f"NL_nbr_{i}_id"].bytes_list.value[0])
            assert cora.adjacency[node, neighbour] == 1
            if neighbour < 140:  # a training neighbour comes with its label, as in NSL
                assert feature[f"NL_nbr_{i}_label"].int64_list.value[0] == cora.labels[neighbour]
            else:  # the pool carries no labels
                assert f"NL_nbr_{i}_label" not in feature
            np.testing.assert_array_equal(
                feature[f"NL_nbr_{i}_words"].int64_list.value, cora.features[neighbour].toarray()[0]
            )
    test = _records(tmp_path / "test_examples.tfr")
    assert sorted(_id(e) for e in test) == sorted(cora.test_index.tolist())
    assert all(e.features.feature["label"].int64_list.value[0] == cora.labels[_id(e)] for e in test)
    unlabeled = _records(tmp_path / "unlabeled_examples.tfr")
    assert not any("label" in e.features.feature for e in unlabeled)
    lines = (tmp_path / "graph.tsv").read_text().splitlines()
    assert len(lines) == 10556 and lines[0].count("\t") == 2


def test_random80_and_unlabeled_seeds(tmp_path, planetoid_dir):
    info = prepare_planetoid(
        "cora", tmp_path, max_nbrs=2, split="random80", data_dir=planetoid_dir, seed=3
    )
    assert (info["train"], info["val"], info["test"], info["unlabeled"]) == (2166, 0, 542, 542)
    packed = _records(tmp_path / "train_merged_examples.tfr")
    train_ids = {_id(e) for e in packed}
    test_ids = {_id(e) for e in _records(tmp_path / "test_examples.tfr")}
    assert not train_ids & test_ids and len(train_ids | test_ids) == 2708
    # Test nodes are the unlabeled neighbour pool (the tutorial's transductive packing).
    unlabeled = _records(tmp_path / "unlabeled_examples.tfr")
    assert {_id(e) for e in unlabeled} == test_ids
    assert not any("label" in e.features.feature for e in unlabeled)
    test_nbrs = [
        (e, i)
        for e in packed
        for i in range(2)
        if f"NL_nbr_{i}_id" in e.features.feature and _id(e, f"NL_nbr_{i}_id") in test_ids
    ]
    assert test_nbrs and not any(f"NL_nbr_{i}_label" in e.features.feature for e, i in test_nbrs)
    again = prepare_planetoid(
        "cora", tmp_path / "again", max_nbrs=2, split="random80", data_dir=planetoid_dir, seed=3
    )
    assert again["train"] == info["train"]
    assert {_id(e) for e in _records(tmp_path / "again" / "test_examples.tfr")} == test_ids

    ngm = prepare_planetoid(
        "cora", tmp_path / "ngm", max_nbrs=2, data_dir=planetoid_dir, unlabeled_seeds=True
    )
    seeds = _records(tmp_path / "ngm" / "train_merged_examples.tfr")
    assert len(seeds) == ngm["train_seeds"] == 2708
    assert sum("label" in e.features.feature for e in seeds) == 140


def test_bad_arguments(tmp_path, planetoid_dir):
    with pytest.raises(ValueError, match="split='random50'.*planetoid, random80"):
        prepare_planetoid("cora", tmp_path, split="random50", data_dir=planetoid_dir)
    with pytest.raises(ValueError, match="max_nbrs"):
        prepare_planetoid("cora", tmp_path, max_nbrs=-1, data_dir=planetoid_dir)


def test_output_checked_before_the_dataset_is_read(tmp_path):
    # The data folder does not exist: the output error must come first, and nothing written.
    missing_data = tmp_path / "no_data"
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(NotADirectoryError, match=r"--output_dir .*file' is a file"):
        prepare_planetoid("cora", blocker, data_dir=missing_data)
    out = tmp_path / "out"
    (out / "graph.tsv").mkdir(parents=True)
    with pytest.raises(IsADirectoryError, match=r"graph\.tsv' is a folder"):
        prepare_planetoid("cora", out, data_dir=missing_data)
    assert os.listdir(out) == ["graph.tsv"] and blocker.read_text() == "x"
    with pytest.raises(FileNotFoundError, match="no_data"):  # the data error, once output is fine
        prepare_planetoid("cora", tmp_path / "fresh", data_dir=missing_data)
