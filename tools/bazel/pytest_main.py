"""Runs pytest on the test modules given as arguments: the main of every graphnsl py_test."""

import os
import sys

import pytest


def main() -> int:
    import graphnsl

    # The runfiles' copy (symlinks into the checkout) must be the one under test, not an
    # installed graphnsl, so the libraries' srcs and deps are what the test sees.
    here = os.path.abspath(os.getcwd())
    package = os.path.abspath(os.path.dirname(graphnsl.__file__))
    if not package.startswith(here + os.sep):
        print(f"graphnsl imported from {package}, not from the runfiles at {here}.")
        return 1
    return pytest.main(["-q", "-p", "no:cacheprovider", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
