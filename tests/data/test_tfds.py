"""TFDS builders: `tfds.load` of the local Planetoid and Fashion-MNIST files, never a download."""

import numpy as np
import pytest

tfds = pytest.importorskip("tensorflow_datasets")

import graphnsl.data.tfds  # noqa: E402,F401  (registers the builders)
from graphnsl.data import fashion_mnist, planetoid  # noqa: E402

SPLITS = ["train", "validation", "test", "unlabeled"]
# The tiny Fashion-MNIST copies are not the public files: their checksum warning is expected.
pytestmark = pytest.mark.filterwarnings("ignore:.*differs from the pinned:UserWarning")


def _manual(folder):
    config = tfds.download.DownloadConfig(manual_dir=str(folder))
    return {"download_config": config}


@pytest.fixture(autouse=True)
def _no_defaults(monkeypatch, tmp_path):
    # Only what a test names may be found: no $GRAPHNSL_DATA_DIR, an empty user cache.
    monkeypatch.delenv("GRAPHNSL_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def test_cora_node_examples_hold_the_split_and_the_graph(tmp_path, planetoid_dir):
    cora = planetoid.load("cora", planetoid_dir)
    splits, info = tfds.load(
        "graphnsl_planetoid/cora",
        split=SPLITS,
        data_dir=str(tmp_path / "tfds"),
        download_and_prepare_kwargs=_manual(planetoid_dir.parent),  # the parent works too
        with_info=True,
    )
    assert {s: info.splits[s].num_examples for s in SPLITS} == {
        "train": 140,
        "validation": 500,
        "test": 1000,
        "unlabeled": 1068,
    }
    assert info.metadata["num_classes"] == 7 and info.metadata["num_edges"] == 5278
    expected = {
        "train": cora.train_index,
        "validation": cora.val_index,
        "test": cora.test_index,
        "unlabeled": cora.unlabeled_index,
    }
    edges = 0
    for split, dataset in zip(SPLITS, splits, strict=True):
        examples = list(tfds.as_numpy(dataset))
        ids = np.array([e["id"] for e in examples])
        assert sorted(ids) == sorted(expected[split])
        for example in examples:
            node = example["id"]
            np.testing.assert_array_equal(example["features"], cora.features[node].toarray()[0])
            assert example["label"] == cora.labels[node]
            np.testing.assert_array_equal(example["neighbors"], cora.adjacency[node].indices)
            edges += len(example["neighbors"])
    assert edges == cora.adjacency.nnz  # all splits together: every edge, from both ends
    features, label = next(
        iter(
            tfds.as_numpy(
                tfds.load(
                    "graphnsl_planetoid/cora",
                    split="train[:1]",
                    data_dir=str(tmp_path / "tfds"),
                    as_supervised=True,
                )
            )
        )
    )
    assert features.shape == (1433,) and 0 <= label < 7


def _tiny_fashion(folder, counts=(6, 4)):
    """A small copy in the original gzipped IDX format; label i goes with image i's pattern."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (sum(counts), 28, 28), dtype=np.uint8)
    labels = np.arange(sum(counts), dtype=np.uint8)  # each label once: it names its image
    train, test = slice(0, counts[0]), slice(counts[0], None)
    for (name, _, _), array in zip(
        fashion_mnist.FILES.values(),
        (images[train], labels[train], images[test], labels[test]),
        strict=True,
    ):
        fashion_mnist.write_idx(folder / name, array)
    return images, labels


def test_fashion_mnist_from_graphnsl_data_dir(tmp_path, monkeypatch):
    images, labels = _tiny_fashion(tmp_path / "data" / "fashion_mnist")
    monkeypatch.setenv("GRAPHNSL_DATA_DIR", str(tmp_path / "data"))
    (train, test), info = tfds.load(
        "graphnsl_fashion_mnist",
        split=["train", "test"],
        data_dir=str(tmp_path / "tfds"),
        builder_kwargs={"verify_counts": False},
        as_supervised=True,
        with_info=True,
    )
    assert info.features["label"].names == list(fashion_mnist.CLASS_NAMES)
    seen = {}
    for split, dataset in (("train", train), ("test", test)):
        for image, label in tfds.as_numpy(dataset):
            assert image.shape == (28, 28, 1) and image.dtype == np.uint8
            seen[int(label)] = (split, image[..., 0])
    assert sorted(seen) == list(range(10))
    for label, (split, image) in seen.items():
        assert split == ("train" if label < 6 else "test")
        np.testing.assert_array_equal(image, images[label])


def test_counts_are_verified_and_missing_files_are_not_downloaded(tmp_path):
    _tiny_fashion(tmp_path / "manual")
    with pytest.raises(
        ValueError, match=r"train-images-idx3-ubyte\.gz: holds 6 items, expected 60000"
    ):
        tfds.load(
            "graphnsl_fashion_mnist",
            split="train",
            data_dir=str(tmp_path / "tfds"),
            download_and_prepare_kwargs=_manual(tmp_path / "manual"),
        )
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    (empty / "README").write_text("not the files")
    with pytest.raises(FileNotFoundError, match=r"elsewhere lacks ind\.citeseer\.x"):
        tfds.load(
            "graphnsl_planetoid/citeseer",
            split="train",
            data_dir=str(tmp_path / "tfds"),
            download_and_prepare_kwargs=_manual(empty),
        )
    assert not (tmp_path / "cache").exists()  # nothing was downloaded into the cache
