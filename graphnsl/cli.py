"""The `graphnsl` command: `graphnsl SUBCOMMAND [--flags] [args]`.

Each subcommand is a plain function's thin absl `main` in its own module, imported only
when that subcommand runs, so `graphnsl --help` starts fast. A subcommand module has
`define_flags()` (defines its absl flags; called once, here, so modules never clash over
flag names when imported together) and `main(argv)`.
"""

from __future__ import annotations

import importlib
import os
import sys

SUBCOMMANDS = {
    "prepare-planetoid": (
        "graphnsl.data.prepare",
        "Write a Planetoid dataset as NSL-format TFRecords and graph.",
    ),
    "build-graph": (
        "graphnsl.data.build_graph",
        "Build a cosine-similarity graph over embeddings (NSL's build_graph).",
    ),
    "pack-nbrs": (
        "graphnsl.data.pack_nbrs",
        "Pack neighbours into training examples (NSL's pack_nbrs).",
    ),
    "demo": (
        "graphnsl.demo",
        "Train plain and graph models on Cora (or a synthetic graph) and compare.",
    ),
}


def _usage() -> str:
    lines = ["usage: graphnsl SUBCOMMAND [--flags] [args]", "", "subcommands:"]
    lines += [f"  {name:<18} {text}" for name, (_, text) in SUBCOMMANDS.items()]
    lines += ["", "`graphnsl SUBCOMMAND --help` lists a subcommand's flags."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    if len(argv) < 2 or argv[1] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    name = argv[1]
    if name not in SUBCOMMANDS:
        print(f"graphnsl: unknown subcommand {name!r}.\n\n{_usage()}", file=sys.stderr)
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out
    module = importlib.import_module(SUBCOMMANDS[name][0])
    from absl import app

    module.define_flags()
    app.run(module.main, argv=[f"graphnsl {name}"] + argv[2:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
