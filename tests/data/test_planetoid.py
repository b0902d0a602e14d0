"""Planetoid loading: the standard split, Citeseer's isolated ids, safe unpickling, errors."""

import os
import pickle
import shutil

import numpy as np
import pytest
import scipy.sparse as sp

from graphnsl.data import planetoid


def test_cora_standard_split(planetoid_dir):
    cora = planetoid.load("cora", planetoid_dir)
    assert cora.features.shape == (2708, 1433)
    assert cora.num_classes == 7
    assert (len(cora.train_index), len(cora.val_index), len(cora.test_index)) == (140, 500, 1000)
    np.testing.assert_array_equal(np.bincount(cora.labels[cora.train_index]), [20] * 7)
    assert cora.adjacency.nnz == 10556  # 5278 undirected edges
    assert (cora.adjacency != cora.adjacency.T).nnz == 0
    assert cora.adjacency.diagonal().sum() == 0
    assert set(np.unique(cora.features.data)) == {1.0}
    # Row k of tx belongs to the k-th id listed in test.index (GCN's convention).
    tx = planetoid.safe_unpickle((planetoid_dir / "ind.cora.tx").read_bytes())
    ty = planetoid.safe_unpickle((planetoid_dir / "ind.cora.ty").read_bytes())
    listed = [int(v) for v in (planetoid_dir / "ind.cora.test.index").read_text().split()]
    for k in (0, 1, 500):
        np.testing.assert_array_equal(cora.features[listed[k]].toarray(), tx[k].toarray())
        assert cora.labels[listed[k]] == ty[k].argmax()
    assert (
        cora.features[listed[0]].toarray().tolist() != cora.features[listed[1]].toarray().tolist()
    )


def test_citeseer_isolated_test_ids(planetoid_dir):
    citeseer = planetoid.load("citeseer", planetoid_dir)
    assert citeseer.features.shape == (3327, 3703)
    assert (len(citeseer.train_index), len(citeseer.val_index), len(citeseer.test_index)) == (
        120,
        500,
        1000,
    )
    isolated = np.flatnonzero(citeseer.labels < 0)
    assert len(isolated) == 15
    assert citeseer.features[isolated].nnz == 0
    assert not np.isin(isolated, citeseer.test_index).any()
    assert (citeseer.labels[citeseer.test_index] >= 0).all()


def test_refuses_a_crafted_pickle(tmp_path, planetoid_dir):
    class Exploit:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    for part in planetoid.PARTS:
        shutil.copy(planetoid_dir / f"ind.cora.{part}", tmp_path / f"ind.cora.{part}")
    (tmp_path / "ind.cora.graph").write_bytes(pickle.dumps(Exploit()))
    with pytest.raises(
        planetoid.UnsafePickleError, match=r"ind\.cora\.graph.*refusing to load .*system"
    ):
        planetoid.load("cora", tmp_path)


def test_safe_unpickle_admits_numpy_and_scipy():
    matrix = sp.random(4, 5, density=0.5, format="csr", random_state=0)
    array = np.arange(6).reshape(2, 3)
    np.testing.assert_array_equal(
        planetoid.safe_unpickle(pickle.dumps(matrix, protocol=2)).toarray(), matrix.toarray()
    )
    np.testing.assert_array_equal(planetoid.safe_unpickle(pickle.dumps(array, protocol=2)), array)


def test_missing_files_name_folder_and_parts(tmp_path):
    (tmp_path / "ind.cora.x").write_bytes(b"")
    with pytest.raises(FileNotFoundError) as error:
        planetoid.load("cora", tmp_path)
    message = str(error.value)
    assert str(tmp_path) in message and "ind.cora.graph" in message and "ind.cora.x," not in message
    assert "GRAPHNSL_DATA_DIR" in message


def test_unknown_dataset():
    with pytest.raises(ValueError, match="cora, citeseer, pubmed"):
        planetoid.load("imagenet")


def test_bad_test_index_line(tmp_path, planetoid_dir):
    for part in planetoid.PARTS:
        shutil.copy(planetoid_dir / f"ind.cora.{part}", tmp_path / f"ind.cora.{part}")
    (tmp_path / "ind.cora.test.index").write_text("2692\nabc\n")
    with pytest.raises(ValueError, match=r"ind\.cora\.test\.index:2: expected a node id"):
        planetoid.load("cora", tmp_path)
