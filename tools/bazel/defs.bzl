"""Macros that write graphnsl's BUILD targets from globs, so new packages and tests need no edit.

`graphnsl_libraries()` (in graphnsl/BUILD): a `py_library` per subpackage (every
`graphnsl/<name>/__init__.py` without its own BUILD file), `:base` for the package root and
`configs`, and `:graphnsl`, everything. `graphnsl_tests()` (in tests/BUILD): a `py_test` per
`tests/**/test_*.py`, run by pytest, depending on the library its folder tests.
"""

# What each subpackage imports of graphnsl besides `:base` (the layering of
# docs/ARCHITECTURE.md). A subpackage not listed gets _DEFAULT_DEPS.
_DEPS = {
    "lib": [],
    "data": ["lib"],
    "graph_reg": ["lib", "data"],
    "gnn": ["lib", "data"],
    "gam": ["lib", "data", "gnn"],
    "embedding": ["lib", "data", "graph_reg"],
    "hashing": ["lib", "data", "embedding"],
    "beam": ["lib", "data"],
}
_DEFAULT_DEPS = ["lib", "data"]
_BASE_SRCS = ["__init__.py", "configs.py"]

def _subpackages():
    return sorted([path.split("/")[0] for path in native.glob(["*/__init__.py"])])

def graphnsl_libraries():
    """The py_library targets of the graphnsl package; call it from graphnsl/BUILD."""
    subpackages = _subpackages()
    native.py_library(
        name = "base",
        srcs = _BASE_SRCS,
        visibility = ["//visibility:public"],
    )
    for sub in subpackages:
        deps = [":base"] + [":" + d for d in _DEPS.get(sub, _DEFAULT_DEPS) if d in subpackages]
        native.py_library(
            name = sub,
            srcs = native.glob([sub + "/**/*.py"]),
            data = native.glob(
                [sub + "/**/*"],
                exclude = [sub + "/**/*.py", sub + "/**/__pycache__/**", sub + "/**/*.pyc"],
            ),
            deps = deps,
            visibility = ["//visibility:public"],
        )
    native.py_library(
        name = "graphnsl",
        srcs = native.glob(["*.py"], exclude = _BASE_SRCS),
        deps = [":base"] + [":" + sub for sub in subpackages],
        visibility = ["//visibility:public"],
    )

def graphnsl_tests(size = "medium", deps = [], data = []):
    """A py_test per tests/**/test_*.py; call it from tests/BUILD.

    Target names are the module's path without `.py`, `/` as `_` (tests/lib/test_labels.py
    -> //tests:lib_test_labels). A module in tests/<name>/ depends on //graphnsl:<name>
    for the subpackages of _DEPS (so a missing dep there fails the test), else on
    //graphnsl (everything).

    Args:
      size: Bazel test size of each target.
      deps: extra deps of every test.
      data: extra data of every test.
    """
    conftests = native.glob(["**/conftest.py"])
    for src in native.glob(["**/test_*.py"]):
        folder = src.split("/")[0] if "/" in src else ""
        library = "//graphnsl:" + folder if folder in _DEPS else "//graphnsl"
        native.py_test(
            name = src[:-len(".py")].replace("/", "_"),
            srcs = [src, "//tools/bazel:pytest_main.py"],
            main = "//tools/bazel:pytest_main.py",
            args = ["$(rootpath %s)" % src],
            data = conftests + ["//:pyproject.toml"] + data,
            deps = [library] + deps,
            size = size,
            python_version = "PY3",
        )
