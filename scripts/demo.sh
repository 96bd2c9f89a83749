#!/usr/bin/env bash
# `make demo`: the whole system on the embedded default, in the foreground.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ -z "${DATABASE_URL:-}" ]; then
  bash scripts/ensure-system.sh
else
  WITH_BROWSER=0 bash scripts/ensure-system.sh || echo "[demo] continuing with DATABASE_URL=$DATABASE_URL"
fi
bash scripts/ensure-venv.sh
exec .venv/bin/yunjian demo
