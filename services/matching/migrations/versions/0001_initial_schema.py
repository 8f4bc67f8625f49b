"""The schema of the matching service as it stood when migrations began (what ``create_all`` built)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.kit.db import UTCDateTime
from services.kit.kit_tables import create_kit_tables_v1, drop_kit_tables_v1

revision = '0001'
down_revision = None


def upgrade() -> None:
    create_kit_tables_v1(op)
    op.create_table('mentors',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('agency_id', sa.String(length=64), nullable=False),
    sa.Column('agency_kind', sa.String(length=16), nullable=False),
    sa.Column('display_name', sa.String(length=80), nullable=False),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('gender', sa.String(length=16), nullable=True),
    sa.Column('age', sa.Integer(), nullable=True),
    sa.Column('pathways', sa.JSON(), nullable=False),
    sa.Column('lived_experience', sa.JSON(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('radius_km', sa.Float(), nullable=False),
    sa.Column('remote_ok', sa.Boolean(), nullable=False),
    sa.Column('availability', sa.JSON(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('caseload', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('certified_until', sa.Date(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.Column('changed_version', sa.Integer(), nullable=False),
    sa.CheckConstraint('capacity >= 0', name='ck_mentors_capacity_not_negative'),
    sa.CheckConstraint('caseload >= 0 AND caseload <= capacity', name='ck_mentors_caseload_within_capacity'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_mentors_agency_id'), 'mentors', ['agency_id'])
    op.create_index(op.f('ix_mentors_changed_version'), 'mentors', ['changed_version'])
    op.create_table('referrals',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('referrer_agency_id', sa.String(length=64), nullable=False),
    sa.Column('participant_id', sa.String(length=64), nullable=False),
    sa.Column('consent_id', sa.String(length=64), nullable=False),
    sa.Column('urgency', sa.String(length=16), nullable=False),
    sa.Column('allowed', sa.JSON(), nullable=False),
    sa.Column('blocked_agencies', sa.JSON(), nullable=False),
    sa.Column('criteria', sa.JSON(), nullable=True),
    sa.Column('requested_at', UTCDateTime(), nullable=False),
    sa.Column('closed_at', UTCDateTime(), nullable=True),
    sa.Column('closed_reason', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_referrals_closed_at'), 'referrals', ['closed_at'])
    op.create_index(op.f('ix_referrals_consent_id'), 'referrals', ['consent_id'])
    op.create_table('registry_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('matches',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('referral_id', sa.String(length=64), nullable=False),
    sa.Column('referrer_agency_id', sa.String(length=64), nullable=False),
    sa.Column('mentor_id', sa.String(length=36), nullable=False),
    sa.Column('mentor_agency_id', sa.String(length=64), nullable=False),
    sa.Column('urgency', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('explanation', sa.JSON(), nullable=False),
    sa.Column('proposed_at', UTCDateTime(), nullable=False),
    sa.Column('expires_at', UTCDateTime(), nullable=False),
    sa.Column('decided_at', UTCDateTime(), nullable=True),
    sa.Column('released_at', UTCDateTime(), nullable=True),
    sa.Column('reason_code', sa.String(length=32), nullable=True),
    sa.CheckConstraint("status IN ('proposed', 'accepted', 'declined', 'expired', 'withdrawn')",
                       name='ck_matches_status'),
    sa.ForeignKeyConstraint(['mentor_id'], ['mentors.id'], ),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_matches_mentor_agency_id'), 'matches', ['mentor_agency_id'])
    op.create_index(op.f('ix_matches_mentor_id'), 'matches', ['mentor_id'])
    op.create_index(op.f('ix_matches_referral_id'), 'matches', ['referral_id'])
    op.create_index('ix_matches_status_expires', 'matches', ['status', 'expires_at'])
    # At most one live (proposed or accepted) match per referral.
    live = sa.text("status IN ('proposed', 'accepted')")
    op.create_index('uq_matches_one_live_per_referral', 'matches', ['referral_id'], unique=True,
                    postgresql_where=live, sqlite_where=live)
    op.create_table('referral_exclusions',
    sa.Column('referral_id', sa.String(length=64), nullable=False),
    sa.Column('mentor_id', sa.String(length=36), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], ),
    sa.PrimaryKeyConstraint('referral_id', 'mentor_id')
    )


def downgrade() -> None:
    # Dropping a table drops its indexes.
    op.drop_table('referral_exclusions')
    op.drop_table('matches')
    op.drop_table('registry_version')
    op.drop_table('referrals')
    op.drop_table('mentors')
    drop_kit_tables_v1(op)
