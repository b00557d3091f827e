#!/usr/bin/env bash
# Set up everything the tests need, then run them. Exit status is pytest's.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
bash scripts/setup.sh
# Two test processes (at most one per CPU): most of the suite's time is one end-to-end test running
# one benchwatch process at a time (timing runs are sequential by design), which leaves the second
# CPU of a 2-core CI machine idle.
# --dist loadfile keeps each file's tests in one process, in order: module-scoped fixtures (one
# real run shared by several tests) are built once, and a test reading an earlier test's files
# still finds them. docs/cost.md, "The test suite".
exec .venv/bin/python -m pytest tests -q -n auto --maxprocesses 2 --dist loadfile "$@"
