"""The console's sign-in with the OpenID Connect issuer: the sign-ins under way, and sessions of
people the issuer vouches for (no user row: their organisation and roles as the ID token named).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.core.database import UtcDateTime

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('oidc_sign_in',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('code_verifier', sa.String(length=128), nullable=False),
    sa.Column('next_path', sa.String(length=500), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oidc_sign_in'))
    )
    with op.batch_alter_table('oidc_sign_in', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oidc_sign_in_created_at'), ['created_at'], unique=False)
    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=sa.Uuid(), nullable=True)
        batch_op.add_column(sa.Column('external_subject', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('external_organisation', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('external_roles', sa.JSON(), nullable=True))


def downgrade() -> None:
    op.execute("DELETE FROM web_session WHERE user_id IS NULL")
    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.drop_column('external_roles')
        batch_op.drop_column('external_organisation')
        batch_op.drop_column('external_subject')
        batch_op.alter_column('user_id', existing_type=sa.Uuid(), nullable=False)
    op.drop_table('oidc_sign_in')
