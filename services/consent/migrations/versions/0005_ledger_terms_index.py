"""Find a consent's terms entries in the ledger by subject and action.

Every decision reads the latest entry recording its consent's terms. Before this index the read
went through the participant's index and filtered every ledger row of that participant: each
decision and disclosure adds one, so a participant with a long history made every decision slower.
"""

from __future__ import annotations

from alembic import op

revision = '0005'
down_revision = '0004'


def upgrade() -> None:
    op.create_index('ix_ledger_terms', 'ledger', ['subject', 'action'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_ledger_terms', table_name='ledger')
