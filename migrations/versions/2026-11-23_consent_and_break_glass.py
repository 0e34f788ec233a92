"""Guardian consent, consent-based recipients and referral answers, inbox notices, and the
break-glass review queue.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 00:52:35.220362
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.core.database import UtcDateTime

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('break_glass_review',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('audit_seq', sa.BigInteger(), nullable=False),
    sa.Column('actor_id', sa.String(length=200), nullable=False),
    sa.Column('actor_organisation_id', sa.Uuid(), nullable=True),
    sa.Column('child_id', sa.Uuid(), nullable=False),
    sa.Column('reason', sa.String(length=1000), nullable=False),
    sa.Column('accessed_at', UtcDateTime(), nullable=False),
    sa.Column('reviewed_at', UtcDateTime(), nullable=True),
    sa.Column('reviewed_by', sa.String(length=200), nullable=True),
    sa.Column('review_outcome', sa.String(length=20), nullable=True),
    sa.Column('review_comment', sa.String(length=2000), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_break_glass_review')),
    sa.UniqueConstraint('audit_seq', name=op.f('uq_break_glass_review_audit_seq'))
    )
    with op.batch_alter_table('break_glass_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_break_glass_review_child_id'), ['child_id'], unique=False)

    op.create_table('consent',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('child_id', sa.Uuid(), nullable=False),
    sa.Column('guardian_name', sa.String(length=200), nullable=True),
    sa.Column('guardian_relationship', sa.String(length=30), nullable=False),
    sa.Column('purposes', sa.JSON(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('evidence', sa.String(length=300), nullable=False),
    sa.Column('recorded_by', sa.String(length=200), nullable=False),
    sa.Column('recorded_by_organisation_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('withdrawn_at', UtcDateTime(), nullable=True),
    sa.Column('withdrawn_by', sa.String(length=200), nullable=True),
    sa.Column('withdrawal_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['child_id'], ['child.id'], name=op.f('fk_consent_child_id_child')),
    sa.ForeignKeyConstraint(['recorded_by_organisation_id'], ['organisation.id'], name=op.f('fk_consent_recorded_by_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent'))
    )
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.create_index('ix_consent_child_id_valid_until', ['child_id', 'valid_until'], unique=False)

    op.create_table('inbox_notice',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('child_id', sa.Uuid(), nullable=False),
    sa.Column('actor_organisation_id', sa.Uuid(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('change_seq', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['child_id'], ['child.id'], name=op.f('fk_inbox_notice_child_id_child')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_inbox_notice_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_notice'))
    )
    with op.batch_alter_table('inbox_notice', schema=None) as batch_op:
        batch_op.create_index('ix_inbox_notice_organisation_id_change_seq', ['organisation_id', 'change_seq'], unique=False)

    op.create_table('consent_recipient',
    sa.Column('consent_id', sa.Uuid(), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['consent_id'], ['consent.id'], name=op.f('fk_consent_recipient_consent_id_consent')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_consent_recipient_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('consent_id', 'organisation_id', name=op.f('pk_consent_recipient'))
    )
    with op.batch_alter_table('consent_recipient', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_recipient_organisation_id'), ['organisation_id'], unique=False)

    with op.batch_alter_table('alert_recipient', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('referral_status', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('referral_reason', sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_alert_recipient_consent_id_consent'), 'consent', ['consent_id'], ['id'])




def downgrade() -> None:

    with op.batch_alter_table('alert_recipient', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_alert_recipient_consent_id_consent'), type_='foreignkey')
        batch_op.drop_column('referral_reason')
        batch_op.drop_column('referral_status')
        batch_op.drop_column('consent_id')

    with op.batch_alter_table('consent_recipient', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_recipient_organisation_id'))

    op.drop_table('consent_recipient')
    with op.batch_alter_table('inbox_notice', schema=None) as batch_op:
        batch_op.drop_index('ix_inbox_notice_organisation_id_change_seq')

    op.drop_table('inbox_notice')
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_child_id_valid_until')

    op.drop_table('consent')
    with op.batch_alter_table('break_glass_review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_break_glass_review_child_id'))

    op.drop_table('break_glass_review')

