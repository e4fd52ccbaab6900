"""A partial index on clips.claimed_by: the few clips someone holds right now.

Every clip page asks whether the reviewer holds other clips, and releasing them looks them up by holder; without
an index both scan the whole clips table. Only claimed rows are indexed (a claim is short-lived and one per
reviewer), so the index stays tiny whatever the library's size.

Revision ID: 0008
Revises: 0006
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE INDEX IF NOT EXISTS clips_claimed_by ON clips (claimed_by) WHERE claimed_by IS NOT NULL")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS clips_claimed_by")
