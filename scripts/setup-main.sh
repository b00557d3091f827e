#!/usr/bin/env bash
# The main job's environment in .venv: exactly the pinned, hash-checked packages of
# requirements/benchmarks.lock (benchwatch's dependencies, what benchmarks/ imports, the
# 'valgrind' module), then benchwatch itself without dependencies.  No test or lint tools
# (scripts/setup.sh adds those).  The committed baseline was counted with these versions,
# so a fresh clone counts the same code.  Safe to run twice.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
LOCK=requirements/benchmarks.lock
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The 'valgrind' module builds from source (it needs a C compiler): its entry goes apart,
# so that a machine without one still gets the rest (the instruction pass then says why).
awk -v rest="$work/rest.txt" -v counts="$work/valgrind.txt" '
  /^[^ #]/ { target = ($0 ~ /^valgrind==/) ? counts : rest }
  /^[^#]/ && target { print > target }
' "$LOCK"
"${pip[@]}" --require-hashes --no-deps -r "$work/rest.txt"
"${pip[@]}" --no-deps -e .
"${pip[@]}" --require-hashes --no-deps -r "$work/valgrind.txt" >/dev/null 2>&1 \
  || echo "note: could not build the 'valgrind' module (needs a C compiler); the instruction pass will report it"
