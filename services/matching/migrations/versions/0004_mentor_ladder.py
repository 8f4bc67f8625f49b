"""The mentor ladder: a level and a supervisor per mentor, and certification reminders sent.

Mentors registered before have no level (bound by their own capacity only, as before) and no
supervisor until their peer group places them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.kit.db import UTCDateTime

revision = '0004'
down_revision = '0003'


def upgrade() -> None:
    with op.batch_alter_table('mentors') as batch:
        batch.add_column(sa.Column('level', sa.String(16), nullable=True))
        batch.add_column(sa.Column('supervisor', sa.String(64), nullable=True))
    op.create_table(
        'certification_reminders',
        sa.Column('mentor_id', sa.String(36), sa.ForeignKey('mentors.id'), primary_key=True),
        sa.Column('certified_until', sa.Date(), primary_key=True),
        sa.Column('days', sa.Integer(), primary_key=True),
        sa.Column('sent_at', UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('certification_reminders')
    with op.batch_alter_table('mentors') as batch:
        batch.drop_column('supervisor')
        batch.drop_column('level')
