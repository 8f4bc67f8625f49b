"""When each agency was admitted to the network (a class consent covers later members only when
it says so). Agencies admitted before this revision have no row and count as founding members.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.kit.db import UTCDateTime

revision = '0003'
down_revision = '0002'


def upgrade() -> None:
    op.create_table('admissions',
    sa.Column('agency_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('admitted_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('agency_id')
    )


def downgrade() -> None:
    op.drop_table('admissions')
