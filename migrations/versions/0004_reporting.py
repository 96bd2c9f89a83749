"""Official statistics import batches and enterprise direct reporting (periods and
deadlines, submissions, items, review flags). Rejected rows of both go to the shared
quarantine table of migration 0002 (ingest_quarantine).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE import_batch (
        id serial CONSTRAINT pk_import_batch PRIMARY KEY,
        source varchar(64) NOT NULL,
        file_name text NOT NULL,
        file_sha256 varchar(64) NOT NULL,
        mapping_name text NOT NULL,
        file_format varchar(32) NOT NULL,
        started_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        cells integer NOT NULL DEFAULT 0,
        inserted integer NOT NULL DEFAULT 0,
        updated integer NOT NULL DEFAULT 0,
        unchanged integer NOT NULL DEFAULT 0,
        derived integer NOT NULL DEFAULT 0,
        not_published integer NOT NULL DEFAULT 0,
        ignored integer NOT NULL DEFAULT 0,
        rejected integer NOT NULL DEFAULT 0,
        summary jsonb NOT NULL DEFAULT '{}'::jsonb
    );
    CREATE INDEX ix_import_batch_file_sha256 ON import_batch (file_sha256);

    CREATE TABLE report_period (
        month date CONSTRAINT pk_report_period PRIMARY KEY,
        due_at timestamptz NOT NULL,
        note text,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT ck_report_period_first_of_month CHECK (extract(day FROM month) = 1)
    );
    CREATE TABLE report_submission (
        id serial CONSTRAINT pk_report_submission PRIMARY KEY,
        enterprise_id integer NOT NULL
            CONSTRAINT fk_report_submission_enterprise_id_enterprise REFERENCES enterprise (id),
        month date NOT NULL,
        channel varchar(16) NOT NULL CONSTRAINT ck_report_submission_channel CHECK (channel IN ('api', 'upload')),
        submitted_by text NOT NULL,
        submitted_at timestamptz NOT NULL DEFAULT now(),
        status varchar(16) NOT NULL
            CONSTRAINT ck_report_submission_status CHECK (status IN ('accepted', 'flagged', 'rejected')),
        file_name text,
        items integer NOT NULL DEFAULT 0,
        rejected integer NOT NULL DEFAULT 0,
        CONSTRAINT ck_report_submission_first_of_month CHECK (extract(day FROM month) = 1)
    );
    CREATE INDEX ix_report_submission_enterprise_id ON report_submission (enterprise_id);
    CREATE INDEX ix_report_submission_month ON report_submission (month, enterprise_id);
    CREATE TABLE report_item (
        id bigserial CONSTRAINT pk_report_item PRIMARY KEY,
        submission_id integer NOT NULL
            CONSTRAINT fk_report_item_submission_id_report_submission REFERENCES report_submission (id) ON DELETE CASCADE,
        enterprise_id integer NOT NULL,
        month date NOT NULL,
        indicator_code varchar(64) NOT NULL
            CONSTRAINT fk_report_item_indicator_code_indicator REFERENCES indicator (code),
        value double precision NOT NULL,
        value_submitted double precision NOT NULL,
        unit_submitted varchar(32) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX ix_report_item_submission_id ON report_item (submission_id);
    CREATE INDEX ix_report_item_month ON report_item (month, enterprise_id, indicator_code);
    CREATE TABLE report_flag (
        id bigserial CONSTRAINT pk_report_flag PRIMARY KEY,
        submission_id integer NOT NULL
            CONSTRAINT fk_report_flag_submission_id_report_submission REFERENCES report_submission (id) ON DELETE CASCADE,
        enterprise_id integer NOT NULL,
        month date NOT NULL,
        indicator_code varchar(64) NOT NULL,
        rule varchar(32) NOT NULL,
        message text NOT NULL,
        detail jsonb NOT NULL DEFAULT '{}'::jsonb,
        status varchar(16) NOT NULL DEFAULT 'open'
            CONSTRAINT ck_report_flag_status CHECK (status IN ('open', 'confirmed', 'dismissed', 'cleared')),
        created_at timestamptz NOT NULL DEFAULT now(),
        resolved_at timestamptz,
        resolved_by text,
        CONSTRAINT uq_report_flag_enterprise_id UNIQUE (enterprise_id, month, indicator_code, rule)
    );
    CREATE INDEX ix_report_flag_submission_id ON report_flag (submission_id);
    """)


def downgrade() -> None:
    op.execute("""
    DROP TABLE report_flag;
    DROP TABLE report_item;
    DROP TABLE report_submission;
    DROP TABLE report_period;
    DROP TABLE import_batch;
    """)
