#!/usr/bin/env bash
# Refresh requirements/benchmarks.lock: every package the main job installs (benchwatch's own
# dependencies, the 'demo' extra that benchmarks/ imports, the 'instructions' extra), pinned
# with hashes.  After a refresh, record the baseline again in the same change
# (docs/baselines.md): the lock decides which code the instruction counts count.
# Arguments go to pip-compile: --upgrade (everything), -P NAME[==VERSION] (one package).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
tools="$(mktemp -d)"
trap 'rm -rf "$tools"' EXIT
"$PYTHON" -m venv "$tools"
"$tools/bin/python" -m pip install --quiet --disable-pip-version-check 'pip-tools>=7.4,<8'
CUSTOM_COMPILE_COMMAND="bash scripts/lock.sh" "$tools/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --strip-extras \
  --no-emit-index-url --no-emit-find-links --extra demo --extra instructions \
  --output-file requirements/benchmarks.lock "$@" pyproject.toml
