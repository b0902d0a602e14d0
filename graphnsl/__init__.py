"""graphnsl: Neural Structured Learning's graph learning on TensorFlow 2.21 and Keras 3.

Families: `graphnsl.graph_reg` (graph regularization of any Keras model), `graphnsl.gnn`
(graph_nets models), `graphnsl.gam` (Graph Agreement Models), over one data layer,
`graphnsl.data`, with `graphnsl.configs` and `graphnsl.lib` as in NSL. As with NSL, one import
reaches them all:

  import graphnsl as gnsl
  config = gnsl.configs.make_graph_reg_config(max_neighbors=2)
  model = gnsl.graph_reg.GraphRegularization(base, config)

Each subpackage is imported on first use (PEP 562 `__getattr__`), so `import graphnsl` itself
imports no TensorFlow. The subpackages are found on disk, so new families appear here once
installed; `dir(graphnsl)` lists them.
"""

import functools as _functools
import importlib as _importlib
import pkgutil as _pkgutil

__version__ = "0.1.0"

# Entry points, not library namespaces: `graphnsl` the command and its demo.
_NOT_ATTRIBUTES = frozenset({"cli", "demo"})


@_functools.cache
def _submodules() -> frozenset:
    """The public subpackages and modules of graphnsl, as found in its folder."""
    return frozenset(
        info.name
        for info in _pkgutil.iter_modules(__path__)
        if not info.name.startswith("_") and info.name not in _NOT_ATTRIBUTES
    )


def __getattr__(name: str):
    if name in _submodules():
        return _importlib.import_module(f"{__name__}.{name}")  # also binds it on the package
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list:
    # The families and the module's dunders; not the private helpers, nor `cli`/`demo` once
    # imported (the import binds them on the package).
    return sorted(_submodules() | {name for name in globals() if name.startswith("__")})
