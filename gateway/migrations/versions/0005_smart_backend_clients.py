"""SMART Backend Services: registered back-end clients, used assertion ids, access-token digests."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.kit.db import UTCDateTime

revision = '0005'
down_revision = '0004'


def upgrade() -> None:
    op.create_table('smart_clients',
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('agency_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('jwks', sa.JSON(), nullable=True),
    sa.Column('jwks_uri', sa.String(length=2048), nullable=True),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('revoked_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], ),
    sa.PrimaryKeyConstraint('client_id')
    )
    op.create_index(op.f('ix_smart_clients_agency_id'), 'smart_clients', ['agency_id'])
    op.create_table('smart_assertions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('jti', sa.String(length=255), nullable=False),
    sa.Column('expires_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('client_id', 'jti', name='uq_smart_assertion_jti')
    )
    op.create_index(op.f('ix_smart_assertions_expires_at'), 'smart_assertions', ['expires_at'])
    op.create_table('smart_tokens',
    sa.Column('token_id', sa.String(length=32), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('expires_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['smart_clients.client_id'], ),
    sa.PrimaryKeyConstraint('token_id')
    )
    op.create_index(op.f('ix_smart_tokens_client_id'), 'smart_tokens', ['client_id'])
    op.create_index(op.f('ix_smart_tokens_expires_at'), 'smart_tokens', ['expires_at'])


def downgrade() -> None:
    op.drop_table('smart_tokens')
    op.drop_table('smart_assertions')
    op.drop_table('smart_clients')
