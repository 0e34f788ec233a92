"""The core exchange: children, enrolments, alerts, recipients, actions, routing rules, feed,
idempotency records. Seeds the routing rules of DESIGN §3 and the feed counter.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 00:44:31.422602
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from service.core.database import UtcDateTime

DEFAULT_ROUTING = [
    # alert type, recipient kinds (the first leads), legal basis, forced severity
    ("unexcused_absences", ["child_protection", "municipality"], "legal_obligation", None),
    ("dropout_risk", ["municipality", "child_protection"], "public_task", None),
    ("not_enrolled", ["municipality", "child_protection"], "public_task", None),
    ("left_education", ["municipality", "child_protection"], "public_task", None),
    ("whereabouts_unknown", ["police", "municipality"], "public_task", None),
    ("abuse_or_neglect_suspected", ["child_protection", "police"], "legal_obligation", "urgent"),
    ("support_needed", ["service_provider"], "consent", None),
]


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('child',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('pin_hash', sa.String(length=64), nullable=False),
    sa.Column('given_name', sa.String(length=100), nullable=False),
    sa.Column('family_name', sa.String(length=100), nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=False),
    sa.Column('sex', sa.String(length=10), nullable=False),
    sa.Column('municipality_code', sa.String(length=10), nullable=True),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_child')),
    sa.UniqueConstraint('pin_hash', name=op.f('uq_child_pin_hash'))
    )
    with op.batch_alter_table('child', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_child_municipality_code'), ['municipality_code'], unique=False)

    op.create_table('feed_counter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feed_counter'))
    )
    op.create_table('idempotency_record',
    sa.Column('principal_id', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('operation', sa.String(length=100), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('response_status', sa.Integer(), nullable=False),
    sa.Column('response_body', sa.JSON(), nullable=False),
    sa.Column('response_headers', sa.JSON(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('principal_id', 'key', name=op.f('pk_idempotency_record'))
    )
    with op.batch_alter_table('idempotency_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_record_created_at'), ['created_at'], unique=False)

    op.create_table('routing_rule',
    sa.Column('alert_type', sa.String(length=50), nullable=False),
    sa.Column('recipient_kinds', sa.JSON(), nullable=False),
    sa.Column('legal_basis', sa.String(length=30), nullable=False),
    sa.Column('forced_severity', sa.String(length=10), nullable=True),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('alert_type', name=op.f('pk_routing_rule'))
    )
    op.create_table('alert',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('child_id', sa.Uuid(), nullable=False),
    sa.Column('municipality_code', sa.String(length=10), nullable=False),
    sa.Column('source_organisation_id', sa.Uuid(), nullable=False),
    sa.Column('author_id', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=50), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('legal_basis', sa.String(length=30), nullable=False),
    sa.Column('consent_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('outcome', sa.String(length=30), nullable=True),
    sa.Column('outcome_reason', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.Column('closed_at', UtcDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['child_id'], ['child.id'], name=op.f('fk_alert_child_id_child')),
    sa.ForeignKeyConstraint(['source_organisation_id'], ['organisation.id'], name=op.f('fk_alert_source_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert'))
    )
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.create_index('ix_alert_child_id_created_at', ['child_id', 'created_at'], unique=False)
        batch_op.create_index('ix_alert_municipality_code_type', ['municipality_code', 'type'], unique=False)
        batch_op.create_index('ix_alert_source_organisation_id_id', ['source_organisation_id', 'id'], unique=False)

    op.create_table('enrolment',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('child_id', sa.Uuid(), nullable=False),
    sa.Column('school_id', sa.Uuid(), nullable=False),
    sa.Column('grade', sa.Integer(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['child_id'], ['child.id'], name=op.f('fk_enrolment_child_id_child')),
    sa.ForeignKeyConstraint(['school_id'], ['organisation.id'], name=op.f('fk_enrolment_school_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrolment'))
    )
    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrolment_child_id'), ['child_id'], unique=False)
        batch_op.create_index('ix_enrolment_school_id_child_id', ['school_id', 'child_id'], unique=False)
        batch_op.create_index('uq_enrolment_one_current_per_child', ['child_id'], unique=True, sqlite_where=sa.text('end_date IS NULL'), postgresql_where=sa.text('end_date IS NULL'))

    op.create_table('alert_action',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('alert_id', sa.Uuid(), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('author_id', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('result', sa.String(length=30), nullable=True),
    sa.Column('recipient_id', sa.Uuid(), nullable=True),
    sa.Column('restricted', sa.Boolean(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alert.id'], name=op.f('fk_alert_action_alert_id_alert')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_alert_action_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_action'))
    )
    with op.batch_alter_table('alert_action', schema=None) as batch_op:
        batch_op.create_index('ix_alert_action_alert_id_created_at', ['alert_id', 'created_at'], unique=False)

    op.create_table('alert_recipient',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('alert_id', sa.Uuid(), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('is_lead', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('outcome', sa.String(length=30), nullable=True),
    sa.Column('delivered_at', UtcDateTime(), nullable=False),
    sa.Column('acknowledged_at', UtcDateTime(), nullable=True),
    sa.Column('done_at', UtcDateTime(), nullable=True),
    sa.Column('change_seq', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alert.id'], name=op.f('fk_alert_recipient_alert_id_alert')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_alert_recipient_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_recipient'))
    )
    with op.batch_alter_table('alert_recipient', schema=None) as batch_op:
        batch_op.create_index('ix_alert_recipient_organisation_id_change_seq', ['organisation_id', 'change_seq'], unique=False)
        batch_op.create_index('uq_alert_recipient_alert_id_organisation_id', ['alert_id', 'organisation_id'], unique=True)

    routing_rule = sa.table(
        "routing_rule",
        sa.column("alert_type", sa.String), sa.column("recipient_kinds", sa.JSON),
        sa.column("legal_basis", sa.String), sa.column("forced_severity", sa.String),
        sa.column("updated_at", UtcDateTime()),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        routing_rule,
        [
            {"alert_type": t, "recipient_kinds": kinds, "legal_basis": basis,
             "forced_severity": forced, "updated_at": now}
            for t, kinds, basis, forced in DEFAULT_ROUTING
        ],
    )
    op.execute("INSERT INTO feed_counter (id, seq) VALUES (1, 0)")


def downgrade() -> None:

    with op.batch_alter_table('alert_recipient', schema=None) as batch_op:
        batch_op.drop_index('uq_alert_recipient_alert_id_organisation_id')
        batch_op.drop_index('ix_alert_recipient_organisation_id_change_seq')

    op.drop_table('alert_recipient')
    with op.batch_alter_table('alert_action', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_action_alert_id_created_at')

    op.drop_table('alert_action')
    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.drop_index('uq_enrolment_one_current_per_child', sqlite_where=sa.text('end_date IS NULL'), postgresql_where=sa.text('end_date IS NULL'))
        batch_op.drop_index('ix_enrolment_school_id_child_id')
        batch_op.drop_index(batch_op.f('ix_enrolment_child_id'))

    op.drop_table('enrolment')
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_source_organisation_id_id')
        batch_op.drop_index('ix_alert_municipality_code_type')
        batch_op.drop_index('ix_alert_child_id_created_at')

    op.drop_table('alert')
    op.drop_table('routing_rule')
    with op.batch_alter_table('idempotency_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_record_created_at'))

    op.drop_table('idempotency_record')
    op.drop_table('feed_counter')
    with op.batch_alter_table('child', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_child_municipality_code'))

    op.drop_table('child')

