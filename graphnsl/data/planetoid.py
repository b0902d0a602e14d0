"""Planetoid citation datasets (Cora, Citeseer, Pubmed) with the standard split.

The files are the original `ind.<name>.<part>` pickles (Yang et al. 2016, as used by GCN and
GAM). Pickles can run code when loaded, so they are read with an unpickler that never hands a
pickle a real class or function: the few globals these files name (NumPy's array and dtype
reconstructors, SciPy's CSR matrix, `defaultdict(list)`) map to checking stand-ins, and the
arrays and matrices are built afterwards from the checked pieces. Each part's type and shape
is then checked against the others, and the files against pinned SHA-256 sums (a warning).

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
import math
import os
import pathlib
import pickle
import re
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


class UnsafePickleError(pickle.UnpicklingError):
    """A Planetoid file asked for a class, call or attribute change outside the allowed set."""


class PlanetoidFormatError(ValueError):
    """A Planetoid part has the wrong type or a shape that does not fit the other parts."""


# The safe unpickler. `find_class` never hands a pickle a real class or function: each
# allowed global maps to one of the reconstructors below, which check their arguments, or
# to a private placeholder type whose `__setstate__` (the BUILD opcode) checks the state and
# stores it. Real NumPy arrays and SciPy matrices are built from the checked pieces only
# after the whole pickle is read (`_finalize`), through their public constructors. BUILD on
# anything else fails: the reconstructors and tokens refuse it, the placeholder type refuses
# it when the target is the type itself, and built-in containers have no `__dict__`.


class _Refused(Exception):
    """Raised inside the unpickler; `safe_unpickle` turns it into `UnsafePickleError`."""


_NUMERIC_DTYPE = re.compile(r"(b1|[iu][1248]|f[248])\Z")  # bool, ints, floats only
_BYTE_ORDERS = ("<", ">", "|", "=")
_MAX_DEPTH = 8  # dict of lists is depth 2; deeper nesting (or a cycle) is not a Planetoid part


def _is_int(value) -> bool:
    return type(value) is int


class _Reconstructor:
    """An allowed global: calling it checks the arguments, BUILD on it is refused."""

    __slots__ = ("_name", "_build")

    def __init__(self, name: str, build):
        self._name = name
        self._build = build

    def __call__(self, *args):
        if self._build is None:
            raise _Refused(f"{self._name} may only be passed to a NumPy reconstructor, not called")
        return self._build(*args)

    def __setstate__(self, *state):
        raise _Refused(f"BUILD on {self._name} (setting attributes on a global) is not allowed")

    def __repr__(self) -> str:
        return self._name


class _DtypeStub:
    """`numpy.dtype(code, align, copy)` of a numeric dtype, then BUILD with its byte order."""

    __slots__ = ("code", "byteorder", "built")

    def __init__(self, code: str):
        self.code, self.byteorder, self.built = code, "=", False

    def __setstate__(self, *state):
        if type(self) is not _DtypeStub or len(state) != 1:
            raise _Refused("BUILD on the numpy.dtype type itself is not allowed")
        (state,) = state
        if self.built:
            raise _Refused(f"second BUILD on dtype {self.code!r}")
        # (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])
        if (
            type(state) is not tuple
            or len(state) not in (8, 9)
            or state[0] not in (3, 4)
            or state[1] not in _BYTE_ORDERS
            or any(item is not None for item in state[2:5] + state[8:])
            or not all(_is_int(item) for item in state[5:8])
        ):
            raise _Refused(f"dtype {self.code!r}: state {state!r} is not a plain numeric dtype's")
        self.byteorder, self.built = state[1], True

    def dtype(self) -> np.dtype:
        return np.dtype(self.code).newbyteorder(self.byteorder)


def _make_dtype(code, align=False, copy=True):
    if type(code) is not str or not _NUMERIC_DTYPE.match(code):
        raise _Refused(f"numpy.dtype({code!r}): only bool, integer and float dtypes are allowed")
    if align not in (0, 1) or copy not in (0, 1):
        raise _Refused(f"numpy.dtype({code!r}, {align!r}, {copy!r}): unexpected arguments")
    return _DtypeStub(code)


def _as_bytes(data, what: str) -> bytes:
    if type(data) in (bytes, bytearray):
        return bytes(data)
    if type(data) is str:  # Python 2 `str` read with encoding='latin1'
        try:
            return data.encode("latin1")
        except UnicodeEncodeError:
            pass
    raise _Refused(f"{what}: expected raw bytes, got {type(data).__name__}")


def _array_from(raw: bytes, dtype_stub, shape, fortran: bool) -> np.ndarray:
    if type(dtype_stub) is not _DtypeStub:
        raise _Refused(f"array dtype must be a numpy.dtype, got {type(dtype_stub).__name__}")
    if type(shape) is not tuple or not all(_is_int(n) and n >= 0 for n in shape):
        raise _Refused(f"array shape {shape!r} is not a tuple of sizes")
    dtype = dtype_stub.dtype()
    if len(raw) != math.prod(shape) * dtype.itemsize:
        raise _Refused(
            f"array of shape {shape} and dtype {dtype} needs "
            f"{math.prod(shape) * dtype.itemsize} bytes, the pickle holds {len(raw)}"
        )
    array = np.frombuffer(raw, dtype).reshape(shape, order="F" if fortran else "C")
    return array.astype(dtype.newbyteorder("="), copy=True)


class _ArrayStub:
    """`numpy.core.multiarray._reconstruct(ndarray, (0,), b'b')`, then BUILD with the data."""

    __slots__ = ("array",)

    def __init__(self, array=None):
        self.array = array

    def __setstate__(self, *state):
        if type(self) is not _ArrayStub or len(state) != 1:
            raise _Refused("BUILD on the numpy.ndarray type itself is not allowed")
        (state,) = state
        if self.array is not None:
            raise _Refused("second BUILD on an array")
        # (version, shape, dtype, is_fortran, raw data)
        if type(state) is not tuple or len(state) != 5 or state[0] != 1:
            raise _Refused(f"array state of {type(state).__name__} is not NumPy's (1, shape, ...)")
        _, shape, dtype, fortran, raw = state
        if fortran not in (0, 1):
            raise _Refused(f"array is_fortran flag {fortran!r} is not a bool")
        self.array = _array_from(_as_bytes(raw, "array data"), dtype, shape, bool(fortran))


_NDARRAY = _Reconstructor("numpy.ndarray", None)
_LIST = _Reconstructor("list", None)


def _reconstruct(subtype, shape, code):
    if subtype is not _NDARRAY or shape != (0,) or code not in ("b", b"b"):
        raise _Refused(
            f"_reconstruct({subtype!r}, {shape!r}, {code!r}): only NumPy's own "
            "_reconstruct(numpy.ndarray, (0,), b'b') is allowed"
        )
    return _ArrayStub()


def _frombuffer(buffer, dtype, shape, order):
    if order not in ("C", "F"):
        raise _Refused(f"_frombuffer order {order!r} is not 'C' or 'F'")
    return _ArrayStub(_array_from(_as_bytes(buffer, "array buffer"), dtype, shape, order == "F"))


_CSR_STATE = ("_shape", "indices", "indptr", "data")


class _CsrStub:
    """`scipy.sparse.csr_matrix.__new__(csr_matrix)` (NEWOBJ), then BUILD with its `__dict__`."""

    __slots__ = ("state",)

    def __new__(cls, *args, **kwargs):
        if args or kwargs:
            raise _Refused("scipy.sparse.csr_matrix may only be created empty and then filled")
        instance = super().__new__(cls)
        instance.state = None
        return instance

    def __setstate__(self, *state):
        if type(self) is not _CsrStub or len(state) != 1:
            raise _Refused(
                "BUILD on the scipy.sparse.csr_matrix class itself (setting attributes on "
                "the class) is not allowed"
            )
        (state,) = state
        if self.state is not None:
            raise _Refused("second BUILD on a csr_matrix")
        if type(state) is not dict or not all(key in state for key in _CSR_STATE):
            keys = sorted(state) if type(state) is dict else type(state).__name__
            raise _Refused(
                f"csr_matrix state {keys} lacks one of {', '.join(_CSR_STATE)}; only a "
                "CSR matrix's own attributes are accepted"
            )
        if state.get("format", "csr") != "csr":
            raise _Refused(f"csr_matrix state has format {state['format']!r}")
        self.state = {key: state[key] for key in _CSR_STATE}  # anything else is dropped


def _defaultdict(factory):
    if factory is not _LIST:
        raise _Refused(f"collections.defaultdict({factory!r}): only defaultdict(list) is allowed")
    return {}


def _encode(text, encoding="utf-8"):
    # Protocol-2 pickles written by Python 3 encode bytes as _codecs.encode(text, 'latin1').
    if type(text) is not str or encoding not in ("latin1", "latin-1"):
        raise _Refused(f"_codecs.encode(..., {encoding!r}): only latin1 text is allowed")
    return text.encode("latin1")


_RECONSTRUCT = _Reconstructor("numpy.core.multiarray._reconstruct", _reconstruct)
_FROMBUFFER = _Reconstructor("numpy.core.numeric._frombuffer", _frombuffer)
_DTYPE = _Reconstructor("numpy.dtype", _make_dtype)
_DEFAULTDICT = _Reconstructor("collections.defaultdict", _defaultdict)
_ENCODE = _Reconstructor("_codecs.encode", _encode)

_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _DTYPE,
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy.core.numeric", "_frombuffer"): _FROMBUFFER,  # NumPy's protocol-5 arrays
    ("numpy._core.numeric", "_frombuffer"): _FROMBUFFER,
    ("scipy.sparse.csr", "csr_matrix"): _CsrStub,
    ("scipy.sparse._csr", "csr_matrix"): _CsrStub,
    ("collections", "defaultdict"): _DEFAULTDICT,
    ("__builtin__", "list"): _LIST,
    ("builtins", "list"): _LIST,
    ("_codecs", "encode"): _ENCODE,
}


class _PlanetoidUnpickler(pickle.Unpickler):
    def __init__(self, file, source: str):
        super().__init__(file, encoding="latin1")
        self._source = source

    def find_class(self, module: str, name: str):
        allowed = _ALLOWED_GLOBALS.get((module, name))
        if allowed is None:
            raise UnsafePickleError(
                f"{self._source}: refusing to load {module}.{name}; Planetoid files may only "
                "hold NumPy arrays, SciPy CSR matrices, lists and defaultdicts."
            )
        return allowed

    def persistent_load(self, pid):
        raise _Refused(f"persistent id {pid!r} is not allowed")


def _finalize(value, depth: int = 0):
    """The loaded value with each placeholder replaced by the real, checked object."""
    kind = type(value)
    if kind in (int, float, bool, str, bytes, type(None)):
        return value
    if depth >= _MAX_DEPTH:
        raise _Refused(f"nesting deeper than {_MAX_DEPTH} levels (or a cycle)")
    if kind is _ArrayStub:
        if value.array is None:
            raise _Refused("an array was created but never given its data (no BUILD)")
        return value.array
    if kind is _CsrStub:
        if value.state is None:
            raise _Refused("a csr_matrix was created but never given its data (no BUILD)")
        state = {key: _finalize(item, depth + 1) for key, item in value.state.items()}
        shape = state["_shape"]
        if type(shape) is not tuple or len(shape) != 2 or not all(_is_int(n) for n in shape):
            raise _Refused(f"csr_matrix _shape {shape!r} is not two sizes")
        pieces = {key: state[key] for key in ("data", "indices", "indptr")}
        for key, piece in pieces.items():
            if type(piece) is not np.ndarray or piece.ndim != 1:
                raise _Refused(f"csr_matrix {key} is {type(piece).__name__}, not a 1-D array")
        try:
            matrix = sp.csr_matrix(
                (pieces["data"], pieces["indices"], pieces["indptr"]), shape=shape
            )
            matrix.check_format(full_check=True)
        except (ValueError, TypeError) as error:
            raise _Refused(f"not a valid CSR matrix of shape {shape}: {error}") from None
        return matrix
    if kind is list:
        return [_finalize(item, depth + 1) for item in value]
    if kind is tuple:
        return tuple(_finalize(item, depth + 1) for item in value)
    if kind is dict:
        return {_finalize(k, depth + 1): _finalize(v, depth + 1) for k, v in value.items()}
    what = repr(value) if kind is _Reconstructor else f"a {kind.__name__.strip('_')} object"
    raise _Refused(f"the pickle produced {what}, which is not a Planetoid part")


def safe_unpickle(data: bytes, source: str = "<bytes>"):
    """Unpickles `data`, admitting only the NumPy, SciPy and container objects Planetoid uses.

    Arrays (numeric dtypes only), CSR matrices, `defaultdict(list)` (returned as a `dict`),
    lists, tuples, dicts and scalars are rebuilt from checked pieces; no pickle reaches a real
    class, so none can set attributes on one or call it with arguments of its choosing.

    Raises:
      UnsafePickleError: the pickle references any other global, calls an allowed one with
        other arguments, or BUILDs anything but a fresh array, dtype or matrix.
    """
    try:
        return _finalize(_PlanetoidUnpickler(io.BytesIO(data), source).load())
    except _Refused as error:
        raise UnsafePickleError(f"{source}: refused: {error}.") from None


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


def verify_files(folder, name: str, contents: dict[str, bytes] | None = None) -> list[str]:
    """Checks `ind.<name>.*` in `folder` against the pinned SHA-256 sums of the public files.

    A mismatch is logged as a warning naming the file, the expected and the actual sum; the
    file is still used (the safe unpickler and the part checks guard against hostile
    content; the sums catch stale or edited copies).

    Args:
      folder: the folder holding the files.
      name: the dataset's name.
      contents: the files' bytes by part, when already read (else they are read here).

    Returns:
      The paths of the files whose sums differ (empty when all match).
    """
    folder = pathlib.Path(folder)
    files = {part: folder / f"ind.{name}.{part}" for part in PARTS}
    if not any(path.name in _SHA256_SUMS for path in files.values()):
        logger.warning(
            "%s: no pinned SHA-256 sums for Planetoid dataset %r; its files are not verified "
            "(verify=False / --no_verify skips this check).",
            folder,
            name,
        )
        return []
    mismatched = []
    for part, path in files.items():
        data = contents[part] if contents is not None else path.read_bytes()
        expected = _SHA256_SUMS.get(path.name)
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            mismatched.append(str(path))
            logger.warning(
                "%s: SHA-256 %s does not match the pinned %s of the public Planetoid file; "
                "using it anyway (verify=False / --no_verify skips this check).",
                path,
                actual,
                expected,
            )
    return mismatched


def locate(name: str, data_dir=None, download: bool = True, verify: bool = True) -> pathlib.Path:
    """The folder holding all of `ind.<name>.*`, downloading into the cache if allowed.

    Args:
      name: 'cora', 'citeseer' or 'pubmed'.
      data_dir: folder with the files (or its parent with `planetoid/`); None: the defaults.
      download: may download into the user cache when no folder has the files.
      verify: check the files found against the pinned SHA-256 sums (`verify_files`);
        downloads are always checked, and a mismatching download is an error.

    Raises:
      FileNotFoundError: naming the folders searched, the missing files and how to provide them.
    """
    if name not in NAMES:
        raise ValueError(f"dataset {name!r} is not a Planetoid dataset; valid: {', '.join(NAMES)}.")
    folders = _candidates(data_dir)
    for folder in folders:
        if not _missing(folder, name):
            if verify:
                verify_files(folder, name)
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


def _parse_part(path: pathlib.Path, part: str, data: bytes):
    if part == "test.index":
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError as error:
            raise PlanetoidFormatError(f"{path}: not a text file of node ids ({error}).") from None
        ids = []
        for line_number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                ids.append(int(line))
            except ValueError:
                raise PlanetoidFormatError(
                    f"{path}:{line_number}: expected a node id, got {line!r}."
                ) from None
        return np.asarray(ids, np.int64)
    try:
        return safe_unpickle(data, str(path))
    except UnsafePickleError:
        raise
    except Exception as error:
        raise PlanetoidFormatError(f"{path}: not a readable Planetoid pickle ({error}).") from error


def _describe(value) -> str:
    if sp.issparse(value):
        return f"a sparse matrix of shape {value.shape}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    return f"a {type(value).__name__}"


def _check_parts(folder: pathlib.Path, name: str, parts: dict) -> None:
    """Checks each part's type and that the parts' shapes fit together; raises naming both."""
    path = {part: str(folder / f"ind.{name}.{part}") for part in PARTS}

    def fail(message):
        raise PlanetoidFormatError(message)

    for part in ("x", "tx", "allx"):
        value = parts[part]
        if not (sp.issparse(value) or (isinstance(value, np.ndarray) and value.ndim == 2)):
            fail(
                f"{path[part]}: expected a SciPy CSR matrix or a 2-D NumPy array of features, "
                f"got {_describe(value)}."
            )
        values = value.data if sp.issparse(value) else value
        if not np.isfinite(values).all():
            fail(f"{path[part]}: features hold NaN or infinite values.")
    for part in ("y", "ty", "ally"):
        value = parts[part]
        if not (isinstance(value, np.ndarray) and value.ndim == 2):
            fail(
                f"{path[part]}: expected a 2-D NumPy array of one-hot labels, "
                f"got {_describe(value)}."
            )
        if not np.isin(value, (0, 1)).all():
            fail(f"{path[part]}: labels must be one-hot rows of 0 and 1.")

    def same(parts_, axis, what):
        sizes = [parts[p].shape[axis] for p in parts_]
        if len(set(sizes)) > 1:
            listed = ", ".join(f"{path[p]} {parts[p].shape}" for p in parts_)
            fail(f"the {what} of the parts differ: {listed}.")

    same(("x", "tx", "allx"), 1, "feature counts (columns)")
    same(("y", "ty", "ally"), 1, "class counts (columns)")
    for features, labels in (("x", "y"), ("tx", "ty"), ("allx", "ally")):
        same((features, labels), 0, "row counts (one label row per feature row)")
    num_train, num_all = parts["y"].shape[0], parts["ally"].shape[0]
    if num_train + 500 > num_all:
        fail(
            f"{path['y']} has {num_train} rows and {path['ally']} {num_all}: the standard split "
            "needs the 500 validation nodes after the training rows within ally."
        )
    test_ids = parts["test.index"]
    if len(test_ids) == 0:
        fail(f"{path['test.index']}: lists no node ids.")
    if len(test_ids) != parts["tx"].shape[0]:
        fail(
            f"{path['test.index']} lists {len(test_ids)} ids but {path['tx']} has "
            f"{parts['tx'].shape[0]} rows {parts['tx'].shape}: one id per test row."
        )
    if len(np.unique(test_ids)) != len(test_ids):
        fail(f"{path['test.index']}: some node ids are listed more than once.")
    if test_ids.min() < num_all:
        fail(
            f"{path['test.index']}: id {int(test_ids.min())} is below {num_all}, the row count "
            f"of {path['allx']}; test nodes follow allx's rows."
        )
    if not isinstance(parts["graph"], dict):
        fail(
            f"{path['graph']}: expected a dict of node id -> list of neighbour ids, "
            f"got {_describe(parts['graph'])}."
        )


def _edges(path: str, graph: dict, num_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """The (source, target) ids of `graph`, checked: ints in [0, num_nodes), self loops out."""
    rows, cols, loops = [], [], 0
    for source, targets in graph.items():
        if type(source) is not int or type(targets) is not list:
            raise PlanetoidFormatError(
                f"{path}: expected node id (int) -> list of ids, got {source!r} -> "
                f"{type(targets).__name__}."
            )
        for target in targets:
            if type(target) is not int:
                raise PlanetoidFormatError(
                    f"{path}: node {source} lists a neighbour {target!r}, not an int id."
                )
        rows.extend([source] * len(targets))
        cols.extend(targets)
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    ids = np.concatenate([rows, cols, np.fromiter(graph, np.int64, len(graph))])
    bad = ids[(ids < 0) | (ids >= num_nodes)]
    if len(bad):
        raise PlanetoidFormatError(
            f"{path}: {len(bad)} node ids outside [0, {num_nodes}) (the features' rows), "
            f"e.g. {int(bad[0])}."
        )
    loops = rows == cols
    if loops.any():
        logger.info("%s: %d self loops left out of the adjacency", path, int(loops.sum()))
    return rows[~loops], cols[~loops]


def _adjacency(rows: np.ndarray, cols: np.ndarray, num_nodes: int) -> sp.csr_matrix:
    matrix = sp.coo_matrix(
        (np.ones(2 * len(rows), np.float32), (np.r_[rows, cols], np.r_[cols, rows])),
        shape=(num_nodes, num_nodes),
    ).tocsr()
    matrix.data[:] = 1.0  # duplicates (both directions listed) count once
    return matrix


def load(name: str, data_dir=None, download: bool = True, verify: bool = True) -> PlanetoidDataset:
    """Loads Planetoid dataset `name` with the standard split.

    Node order is the GCN convention: `allx` rows, then test rows placed at their ids from
    `test.index`. Train = the first `len(y)` nodes, val = the next 500, test = `test.index`.
    Citeseer's test ids with no features (isolated nodes) get zero features and label -1.

    Args:
      name: 'cora', 'citeseer' or 'pubmed'.
      data_dir: folder with the `ind.<name>.*` files (or its parent with `planetoid/`).
      download: may download into the user cache when no folder has the files.
      verify: check the files against the pinned SHA-256 sums; a mismatch is a logged
        warning naming the file and both sums (see `verify_files`).

    Returns:
      A `PlanetoidDataset`.

    Raises:
      UnsafePickleError: a file asks for anything but the NumPy/SciPy objects of these files.
      PlanetoidFormatError: a part has the wrong type, or shapes that do not fit the others
        (naming the files and their shapes).

    Example:
      >>> cora = load('cora', '../shared/data')
      >>> cora.features.shape, len(cora.train_index)
      ((2708, 1433), 140)
    """
    folder = locate(name, data_dir, download, verify=False)
    paths = {part: folder / f"ind.{name}.{part}" for part in PARTS}
    contents = {part: path.read_bytes() for part, path in paths.items()}
    if verify:
        verify_files(folder, name, contents)
    parts = {part: _parse_part(paths[part], part, contents[part]) for part in PARTS}
    _check_parts(folder, name, parts)
    test_ids = parts["test.index"]
    sorted_test = np.sort(test_ids)
    tx = sp.csr_matrix(parts["tx"], dtype=np.float32)
    ty = np.asarray(parts["ty"])
    allx = sp.csr_matrix(parts["allx"], dtype=np.float32)
    first_test = allx.shape[0]
    span = int(sorted_test[-1] + 1 - first_test)
    if span != len(test_ids):
        # Isolated test ids have no rows: pad them with zero features and no label.
        offsets = sorted_test - first_test
        padded_x = sp.lil_matrix((span, tx.shape[1]), dtype=np.float32)
        padded_x[offsets, :] = tx
        padded_y = np.zeros((span, ty.shape[1]), ty.dtype)
        padded_y[offsets, :] = ty
        tx, ty = padded_x.tocsr(), padded_y
    features = sp.vstack([allx, tx]).tolil()
    one_hot = np.vstack([np.asarray(parts["ally"]), ty])
    # Test rows are stored in sorted-id order; move each to its own id.
    features[test_ids, :] = features[sorted_test, :]
    one_hot[test_ids, :] = one_hot[sorted_test, :]
    labels = np.where(one_hot.sum(axis=1) > 0, one_hot.argmax(axis=1), -1).astype(np.int64)
    num_train = len(parts["y"])
    num_nodes = features.shape[0]
    rows, cols = _edges(str(paths["graph"]), parts["graph"], num_nodes)
    return PlanetoidDataset(
        name=name,
        features=features.tocsr().astype(np.float32),
        labels=labels,
        adjacency=_adjacency(rows, cols, num_nodes),
        train_index=np.arange(num_train, dtype=np.int64),
        val_index=np.arange(num_train, num_train + 500, dtype=np.int64),
        test_index=test_ids.astype(np.int64),
    )
