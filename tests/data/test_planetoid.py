"""Planetoid loading: the standard split, Citeseer's isolated ids, safe unpickling, errors.

`CASES` are crafted parts (hostile or malformed pickles and files), each written over one part
of a copy of the real Cora files; each must be refused with a clear error and leave no trace
on any class. `/work/notes/hard-core/pickle_cases.py` runs the same cases against another
checkout to tabulate the messages before and after.
"""

import codecs
import collections
import hashlib
import logging
import os
import pickle
import shutil
import struct
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from graphnsl.data import planetoid

MARKER = "PWNED_MARKER"


# Hand-assembled pickle opcodes, for pickles that pickle.dumps cannot write.
def _global(module, name):
    return pickle.GLOBAL + f"{module}\n{name}\n".encode()


def _text(value):
    raw = value.encode()
    return pickle.BINUNICODE + struct.pack("<I", len(raw)) + raw


def _int(value):
    return pickle.BININT + struct.pack("<i", value)


PROTO2 = pickle.PROTO + b"\x02"
CSR = _global("scipy.sparse._csr", "csr_matrix")
SET_MARKER = pickle.EMPTY_DICT + _text(MARKER) + _int(1) + pickle.SETITEM


def _real(folder, part):
    return planetoid.safe_unpickle((folder / f"ind.cora.{part}").read_bytes())


def _ids(folder):
    return (folder / "ind.cora.test.index").read_text().split()


# (case, part overwritten, builder(real folder) -> bytes, exception name, message pattern)
CASES = [
    (
        "BUILD on the csr_matrix class (slot state sets a class attribute)",
        "x",
        lambda f: PROTO2 + CSR + pickle.NONE + SET_MARKER + pickle.TUPLE2 + pickle.BUILD + b".",
        "UnsafePickleError",
        r"ind\.cora\.x: refused: BUILD on the scipy\.sparse\.csr_matrix class itself",
    ),
    (
        "BUILD on the csr_matrix class (dict state)",
        "tx",
        lambda f: PROTO2 + CSR + SET_MARKER + pickle.BUILD + b".",
        "UnsafePickleError",
        r"ind\.cora\.tx: refused: BUILD on the scipy\.sparse\.csr_matrix class itself",
    ),
    (
        "BUILD on an allowed global (numpy.dtype)",
        "y",
        lambda f: (
            PROTO2
            + _global("numpy", "dtype")
            + pickle.NONE
            + SET_MARKER
            + pickle.TUPLE2
            + pickle.BUILD
            + b"."
        ),
        "UnsafePickleError",
        r"ind\.cora\.y: refused: BUILD on numpy\.dtype",
    ),
    (
        "global not allowed: builtins.setattr(csr_matrix, ...)",
        "graph",
        lambda f: (
            PROTO2
            + _global("builtins", "setattr")
            + pickle.MARK
            + CSR
            + _text(MARKER)
            + _int(1)
            + pickle.TUPLE
            + pickle.REDUCE
            + b"."
        ),
        "UnsafePickleError",
        r"ind\.cora\.graph: refusing to load builtins\.setattr",
    ),
    (
        "global not allowed: an allowed class's attribute (csr_matrix.__setattr__)",
        "allx",
        lambda f: PROTO2 + _global("scipy.sparse._csr", "csr_matrix.__setattr__") + b".",
        "UnsafePickleError",
        r"refusing to load scipy\.sparse\._csr\.csr_matrix\.__setattr__",
    ),
    (
        "REDUCE csr_matrix with arguments of the pickle's choosing",
        "tx",
        lambda f: (
            PROTO2
            + CSR
            + _int(1000)
            + _int(1433)
            + pickle.TUPLE2
            + pickle.TUPLE1
            + pickle.REDUCE
            + b"."
        ),
        "UnsafePickleError",
        r"csr_matrix may only be created empty",
    ),
    (
        "REDUCE _reconstruct(ndarray, (10**12,), b'b'): a 1 TB allocation",
        "ty",
        lambda f: (
            PROTO2
            + _global("numpy.core.multiarray", "_reconstruct")
            + _global("numpy", "ndarray")
            + pickle.LONG1
            + bytes([6])
            + (10**12).to_bytes(6, "little")
            + pickle.TUPLE1
            + _global("_codecs", "encode")
            + _text("b")
            + _text("latin1")
            + pickle.TUPLE2
            + pickle.REDUCE
            + pickle.TUPLE3
            + pickle.REDUCE
            + b"."
        ),
        "UnsafePickleError",
        r"ind\.cora\.ty: refused: _reconstruct\(numpy\.ndarray, \(1000000000000,\)",
    ),
    (
        "REDUCE numpy.dtype('O'): an object array (any objects inside)",
        "ally",
        lambda f: pickle.dumps(_real(f, "ally").astype(object), protocol=2),
        "UnsafePickleError",
        r"ind\.cora\.ally: refused: numpy\.dtype\('O8'\): only bool, integer and float",
    ),
    (
        "REDUCE collections.defaultdict(_codecs.encode): a hostile default factory",
        "graph",
        lambda f: pickle.dumps(collections.defaultdict(codecs.encode), protocol=2),
        "UnsafePickleError",
        r"defaultdict\(_codecs\.encode\): only defaultdict\(list\)",
    ),
    (
        "csr_matrix BUILD with foreign attributes",
        "tx",
        lambda f: (
            PROTO2 + CSR + pickle.EMPTY_TUPLE + pickle.NEWOBJ + SET_MARKER + pickle.BUILD + b"."
        ),
        "UnsafePickleError",
        r"csr_matrix state \['PWNED_MARKER'\] lacks one of _shape",
    ),
    (
        "csr_matrix whose _shape disagrees with its arrays",
        "tx",
        lambda f: _lying_csr(f),
        "UnsafePickleError",
        r"ind\.cora\.tx: refused: not a valid CSR matrix of shape \(1000, 1433\)",
    ),
    (
        "a list where a matrix belongs (x)",
        "x",
        lambda f: pickle.dumps([[0.0] * 1433] * 140, protocol=2),
        "PlanetoidFormatError",
        r"ind\.cora\.x: expected a SciPy CSR matrix or a 2-D NumPy array of features, got a list",
    ),
    (
        "a dict where labels belong (ty)",
        "ty",
        lambda f: pickle.dumps({}, protocol=2),
        "PlanetoidFormatError",
        r"ind\.cora\.ty: expected a 2-D NumPy array of one-hot labels, got a dict",
    ),
    (
        "a list where the graph belongs",
        "graph",
        lambda f: pickle.dumps([[1, 2]], protocol=2),
        "PlanetoidFormatError",
        r"ind\.cora\.graph: expected a dict of node id -> list of neighbour ids, got a list",
    ),
    (
        "graph with text ids",
        "graph",
        lambda f: pickle.dumps({"0": ["1"]}, protocol=2),
        "PlanetoidFormatError",
        r"ind\.cora\.graph: expected node id \(int\) -> list of ids, got '0'",
    ),
    (
        "graph with an id beyond the nodes",
        "graph",
        lambda f: pickle.dumps({0: [633, 5000], 1: [2]}, protocol=2),
        "PlanetoidFormatError",
        r"ind\.cora\.graph: 1 node ids outside \[0, 2708\).*e\.g\. 5000",
    ),
    (
        "allx with fewer columns than tx",
        "allx",
        lambda f: pickle.dumps(_real(f, "allx")[:, :1432], protocol=2),
        "PlanetoidFormatError",
        r"feature counts \(columns\) of the parts differ: \S*ind\.cora\.x \(140, 1433\), "
        r"\S*ind\.cora\.tx \(1000, 1433\), \S*ind\.cora\.allx \(1708, 1432\)",
    ),
    (
        "ty with a class fewer than y",
        "ty",
        lambda f: pickle.dumps(_real(f, "ty")[:, :6], protocol=2),
        "PlanetoidFormatError",
        r"class counts \(columns\) of the parts differ: .*ind\.cora\.ty \(1000, 6\)",
    ),
    (
        "ally with a row fewer than allx",
        "ally",
        lambda f: pickle.dumps(_real(f, "ally")[:-1], protocol=2),
        "PlanetoidFormatError",
        r"row counts .*ind\.cora\.allx \(1708, 1433\), \S*ind\.cora\.ally \(1707, 7\)",
    ),
    (
        "labels that are not one-hot",
        "y",
        lambda f: pickle.dumps(_real(f, "y") * 2, protocol=2),
        "PlanetoidFormatError",
        r"ind\.cora\.y: labels must be one-hot",
    ),
    (
        "test.index with an id fewer than tx's rows",
        "test.index",
        lambda f: "\n".join(_ids(f)[:-1]).encode(),
        "PlanetoidFormatError",
        r"ind\.cora\.test\.index lists 999 ids but \S*ind\.cora\.tx has 1000 rows",
    ),
    (
        "test.index with ids inside allx's rows",
        "test.index",
        lambda f: "\n".join(str(i) for i in range(1000)).encode(),
        "PlanetoidFormatError",
        r"ind\.cora\.test\.index: id 0 is below 1708",
    ),
]


def _lying_csr(folder):
    matrix = _real(folder, "tx")[:5]
    matrix._shape = (1000, 1433)
    return pickle.dumps(matrix, protocol=2)


def _copy_cora(source, target):
    for part in planetoid.PARTS:
        shutil.copy(source / f"ind.cora.{part}", target / f"ind.cora.{part}")
        os.chmod(target / f"ind.cora.{part}", 0o644)


def _no_marker():
    holders = [sp.csr_matrix, sp.spmatrix, np.ndarray, np.dtype, collections.defaultdict, list]
    holders += [planetoid._CsrStub, planetoid._ArrayStub, planetoid._DtypeStub, planetoid]
    holders += list(planetoid._ALLOWED_GLOBALS.values())
    return not any(hasattr(holder, MARKER) for holder in holders)


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


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_crafted_part_is_refused_without_side_effects(case, tmp_path, planetoid_dir):
    _, part, build, error, pattern = case
    _copy_cora(planetoid_dir, tmp_path)
    (tmp_path / f"ind.cora.{part}").write_bytes(build(planetoid_dir))
    with pytest.raises(getattr(planetoid, error), match=pattern):
        planetoid.load("cora", tmp_path, verify=False)
    assert _no_marker()


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


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_safe_unpickle_admits_numpy_and_scipy(protocol):
    matrix = sp.random(4, 5, density=0.5, format="csr", random_state=0, dtype=np.float32)
    arrays = [
        np.arange(6).reshape(2, 3),
        np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        np.arange(4, dtype=">i4"),
        np.array([True, False]),
    ]
    loaded = planetoid.safe_unpickle(pickle.dumps(matrix, protocol=protocol))
    assert type(loaded) is sp.csr_matrix and loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded.toarray(), matrix.toarray())
    for array in arrays:
        loaded = planetoid.safe_unpickle(pickle.dumps(array, protocol=protocol))
        assert type(loaded) is np.ndarray and loaded.dtype == array.dtype.newbyteorder("=")
        np.testing.assert_array_equal(loaded, array)
    graph = collections.defaultdict(list, {0: [1, 2], 3: [0]})
    assert planetoid.safe_unpickle(pickle.dumps(graph, protocol=protocol)) == {0: [1, 2], 3: [0]}


def test_safe_unpickle_refuses_cycles_and_second_builds():
    cycle = []
    cycle.append(cycle)
    with pytest.raises(planetoid.UnsafePickleError, match="nesting deeper than 8"):
        planetoid.safe_unpickle(pickle.dumps(cycle, protocol=2))
    data = pickle.dumps(np.arange(3), protocol=2)
    state = data[data.index(b"(K\x01") : -2]  # BUILD's state tuple, then BUILD, STOP
    with pytest.raises(planetoid.UnsafePickleError, match="second BUILD on an array"):
        planetoid.safe_unpickle(data[:-1] + state + pickle.BUILD + b".")
    assert _no_marker()


@pytest.mark.parametrize("name", ["cora", "citeseer"])
def test_real_parts_load_as_the_standard_unpickler_reads_them(name, planetoid_dir):
    # The shared files are checksum-verified, so the plain unpickler is a fair reference here.
    for part in planetoid.PARTS[:-1]:
        data = (planetoid_dir / f"ind.{name}.{part}").read_bytes()
        ours, reference = planetoid.safe_unpickle(data), pickle.loads(data, encoding="latin1")
        if part == "graph":
            assert ours == dict(reference)
        elif sp.issparse(reference):
            assert type(ours) is sp.csr_matrix and ours.dtype == reference.dtype
            assert ours.shape == reference.shape and (ours != reference).nnz == 0
        else:
            assert ours.dtype == reference.dtype and ours.shape == reference.shape
            np.testing.assert_array_equal(ours, reference)


def test_checksum_mismatch_warns_and_verify_false_skips(tmp_path, planetoid_dir, caplog):
    with caplog.at_level(logging.WARNING, logger=planetoid.__name__):
        planetoid.load("cora", planetoid_dir)
    assert not caplog.records  # the real files match their pinned sums
    _copy_cora(planetoid_dir, tmp_path)
    index = tmp_path / "ind.cora.test.index"
    index.write_bytes(index.read_bytes() + b"\n")  # still a valid file, but not the public one
    actual = hashlib.sha256(index.read_bytes()).hexdigest()
    with caplog.at_level(logging.WARNING, logger=planetoid.__name__):
        cora = planetoid.load("cora", tmp_path)
    (record,) = caplog.records
    assert str(index) in record.getMessage() and actual in record.getMessage()
    assert planetoid._SHA256_SUMS["ind.cora.test.index"] in record.getMessage()
    assert len(cora.test_index) == 1000
    assert planetoid.verify_files(tmp_path, "cora") == [str(index)]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=planetoid.__name__):
        planetoid.load("cora", tmp_path, verify=False)
        planetoid.locate("cora", tmp_path, verify=False)
    assert not caplog.records
    with caplog.at_level(logging.WARNING, logger=planetoid.__name__):
        planetoid.locate("cora", tmp_path)
    assert len(caplog.records) == 1


def test_pinned_sums_are_the_shared_data_sums(planetoid_dir):
    listed = dict(
        line.split()[::-1] for line in (planetoid_dir / "SHA256SUMS").read_text().splitlines()
    )
    pinned = {
        k: v for k, v in planetoid._SHA256_SUMS.items() if k.split(".")[1] in ("cora", "citeseer")
    }
    assert pinned == {k: v for k, v in listed.items() if k.startswith("ind.")}
    assert len(pinned) == 16


@pytest.mark.parametrize("argv, expected", [([], "True"), (["--no_verify"], "False")])
def test_prepare_planetoid_no_verify_reaches_load(argv, expected, tmp_path):
    script = (
        "import sys\n"
        "from absl import flags\n"
        "from graphnsl.data import planetoid, prepare\n"
        "class Stop(Exception):\n"
        "    pass\n"
        "def load(name, data_dir=None, download=True, verify=True):\n"
        "    print(verify)\n"
        "    raise Stop\n"
        "planetoid.load = load\n"
        "prepare.define_flags()\n"
        "flags.FLAGS(sys.argv)\n"
        "try:\n"
        "    prepare.main(['prepare-planetoid'])\n"
        "except Stop:\n"
        "    pass\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, f"--output_dir={tmp_path / 'out'}", *argv],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


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
