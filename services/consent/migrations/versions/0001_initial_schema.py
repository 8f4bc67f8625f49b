"""The schema of the consent service as it stood when migrations began (what ``create_all`` built)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.kit.db import UTCDateTime
from services.kit.kit_tables import create_kit_tables_v1, drop_kit_tables_v1

revision = '0001'
down_revision = None


def upgrade() -> None:
    create_kit_tables_v1(op)
    op.create_table('consents',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('participant_id', sa.String(length=36), nullable=False),
    sa.Column('holder_agency_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('valid_until', UTCDateTime(), nullable=True),
    sa.Column('expires_on', sa.String(length=32), nullable=True),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('revocation_reason', sa.Text(), nullable=True),
    sa.Column('granted_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_consents_due', 'consents', ['status', 'valid_until'])
    op.create_index(op.f('ix_consents_holder_agency_id'), 'consents', ['holder_agency_id'])
    op.create_index(op.f('ix_consents_participant_id'), 'consents', ['participant_id'])
    op.create_table('disclosures',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.Column('participant_id', sa.String(length=36), nullable=False),
    sa.Column('recipient', sa.String(length=100), nullable=False),
    sa.Column('recipient_kind', sa.String(length=32), nullable=True),
    sa.Column('discloser', sa.String(length=64), nullable=False),
    sa.Column('purpose', sa.String(length=64), nullable=False),
    sa.Column('data_classes', sa.JSON(), nullable=False),
    sa.Column('consent_id', sa.String(length=36), nullable=False),
    sa.Column('consent_version', sa.Integer(), nullable=False),
    sa.Column('ledger_seq', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ledger_seq')
    )
    op.create_index('ix_disclosures_participant', 'disclosures', ['participant_id', 'at'])
    op.create_table('ledger',
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('at', sa.String(length=32), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('participant_id', sa.String(length=36), nullable=True),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    op.create_index(op.f('ix_ledger_at'), 'ledger', ['at'])
    op.create_index(op.f('ix_ledger_participant_id'), 'ledger', ['participant_id'])
    op.create_table('ledger_checkpoints',
    sa.Column('count', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('head_hash', sa.String(length=64), nullable=False),
    sa.Column('at', sa.String(length=32), nullable=False),
    sa.Column('signature', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('count')
    )
    op.create_table('consent_personal',
    sa.Column('consent_id', sa.String(length=36), nullable=False),
    sa.Column('given_name', sa.Text(), nullable=True),
    sa.Column('family_name', sa.Text(), nullable=True),
    sa.Column('birth_date', sa.Text(), nullable=True),
    sa.Column('phone', sa.Text(), nullable=True),
    sa.Column('email', sa.Text(), nullable=True),
    sa.Column('preferred_language', sa.Text(), nullable=True),
    sa.Column('signer_name', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['consent_id'], ['consents.id'], ),
    sa.PrimaryKeyConstraint('consent_id')
    )
    op.create_table('consent_versions',
    sa.Column('consent_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('revocation_reason', sa.Text(), nullable=True),
    sa.Column('recorded_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['consent_id'], ['consents.id'], ),
    sa.PrimaryKeyConstraint('consent_id', 'version')
    )


def downgrade() -> None:
    # Dropping a table drops its indexes.
    op.drop_table('consent_versions')
    op.drop_table('consent_personal')
    op.drop_table('ledger_checkpoints')
    op.drop_table('ledger')
    op.drop_table('disclosures')
    op.drop_table('consents')
    drop_kit_tables_v1(op)
