"""E-mail notices: people's notice preferences, and the outbox of e-mail notices the worker
sends.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-29 11:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.core.database import UtcDateTime

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('notice_preference',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.Column('digest_hour', sa.Integer(), nullable=True),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_notice_preference_user_id_app_user')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_notice_preference'))
    )
    op.create_table('outbox_mail',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('event_type', sa.String(length=40), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('digest', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', UtcDateTime(), nullable=False),
    sa.Column('lease_until', UtcDateTime(), nullable=True),
    sa.Column('sent_at', UtcDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_outbox_mail_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_mail'))
    )
    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_mail_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_mail_user_id'), ['user_id'], unique=False)
        batch_op.create_index('uq_outbox_mail_event_id_user_id', ['event_id', 'user_id'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.drop_index('uq_outbox_mail_event_id_user_id')
        batch_op.drop_index(batch_op.f('ix_outbox_mail_user_id'))
        batch_op.drop_index('ix_outbox_mail_status_next_attempt_at')

    op.drop_table('outbox_mail')
    op.drop_table('notice_preference')
