"""Foundation: registry, indicator catalogue, series, observation hypertables, rollups.

TimescaleDB DDL is written by hand. When the extension is not available (plain
PostgreSQL), the same tables are created as ordinary tables and everything still works,
without chunk exclusion or drop_chunks.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

OBSERVATION_COLUMNS = """
    series_id integer NOT NULL,
    time timestamptz NOT NULL,
    value double precision NOT NULL,
    source varchar(64) NOT NULL,
    quality smallint NOT NULL DEFAULT 0,
    revision smallint NOT NULL DEFAULT 0,
    ingested_at timestamptz NOT NULL DEFAULT now()
"""

ROLLUP_COLUMNS = """
    series_id integer NOT NULL REFERENCES series (id) ON DELETE CASCADE,
    sum double precision NOT NULL,
    count integer NOT NULL,
    min double precision NOT NULL,
    max double precision NOT NULL,
    last double precision NOT NULL,
    last_at timestamptz NOT NULL
"""


def _timescaledb_available() -> bool:
    bind = op.get_bind()
    return bool(bind.exec_driver_sql(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'").scalar()) and bool(
        bind.exec_driver_sql("SELECT 1 FROM pg_settings WHERE name = 'shared_preload_libraries' "
                             "AND position('timescaledb' in setting) > 0").scalar())


def upgrade() -> None:
    timescale = _timescaledb_available()
    if timescale:
        op.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")

    op.execute("""
    CREATE TABLE district (
        id serial CONSTRAINT pk_district PRIMARY KEY,
        code varchar(16) NOT NULL CONSTRAINT uq_district_code UNIQUE,
        name_zh text NOT NULL,
        name_en text NOT NULL,
        kind varchar(16) NOT NULL DEFAULT 'district'
            CONSTRAINT ck_district_kind CHECK (kind IN ('district', 'managed_area'))
    );
    CREATE TABLE park (
        id serial CONSTRAINT pk_park PRIMARY KEY,
        code varchar(32) NOT NULL CONSTRAINT uq_park_code UNIQUE,
        name_zh text NOT NULL,
        name_en text NOT NULL,
        district_id integer NOT NULL CONSTRAINT fk_park_district_id_district REFERENCES district (id),
        zone_zh text
    );
    CREATE TABLE industry_group (
        code varchar(32) CONSTRAINT pk_industry_group PRIMARY KEY,
        name_zh text NOT NULL,
        name_en text NOT NULL,
        sort_order integer NOT NULL DEFAULT 0
    );
    CREATE TABLE enterprise (
        id serial CONSTRAINT pk_enterprise PRIMARY KEY,
        uscc varchar(18) NOT NULL CONSTRAINT uq_enterprise_uscc UNIQUE,
        name_zh text NOT NULL,
        name_en text,
        created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE enterprise_version (
        id serial CONSTRAINT pk_enterprise_version PRIMARY KEY,
        enterprise_id integer NOT NULL
            CONSTRAINT fk_enterprise_version_enterprise_id_enterprise REFERENCES enterprise (id) ON DELETE CASCADE,
        valid_from date NOT NULL,
        valid_to date,
        district_id integer NOT NULL CONSTRAINT fk_enterprise_version_district_id_district REFERENCES district (id),
        park_id integer CONSTRAINT fk_enterprise_version_park_id_park REFERENCES park (id),
        industry_code varchar(8) NOT NULL,
        industry_group varchar(32) NOT NULL
            CONSTRAINT fk_enterprise_version_industry_group_industry_group REFERENCES industry_group (code),
        above_scale boolean NOT NULL DEFAULT false,
        key_enterprise boolean NOT NULL DEFAULT false,
        CONSTRAINT ck_enterprise_version_valid_range CHECK (valid_to IS NULL OR valid_to > valid_from),
        -- one version per enterprise per day, never two
        CONSTRAINT ex_enterprise_version_no_overlap EXCLUDE USING gist (
            enterprise_id WITH =, daterange(valid_from, valid_to, '[)') WITH &&)
    );
    CREATE INDEX ix_enterprise_version_enterprise_id ON enterprise_version (enterprise_id);

    CREATE TABLE unit (
        code varchar(32) CONSTRAINT pk_unit PRIMARY KEY,
        name_zh text NOT NULL,
        name_en text NOT NULL,
        dimension varchar(32) NOT NULL,
        factor double precision NOT NULL
    );
    CREATE TABLE indicator (
        code varchar(64) CONSTRAINT pk_indicator PRIMARY KEY,
        name_zh text NOT NULL,
        name_en text NOT NULL,
        family varchar(16) NOT NULL CONSTRAINT ck_indicator_family
            CHECK (family IN ('coal', 'power', 'oil', 'gas', 'transport', 'economy', 'energy')),
        unit_code varchar(32) NOT NULL CONSTRAINT fk_indicator_unit_code_unit REFERENCES unit (code),
        frequency varchar(8) NOT NULL CONSTRAINT ck_indicator_frequency
            CHECK (frequency IN ('15min', 'hour', 'day', 'month')),
        agg_entities varchar(16) NOT NULL CONSTRAINT ck_indicator_agg_entities
            CHECK (agg_entities IN ('sum', 'wmean', 'none')),
        agg_time varchar(8) NOT NULL CONSTRAINT ck_indicator_agg_time CHECK (agg_time IN ('sum', 'mean', 'last')),
        weight_indicator varchar(64),
        is_leading boolean NOT NULL DEFAULT false,
        good_direction varchar(8) NOT NULL CONSTRAINT ck_indicator_good_direction
            CHECK (good_direction IN ('up', 'down', 'none')),
        description_zh text,
        description_en text,
        sort_order integer NOT NULL DEFAULT 0
    );
    CREATE INDEX ix_indicator_family ON indicator (family);

    CREATE TABLE series (
        id serial CONSTRAINT pk_series PRIMARY KEY,
        indicator_code varchar(64) NOT NULL CONSTRAINT fk_series_indicator_code_indicator REFERENCES indicator (code),
        entity_kind varchar(16) NOT NULL CONSTRAINT ck_series_entity_kind
            CHECK (entity_kind IN ('city', 'district', 'park', 'enterprise')),
        entity_id integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_series_indicator_code UNIQUE (indicator_code, entity_kind, entity_id)
    );
    """)

    # Observations carry no foreign key to series: writes go through a staging table
    # that resolves series ids first, and a per-row FK check would halve bulk ingest.
    op.execute(f"""
    CREATE TABLE observation ({OBSERVATION_COLUMNS},
        CONSTRAINT pk_observation PRIMARY KEY (series_id, time));
    CREATE TABLE period_observation ({OBSERVATION_COLUMNS},
        CONSTRAINT pk_period_observation PRIMARY KEY (series_id, time));
    CREATE TABLE observation_revision (
        id bigserial CONSTRAINT pk_observation_revision PRIMARY KEY,
        table_name varchar(32) NOT NULL,
        series_id integer NOT NULL,
        time timestamptz NOT NULL,
        revision smallint NOT NULL,
        value double precision NOT NULL,
        source varchar(64) NOT NULL,
        replaced_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX ix_observation_revision_series_time ON observation_revision (series_id, time);
    CREATE TABLE rollup_daily ({ROLLUP_COLUMNS}, day date NOT NULL,
        CONSTRAINT pk_rollup_daily PRIMARY KEY (series_id, day));
    CREATE TABLE rollup_monthly ({ROLLUP_COLUMNS}, month date NOT NULL,
        CONSTRAINT pk_rollup_monthly PRIMARY KEY (series_id, month));
    ALTER TABLE rollup_daily RENAME CONSTRAINT rollup_daily_series_id_fkey TO fk_rollup_daily_series_id_series;
    ALTER TABLE rollup_monthly RENAME CONSTRAINT rollup_monthly_series_id_fkey TO fk_rollup_monthly_series_id_series;

    CREATE TABLE worker_heartbeat (
        name varchar(64) CONSTRAINT pk_worker_heartbeat PRIMARY KEY,
        host text NOT NULL,
        pid integer NOT NULL,
        started_at timestamptz NOT NULL,
        beat_at timestamptz NOT NULL,
        expected_interval_s integer NOT NULL DEFAULT 60,
        info jsonb NOT NULL DEFAULT '{{}}'::jsonb
    );
    """)
    if timescale:
        # 15-minute data for ~1,000 series is ~100k rows a day: a week per chunk keeps
        # chunks near a million rows. Period data (daily, monthly) is small: a year a chunk.
        op.execute("SELECT create_hypertable('observation', 'time', chunk_time_interval => interval '7 days')")
        op.execute("SELECT create_hypertable('period_observation', 'time', chunk_time_interval => interval '365 days')")


def downgrade() -> None:
    op.execute("""
    DROP TABLE worker_heartbeat;
    DROP TABLE rollup_monthly;
    DROP TABLE rollup_daily;
    DROP TABLE observation_revision;
    DROP TABLE period_observation;
    DROP TABLE observation;
    DROP TABLE series;
    DROP TABLE indicator;
    DROP TABLE unit;
    DROP TABLE enterprise_version;
    DROP TABLE enterprise;
    DROP TABLE industry_group;
    DROP TABLE park;
    DROP TABLE district;
    DROP EXTENSION IF EXISTS btree_gist;
    DROP EXTENSION IF EXISTS timescaledb;
    """)
