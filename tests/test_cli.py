"""The `graphnsl` dispatcher: usage, unknown subcommands, every subcommand's module loads."""

import importlib

from graphnsl import cli


def test_usage_lists_subcommands(capsys):
    assert cli.main(["graphnsl", "--help"]) == 0
    out = capsys.readouterr().out
    for name in cli.SUBCOMMANDS:
        assert name in out


def test_unknown_subcommand(capsys):
    assert cli.main(["graphnsl", "frobnicate"]) == 2
    assert "unknown subcommand 'frobnicate'" in capsys.readouterr().err


def test_each_subcommand_module_has_flags_and_main():
    for module_name, _ in cli.SUBCOMMANDS.values():
        module = importlib.import_module(module_name)
        assert callable(module.define_flags) and callable(module.main), module_name
