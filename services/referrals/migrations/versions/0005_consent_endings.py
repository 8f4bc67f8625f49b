"""Consent endings heard, so a referral recorded after its consent's ending was handled is ended."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.kit.db import UTCDateTime

revision = '0005'
down_revision = '0004'


def upgrade() -> None:
    op.create_table('consent_endings',
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('consent_id', sa.String(length=64), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('scope', sa.JSON(), nullable=False),
    sa.Column('occurred_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('event_id'),
    )
    op.create_index(op.f('ix_consent_endings_consent_id'), 'consent_endings', ['consent_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_consent_endings_consent_id'), table_name='consent_endings')
    op.drop_table('consent_endings')
