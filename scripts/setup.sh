#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment in .venv. Safe to run twice.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
# test: the test tools; demo: our own workload in benchmarks/ (DuckDB); history: the trend report.
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test,demo,history]'
# Callgrind client requests through the valgrind module (a C extension built from source; without it
# x86-64 Linux issues them through ctypes, other machines skip the instruction pass with a note).
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[instructions]' >/dev/null 2>&1 \
  || echo "note: could not build the 'valgrind' module (needs a C compiler); x86-64 Linux counts without it"
