"""Alerts (episodes, timeline, chart points, detector and episode state per series), silences and
maintenance windows, rules, escalation policies; notification contacts and the outbox.

Revision ID: 0005
Revises: 0004
Users (app_user, migration 0003) are referenced by id without a foreign key, so this
migration does not depend on the auth branch.
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ACTIVE = "state IN ('open', 'acknowledged', 'escalated')"


def upgrade() -> None:
    op.execute(f"""
    CREATE TABLE alert_series_state (
        series_id integer NOT NULL CONSTRAINT pk_alert_series_state PRIMARY KEY
            CONSTRAINT fk_alert_series_state_series_id_series REFERENCES series (id) ON DELETE CASCADE,
        scored_until timestamptz,
        points bigint NOT NULL DEFAULT 0,
        detector_layout varchar(64),
        detector_state bytea,
        tracker jsonb NOT NULL DEFAULT '{{}}',
        alert_id bigint,
        updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE alert (
        id bigserial CONSTRAINT pk_alert PRIMARY KEY,
        series_id integer CONSTRAINT fk_alert_series_id_series REFERENCES series (id) ON DELETE SET NULL,
        is_group boolean NOT NULL DEFAULT false,
        parent_id bigint CONSTRAINT fk_alert_parent_id_alert REFERENCES alert (id) ON DELETE SET NULL,
        indicator_code varchar(64) NOT NULL CONSTRAINT fk_alert_indicator_code_indicator REFERENCES indicator (code),
        entity_kind varchar(16) NOT NULL,
        entity_id integer NOT NULL,
        district_id integer,
        park_id integer,
        enterprise_id integer,
        level varchar(8) NOT NULL,
        peak_level varchar(8) NOT NULL,
        level_since_at timestamptz NOT NULL,
        state varchar(16) NOT NULL DEFAULT 'open',
        episode_started_at timestamptz NOT NULL,
        last_point_at timestamptz,
        signal_ended_at timestamptz,
        value double precision,
        expected double precision,
        lower double precision,
        upper double precision,
        severity double precision NOT NULL DEFAULT 0,
        importance double precision NOT NULL DEFAULT 1,
        checks text[] NOT NULL DEFAULT '{{}}',
        explanation_zh text NOT NULL DEFAULT '',
        explanation_en text NOT NULL DEFAULT '',
        department text,
        assignee_user_id integer,
        acknowledged_at timestamptz,
        acknowledged_by integer,
        escalated_at timestamptz,
        resolved_at timestamptz,
        resolved_by integer,
        countermeasures text,
        close_reason text,
        due_at timestamptz,
        silenced_by bigint,
        opened_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX uq_alert_series_id_active ON alert (series_id) WHERE {ACTIVE};
    CREATE UNIQUE INDEX uq_alert_group_active ON alert (park_id, indicator_code) WHERE is_group AND {ACTIVE};
    CREATE INDEX ix_alert_state_level ON alert (state, level);
    CREATE INDEX ix_alert_district_id ON alert (district_id);
    CREATE INDEX ix_alert_parent_id ON alert (parent_id);
    CREATE INDEX ix_alert_opened_at ON alert (opened_at);
    CREATE TABLE alert_event (
        id bigserial CONSTRAINT pk_alert_event PRIMARY KEY,
        alert_id bigint NOT NULL CONSTRAINT fk_alert_event_alert_id_alert REFERENCES alert (id) ON DELETE CASCADE,
        occurred_at timestamptz NOT NULL,
        kind varchar(32) NOT NULL,
        actor_user_id integer,
        actor text NOT NULL,
        from_state varchar(16),
        to_state varchar(16),
        level varchar(8),
        text text,
        detail jsonb NOT NULL DEFAULT '{{}}'
    );
    CREATE INDEX ix_alert_event_alert_id ON alert_event (alert_id);
    CREATE TABLE alert_point (
        alert_id bigint NOT NULL CONSTRAINT fk_alert_point_alert_id_alert REFERENCES alert (id) ON DELETE CASCADE,
        time timestamptz NOT NULL,
        value double precision NOT NULL,
        expected double precision,
        lower double precision,
        upper double precision,
        severity double precision NOT NULL,
        CONSTRAINT pk_alert_point PRIMARY KEY (alert_id, time)
    );
    CREATE TABLE alert_silence (
        id bigserial CONSTRAINT pk_alert_silence PRIMARY KEY,
        kind varchar(16) NOT NULL DEFAULT 'silence',
        indicator_code varchar(64),
        entity_kind varchar(16),
        entity_id integer,
        district_id integer,
        park_id integer,
        starts_at timestamptz NOT NULL,
        ends_at timestamptz NOT NULL,
        reason text NOT NULL,
        created_by integer,
        created_at timestamptz NOT NULL DEFAULT now(),
        cancelled_at timestamptz
    );
    CREATE TABLE alert_rule (
        id serial CONSTRAINT pk_alert_rule PRIMARY KEY,
        name text NOT NULL,
        indicator_code varchar(64) NOT NULL
            CONSTRAINT fk_alert_rule_indicator_code_indicator REFERENCES indicator (code),
        entity_kind varchar(16),
        entity_id integer,
        kind varchar(16) NOT NULL,
        params jsonb NOT NULL DEFAULT '{{}}',
        importance double precision,
        enabled boolean NOT NULL DEFAULT true,
        created_by integer,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE alert_escalation_policy (
        id serial CONSTRAINT pk_alert_escalation_policy PRIMARY KEY,
        level varchar(8) NOT NULL CONSTRAINT uq_alert_escalation_policy_level UNIQUE,
        steps jsonb NOT NULL DEFAULT '[]',
        resolve_within_hours double precision NOT NULL,
        updated_by integer,
        updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE alert_escalation_fired (
        alert_id bigint NOT NULL
            CONSTRAINT fk_alert_escalation_fired_alert_id_alert REFERENCES alert (id) ON DELETE CASCADE,
        step_key varchar(32) NOT NULL,
        fired_at timestamptz NOT NULL,
        CONSTRAINT pk_alert_escalation_fired PRIMARY KEY (alert_id, step_key)
    );
    CREATE TABLE notification_contact (
        user_id integer NOT NULL CONSTRAINT pk_notification_contact PRIMARY KEY,
        email text NOT NULL,
        language varchar(2) NOT NULL DEFAULT 'zh',
        position varchar(32),
        min_level varchar(8) NOT NULL DEFAULT 'blue',
        daily_digest boolean NOT NULL DEFAULT false,
        enabled boolean NOT NULL DEFAULT true,
        updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE notification (
        id bigserial CONSTRAINT pk_notification PRIMARY KEY,
        dedup_key text NOT NULL CONSTRAINT uq_notification_dedup_key UNIQUE,
        kind varchar(32) NOT NULL,
        alert_id bigint CONSTRAINT fk_notification_alert_id_alert REFERENCES alert (id) ON DELETE SET NULL,
        user_id integer,
        email text NOT NULL,
        language varchar(2) NOT NULL,
        reason text NOT NULL DEFAULT '',
        context jsonb NOT NULL DEFAULT '{{}}',
        subject text,
        body_text text,
        body_html text,
        chart_png bytea,
        message_id text,
        status varchar(16) NOT NULL DEFAULT 'pending',
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL,
        claimed_at timestamptz,
        sent_at timestamptz,
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX ix_notification_alert_id ON notification (alert_id);
    CREATE INDEX ix_notification_due ON notification (next_attempt_at) WHERE status IN ('pending', 'sending');
    """)


def downgrade() -> None:
    op.execute("""
    DROP TABLE notification;
    DROP TABLE notification_contact;
    DROP TABLE alert_escalation_fired;
    DROP TABLE alert_escalation_policy;
    DROP TABLE alert_rule;
    DROP TABLE alert_silence;
    DROP TABLE alert_point;
    DROP TABLE alert_event;
    DROP TABLE alert;
    DROP TABLE alert_series_state;
    """)
