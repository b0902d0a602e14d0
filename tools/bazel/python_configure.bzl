"""`local_python_configure`: a Python toolchain for the interpreter already installed here.

The interpreter is `$GRAPHNSL_PYTHON` when set (for example a virtual environment's
`bin/python`, used as given so that its site-packages stay in use), else `python3` on PATH.
Its packages (TensorFlow, Keras, graph-nets, pytest, ...) are what the targets import; no
repository is downloaded.
"""

def _local_python_configure_impl(repository_ctx):
    python = repository_ctx.os.environ.get("GRAPHNSL_PYTHON", "")
    if not python:
        found = repository_ctx.which("python3")
        if found == None:
            fail("No python3 on PATH; set GRAPHNSL_PYTHON to the interpreter to use.")
        python = str(found)
    check = repository_ctx.execute([python, "-c", "import sys; print(sys.version_info[0])"])
    if check.return_code != 0 or check.stdout.strip() != "3":
        fail("GRAPHNSL_PYTHON=%s does not run Python 3: %s" % (python, check.stderr))
    repository_ctx.file("BUILD.bazel", """
load("@bazel_tools//tools/python:toolchain.bzl", "py_runtime_pair")

py_runtime(
    name = "python3",
    interpreter_path = "{python}",
    python_version = "PY3",
)

py_runtime_pair(
    name = "runtime_pair",
    py3_runtime = ":python3",
)

toolchain(
    name = "toolchain",
    toolchain = ":runtime_pair",
    toolchain_type = "@bazel_tools//tools/python:toolchain_type",
)
""".format(python = python))

local_python_configure = repository_rule(
    implementation = _local_python_configure_impl,
    environ = ["GRAPHNSL_PYTHON", "PATH"],
    local = True,
)
