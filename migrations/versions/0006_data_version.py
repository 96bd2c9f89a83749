"""Data versions: a number per indicator (and one for the registry and catalogue) that changes
whenever anything an aggregate reads changes, so that the API can keep computed answers and
know, with one primary-key read, whether they still hold.

Maintained by statement-level triggers, so that every writer (the write path, the bulk
import, rollup rebuilds, a hand-written fix in psql) keeps them true:

* `rollup_daily` / `rollup_monthly` (every stored or revised value refreshes its rollups in
  the same transaction): the indicators of the changed rows, from the transition tables;
* `district`, `park`, `industry_group`, `enterprise`, `enterprise_version`, `series`,
  `indicator`: the scope `*` (names, attributions and the catalogue); only when rows changed;
* TRUNCATE of any of them: `*`.

Versions are taken from a sequence, so a bump that is rolled back never reappears as the
number of a different state.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ROLLUPS = ("rollup_daily", "rollup_monthly")
REGISTRY = ("district", "park", "industry_group", "enterprise", "enterprise_version", "series", "indicator")
EVENTS = (("ins", "INSERT", "NEW"), ("upd", "UPDATE", "NEW"), ("del", "DELETE", "OLD"))


def upgrade() -> None:
    op.execute("""
    CREATE SEQUENCE data_version_seq;
    CREATE TABLE data_version (
        scope varchar(64) NOT NULL CONSTRAINT pk_data_version PRIMARY KEY,
        version bigint NOT NULL,
        changed_at timestamptz NOT NULL DEFAULT now()
    );
    COMMENT ON TABLE data_version IS
        'Changes whenever data an aggregate reads changes: scope = indicator code, or * for the registry '
        'and catalogue. Kept by triggers (migration 0006); read by the API''s answer cache.';

    CREATE FUNCTION data_version_bump(p_scope text) RETURNS void LANGUAGE sql AS $$
        INSERT INTO data_version AS v (scope, version, changed_at) VALUES (p_scope, nextval('data_version_seq'), now())
        ON CONFLICT (scope) DO UPDATE SET version = EXCLUDED.version, changed_at = EXCLUDED.changed_at
    $$;

    CREATE FUNCTION data_version_bump_indicators() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        -- Sorted, so that two writers lock the rows in the same order.
        INSERT INTO data_version AS v (scope, version, changed_at)
        SELECT s.indicator_code, nextval('data_version_seq'), now()
        FROM (SELECT DISTINCT c.series_id FROM changed c) c JOIN series s ON s.id = c.series_id
        GROUP BY s.indicator_code ORDER BY s.indicator_code
        ON CONFLICT (scope) DO UPDATE SET version = EXCLUDED.version, changed_at = EXCLUDED.changed_at;
        RETURN NULL;
    END $$;

    CREATE FUNCTION data_version_bump_registry() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        -- (two branches: a TRUNCATE trigger has no transition table to look at)
        IF TG_OP = 'TRUNCATE' THEN
            PERFORM data_version_bump('*');
        ELSIF EXISTS (SELECT 1 FROM changed) THEN
            PERFORM data_version_bump('*');
        END IF;
        RETURN NULL;
    END $$;
    """)
    for table in (*ROLLUPS, *REGISTRY):
        fn = "data_version_bump_indicators" if table in ROLLUPS else "data_version_bump_registry"
        for suffix, event, which in EVENTS:
            op.execute(f"""CREATE TRIGGER trg_{table}_data_version_{suffix} AFTER {event} ON {table}
                REFERENCING {which} TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION {fn}()""")
        op.execute(f"""CREATE TRIGGER trg_{table}_data_version_trunc AFTER TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION data_version_bump_registry()""")
    # Whatever is stored already counts as version 1 of everything.
    op.execute("INSERT INTO data_version (scope, version) VALUES ('*', nextval('data_version_seq'))")


def downgrade() -> None:
    for table in (*ROLLUPS, *REGISTRY):
        for suffix in ("ins", "upd", "del", "trunc"):
            op.execute(f"DROP TRIGGER trg_{table}_data_version_{suffix} ON {table}")
    op.execute("""
    DROP FUNCTION data_version_bump_registry();
    DROP FUNCTION data_version_bump_indicators();
    DROP FUNCTION data_version_bump(text);
    DROP TABLE data_version;
    DROP SEQUENCE data_version_seq;
    """)
