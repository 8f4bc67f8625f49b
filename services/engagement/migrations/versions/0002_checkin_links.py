"""Check-ins by email: the single-use reply links and the one-click stop links of check-in emails
(only each token's SHA-256 is kept)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.kit.db import UTCDateTime

revision = '0002'
down_revision = '0001'


def upgrade() -> None:
    op.create_table('checkin_links',
    sa.Column('token_digest', sa.String(length=64), nullable=False),
    sa.Column('agency_id', sa.String(length=64), nullable=False),
    sa.Column('referral_id', sa.String(length=64), nullable=False),
    sa.Column('purpose', sa.String(length=8), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('expires_at', UTCDateTime(), nullable=True),
    sa.Column('used_at', UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('token_digest')
    )
    op.create_index('ix_checkin_links_referral', 'checkin_links', ['agency_id', 'referral_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_checkin_links_referral', table_name='checkin_links')
    op.drop_table('checkin_links')
