#!/bin/sh
echo "graphnsl's Bazel setup is offline: bazel coverage is not supported; use pytest-cov." >&2
exit 1
