"""The national enrolment mechanism: joint enrolment teams and their members, alerts assigned
to a team or to a recipient's own user, the settlement a case is about, and the follow-up of a
child who returned to school or was enrolled (`retained` or `dropped_again` three months on).

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-29 10:11:10.884074
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.core.database import UtcDateTime

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('team',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('municipality_code', sa.String(length=10), nullable=False),
    sa.Column('settlement_codes', sa.JSON(), nullable=False),
    sa.Column('lead_organisation_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['lead_organisation_id'], ['organisation.id'], name=op.f('fk_team_lead_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team')),
    sa.UniqueConstraint('code', name=op.f('uq_team_code'))
    )
    with op.batch_alter_table('team', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_municipality_code'), ['municipality_code'], unique=False)

    op.create_table('team_member',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('added_by', sa.String(length=200), nullable=False),
    sa.Column('added_at', UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_team_member_team_id_team')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_team_member_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team_member'))
    )
    with op.batch_alter_table('team_member', schema=None) as batch_op:
        batch_op.create_index('ix_team_member_user_id_team_id', ['user_id', 'team_id'], unique=False)
        batch_op.create_index('uq_team_member_team_id_user_id', ['team_id', 'user_id'], unique=True)

    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('settlement_code', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('team_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('follow_up', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('follow_up_due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('follow_up_decided_at', UtcDateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_alert_follow_up_due_on'), ['follow_up_due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_team_id'), ['team_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_alert_team_id_team'), 'team', ['team_id'], ['id'])

    with op.batch_alter_table('alert_recipient', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assignee_id', sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f('ix_alert_recipient_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_alert_recipient_assignee_id_app_user'), 'app_user', ['assignee_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('alert_recipient', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_alert_recipient_assignee_id_app_user'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_alert_recipient_assignee_id'))
        batch_op.drop_column('assignee_id')

    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_alert_team_id_team'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_alert_team_id'))
        batch_op.drop_index(batch_op.f('ix_alert_follow_up_due_on'))
        batch_op.drop_column('follow_up_decided_at')
        batch_op.drop_column('follow_up_due_on')
        batch_op.drop_column('follow_up')
        batch_op.drop_column('team_id')
        batch_op.drop_column('settlement_code')

    with op.batch_alter_table('team_member', schema=None) as batch_op:
        batch_op.drop_index('uq_team_member_team_id_user_id')
        batch_op.drop_index('ix_team_member_user_id_team_id')

    op.drop_table('team_member')
    with op.batch_alter_table('team', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_team_municipality_code'))

    op.drop_table('team')
