"""The first local day with data of each indicator, kept by triggers.

The API leaves out a 同比/环比/累计同比 whose base starts before the indicator's data (an
incomplete base), so every series call needs the indicator's first day. Probing the rollups'
keys for it (one index probe per series, twice) cost 2–4 ms of a 15–20 ms call; this table
answers with one primary-key read, and stays exact whatever writes the rollups:

* INSERT into `rollup_daily` (every stored value, every rebuild): the day moves earlier when
  the new rows start earlier (from the transition table; the row is only written then);
* DELETE from `rollup_daily`: the indicators whose first day may have gone are recomputed;
* a change of a rollup's key (`series_id`, `day`) or of a series' indicator, and TRUNCATE of
  `rollup_daily` or `series`: everything is recomputed (only hand-made fixes do that);
* DELETE from `series` (its rollups go with it, by cascade): its indicators are recomputed.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The first day of one indicator: one probe of rollup_daily's primary key per series.
FIRST_DAY = """(SELECT min((SELECT min(d.day) FROM rollup_daily d WHERE d.series_id = s.id))
                FROM series s WHERE s.indicator_code = {code})"""


def upgrade() -> None:
    op.execute(f"""
    CREATE TABLE indicator_first_day (
        indicator_code varchar(64) NOT NULL CONSTRAINT pk_indicator_first_day PRIMARY KEY,
        first_day date NOT NULL
    );
    COMMENT ON TABLE indicator_first_day IS
        'The first local day with data (daily rollups) of each indicator with any; kept by triggers '
        '(migration 0007); read by the API to leave out comparisons whose base starts before the data.';

    CREATE FUNCTION indicator_first_day_recompute(p_codes text[]) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        -- NULL: every indicator
        DELETE FROM indicator_first_day WHERE p_codes IS NULL OR indicator_code = ANY(p_codes);
        INSERT INTO indicator_first_day (indicator_code, first_day)
        SELECT c.code, f.day
        FROM (SELECT DISTINCT indicator_code AS code FROM series
              WHERE p_codes IS NULL OR indicator_code = ANY(p_codes)) c
        CROSS JOIN LATERAL (SELECT {FIRST_DAY.format(code="c.code")} AS day) f
        WHERE f.day IS NOT NULL
        ORDER BY c.code;
    END $$;

    CREATE FUNCTION indicator_first_day_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO indicator_first_day AS f (indicator_code, first_day)
        SELECT s.indicator_code, min(n.day) FROM added n JOIN series s ON s.id = n.series_id
        GROUP BY s.indicator_code ORDER BY s.indicator_code
        ON CONFLICT (indicator_code) DO UPDATE SET first_day = EXCLUDED.first_day
        WHERE EXCLUDED.first_day < f.first_day;
        RETURN NULL;
    END $$;

    CREATE FUNCTION indicator_first_day_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        -- Only indicators that lost a row on (or before) their first day can have a later one now.
        PERFORM indicator_first_day_recompute(ARRAY(
            SELECT DISTINCT s.indicator_code FROM removed o JOIN series s ON s.id = o.series_id
            JOIN indicator_first_day f ON f.indicator_code = s.indicator_code AND o.day <= f.first_day));
        RETURN NULL;
    END $$;

    CREATE FUNCTION indicator_first_day_on_series_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM indicator_first_day_recompute(ARRAY(SELECT DISTINCT indicator_code FROM removed));
        RETURN NULL;
    END $$;

    CREATE FUNCTION indicator_first_day_recompute_all() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM indicator_first_day_recompute(NULL);
        RETURN NULL;
    END $$;

    CREATE TRIGGER trg_rollup_daily_first_day_ins AFTER INSERT ON rollup_daily
        REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION indicator_first_day_on_insert();
    CREATE TRIGGER trg_rollup_daily_first_day_del AFTER DELETE ON rollup_daily
        REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION indicator_first_day_on_delete();
    CREATE TRIGGER trg_rollup_daily_first_day_key AFTER UPDATE OF series_id, day ON rollup_daily
        FOR EACH STATEMENT EXECUTE FUNCTION indicator_first_day_recompute_all();
    CREATE TRIGGER trg_rollup_daily_first_day_trunc AFTER TRUNCATE ON rollup_daily
        FOR EACH STATEMENT EXECUTE FUNCTION indicator_first_day_recompute_all();
    CREATE TRIGGER trg_series_first_day_del AFTER DELETE ON series
        REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION indicator_first_day_on_series_delete();
    CREATE TRIGGER trg_series_first_day_key AFTER UPDATE OF indicator_code ON series
        FOR EACH STATEMENT EXECUTE FUNCTION indicator_first_day_recompute_all();
    CREATE TRIGGER trg_series_first_day_trunc AFTER TRUNCATE ON series
        FOR EACH STATEMENT EXECUTE FUNCTION indicator_first_day_recompute_all();

    SELECT indicator_first_day_recompute(NULL);
    """)


def downgrade() -> None:
    op.execute("""
    DROP TRIGGER trg_series_first_day_trunc ON series;
    DROP TRIGGER trg_series_first_day_key ON series;
    DROP TRIGGER trg_series_first_day_del ON series;
    DROP TRIGGER trg_rollup_daily_first_day_trunc ON rollup_daily;
    DROP TRIGGER trg_rollup_daily_first_day_key ON rollup_daily;
    DROP TRIGGER trg_rollup_daily_first_day_del ON rollup_daily;
    DROP TRIGGER trg_rollup_daily_first_day_ins ON rollup_daily;
    DROP FUNCTION indicator_first_day_recompute_all();
    DROP FUNCTION indicator_first_day_on_series_delete();
    DROP FUNCTION indicator_first_day_on_delete();
    DROP FUNCTION indicator_first_day_on_insert();
    DROP FUNCTION indicator_first_day_recompute(text[]);
    DROP TABLE indicator_first_day;
    """)
