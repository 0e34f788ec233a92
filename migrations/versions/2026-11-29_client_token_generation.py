"""API clients can be disabled and their secret rotated: a token generation, raised by either,
so the client's earlier tokens are refused at once (as a user's are).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('api_client', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_generation', sa.Integer(), nullable=False, server_default='0'))
    # the default only fills existing rows; the model sets the value from then on
    with op.batch_alter_table('api_client', schema=None) as batch_op:
        batch_op.alter_column('token_generation', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('api_client', schema=None) as batch_op:
        batch_op.drop_column('token_generation')
