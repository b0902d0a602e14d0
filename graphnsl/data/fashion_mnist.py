"""Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): loading the IDX files and writing NSL Examples.

The four files are the original gzipped IDX files (`train-images-idx3-ubyte.gz`,
`train-labels-idx1-ubyte.gz`, `t10k-images-idx3-ubyte.gz`, `t10k-labels-idx1-ubyte.gz`).
IDX is a big-endian header (magic 2051 then count, rows, cols for images; magic 2049 then
count for labels) followed by uint8 data.

Where the files are looked for, in order: `data_dir` (the folder holding the files, or its
parent holding `fashion_mnist/`), `$GRAPHNSL_DATA_DIR/fashion_mnist`, then the user cache
(`$XDG_CACHE_HOME/graphnsl/fashion_mnist`, default `~/.cache/graphnsl/fashion_mnist`). Only the
cache is ever downloaded into, and only when `download=True`, from the public copy in
`zalandoresearch/fashion-mnist`.

Every file's SHA-256 is checked against the pinned sums; a mismatch is only a warning (a copy
may be gzipped differently), because what matters is then verified on the decompressed bytes:
the magic number, the sizes the header announces, the image shape and, unless
`verify_counts=False`, the 60,000/10,000 counts. A truncated or corrupt file is a `ValueError`
naming it.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import logging
import os
import pathlib
import struct
import tempfile
import urllib.error
import urllib.request
import warnings
import zlib
from collections.abc import Sequence

import numpy as np

logger = logging.getLogger(__name__)

__all__ = [
    "CLASS_NAMES",
    "FILES",
    "FashionMNIST",
    "load",
    "locate",
    "read_idx",
    "write_idx",
    "image_examples",
    "write_tfrecords",
    "default_cache_dir",
]

CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

# Part -> (file name, IDX magic, expected count).
FILES = {
    "train_images": ("train-images-idx3-ubyte.gz", 2051, 60000),
    "train_labels": ("train-labels-idx1-ubyte.gz", 2049, 60000),
    "test_images": ("t10k-images-idx3-ubyte.gz", 2051, 10000),
    "test_labels": ("t10k-labels-idx1-ubyte.gz", 2049, 10000),
}
IMAGE_SHAPE = (28, 28)
SOURCE_URL = (
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/{file}"
)

# SHA-256 of the gzip files (those in ../shared/data/fashion_mnist/SHA256SUMS).
_SHA256_SUMS = {
    "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
    "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
}

_MAGIC_DIMS = {2051: 3, 2049: 1}


@dataclasses.dataclass(frozen=True)
class FashionMNIST:
    """The Fashion-MNIST images and labels, in file order.

    Attributes:
      train_images: uint8 `[60000, 28, 28]`.
      train_labels: int64 `[60000]`, classes 0..9 (see `CLASS_NAMES`).
      test_images: uint8 `[10000, 28, 28]`.
      test_labels: int64 `[10000]`.
    """

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray

    @property
    def num_classes(self) -> int:
        return len(CLASS_NAMES)


def default_cache_dir() -> pathlib.Path:
    """`$XDG_CACHE_HOME/graphnsl/fashion_mnist` (default `~/.cache/graphnsl/fashion_mnist`)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(base) / "graphnsl" / "fashion_mnist"


def _file_names() -> list[str]:
    return [name for name, _, _ in FILES.values()]


def _missing(folder: pathlib.Path) -> list[str]:
    return [name for name in _file_names() if not (folder / name).is_file()]


def _candidates(data_dir) -> list[pathlib.Path]:
    if data_dir is not None:
        root = pathlib.Path(data_dir)
        return [root / "fashion_mnist", root] if (root / "fashion_mnist").is_dir() else [root]
    folders = []
    if os.environ.get("GRAPHNSL_DATA_DIR"):
        folders.append(pathlib.Path(os.environ["GRAPHNSL_DATA_DIR"]) / "fashion_mnist")
    folders.append(default_cache_dir())
    return folders


def _download(folder: pathlib.Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, magic, count in FILES.values():
        target = folder / name
        if target.is_file():
            continue
        url = SOURCE_URL.format(file=name)
        logger.info("downloading %s", url)
        with urllib.request.urlopen(url, timeout=60) as response:
            data = response.read()
        # Verify before the file takes its final name, so a bad download is never kept.
        _check_sha256(url, data, name)
        _parse_idx(_decompress(data, url), url, magic, count)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


def locate(data_dir=None, download: bool = False) -> pathlib.Path:
    """The folder holding the four Fashion-MNIST files, downloading into the cache if asked.

    Args:
      data_dir: a folder with the files, or its parent holding `fashion_mnist/`; None searches
        `$GRAPHNSL_DATA_DIR/fashion_mnist` then the user cache.
      download: with `data_dir=None`, download the missing files into the user cache.

    Raises:
      FileNotFoundError: naming the folders searched, the missing files and how to provide them.
    """
    folders = _candidates(data_dir)
    for folder in folders:
        if not _missing(folder):
            return folder
    download_error = ""
    if data_dir is None and download:
        cache = default_cache_dir()
        try:
            _download(cache)
            return cache
        except (urllib.error.URLError, OSError, TimeoutError) as error:
            download_error = f" Downloading from {SOURCE_URL.format(file='*')} failed: {error}."
    first = folders[0]
    hint = "" if download or data_dir is not None else " (or pass download=True)"
    raise FileNotFoundError(
        f"Fashion-MNIST not found: {first} lacks {', '.join(_missing(first))} (searched "
        f"{', '.join(str(f) for f in folders)}).{download_error} Put the four files from "
        "github.com/zalandoresearch/fashion-mnist (folder data/fashion) in a folder and pass it "
        f"as data_dir / --data_dir, or set GRAPHNSL_DATA_DIR to its parent{hint}."
    )


def _check_sha256(source: str, data: bytes, name: str) -> None:
    expected = _SHA256_SUMS.get(name)
    digest = hashlib.sha256(data).hexdigest()
    if expected is None:
        logger.warning("%s: no pinned checksum; sha256 %s", source, digest)
    elif digest != expected:
        warnings.warn(
            f"{source}: sha256 {digest} differs from the pinned {expected}; the file may be "
            "gzipped differently, so its decompressed content is verified instead.",
            stacklevel=3,
        )


def _decompress(data: bytes, source: str) -> bytes:
    try:
        return gzip.decompress(data)
    except EOFError:
        raise ValueError(
            f"{source}: truncated gzip file (it ends before the end of its compressed stream); "
            "download it again."
        ) from None
    except (gzip.BadGzipFile, zlib.error, OSError) as error:
        raise ValueError(f"{source}: corrupt gzip file ({error}); download it again.") from None


def _parse_idx(raw: bytes, source: str, magic: int | None, count: int | None) -> np.ndarray:
    """Parses decompressed IDX bytes, checking magic, announced sizes and the count."""
    if len(raw) < 4:
        raise ValueError(f"{source}: {len(raw)} bytes is too short for an IDX header.")
    (found,) = struct.unpack(">I", raw[:4])
    if found not in _MAGIC_DIMS or (magic is not None and found != magic):
        wanted = f"{magic}" if magic is not None else " or ".join(map(str, _MAGIC_DIMS))
        raise ValueError(
            f"{source}: bad IDX magic number {found} (expected {wanted}); not a Fashion-MNIST "
            "IDX file of this kind, or corrupt."
        )
    dims = _MAGIC_DIMS[found]
    header = 4 + 4 * dims
    if len(raw) < header:
        raise ValueError(f"{source}: the IDX header is truncated ({len(raw)} bytes).")
    shape = struct.unpack(f">{dims}I", raw[4:header])
    size = int(np.prod(shape, dtype=np.int64))
    if len(raw) != header + size:
        raise ValueError(
            f"{source}: the header announces shape {shape} ({header + size} bytes) but the "
            f"decompressed file has {len(raw)} bytes; truncated or corrupt."
        )
    if dims == 3 and tuple(shape[1:]) != IMAGE_SHAPE:
        raise ValueError(f"{source}: images are {shape[1]}x{shape[2]}, expected 28x28.")
    if count is not None and shape[0] != count:
        raise ValueError(f"{source}: holds {shape[0]} items, expected {count}.")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def read_idx(
    path: str | os.PathLike, magic: int | None = None, count: int | None = None
) -> np.ndarray:
    """Reads one gzipped IDX file of uint8 data.

    Args:
      path: a `.gz` IDX file (an uncompressed one is read as is when its name lacks `.gz`).
      magic: the magic number required (2051 images, 2049 labels); None accepts either.
      count: the number of items required; None accepts any.

    Returns:
      uint8 `[count, 28, 28]` for images, `[count]` for labels.

    Raises:
      ValueError: truncated or corrupt gzip, bad magic, sizes that disagree with the header,
        wrong image shape or count; the message names the file.
    """
    path = pathlib.Path(path)
    data = path.read_bytes()
    _check_sha256(str(path), data, path.name)
    raw = _decompress(data, str(path)) if path.suffix == ".gz" else data
    return _parse_idx(raw, str(path), magic, count)


def load(data_dir=None, download: bool = False, verify_counts: bool = True) -> FashionMNIST:
    """Loads Fashion-MNIST's train and test images and labels, in file order.

    Args:
      data_dir: a folder with the four `.gz` files (or its parent with `fashion_mnist/`);
        None searches `$GRAPHNSL_DATA_DIR/fashion_mnist`, then the user cache.
      download: download into the user cache when no folder has the files (needs a network).
      verify_counts: require 60,000 train and 10,000 test items (off only for small copies).

    Returns:
      A `FashionMNIST` (images uint8 `[N, 28, 28]`, labels int64 `[N]`).

    Raises:
      FileNotFoundError: the files are nowhere to be found.
      ValueError: a truncated or corrupt file, naming it; images and labels of different counts;
        a label outside 0..9.

    Example:
      >>> data = load('../shared/data')
      >>> data.train_images.shape, data.test_labels[:3]
      ((60000, 28, 28), array([9, 2, 1]))
    """
    folder = locate(data_dir, download)
    parts = {}
    for part, (name, magic, count) in FILES.items():
        parts[part] = read_idx(folder / name, magic, count if verify_counts else None)
    for split in ("train", "test"):
        images, labels = parts[f"{split}_images"], parts[f"{split}_labels"]
        if len(images) != len(labels):
            raise ValueError(
                f"{folder}: {len(images)} {split} images but {len(labels)} {split} labels."
            )
        bad = np.flatnonzero(labels >= len(CLASS_NAMES))
        if len(bad):
            raise ValueError(
                f"{folder / FILES[f'{split}_labels'][0]}: label {labels[bad[0]]} at item "
                f"{bad[0]} is outside 0..9."
            )
    return FashionMNIST(
        train_images=parts["train_images"],
        train_labels=parts["train_labels"].astype(np.int64),
        test_images=parts["test_images"],
        test_labels=parts["test_labels"].astype(np.int64),
    )


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Writes a uint8 array as a gzipped IDX file (images `[N, R, C]` or labels `[N]`).

    Used to make small test copies; the file is written under a temporary name, then renamed.
    """
    array = np.asarray(array)
    if array.dtype != np.uint8 or array.ndim not in (1, 3):
        raise ValueError(
            f"write_idx({path!s}): needs uint8 [N] or [N, R, C], got {array.dtype} {array.shape}"
        )
    magic = 2049 if array.ndim == 1 else 2051
    header = struct.pack(f">I{array.ndim}I", magic, *array.shape)
    from graphnsl.data.atomic import AtomicOutput

    with AtomicOutput(path, "wb") as file:
        file.write(gzip.compress(header + array.tobytes(), mtime=0))


def image_examples(
    images: np.ndarray,
    labels: np.ndarray | None = None,
    ids: Sequence[str] | None = None,
    image_format: str = "bytes",
    id_prefix: str = "",
):
    """Yields one feature dict per image, as NSL Examples hold them.

    Args:
      images: uint8 `[N, 28, 28]` (any `[N, ...]` uint8 works).
      labels: int `[N]`, or None for unlabeled examples (no `label` feature).
      ids: `N` unique string ids; default `f"{id_prefix}{i}"` for file position i.
      image_format: 'bytes' (`image` = the raw uint8 pixels, one bytes value) or 'float'
        (`image` = pixels / 255 as a float list, as `build-graph` and `make_dataset` read).
      id_prefix: prefix of the default ids (e.g. 'train-', 'test-').

    Yields:
      Dicts `{'id': bytes, 'image': bytes | float32 [P], 'label': int}`.
    """
    if image_format not in ("bytes", "float"):
        raise ValueError(f"image_format must be 'bytes' or 'float', got {image_format!r}.")
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"images must be uint8, got {images.dtype}.")
    n = len(images)
    if labels is not None and len(labels) != n:
        raise ValueError(f"{n} images but {len(labels)} labels.")
    if ids is not None and len(ids) != n:
        raise ValueError(f"{n} images but {len(ids)} ids.")
    flat = images.reshape(n, -1)
    for i in range(n):
        example = {"id": (ids[i] if ids is not None else f"{id_prefix}{i}").encode("utf-8")}
        if image_format == "bytes":
            example["image"] = flat[i].tobytes()
        else:
            example["image"] = flat[i].astype(np.float32) / np.float32(255.0)
        if labels is not None:
            example["label"] = int(labels[i])
        yield example


def write_tfrecords(
    path: str | os.PathLike,
    images: np.ndarray,
    labels: np.ndarray | None = None,
    ids: Sequence[str] | None = None,
    image_format: str = "bytes",
    id_prefix: str = "",
) -> int:
    """Writes images as NSL-format `tf.train.Example` TFRecords (`image`, `label`, `id`).

    The file is written atomically through `graphnsl.data.examples.write_examples`, so the
    images flow through `build-graph`, `pack-nbrs` and `make_dataset` like any other examples.

    Args:
      path: the output TFRecord file.
      images, labels, ids, image_format, id_prefix: as in `image_examples`.

    Returns:
      The number of examples written.

    Example:
      >>> data = load('../shared/data')
      >>> write_tfrecords('/tmp/train.tfr', data.train_images, data.train_labels,
      ...                 image_format='float', id_prefix='train-')
      60000
    """
    from graphnsl.data import examples

    return examples.write_examples(
        path, image_examples(images, labels, ids, image_format, id_prefix)
    )
