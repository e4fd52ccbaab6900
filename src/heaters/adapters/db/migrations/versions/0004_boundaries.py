"""Clip boundaries: every shot boundary the detector found, with its confidence, and suggested cuts.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clip_boundaries",
        sa.Column("video_id", sa.Integer(), nullable=False),
        sa.Column("frame", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("span_start", sa.Integer(), nullable=False),
        sa.Column("span_end", sa.Integer(), nullable=False),
        sa.Column("confidence", sa.Double(), nullable=False),
        sa.Column("suggested", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('cut', 'dissolve', 'fade')", name="clip_boundary_kind"),
        sa.CheckConstraint("confidence >= 0 AND confidence <= 1", name="clip_boundary_confidence"),
        sa.CheckConstraint("frame > 0 AND span_start <= span_end", name="clip_boundary_frames"),
        sa.ForeignKeyConstraint(["video_id"], ["source_videos.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("video_id", "frame"),
    )


def downgrade() -> None:
    op.drop_table("clip_boundaries")
