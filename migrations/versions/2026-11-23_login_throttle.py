"""Counts of failed logins per username and per client address (brute-force protection).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 01:49:24.103235
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.core.database import UtcDateTime

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('login_throttle',
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_started_at', UtcDateTime(), nullable=False),
    sa.Column('blocked_until', UtcDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttle'))
    )



def downgrade() -> None:

    op.drop_table('login_throttle')

