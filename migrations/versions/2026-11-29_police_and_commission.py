"""Police and the juvenile commission (DESIGN §3 `found_out_of_school`, §4 points 2 and 7).

- organisations get a `phone` and an `email`, so the answer to "is this child known to child
  protection?" can say whom to call;
- an alert action may carry `absence_excused`, the school's answer on a `found_out_of_school`
  alert;
- an inbox notice names who asked and with what purpose (known-to-cp questions);
- the routing rule of `found_out_of_school`: the child's current school leads, child
  protection follows; public task.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-29 10:30:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from service.core.database import UtcDateTime

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))
    with op.batch_alter_table('alert_action', schema=None) as batch_op:
        batch_op.add_column(sa.Column('absence_excused', sa.Boolean(), nullable=True))
    with op.batch_alter_table('inbox_notice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('actor_id', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('purpose', sa.String(length=30), nullable=True))
    routing_rule = sa.table(
        "routing_rule",
        sa.column("alert_type", sa.String), sa.column("recipient_kinds", sa.JSON),
        sa.column("legal_basis", sa.String), sa.column("forced_severity", sa.String),
        sa.column("updated_at", UtcDateTime()),
    )
    op.bulk_insert(
        routing_rule,
        [{"alert_type": "found_out_of_school", "recipient_kinds": ["school", "child_protection"],
          "legal_basis": "public_task", "forced_severity": None, "updated_at": datetime.now(UTC)}],
    )


def downgrade() -> None:
    op.execute("DELETE FROM routing_rule WHERE alert_type = 'found_out_of_school'")
    with op.batch_alter_table('inbox_notice', schema=None) as batch_op:
        batch_op.drop_column('purpose')
        batch_op.drop_column('actor_id')
    with op.batch_alter_table('alert_action', schema=None) as batch_op:
        batch_op.drop_column('absence_excused')
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_column('email')
        batch_op.drop_column('phone')
