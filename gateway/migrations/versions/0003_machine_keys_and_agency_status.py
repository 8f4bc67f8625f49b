"""Machine keys with names, roles, last use and rotation; agencies that can be deactivated.

Keys issued before this revision are named ``default`` and keep every role of their agency
(``roles`` NULL); every existing agency is active.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.kit.db import UTCDateTime

revision = '0003'
down_revision = '0002'


def upgrade() -> None:
    with op.batch_alter_table('agencies') as batch:
        batch.add_column(sa.Column('status', sa.String(length=16), server_default='active',
                                   nullable=False))
        batch.add_column(sa.Column('status_changed_at', UTCDateTime(), nullable=True))
    with op.batch_alter_table('api_keys') as batch:
        batch.add_column(sa.Column('name', sa.String(length=64), server_default='default',
                                   nullable=False))
        batch.add_column(sa.Column('roles', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('last_used_at', UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('expires_at', UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('replaced_by', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('api_keys') as batch:
        for column in ('replaced_by', 'expires_at', 'last_used_at', 'roles', 'name'):
            batch.drop_column(column)
    with op.batch_alter_table('agencies') as batch:
        batch.drop_column('status_changed_at')
        batch.drop_column('status')
