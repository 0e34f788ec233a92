"""Audit events are recorded unlinked and linked into the chain by a sequencer.

- `audit_pending` holds events recorded with their change, in the change's transaction, until
  the sequencer links them into `audit_event` (see `service.audit.sequencer`). Requests no longer
  take the chain head's lock. Nothing in `audit_event` changes.
- `break_glass_review` names its access's pending event (`audit_pending_id`) until the sequencer
  links it and fills in `audit_seq`, which becomes nullable for that time.

Downgrading is refused while events wait to be linked (start the service or `obhvat worker`
until `/audit/verify` reports none unlinked, then downgrade).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 10:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError

from service.core.database import UtcDateTime

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_pending',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('txid', sa.BigInteger(), nullable=False),
    sa.Column('occurred_at', UtcDateTime(), nullable=False),
    sa.Column('actor_id', sa.String(length=200), nullable=False),
    sa.Column('actor_kind', sa.String(length=20), nullable=False),
    sa.Column('actor_organisation_id', sa.Uuid(), nullable=True),
    sa.Column('actor_roles', sa.JSON(), nullable=False),
    sa.Column('action', sa.String(length=100), nullable=False),
    sa.Column('resource_type', sa.String(length=50), nullable=True),
    sa.Column('resource_id', sa.String(length=100), nullable=True),
    sa.Column('child_id', sa.Uuid(), nullable=True),
    sa.Column('purpose', sa.String(length=50), nullable=True),
    sa.Column('basis', sa.String(length=50), nullable=True),
    sa.Column('consent_id', sa.Uuid(), nullable=True),
    sa.Column('decision', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('break_glass', sa.Boolean(), nullable=False),
    sa.Column('break_glass_reason', sa.String(length=1000), nullable=True),
    sa.Column('break_glass_reason_sha256', sa.String(length=64), nullable=True),
    sa.Column('request_id', sa.String(length=100), nullable=True),
    sa.Column('client_address', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_pending'))
    )
    with op.batch_alter_table('audit_pending', schema=None) as batch_op:
        batch_op.create_index('ix_audit_pending_txid_id', ['txid', 'id'], unique=False)
    with op.batch_alter_table('break_glass_review', schema=None) as batch_op:
        batch_op.add_column(sa.Column('audit_pending_id', sa.BigInteger(), nullable=True))
        batch_op.alter_column('audit_seq', existing_type=sa.BigInteger(), nullable=True)
        batch_op.create_unique_constraint(batch_op.f('uq_break_glass_review_audit_pending_id'), ['audit_pending_id'])


def downgrade() -> None:
    connection = op.get_bind()
    if connection.execute(sa.text('SELECT count(*) FROM audit_pending')).scalar_one():
        raise CommandError('audit events are waiting to be linked; let the sequencer link them first')
    if connection.execute(sa.text('SELECT count(*) FROM break_glass_review WHERE audit_seq IS NULL')).scalar_one():
        raise CommandError('a break-glass review has no linked event; let the sequencer link it first')
    with op.batch_alter_table('break_glass_review', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_break_glass_review_audit_pending_id'), type_='unique')
        batch_op.alter_column('audit_seq', existing_type=sa.BigInteger(), nullable=False)
        batch_op.drop_column('audit_pending_id')
    op.drop_table('audit_pending')
