"""Authentication and authorisation (users, API keys, sessions, audit log, login attempts),
annual district targets and leading-index weights.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE app_user (
        id serial CONSTRAINT pk_app_user PRIMARY KEY,
        username varchar(64) NOT NULL CONSTRAINT uq_app_user_username UNIQUE,
        display_name text NOT NULL,
        password_hash text,
        role varchar(32) NOT NULL CONSTRAINT ck_app_user_role CHECK (role IN
            ('admin', 'leader', 'duty_officer', 'analyst', 'enterprise_reporter', 'api_client')),
        district_id integer CONSTRAINT fk_app_user_district_id_district REFERENCES district (id),
        enterprise_id integer CONSTRAINT fk_app_user_enterprise_id_enterprise REFERENCES enterprise (id)
            ON DELETE SET NULL,
        is_active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE api_key (
        id serial CONSTRAINT pk_api_key PRIMARY KEY,
        user_id integer NOT NULL CONSTRAINT fk_api_key_user_id_app_user REFERENCES app_user (id) ON DELETE CASCADE,
        name text NOT NULL,
        prefix varchar(16) NOT NULL CONSTRAINT uq_api_key_prefix UNIQUE,
        key_hash varchar(64) NOT NULL,
        scopes text[] NOT NULL DEFAULT '{read}',
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz,
        revoked_at timestamptz,
        last_used_at timestamptz
    );
    CREATE INDEX ix_api_key_user_id ON api_key (user_id);
    CREATE TABLE auth_session (
        id serial CONSTRAINT pk_auth_session PRIMARY KEY,
        user_id integer NOT NULL CONSTRAINT fk_auth_session_user_id_app_user REFERENCES app_user (id)
            ON DELETE CASCADE,
        token_hash varchar(64) NOT NULL CONSTRAINT uq_auth_session_token_hash UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        ip text,
        user_agent text
    );
    CREATE INDEX ix_auth_session_user_id ON auth_session (user_id);
    CREATE TABLE audit_log (
        id bigserial CONSTRAINT pk_audit_log PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        user_id integer CONSTRAINT fk_audit_log_user_id_app_user REFERENCES app_user (id) ON DELETE SET NULL,
        api_key_id integer CONSTRAINT fk_audit_log_api_key_id_api_key REFERENCES api_key (id) ON DELETE SET NULL,
        actor text NOT NULL,
        action varchar(64) NOT NULL,
        object_type varchar(64) NOT NULL,
        object_id text,
        detail jsonb NOT NULL DEFAULT '{}'::jsonb,
        ip text,
        user_agent text
    );
    CREATE INDEX ix_audit_log_at ON audit_log (at);
    CREATE TABLE login_attempt (
        id bigserial CONSTRAINT pk_login_attempt PRIMARY KEY,
        username varchar(64) NOT NULL,
        ip text,
        succeeded boolean NOT NULL,
        attempted_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX ix_login_attempt_username ON login_attempt (username, attempted_at);
    CREATE INDEX ix_login_attempt_ip ON login_attempt (ip, attempted_at);

    CREATE TABLE district_target (
        id serial CONSTRAINT pk_district_target PRIMARY KEY,
        district_id integer NOT NULL CONSTRAINT fk_district_target_district_id_district REFERENCES district (id),
        year integer NOT NULL CONSTRAINT ck_district_target_year CHECK (year BETWEEN 2000 AND 2100),
        indicator_code varchar(64) NOT NULL
            CONSTRAINT fk_district_target_indicator_code_indicator REFERENCES indicator (code),
        target_growth_pct double precision NOT NULL,
        note text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_district_target_district_id UNIQUE (district_id, year, indicator_code)
    );
    CREATE TABLE leading_index_weight (
        indicator_code varchar(64) CONSTRAINT pk_leading_index_weight PRIMARY KEY
            CONSTRAINT fk_leading_index_weight_indicator_code_indicator REFERENCES indicator (code),
        weight double precision NOT NULL CONSTRAINT ck_leading_index_weight_non_negative CHECK (weight >= 0),
        updated_at timestamptz NOT NULL DEFAULT now()
    );
    """)


def downgrade() -> None:
    op.execute("""
    DROP TABLE leading_index_weight;
    DROP TABLE district_target;
    DROP TABLE login_attempt;
    DROP TABLE audit_log;
    DROP TABLE auth_session;
    DROP TABLE api_key;
    DROP TABLE app_user;
    """)
