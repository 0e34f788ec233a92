"""Data retention: a child long inactive can be anonymised in place.

The child's PIN hash, names and date of birth become nullable, and `anonymised_at` records when
`obhvat retention run` removed them; the row and its id stay, so alerts, consents and the audit
trail that refer to the child keep their links and the hash chain still verifies. (Consents'
`guardian_name` was nullable from the start; alert and action texts already were.) Downgrading
is refused while anonymised children exist, since the removed values cannot be put back.

Revision ID: 0006
Revises: 0008
Create Date: 2026-11-23 02:16:24.985978
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError

from service.core.database import UtcDateTime

revision: str = '0006'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('child', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymised_at', UtcDateTime(), nullable=True))
        batch_op.alter_column('pin_hash',
               existing_type=sa.VARCHAR(length=64),
               nullable=True)
        batch_op.alter_column('given_name',
               existing_type=sa.VARCHAR(length=100),
               nullable=True)
        batch_op.alter_column('family_name',
               existing_type=sa.VARCHAR(length=100),
               nullable=True)
        batch_op.alter_column('date_of_birth',
               existing_type=sa.DATE(),
               nullable=True)


def downgrade() -> None:
    anonymised = op.get_bind().execute(
        sa.text("SELECT count(*) FROM child WHERE anonymised_at IS NOT NULL")
    ).scalar_one()
    if anonymised:
        raise CommandError(
            f"{anonymised} children were anonymised by retention; their PIN hash, names and date of "
            "birth are gone, so the columns cannot become NOT NULL again"
        )
    with op.batch_alter_table('child', schema=None) as batch_op:
        batch_op.alter_column('date_of_birth',
               existing_type=sa.DATE(),
               nullable=False)
        batch_op.alter_column('family_name',
               existing_type=sa.VARCHAR(length=100),
               nullable=False)
        batch_op.alter_column('given_name',
               existing_type=sa.VARCHAR(length=100),
               nullable=False)
        batch_op.alter_column('pin_hash',
               existing_type=sa.VARCHAR(length=64),
               nullable=False)
        batch_op.drop_column('anonymised_at')
