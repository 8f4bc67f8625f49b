"""Engagements gain a ``version``, raised by every save and checked by it (optimistic concurrency),
so a writer holding an old copy (a timer that read before a STOP or a revocation was saved) cannot
write it back. Rows that exist start at 0."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'


def upgrade() -> None:
    op.add_column('engagements', sa.Column('version', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('engagements') as batch:
        batch.drop_column('version')
