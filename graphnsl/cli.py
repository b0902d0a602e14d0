"""The `graphnsl` command: `graphnsl SUBCOMMAND [--flags] [args]`.

Each subcommand is a plain function's thin absl `main` in its own module, imported only
when that subcommand runs, so `graphnsl --help` starts fast. A subcommand module has
`define_flags()` (defines its absl flags; called once, here, so modules never clash over
flag names when imported together) and `main(argv)`, and may describe its positional
arguments for `--help` with a module-level `ARGUMENTS`: either a string
(`"LABELED UNLABELED GRAPH OUTPUT"`) or a sequence of `(name, help)` pairs. Without it the
usage in backticks on the first line of `main`'s docstring
(`graphnsl pack-nbrs [flags] LABELED ...`) is shown.

Errors: a subcommand raises `absl.app.UsageError` (or an absl `flags.Error`, which flag
parsing and flag validators raise) for bad arguments, and `ValueError`/`OSError` for bad
data. The dispatcher prints each as one line, `graphnsl SUBCOMMAND: error: ...`, on stderr
and exits 2 for usage errors, 1 for everything else; `--verbose` (or the environment
variable `GRAPHNSL_VERBOSE=1`) adds the traceback.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import textwrap
import traceback

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

# Subcommands that import TensorFlow: imported up front, without its start-up banners.
USES_TENSORFLOW = ("prepare-planetoid", "demo")
HELP_ARGS = ("-h", "-help", "--help", "-helpshort", "--helpshort", "-helpfull", "--helpfull")
USAGE_EXIT = 2
ERROR_EXIT = 1
_VERBOSE_HELP = "Print the full traceback of an error (also: GRAPHNSL_VERBOSE=1)."
# Flags each subcommand defined, by name, so a second `main` call in one process reuses them.
_DEFINED: dict[str, list[str]] = {}


class _UsageFailure(Exception):
    """Carries a usage error out of `absl.app.run`, which would print its own usage."""


def _usage() -> str:
    lines = ["usage: graphnsl SUBCOMMAND [--flags] [args]", "", "subcommands:"]
    lines += [f"  {name:<18} {text}" for name, (_, text) in SUBCOMMANDS.items()]
    lines += ["", "`graphnsl SUBCOMMAND --help` lists a subcommand's flags and arguments."]
    return "\n".join(lines)


def _verbose_requested(args: list[str]) -> bool:
    if os.environ.get("GRAPHNSL_VERBOSE", "").strip().lower() in ("1", "true", "yes"):
        return True
    for arg in args:
        if arg == "--":
            break
        if arg in ("--verbose", "-verbose", "--verbose=true", "--verbose=1"):
            return True
    return False


def _wants_help(args: list[str]) -> str | None:
    for arg in args:
        if arg == "--":
            return None
        if arg in HELP_ARGS:
            return arg.lstrip("-")
    return None


def positional_arguments(module) -> tuple[str, list[tuple[str, str]]]:
    """A subcommand's positional arguments: the usage string and `(name, help)` pairs.

    Reads the module's `ARGUMENTS` (a string, or `(name, help)` pairs); falls back to the
    backticked `graphnsl NAME [flags] ARGS` on the first line of `main.__doc__`, else none.
    """
    declared = getattr(module, "ARGUMENTS", None)
    if isinstance(declared, str):
        return declared, []
    if declared:
        pairs = [(str(name), str(text)) for name, text in declared]
        return " ".join(name for name, _ in pairs), pairs
    doc = (getattr(module.main, "__doc__", None) or "").strip().splitlines()
    match = re.search(r"`graphnsl \S+(?: \[flags\])?\s*([^`]*)`(.*)", doc[0] if doc else "")
    if match:
        note = match.group(2).strip().strip(".").strip()
        return match.group(1).strip(), ([("", note)] if note else [])
    return "", []


def _flag_syntax(flag) -> str:
    if flag.boolean:
        return f"--[no]{flag.name}"
    values = getattr(flag.parser, "enum_values", None)
    if values:
        return f"--{flag.name}={{{','.join(values)}}}"
    kind = flag.flag_type().replace(" ", "_").upper()
    return f"--{flag.name}={kind}"


def _flag_help(flag) -> str:
    text = (flag.help or "").strip()
    if getattr(flag.parser, "enum_values", None):
        text = re.sub(r"^<[^>]*>:\s*", "", text)  # absl prefixes the choices, shown already
    if flag.default is None:
        extra = "required" if _is_required(flag) else "default: unset"
    elif flag.boolean:
        extra = f"default: {'true' if flag.default else 'false'}"
    elif isinstance(flag.default, str):
        extra = f"default: {flag.default!r}"
    else:
        extra = f"default: {flag.default}"
    syntax = getattr(flag.parser, "syntactic_help", "")
    if syntax and syntax not in ("an integer", "a number") and not flag.boolean:
        if not getattr(flag.parser, "enum_values", None):
            extra = f"{syntax}; {extra}"
    return f"{text} ({extra})" if text else f"({extra})"


def _is_required(flag) -> bool:
    from absl import flags

    for validator in getattr(flag, "validators", []):
        message = getattr(validator, "message", "")
        if "must have a value other than None" in message:
            return True
    return flag.name in getattr(flags.FLAGS, "_required_flags", ())


def subcommand_help(name: str, module, flag_names: list[str], full: bool = False) -> str:
    """The text of `graphnsl NAME --help`: usage, description, arguments and flags."""
    from absl import flags

    usage, pairs = positional_arguments(module)
    lines = [f"usage: graphnsl {name} [flags]{' ' + usage if usage else ''}", ""]
    lines.append(SUBCOMMANDS[name][1])
    wrap = textwrap.TextWrapper(width=88, initial_indent="      ", subsequent_indent="      ")
    if pairs:
        lines += ["", "positional arguments:"]
        for argument, text in pairs:
            if argument:
                lines.append(f"  {argument}")
                lines += wrap.wrap(text) if text else []
            else:
                lines += textwrap.wrap(text, width=88, initial_indent="  ")
    common = [] if "verbose" in flag_names else ["verbose"]
    sections = [("flags", flag_names), ("common flags", common)]
    if full:
        shown = set(flag_names) | {"verbose"}
        sections.append(("absl flags", sorted(n for n in flags.FLAGS if n not in shown)))
    for title, names in sections:
        names = [n for n in names if n in flags.FLAGS]
        if not names:
            continue
        lines += ["", f"{title}:"]
        seen = set()
        for flag_name in names:
            flag = flags.FLAGS[flag_name]
            if flag.name in seen:
                continue
            seen.add(flag.name)
            lines.append(f"  {_flag_syntax(flag)}")
            lines += wrap.wrap(_flag_help(flag))
    if not full:
        lines += ["", f"`graphnsl {name} --helpfull` also lists absl's own flags (logging)."]
    return "\n".join(lines)


def _define(name: str, module) -> list[str]:
    """Calls the module's `define_flags()` once per process; returns the names it defined."""
    from absl import flags

    if name not in _DEFINED:
        before = set(flags.FLAGS)
        module.define_flags()
        _DEFINED[name] = [n for n in flags.FLAGS if n not in before]
    if "verbose" not in flags.FLAGS:  # after the module's, so a module may define its own
        flags.DEFINE_bool("verbose", False, _VERBOSE_HELP)
    return _DEFINED[name]


def _one_line(error: BaseException, unexpected: bool) -> str:
    text = " ".join(str(error).split()) if str(error).strip() else ""
    if isinstance(error, KeyError) and error.args:
        text = f"missing key {error.args[0]!r}"
    if unexpected or not text:
        text = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return text


def _run(name: str, args: list[str], verbose: bool) -> int:
    """Imports, parses and runs subcommand `name`; returns its exit status."""
    module = importlib.import_module(SUBCOMMANDS[name][0])
    from absl import app, flags

    flag_names = _define(name, module)
    topic = _wants_help(args)
    if topic is not None:
        print(subcommand_help(name, module, flag_names, full=topic == "helpfull"))
        return 0

    def parse(argv):
        flags.FLAGS.unparse_flags()  # a second run in one process starts from the defaults
        try:
            return flags.FLAGS(argv)
        except flags.Error as error:
            raise _UsageFailure(str(error)) from error

    def run_main(argv):
        if name in USES_TENSORFLOW:
            from graphnsl import _quiet

            _quiet.import_tensorflow()
        try:
            return module.main(argv)
        except app.UsageError as error:
            raise _UsageFailure(str(error)) from error
        except flags.Error as error:  # e.g. a validator checked from main
            raise _UsageFailure(str(error)) from error

    try:
        app.run(run_main, argv=[f"graphnsl {name}", *args], flags_parser=parse)
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            return int(done.code or 0)
        raise _DataFailure(str(done.code)) from done
    finally:
        # Back to the defaults after the run too, so Python code calling a tool's main() next in
        # this process does not inherit this run's flags (e.g. --runner).
        flags.FLAGS.unparse_flags()
    return 0


class _DataFailure(Exception):
    """A `SystemExit` with a message (a module's `sys.exit('...')`): a one-line error."""


def _report(name: str, error: BaseException, verbose: bool) -> int:
    prefix = f"graphnsl {name}: error:"
    if isinstance(error, _UsageFailure):
        code, text = USAGE_EXIT, f"{_one_line(error, False)} (see `graphnsl {name} --help`)"
    elif isinstance(error, (ValueError, OSError, _DataFailure)):
        code, text = ERROR_EXIT, _one_line(error, False)
    else:
        code, text = ERROR_EXIT, _one_line(error, True)
        if not verbose:
            text += " (rerun with --verbose for the traceback)"
    if verbose:
        traceback.print_exception(error)
    sys.stdout.flush()
    print(f"{prefix} {text}", file=sys.stderr, flush=True)
    return code


def main(argv: list[str] | None = None) -> int:
    """Runs `graphnsl SUBCOMMAND ...` (`argv` as `sys.argv`); returns the exit status."""
    argv = list(sys.argv if argv is None else argv)
    if len(argv) < 2 or argv[1] in ("-h", "--help", "help", "--helpshort", "--helpfull"):
        print(_usage())
        return 0
    name = argv[1]
    if name not in SUBCOMMANDS:
        print(f"graphnsl: unknown subcommand {name!r}.\n\n{_usage()}", file=sys.stderr)
        return USAGE_EXIT
    args = argv[2:]
    verbose = _verbose_requested(args)
    from graphnsl import _quiet

    _quiet.quiet_defaults(verbose)  # before anything imports TensorFlow
    try:
        return _run(name, args, verbose)
    except KeyboardInterrupt:
        print(f"\ngraphnsl {name}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `graphnsl ... --help | head`: the reader left; say nothing
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ERROR_EXIT
    except Exception as error:
        return _report(name, error, verbose)


if __name__ == "__main__":
    sys.exit(main())
