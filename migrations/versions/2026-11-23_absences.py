"""School absence figures, their batches, threshold rules (seeded with DESIGN §3 defaults) and
the alert key that keeps one open alert per child, type and month.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 01:13:10.156640
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.core.database import UtcDateTime

DEFAULT_RULES = [
    # more than 5 unexcused hours in a month: the Family Allowances for Children Act threshold
    {"name": "monthly_unexcused", "alert_type": "unexcused_absences", "severity": "concern",
     "threshold_hours": 5, "months": 1, "enabled": True},
    # over the threshold in 3 months of one school year
    {"name": "school_year_dropout", "alert_type": "dropout_risk", "severity": "concern",
     "threshold_hours": 5, "months": 3, "enabled": True},
]


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('absence_rule',
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('alert_type', sa.String(length=50), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('threshold_hours', sa.Integer(), nullable=False),
    sa.Column('months', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_absence_rule'))
    )
    op.create_table('absence_batch',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('school_id', sa.Uuid(), nullable=False),
    sa.Column('submitted_by', sa.String(length=200), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('rows_accepted', sa.Integer(), nullable=False),
    sa.Column('alerts_raised', sa.JSON(), nullable=False),
    sa.Column('alerts_updated', sa.JSON(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['organisation.id'], name=op.f('fk_absence_batch_school_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_absence_batch'))
    )
    with op.batch_alter_table('absence_batch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_absence_batch_school_id'), ['school_id'], unique=False)

    op.create_table('absence_report',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('school_id', sa.Uuid(), nullable=False),
    sa.Column('child_id', sa.Uuid(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('unexcused_hours', sa.Integer(), nullable=False),
    sa.Column('excused_hours', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Uuid(), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['absence_batch.id'], name=op.f('fk_absence_report_batch_id_absence_batch')),
    sa.ForeignKeyConstraint(['child_id'], ['child.id'], name=op.f('fk_absence_report_child_id_child')),
    sa.ForeignKeyConstraint(['school_id'], ['organisation.id'], name=op.f('fk_absence_report_school_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_absence_report'))
    )
    with op.batch_alter_table('absence_report', schema=None) as batch_op:
        batch_op.create_index('ix_absence_report_child_id_month', ['child_id', 'month'], unique=False)
        batch_op.create_index('uq_absence_report_school_child_month', ['school_id', 'child_id', 'month'], unique=True)

    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dedup_key', sa.String(length=60), nullable=True))
        batch_op.create_index('uq_alert_open_child_id_dedup_key', ['child_id', 'dedup_key'], unique=True, sqlite_where=sa.text("status = 'open' AND dedup_key IS NOT NULL"), postgresql_where=sa.text("status = 'open' AND dedup_key IS NOT NULL"))

    absence_rule = sa.table(
        "absence_rule",
        sa.column("name", sa.String), sa.column("alert_type", sa.String), sa.column("severity", sa.String),
        sa.column("threshold_hours", sa.Integer), sa.column("months", sa.Integer), sa.column("enabled", sa.Boolean),
    )
    op.bulk_insert(absence_rule, DEFAULT_RULES)


def downgrade() -> None:

    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index('uq_alert_open_child_id_dedup_key', sqlite_where=sa.text("status = 'open' AND dedup_key IS NOT NULL"), postgresql_where=sa.text("status = 'open' AND dedup_key IS NOT NULL"))
        batch_op.drop_column('dedup_key')

    with op.batch_alter_table('absence_report', schema=None) as batch_op:
        batch_op.drop_index('uq_absence_report_school_child_month')
        batch_op.drop_index('ix_absence_report_child_id_month')

    op.drop_table('absence_report')
    with op.batch_alter_table('absence_batch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_absence_batch_school_id'))

    op.drop_table('absence_batch')
    op.drop_table('absence_rule')

