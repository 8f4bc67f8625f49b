"""Reason codes for every stated move, and the data classes each handoff packet was disclosed with.

History entries an agency wrote before reason codes existed carry its words only: they read as
``other``, so every party sees a code and the words stay with the agency that wrote them.
Packets stored before ``data_classes`` existed were disclosed as contact and demographics
(NULL reads as exactly that).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'


def upgrade() -> None:
    with op.batch_alter_table('handoff_packets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('data_classes', sa.JSON(), nullable=True))
    op.execute("UPDATE referral_history SET reason_code = 'other' "
               "WHERE reason_code IS NULL AND reason IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('handoff_packets', schema=None) as batch_op:
        batch_op.drop_column('data_classes')
