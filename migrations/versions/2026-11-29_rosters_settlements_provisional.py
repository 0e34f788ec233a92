"""Rosters, settlements, children without an ЕГН, and the preschool absence threshold.

- `settlement`: the EKATTE classifier of settlements (code, name, municipality), loaded from a
  file (`obhvat settlements load`); children name the settlement they live in.
- `child`: `settlement_code`, an optional `address`, the approximate `birth_year` of a
  provisional child (one with no known PIN), and `merged_into_id`/`merged_at` once a
  provisional record has been merged into the PIN-identified one.
- absence figures and rules carry a `unit`: schools count unexcused hours, kindergartens
  (pupils of grade 0) unexcused days; a default rule raises `unexcused_absences` for more than
  3 unexcused days in a month.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-29 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.core.database import UtcDateTime

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PRESCHOOL_RULE = {
    "name": "preschool_unexcused_days", "alert_type": "unexcused_absences", "severity": "concern",
    "threshold_hours": 3, "months": 1, "enabled": True, "unit": "days",
}


def upgrade() -> None:
    op.create_table(
        'settlement',
        sa.Column('code', sa.String(length=5), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('municipality_code', sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint('code', name=op.f('pk_settlement')),
    )
    with op.batch_alter_table('settlement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_settlement_municipality_code'), ['municipality_code'], unique=False)

    with op.batch_alter_table('child', schema=None) as batch_op:
        batch_op.add_column(sa.Column('settlement_code', sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column('address', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('birth_year', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('merged_into_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('merged_at', UtcDateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_child_settlement_code'), ['settlement_code'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_child_merged_into_id_child'), 'child', ['merged_into_id'], ['id'])

    with op.batch_alter_table('absence_rule', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit', sa.String(length=10), nullable=False, server_default='hours'))
    with op.batch_alter_table('absence_report', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit', sa.String(length=10), nullable=False, server_default='hours'))

    absence_rule = sa.table(
        "absence_rule",
        sa.column("name", sa.String), sa.column("alert_type", sa.String), sa.column("severity", sa.String),
        sa.column("threshold_hours", sa.Integer), sa.column("months", sa.Integer), sa.column("enabled", sa.Boolean),
        sa.column("unit", sa.String),
    )
    op.bulk_insert(absence_rule, [PRESCHOOL_RULE])


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM absence_rule WHERE unit = 'days'"))
    op.execute(sa.text("DELETE FROM absence_report WHERE unit = 'days'"))
    with op.batch_alter_table('absence_report', schema=None) as batch_op:
        batch_op.drop_column('unit')
    with op.batch_alter_table('absence_rule', schema=None) as batch_op:
        batch_op.drop_column('unit')
    with op.batch_alter_table('child', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_child_merged_into_id_child'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_child_settlement_code'))
        batch_op.drop_column('merged_at')
        batch_op.drop_column('merged_into_id')
        batch_op.drop_column('birth_year')
        batch_op.drop_column('address')
        batch_op.drop_column('settlement_code')
    with op.batch_alter_table('settlement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_settlement_municipality_code'))
    op.drop_table('settlement')
