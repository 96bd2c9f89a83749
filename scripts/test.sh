#!/usr/bin/env bash
# `make test`: lint, type-check, then the whole suite on a throwaway PostgreSQL +
# TimescaleDB cluster (or on TEST_DATABASE_URL), then the smoke tests on plain PostgreSQL.
# Exits non-zero on any failure; stops every cluster it started.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/ensure-system.sh
bash scripts/ensure-venv.sh
export PATH="$ROOT/.venv/bin:$PATH"

echo "== ruff"; ruff check .
echo "== mypy"; mypy $(ls -d backend ingest dashboard migrations benchmarks 2>/dev/null)

TS_PORT="${YUNJIAN_TEST_PG_PORT:-54349}"
PLAIN_PORT="${YUNJIAN_TEST_PLAIN_PG_PORT:-54350}"
started=()
cleanup() { for n in "${started[@]}"; do yunjian db destroy --name "$n" || true; done; }
trap cleanup EXIT

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  export TEST_DATABASE_URL="$(yunjian db start --name pg-ci --port "$TS_PORT" --fresh --fast-unsafe)"
  started+=(pg-ci)
fi
echo "== database: $TEST_DATABASE_URL"
python - <<'PY'
import os
from sqlalchemy import create_engine, text
e = create_engine(os.environ["TEST_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1))
with e.connect() as c:
    print("   PostgreSQL", c.execute(text("SHOW server_version")).scalar())
    avail = c.execute(text("SELECT default_version FROM pg_available_extensions WHERE name='timescaledb'")).scalar()
    print("   TimescaleDB", avail or "NOT AVAILABLE", "(shared_preload_libraries: %s)" % c.execute(
        text("SHOW shared_preload_libraries")).scalar())
PY

echo "== pytest (PostgreSQL + TimescaleDB)"
pytest "$@"

if [ -z "${TEST_PLAIN_DATABASE_URL:-}" ]; then
  TEST_PLAIN_DATABASE_URL="$(yunjian db start --name pg-ci-plain --port "$PLAIN_PORT" --fresh --fast-unsafe --no-timescaledb)"
  started+=(pg-ci-plain)
fi
echo "== pytest smoke (plain PostgreSQL, no TimescaleDB): $TEST_PLAIN_DATABASE_URL"
TEST_DATABASE_URL="$TEST_PLAIN_DATABASE_URL" YUNJIAN_TEST_EXPECT_TIMESCALEDB=0 pytest -m plainpg -p no:randomly
