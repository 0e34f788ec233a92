"""Webhook signing secrets encrypted at rest (AES-GCM under OBHVAT_WEBHOOK_SECRET_KEY, each bound
to its webhook's id): the column widens to hold the sealed value, and every secret stored in the
clear is sealed. The key is read from the environment as the service reads it (in development,
the one kept beside the signing keys), and only when there is a secret to seal.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 10:00:00
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from service.core.secretbox import SecretBox, is_sealed
from service.core.settings import load_settings
from service.delivery.secrets import seal, unseal, webhook_secret_box

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_webhook = sa.table('webhook', sa.column('id', sa.Uuid()), sa.column('secret', sa.String()))


def _rewrite(change: Callable[[SecretBox, str, object], str | None]) -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(_webhook.c.id, _webhook.c.secret)).all()
    box: SecretBox | None = None
    for webhook_id, stored in rows:
        box = box or webhook_secret_box(load_settings())
        new = change(box, stored, webhook_id)
        if new is not None:
            connection.execute(sa.update(_webhook).where(_webhook.c.id == webhook_id).values(secret=new))


def upgrade() -> None:
    with op.batch_alter_table('webhook', schema=None) as batch_op:
        batch_op.alter_column(
            'secret', existing_type=sa.String(length=100), type_=sa.String(length=300), existing_nullable=False
        )
    _rewrite(lambda box, stored, webhook_id: None if is_sealed(stored) else seal(box, webhook_id, stored))


def downgrade() -> None:
    _rewrite(lambda box, stored, webhook_id: unseal(box, webhook_id, stored) if is_sealed(stored) else None)
    with op.batch_alter_table('webhook', schema=None) as batch_op:
        batch_op.alter_column(
            'secret', existing_type=sa.String(length=300), type_=sa.String(length=100), existing_nullable=False
        )
