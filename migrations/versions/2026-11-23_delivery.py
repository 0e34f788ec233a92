"""Delivery: webhook endpoints, the transactional outbox and its attempt log, acknowledgement
deadlines per recipient, and deadline and escalation rules (deadlines seeded: urgent 4 hours,
concern 3 working days, info none).

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-23 01:25:52.543084
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.core.database import UtcDateTime

revision: str = '0007'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('deadline_rule',
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('hours', sa.Integer(), nullable=True),
    sa.Column('working_days', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('severity', name=op.f('pk_deadline_rule'))
    )
    op.create_table('escalation_rule',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('municipality_code', sa.String(length=10), nullable=True),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_escalation_rule_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalation_rule'))
    )
    op.create_table('webhook',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.Column('secret', sa.String(length=100), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('deleted_at', UtcDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_webhook_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook'))
    )
    with op.batch_alter_table('webhook', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('outbox_delivery',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('event_type', sa.String(length=40), nullable=False),
    sa.Column('webhook_id', sa.Uuid(), nullable=False),
    sa.Column('ordering_key', sa.String(length=80), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', UtcDateTime(), nullable=False),
    sa.Column('lease_until', UtcDateTime(), nullable=True),
    sa.Column('delivered_at', UtcDateTime(), nullable=True),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['webhook_id'], ['webhook.id'], name=op.f('fk_outbox_delivery_webhook_id_webhook')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_delivery'))
    )
    with op.batch_alter_table('outbox_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_delivery_event_id'), ['event_id'], unique=False)
        batch_op.create_index('ix_outbox_delivery_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_outbox_delivery_webhook_id_ordering_key_seq', ['webhook_id', 'ordering_key', 'seq'], unique=False)

    op.create_table('delivery_attempt',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('delivery_id', sa.Uuid(), nullable=False),
    sa.Column('webhook_id', sa.Uuid(), nullable=False),
    sa.Column('attempted_at', UtcDateTime(), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['outbox_delivery.id'], name=op.f('fk_delivery_attempt_delivery_id_outbox_delivery')),
    sa.ForeignKeyConstraint(['webhook_id'], ['webhook.id'], name=op.f('fk_delivery_attempt_webhook_id_webhook')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_attempt'))
    )
    with op.batch_alter_table('delivery_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_attempt_delivery_id'), ['delivery_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_attempt_webhook_id'), ['webhook_id'], unique=False)

    with op.batch_alter_table('alert_recipient', schema=None) as batch_op:
        batch_op.add_column(sa.Column('due_at', UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column('overdue_at', UtcDateTime(), nullable=True))

    deadline_rule = sa.table(
        "deadline_rule", sa.column("severity", sa.String), sa.column("hours", sa.Integer),
        sa.column("working_days", sa.Integer),
    )
    op.bulk_insert(deadline_rule, [
        {"severity": "urgent", "hours": 4, "working_days": None},
        {"severity": "concern", "hours": None, "working_days": 3},
    ])


def downgrade() -> None:

    with op.batch_alter_table('alert_recipient', schema=None) as batch_op:
        batch_op.drop_column('overdue_at')
        batch_op.drop_column('due_at')

    with op.batch_alter_table('delivery_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_attempt_webhook_id'))
        batch_op.drop_index(batch_op.f('ix_delivery_attempt_delivery_id'))

    op.drop_table('delivery_attempt')
    with op.batch_alter_table('outbox_delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_delivery_webhook_id_ordering_key_seq')
        batch_op.drop_index('ix_outbox_delivery_status_next_attempt_at')
        batch_op.drop_index(batch_op.f('ix_outbox_delivery_event_id'))

    op.drop_table('outbox_delivery')
    with op.batch_alter_table('webhook', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_organisation_id'))

    op.drop_table('webhook')
    op.drop_table('escalation_rule')
    op.drop_table('deadline_rule')

