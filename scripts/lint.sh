#!/usr/bin/env bash
# Lint, format, type and size checks with the versions pinned in pyproject.toml's test extra
# (run scripts/setup.sh first). Every check runs; the exit status is 1 if any one found something.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
.venv/bin/ruff check . || status=1
.venv/bin/ruff format --check . || status=1
.venv/bin/mypy || status=1
.venv/bin/python scripts/check_sizes.py || status=1  # 600-line modules, 80-line functions
exit "$status"
