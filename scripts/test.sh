#!/usr/bin/env bash
# Set up everything the tests need, then run them. Exit status is pytest's.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
bash scripts/setup.sh
exec .venv/bin/python -m pytest tests -q "$@"
