"""Transfers as schools make them: the sending school releases a pupil (DESIGN §3 Enrolment).

An enrolment records where it was released to (`school`, `abroad` or `unknown`), the receiving
school of a release to a school, and when the release was recorded; the release date is the
enrolment's end date. Before this, enrolling a pupil at another school silently ended the first
school's enrolment.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.core.database import UtcDateTime

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('release_destination', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('release_school_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('released_at', UtcDateTime(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_enrolment_release_school_id_organisation'), 'organisation', ['release_school_id'], ['id']
        )


def downgrade() -> None:
    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_enrolment_release_school_id_organisation'), type_='foreignkey')
        batch_op.drop_column('released_at')
        batch_op.drop_column('release_school_id')
        batch_op.drop_column('release_destination')
