"""Lived experience becomes a vocabulary, and a decline's reason a code.

Mentors' free-text tags are mapped to ``LIVED_EXPERIENCE`` codes (legacy words through
``LEGACY_LIVED_EXPERIENCE``; a word with no code is dropped: it only ever matched the same
word). Declines recorded as ``stated`` (a reason was given, its words never kept) read ``other``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.kit.vocabulary import lived_experience_codes

revision = '0003'
down_revision = '0002'

mentors = sa.table('mentors', sa.column('id', sa.String), sa.column('lived_experience', sa.JSON))


def upgrade() -> None:
    connection = op.get_bind()
    for mentor_id, tags in connection.execute(sa.select(mentors.c.id, mentors.c.lived_experience)).all():
        codes = lived_experience_codes(tags)
        if codes != list(tags or []):
            connection.execute(sa.update(mentors).where(mentors.c.id == mentor_id)
                               .values(lived_experience=codes))
    op.execute("UPDATE matches SET reason_code = 'other' WHERE reason_code = 'stated'")


def downgrade() -> None:
    # The words dropped on the way up are gone; codes are valid tags for the old schema too.
    op.execute("UPDATE matches SET reason_code = 'stated' "
               "WHERE status = 'declined' AND reason_code = 'other'")
