"""When each series' detector started learning (`alert_series_state.learned_from`).

A series is first scored from what is stored when the evaluation first meets it (at most
`history_days` back). When its history arrives later (a backfill running newest first, as
`yunjian demo` and any onboarding do), the detector had learned only the last day or two,
and an incident that began there (a plant shut down since yesterday) was taken as its normal
level during the warm-up. Knowing where the detector started lets the evaluation re-learn
such a series once older data is stored (`alerts.service.evaluate`).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("alert_series_state", sa.Column("learned_from", sa.DateTime(timezone=True), nullable=True))
    op.execute("COMMENT ON COLUMN alert_series_state.learned_from IS "
               "'The first point the current detector state learned from (NULL: before migration 0008)'")


def downgrade() -> None:
    op.drop_column("alert_series_state", "learned_from")
