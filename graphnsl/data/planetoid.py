"""Planetoid citation datasets (Cora, Citeseer, Pubmed) with the standard split.

The files are the original `ind.<name>.<part>` pickles (Yang et al. 2016, as used by GCN and
GAM). Pickles can run code when loaded, so they are read with an unpickler that admits only
the NumPy, SciPy and container classes these files use; anything else is refused.

Where the files are looked for, in order: `data_dir` (the folder holding `ind.cora.x`, or its
parent holding `planetoid/`), `$GRAPHNSL_DATA_DIR/planetoid`, then the user cache
(`$XDG_CACHE_HOME/graphnsl/planetoid`, default `~/.cache/graphnsl/planetoid`). Only the cache is
ever downloaded into, from the public Planetoid repository, with checksums verified.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import logging
import os
import pathlib
import pickle
import tempfile
import urllib.error
import urllib.request

import numpy as np
import scipy.sparse as sp

logger = logging.getLogger(__name__)

PARTS = ("x", "y", "tx", "ty", "allx", "ally", "graph", "test.index")
NAMES = ("cora", "citeseer", "pubmed")
SOURCE_URL = "https://raw.githubusercontent.com/kimiyoung/planetoid/master/data/ind.{name}.{part}"

# SHA-256 of the public files, so a download is verified before it is used.
_SHA256_SUMS = {
    "ind.citeseer.allx": "2ac30345d95c9ec933a817ee0bdd6a5f077f8c184a20e696910192d534414668",
    "ind.citeseer.ally": "f704b2d986dde6c2669934de1f3ae5696a6cf9455c0f6b2646a2d135ea0a1c95",
    "ind.citeseer.graph": "d79a4ef9d3e7169aee8946145f6b7306e35bc79bffad26346cfb94e10e9912a7",
    "ind.citeseer.test.index": "2af990671580b6b2df5d158d1038f8292e30c9cd821b5453f399659b25b723d4",
    "ind.citeseer.tx": "539a8906a2da97628d212f2fdd668c109a8b3f0d36574b59e5d3fd5b5303da21",
    "ind.citeseer.ty": "55e5bd1ba1e733a04598753ad1a8d57957f4b8f89e74519f41f4f4938767e4ce",
    "ind.citeseer.x": "d20de19150741e555de0ed037195630fc194114ebc7fd72ced62810148aa22f6",
    "ind.citeseer.y": "8ba87e515d8e3ee3cf52f6d2c5b86aa73f11ecad825a808455209ec26cd54924",
    "ind.cora.allx": "9419ba2f26f5c35243db64aba110e0f35a04851609e0dc5433450676ca6b8543",
    "ind.cora.ally": "2b998f5cc7fedc86e7f97ca2498f47a1ffc1462c29e2d578b23bf3f62b6e7d71",
    "ind.cora.graph": "58f13302f39dde8852dad6fe6d15b89b077b6d7f837626bce671ef80344b383d",
    "ind.cora.test.index": "297ce89af2b51a6a194181c7dbe1796c6a1cf9cd9349a88383b1b1e227867875",
    "ind.cora.tx": "b9afbaa4a400df991f6f02ef677e1e44da55ffc04801fd02f9e673987829226a",
    "ind.cora.ty": "41f5ac76596a1699cc33f53084a2419e92961c42bb75f36fc38e616d348532ad",
    "ind.cora.x": "23cfa55d91c6f624233f5eb7b6e3f141f1bd2b2ae39608a63cf5d084bb27baab",
    "ind.cora.y": "94465c14eb53e04ca262198dcbb2521ee8af60fb3f3d546cd6ca24a511b0e7d1",
}

_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"): lambda: np.ndarray,
    ("numpy", "dtype"): lambda: np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): lambda: _numpy_reconstruct(),
    ("numpy._core.multiarray", "_reconstruct"): lambda: _numpy_reconstruct(),
    ("scipy.sparse.csr", "csr_matrix"): lambda: sp.csr_matrix,
    ("scipy.sparse._csr", "csr_matrix"): lambda: sp.csr_matrix,
    ("collections", "defaultdict"): lambda: __import__("collections").defaultdict,
    ("__builtin__", "list"): lambda: list,
    ("builtins", "list"): lambda: list,
    # Protocol-2 pickles written by Python 3 encode bytes through this pure function.
    ("_codecs", "encode"): lambda: __import__("codecs").encode,
}


def _numpy_reconstruct():
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # NumPy 1.x
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


class UnsafePickleError(pickle.UnpicklingError):
    """A Planetoid file asked for a class outside the allowed NumPy/SciPy set."""


class _PlanetoidUnpickler(pickle.Unpickler):
    def __init__(self, file, source: str):
        super().__init__(file, encoding="latin1")
        self._source = source

    def find_class(self, module: str, name: str):
        factory = _ALLOWED_GLOBALS.get((module, name))
        if factory is None:
            raise UnsafePickleError(
                f"{self._source}: refusing to load {module}.{name}; Planetoid files may only "
                "hold NumPy arrays, SciPy CSR matrices, lists and defaultdicts."
            )
        return factory()


def safe_unpickle(data: bytes, source: str = "<bytes>"):
    """Unpickles `data`, admitting only the classes Planetoid files use.

    Raises:
      UnsafePickleError: the pickle references any other class or function.
    """
    return _PlanetoidUnpickler(io.BytesIO(data), source).load()


@dataclasses.dataclass(frozen=True)
class PlanetoidDataset:
    """One Planetoid graph with its standard split.

    Attributes:
      name: 'cora', 'citeseer' or 'pubmed'.
      features: CSR float32 `[num_nodes, num_features]` (bag of words, 0/1 for Cora/Citeseer).
      labels: int64 `[num_nodes]`, -1 where the files give no label (Citeseer's isolated ids).
      adjacency: symmetric CSR float32 `[num_nodes, num_nodes]`, 1 per edge, no self loops.
      train_index, val_index, test_index: int64 node ids of the split (140/500/1000 on Cora).
    """

    name: str
    features: sp.csr_matrix
    labels: np.ndarray
    adjacency: sp.csr_matrix
    train_index: np.ndarray
    val_index: np.ndarray
    test_index: np.ndarray

    @property
    def num_nodes(self) -> int:
        return self.features.shape[0]

    @property
    def num_features(self) -> int:
        return self.features.shape[1]

    @property
    def num_classes(self) -> int:
        return int(self.labels.max()) + 1

    @property
    def unlabeled_index(self) -> np.ndarray:
        """Node ids outside train, val and test (unlabeled for training purposes)."""
        used = np.zeros(self.num_nodes, bool)
        used[np.concatenate([self.train_index, self.val_index, self.test_index])] = True
        return np.flatnonzero(~used)


def default_cache_dir() -> pathlib.Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(base) / "graphnsl" / "planetoid"


def _missing(folder: pathlib.Path, name: str) -> list[str]:
    return [f"ind.{name}.{part}" for part in PARTS if not (folder / f"ind.{name}.{part}").is_file()]


def _candidates(data_dir) -> list[pathlib.Path]:
    if data_dir is not None:
        root = pathlib.Path(data_dir)
        return [root / "planetoid", root] if (root / "planetoid").is_dir() else [root]
    folders = []
    if os.environ.get("GRAPHNSL_DATA_DIR"):
        folders.append(pathlib.Path(os.environ["GRAPHNSL_DATA_DIR"]) / "planetoid")
    folders.append(default_cache_dir())
    return folders


def _download(name: str, folder: pathlib.Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for part in PARTS:
        target = folder / f"ind.{name}.{part}"
        if target.is_file():
            continue
        url = SOURCE_URL.format(name=name, part=part)
        logger.info("downloading %s", url)
        with urllib.request.urlopen(url, timeout=60) as response:
            data = response.read()
        expected = _SHA256_SUMS.get(f"ind.{name}.{part}")
        digest = hashlib.sha256(data).hexdigest()
        if expected is not None and digest != expected:
            raise OSError(f"{url}: checksum {digest} does not match the expected {expected}.")
        if expected is None:
            logger.warning("%s: no pinned checksum; sha256 %s", url, digest)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, target)


def locate(name: str, data_dir=None, download: bool = True) -> pathlib.Path:
    """The folder holding all of `ind.<name>.*`, downloading into the cache if allowed.

    Raises:
      FileNotFoundError: naming the folders searched, the missing files and how to provide them.
    """
    if name not in NAMES:
        raise ValueError(f"dataset {name!r} is not a Planetoid dataset; valid: {', '.join(NAMES)}.")
    folders = _candidates(data_dir)
    for folder in folders:
        if not _missing(folder, name):
            return folder
    cache = default_cache_dir()
    download_error = ""
    if data_dir is None and download:
        try:
            _download(name, cache)
            return cache
        except (urllib.error.URLError, OSError, TimeoutError) as error:
            download_error = (
                f" Downloading from {SOURCE_URL.format(name=name, part='*')} failed: {error}."
            )
    first = folders[0]
    raise FileNotFoundError(
        f"Planetoid dataset {name!r} not found: {first} lacks {', '.join(_missing(first, name))}"
        f" (searched {', '.join(str(f) for f in folders)}).{download_error} Put the files "
        f"ind.{name}.{{{','.join(PARTS)}}} from github.com/kimiyoung/planetoid (folder data/) "
        "in a folder and pass it as data_dir / --data_dir, or set GRAPHNSL_DATA_DIR to its parent."
    )


def _read_part(folder: pathlib.Path, name: str, part: str):
    path = folder / f"ind.{name}.{part}"
    if part == "test.index":
        ids = []
        for line_number, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                ids.append(int(line))
            except ValueError:
                raise ValueError(
                    f"{path}:{line_number}: expected a node id, got {line!r}."
                ) from None
        return np.asarray(ids, np.int64)
    try:
        return safe_unpickle(path.read_bytes(), str(path))
    except UnsafePickleError:
        raise
    except Exception as error:
        raise ValueError(f"{path}: not a readable Planetoid pickle ({error}).") from error


def _adjacency(graph: dict, num_nodes: int) -> sp.csr_matrix:
    rows, cols = [], []
    for source, targets in graph.items():
        for target in targets:
            if source != target and source < num_nodes and target < num_nodes:
                rows.append(source)
                cols.append(target)
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    matrix = sp.coo_matrix(
        (np.ones(2 * len(rows), np.float32), (np.r_[rows, cols], np.r_[cols, rows])),
        shape=(num_nodes, num_nodes),
    ).tocsr()
    matrix.data[:] = 1.0  # duplicates (both directions listed) count once
    return matrix


def load(name: str, data_dir=None, download: bool = True) -> PlanetoidDataset:
    """Loads Planetoid dataset `name` with the standard split.

    Node order is the GCN convention: `allx` rows, then test rows placed at their ids from
    `test.index`. Train = the first `len(y)` nodes, val = the next 500, test = `test.index`.
    Citeseer's test ids with no features (isolated nodes) get zero features and label -1.

    Args:
      name: 'cora', 'citeseer' or 'pubmed'.
      data_dir: folder with the `ind.<name>.*` files (or its parent with `planetoid/`).
      download: may download into the user cache when no folder has the files.

    Returns:
      A `PlanetoidDataset`.

    Example:
      >>> cora = load('cora', '../shared/data')
      >>> cora.features.shape, len(cora.train_index)
      ((2708, 1433), 140)
    """
    folder = locate(name, data_dir, download)
    parts = {part: _read_part(folder, name, part) for part in PARTS}
    test_ids = parts["test.index"]
    sorted_test = np.sort(test_ids)
    tx = sp.csr_matrix(parts["tx"], dtype=np.float32)
    ty = np.asarray(parts["ty"])
    span = int(sorted_test[-1] - sorted_test[0] + 1)
    if span != len(test_ids):
        # Isolated test ids have no rows: pad them with zero features and no label.
        offsets = sorted_test - sorted_test[0]
        padded_x = sp.lil_matrix((span, tx.shape[1]), dtype=np.float32)
        padded_x[offsets, :] = tx
        padded_y = np.zeros((span, ty.shape[1]), ty.dtype)
        padded_y[offsets, :] = ty
        tx, ty = padded_x.tocsr(), padded_y
    allx = sp.csr_matrix(parts["allx"], dtype=np.float32)
    features = sp.vstack([allx, tx]).tolil()
    one_hot = np.vstack([np.asarray(parts["ally"]), ty])
    # Test rows are stored in sorted-id order; move each to its own id.
    features[test_ids, :] = features[sorted_test, :]
    one_hot[test_ids, :] = one_hot[sorted_test, :]
    labels = np.where(one_hot.sum(axis=1) > 0, one_hot.argmax(axis=1), -1).astype(np.int64)
    num_train = len(parts["y"])
    return PlanetoidDataset(
        name=name,
        features=features.tocsr().astype(np.float32),
        labels=labels,
        adjacency=_adjacency(parts["graph"], features.shape[0]),
        train_index=np.arange(num_train, dtype=np.int64),
        val_index=np.arange(num_train, num_train + 500, dtype=np.int64),
        test_index=test_ids.astype(np.int64),
    )
