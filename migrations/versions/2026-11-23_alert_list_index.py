"""Indexes found by the latency benchmark (`python -m bench latency`).

- alert (created_at, id): the alert list pages newest first on that key. Without it PostgreSQL
  read every alert and sorted them for each page (420 ms at 200,000 alerts, growing with the
  table); with it the page walks the index backwards and stops at the page's end. Later pages
  use it only because the keyset condition is written as one row comparison,
  (created_at, id) < (:created_at, :id), which PostgreSQL turns into an index bound.
- alert_recipient (organisation_id, due_at) for overdue, unacknowledged rows only: the inbox
  lists them on every poll, and read every row of the organisation to find them (12 ms for
  4,000 rows at 200,000 alerts, growing with the organisation's history).

Revision ID: 0009
Revises: 0006
Create Date: 2026-11-23 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

_OVERDUE = sa.text("overdue_at IS NOT NULL AND acknowledged_at IS NULL")

revision: str = '0009'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f('ix_alert_created_at_id'), 'alert', ['created_at', 'id'], unique=False)
    op.create_index(
        'ix_alert_recipient_overdue', 'alert_recipient', ['organisation_id', 'due_at'], unique=False,
        sqlite_where=_OVERDUE, postgresql_where=_OVERDUE,
    )


def downgrade() -> None:
    op.drop_index('ix_alert_recipient_overdue', table_name='alert_recipient')
    op.drop_index(op.f('ix_alert_created_at_id'), table_name='alert')
