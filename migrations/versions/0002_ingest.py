"""Ingest: per-source state, leases, job runs, quarantine.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE ingest_source (
        name varchar(64) CONSTRAINT pk_ingest_source PRIMARY KEY,
        family varchar(16) NOT NULL,
        title_zh text NOT NULL,
        title_en text NOT NULL,
        interval_s integer NOT NULL,
        expected_lag_s integer NOT NULL,
        watermark_at timestamptz,
        latest_data_at timestamptz,
        last_run_at timestamptz,
        last_success_at timestamptz,
        last_error_at timestamptz,
        last_error text,
        rows_stored bigint NOT NULL DEFAULT 0,
        rows_rejected bigint NOT NULL DEFAULT 0,
        last_rows_stored integer NOT NULL DEFAULT 0,
        heartbeat_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE ingest_lease (
        name varchar(64) CONSTRAINT pk_ingest_lease PRIMARY KEY,
        holder text NOT NULL,
        acquired_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL
    );
    CREATE TABLE ingest_job_run (
        id bigserial CONSTRAINT pk_ingest_job_run PRIMARY KEY,
        source_name varchar(64) NOT NULL,
        kind varchar(16) NOT NULL CONSTRAINT ck_ingest_job_run_kind CHECK (kind IN ('scheduled', 'backfill')),
        holder text NOT NULL,
        status varchar(16) NOT NULL
            CONSTRAINT ck_ingest_job_run_status CHECK (status IN ('running', 'ok', 'failed', 'skipped')),
        started_at timestamptz NOT NULL,
        finished_at timestamptz,
        window_start_at timestamptz,
        window_end_at timestamptz,
        rows_received integer NOT NULL DEFAULT 0,
        rows_stored integer NOT NULL DEFAULT 0,
        rows_unchanged integer NOT NULL DEFAULT 0,
        rows_rejected integer NOT NULL DEFAULT 0,
        attempts integer NOT NULL DEFAULT 0,
        error text
    );
    CREATE INDEX ix_ingest_job_run_source_name ON ingest_job_run (source_name);
    CREATE TABLE ingest_quarantine (
        id bigserial CONSTRAINT pk_ingest_quarantine PRIMARY KEY,
        source_name varchar(64) NOT NULL,
        batch_id varchar(64) NOT NULL,
        raw_text text NOT NULL,
        raw_json jsonb,
        reason text NOT NULL,
        content_hash varchar(64) NOT NULL,
        received_at timestamptz NOT NULL,
        last_seen_at timestamptz NOT NULL,
        seen_count integer NOT NULL DEFAULT 1,
        status varchar(16) NOT NULL DEFAULT 'open'
            CONSTRAINT ck_ingest_quarantine_status CHECK (status IN ('open', 'resolved', 'dismissed')),
        reviewed_at timestamptz,
        reviewed_by text,
        review_note text,
        CONSTRAINT uq_ingest_quarantine_source_name UNIQUE (source_name, content_hash)
    );
    CREATE INDEX ix_ingest_quarantine_status ON ingest_quarantine (status);
    """)


def downgrade() -> None:
    op.execute("""
    DROP TABLE ingest_quarantine;
    DROP TABLE ingest_job_run;
    DROP TABLE ingest_lease;
    DROP TABLE ingest_source;
    """)
