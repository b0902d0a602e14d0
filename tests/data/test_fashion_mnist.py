"""Fashion-MNIST loading: tiny IDX fixtures, corrupt files, path rules, the TFRecord writer."""

import gzip
import os
import pathlib
import struct
import sys
import warnings

import numpy as np
import pytest

from graphnsl.data import fashion_mnist


def _write_copy(folder: pathlib.Path, n_train: int = 5, n_test: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train).astype(np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test).astype(np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for part, (name, _, _) in fashion_mnist.FILES.items():
        fashion_mnist.write_idx(folder / name, arrays[part])
    return arrays


def _load_quietly(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fixtures' checksums differ from the pinned ones
        return fashion_mnist.load(*args, verify_counts=False, **kwargs)


def test_loads_tiny_copy_in_file_order(tmp_path):
    arrays = _write_copy(tmp_path / "fashion_mnist")
    # The parent folder works as data_dir too (the Planetoid rule).
    for data_dir in (tmp_path / "fashion_mnist", tmp_path):
        data = _load_quietly(data_dir)
        np.testing.assert_array_equal(data.train_images, arrays["train_images"])
        np.testing.assert_array_equal(data.test_images, arrays["test_images"])
        np.testing.assert_array_equal(data.train_labels, arrays["train_labels"])
        np.testing.assert_array_equal(data.test_labels, arrays["test_labels"])
        assert data.train_images.dtype == np.uint8 and data.train_labels.dtype == np.int64


def test_checksum_mismatch_warns_and_counts_are_verified(tmp_path):
    _write_copy(tmp_path)
    with pytest.warns(UserWarning, match=r"train-images-idx3-ubyte\.gz: sha256 .* differs"):
        with pytest.raises(
            ValueError, match=r"train-images-idx3-ubyte\.gz: holds 5 items, expected 60000"
        ):
            fashion_mnist.load(tmp_path)


def test_environment_variable_and_cache(tmp_path, monkeypatch):
    arrays = _write_copy(tmp_path / "env" / "fashion_mnist", seed=1)
    monkeypatch.setenv("GRAPHNSL_DATA_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    np.testing.assert_array_equal(_load_quietly().train_images, arrays["train_images"])
    monkeypatch.setenv("GRAPHNSL_DATA_DIR", str(tmp_path / "nowhere"))
    cached = _write_copy(tmp_path / "cache" / "graphnsl" / "fashion_mnist", seed=2)
    np.testing.assert_array_equal(_load_quietly().test_images, cached["test_images"])


def test_missing_files_name_folder_and_files(tmp_path, monkeypatch):
    monkeypatch.delenv("GRAPHNSL_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(
        FileNotFoundError, match=r"lacks train-images-idx3-ubyte\.gz.*download=True"
    ):
        fashion_mnist.load()  # no download unless asked
    _write_copy(tmp_path / "partial")
    os.remove(tmp_path / "partial" / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(FileNotFoundError, match=r"partial lacks t10k-labels-idx1-ubyte\.gz"):
        fashion_mnist.load(tmp_path / "partial")


def test_truncated_gzip_is_a_clear_error(tmp_path):
    _write_copy(tmp_path)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte\.gz: truncated gzip"):
        _load_quietly(tmp_path)


def test_corrupt_gzip_is_a_clear_error(tmp_path):
    _write_copy(tmp_path)
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(b"not a gzip file at all")
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte\.gz: corrupt gzip"):
        _load_quietly(tmp_path)


def test_bad_magic_and_short_content(tmp_path):
    _write_copy(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    # A label file where images belong: wrong magic.
    path.write_bytes(gzip.compress(struct.pack(">II", 2049, 2) + b"\x01\x02"))
    with pytest.raises(
        ValueError,
        match=r"train-images-idx3-ubyte\.gz: bad IDX magic number 2049 \(expected 2051\)",
    ):
        _load_quietly(tmp_path)
    # Valid gzip whose IDX content stops short of what its header announces.
    path.write_bytes(gzip.compress(struct.pack(">IIII", 2051, 5, 28, 28) + bytes(784 * 4)))
    with pytest.raises(
        ValueError, match=r"train-images-idx3-ubyte\.gz: the header announces shape \(5, 28, 28\)"
    ):
        _load_quietly(tmp_path)


def test_counts_must_agree_and_labels_in_range(tmp_path):
    _write_copy(tmp_path, n_train=5)
    fashion_mnist.write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="5 train images but 4 train labels"):
        _load_quietly(tmp_path)
    fashion_mnist.write_idx(
        tmp_path / "train-labels-idx1-ubyte.gz", np.array([0, 1, 12, 3, 4], np.uint8)
    )
    with pytest.raises(ValueError, match=r"label 12 at item 2 is outside 0\.\.9"):
        _load_quietly(tmp_path)


def test_tfrecord_writer_bytes_and_floats(tmp_path):
    from graphnsl.data import examples

    images = np.arange(2 * 28 * 28, dtype=np.int64).reshape(2, 28, 28).astype(np.uint8)
    labels = np.array([7, 3])
    count = fashion_mnist.write_tfrecords(tmp_path / "a.tfr", images, labels, id_prefix="train-")
    assert count == 2
    records = list(examples.read_examples(tmp_path / "a.tfr"))
    feature = records[1].features.feature
    assert feature["id"].bytes_list.value == [b"train-1"]
    assert feature["label"].int64_list.value == [3]
    np.testing.assert_array_equal(
        np.frombuffer(feature["image"].bytes_list.value[0], np.uint8), images[1].ravel()
    )
    fashion_mnist.write_tfrecords(
        tmp_path / "b.tfr", images, None, ids=["x", "y"], image_format="float"
    )
    feature = next(examples.read_examples(tmp_path / "b.tfr")).features.feature
    assert feature["id"].bytes_list.value == [b"x"] and "label" not in feature
    np.testing.assert_allclose(
        feature["image"].float_list.value, images[0].ravel() / 255.0, rtol=1e-6
    )
    with pytest.raises(ValueError, match="image_format"):
        fashion_mnist.write_tfrecords(tmp_path / "c.tfr", images, labels, image_format="png")
    assert not (tmp_path / "c.tfr").exists()


def test_real_files_if_present():
    root = os.environ.get("GRAPHNSL_DATA_DIR") or str(
        pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "data"
    )
    folder = pathlib.Path(root) / "fashion_mnist"
    if not (folder / "t10k-labels-idx1-ubyte.gz").exists():
        pytest.skip("Fashion-MNIST not found: set GRAPHNSL_DATA_DIR to ../shared/data")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the pinned checksums must match the shared copy
        data = fashion_mnist.load(root)
    assert data.train_images.shape == (60000, 28, 28)
    assert data.test_images.shape == (10000, 28, 28)
    np.testing.assert_array_equal(np.bincount(data.train_labels), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(data.test_labels), [1000] * 10)
    assert data.test_labels[:3].tolist() == [9, 2, 1]


def test_embedding_package_imports_nothing_heavy():
    import subprocess

    code = (
        "import sys, graphnsl.embedding as e; "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'heavy import'; "
        "assert 'evaluate' in dir(e)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ})
