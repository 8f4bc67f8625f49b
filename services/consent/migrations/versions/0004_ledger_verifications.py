"""Ledger verifications run in the background, one at a time, with their progress and result."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.kit.db import UTCDateTime

revision = '0004'
down_revision = '0003'


def upgrade() -> None:
    op.create_table('ledger_verifications',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('running', sa.Integer(), nullable=True),
    sa.Column('started_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.Column('finished_at', UTCDateTime(), nullable=True),
    sa.Column('checked', sa.Integer(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('running')
    )


def downgrade() -> None:
    op.drop_table('ledger_verifications')
