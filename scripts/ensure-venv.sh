#!/usr/bin/env bash
# Ensure .venv exists with the project installed (editable, with dev extras).
# Cached: reinstalls only when pyproject.toml changed since the last install.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
stamp=".venv/.yunjian-installed"
if [ ! -x .venv/bin/python ]; then
  echo "[ensure-venv] creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
want="$(sha1sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "[ensure-venv] installing the project and its dependencies"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  echo "$want" > "$stamp"
else
  echo "[ensure-venv] .venv up to date"
fi
