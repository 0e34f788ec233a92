"""Break-glass reasons leave the immutable audit trail for an erasable table.

`audit_free_text(sha256, salt, text, created_at)` holds each reason; `sha256` is SHA-256 over the
salt and the text, and retention deletes the row after `OBHVAT_RETENTION_FREE_TEXT_DAYS`.

- `audit_event` gains `break_glass_reason_sha256`. No event is changed and none is re-hashed
  (signed checkpoints name the existing hashes): the column is added, nothing is updated, and
  the append-only triggers stay as they are. The canonical JSON leaves the new field out when it
  is null (`service.audit.chain.OPTIONAL_FIELDS`), so every existing event hashes exactly as
  before. From now on an event's `break_glass_reason` is always null and the hash covers
  `break_glass_reason_sha256` instead.
- Events recorded before this migration keep their `break_glass_reason` text: their hashes
  cover it, so removing it would break the chain from the first such event, and no rewrite can
  be told apart from tampering. The API, the export and the access report no longer show that
  column; the text stays readable only to someone with direct database access.
- `break_glass_review.reason` and `inbox_notice.reason` (copies of the text) are moved into
  `audit_free_text` and replaced by `reason_sha256`; the same text is stored once, dated by the
  earliest access or notice that carried it, so retention counts its period from then.

Downgrading puts the texts that still exist back into the review queue and the notices (an
erased one comes back empty) and is refused once an audit event holds a reason's hash, since
dropping that column would break those events' hashes.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 07:00:00.000000
"""

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError

from service.core.database import UtcDateTime

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_free_text = sa.table(
    'audit_free_text',
    sa.column('sha256', sa.String()),
    sa.column('salt', sa.String()),
    sa.column('text', sa.Text()),
    sa.column('created_at', UtcDateTime()),
)


def _move_texts_out(connection: sa.Connection) -> None:
    """Every review's and notice's reason into `audit_free_text`, each table pointing at it."""
    sources = [
        ('break_glass_review', 'accessed_at'),
        ('inbox_notice', 'created_at'),
    ]
    rows: list[tuple[str, object, str, datetime]] = []
    for table, dated in sources:
        source = sa.table(table, sa.column('id'), sa.column('reason', sa.Text()), sa.column(dated, UtcDateTime()))
        found = connection.execute(
            sa.select(source.c.id, source.c.reason, source.c[dated]).where(source.c.reason.is_not(None))
        )
        rows.extend((table, row_id, reason, when) for row_id, reason, when in found)
    entries: dict[str, tuple[str, str, datetime]] = {}
    for _table, _row_id, reason, when in rows:
        if reason not in entries:
            salt = secrets.token_hex(16)
            sha256 = hashlib.sha256(bytes.fromhex(salt) + reason.encode('utf-8')).hexdigest()
            entries[reason] = (sha256, salt, when)
        else:
            sha256, salt, first = entries[reason]
            entries[reason] = (sha256, salt, min(first, when))
    if entries:
        connection.execute(
            sa.insert(_free_text),
            [{'sha256': s, 'salt': salt, 'text': text, 'created_at': when} for text, (s, salt, when) in entries.items()],
        )
    for table, row_id, reason, _when in rows:
        connection.execute(
            sa.text(f"UPDATE {table} SET reason_sha256 = :sha256 WHERE id = :id"),  # noqa: S608 (constants)
            {'sha256': entries[reason][0], 'id': row_id},
        )


def upgrade() -> None:
    op.create_table(
        'audit_free_text',
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('salt', sa.String(length=32), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('sha256', name=op.f('pk_audit_free_text')),
    )
    op.create_index(op.f('ix_audit_free_text_created_at'), 'audit_free_text', ['created_at'], unique=False)
    # a plain ADD COLUMN: no row is rewritten and the append-only triggers stay in place (a batch
    # operation would copy the table on SQLite)
    op.add_column('audit_event', sa.Column('break_glass_reason_sha256', sa.String(length=64), nullable=True))
    op.add_column('break_glass_review', sa.Column('reason_sha256', sa.String(length=64), nullable=True))
    op.add_column('inbox_notice', sa.Column('reason_sha256', sa.String(length=64), nullable=True))
    _move_texts_out(op.get_bind())
    with op.batch_alter_table('break_glass_review', schema=None) as batch_op:
        batch_op.alter_column('reason_sha256', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column('reason')
    with op.batch_alter_table('inbox_notice', schema=None) as batch_op:
        batch_op.drop_column('reason')


def downgrade() -> None:
    connection = op.get_bind()
    hashed = connection.execute(
        sa.text("SELECT count(*) FROM audit_event WHERE break_glass_reason_sha256 IS NOT NULL")
    ).scalar_one()
    if hashed:
        raise CommandError(
            f"{hashed} audit events hold a break-glass reason's SHA-256 in their hash; dropping the "
            "column would break the audit chain"
        )
    op.add_column('break_glass_review', sa.Column('reason', sa.String(length=1000), nullable=True))
    op.add_column('inbox_notice', sa.Column('reason', sa.Text(), nullable=True))
    for table in ('break_glass_review', 'inbox_notice'):
        connection.execute(
            sa.text(
                f"UPDATE {table} SET reason = "  # noqa: S608 (constants)
                "(SELECT text FROM audit_free_text WHERE audit_free_text.sha256 = reason_sha256)"
            )
        )
    connection.execute(sa.text("UPDATE break_glass_review SET reason = '' WHERE reason IS NULL"))
    with op.batch_alter_table('inbox_notice', schema=None) as batch_op:
        batch_op.drop_column('reason_sha256')
    with op.batch_alter_table('break_glass_review', schema=None) as batch_op:
        batch_op.alter_column('reason', existing_type=sa.String(length=1000), nullable=False)
        batch_op.drop_column('reason_sha256')
    op.drop_column('audit_event', 'break_glass_reason_sha256')
    op.drop_index(op.f('ix_audit_free_text_created_at'), table_name='audit_free_text')
    op.drop_table('audit_free_text')
