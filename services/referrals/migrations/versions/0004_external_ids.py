"""The referrer's own identifier on a referral (unique per referrer and system), and the indexes
that search referrals by it, by participant and by when they last changed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'


def upgrade() -> None:
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_id', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('external_id_system', sa.String(length=255), nullable=True))
        batch_op.create_index('ux_referrals_external_id',
                              ['referrer_agency_id', 'external_id', 'external_id_system'], unique=True)
        batch_op.create_index('ix_referrals_participant', ['participant_id'], unique=False)
        batch_op.create_index('ix_referrals_updated', ['updated_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_referrals_updated')
        batch_op.drop_index('ix_referrals_participant')
        batch_op.drop_index('ux_referrals_external_id')
        batch_op.drop_column('external_id_system')
        batch_op.drop_column('external_id')
