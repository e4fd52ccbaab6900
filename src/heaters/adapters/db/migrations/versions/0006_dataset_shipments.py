"""Dataset shipments: which WebDataset shards an export wrote, and which clips each one carries.

A clip is shipped to one dataset (an output directory) at most once: the primary key says so.

Revision ID: 0006
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dataset_shards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset", sa.Text(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dataset", "seq", name="dataset_shard_seq"),
    )
    op.create_table(
        "dataset_shipments",
        sa.Column("dataset", sa.Text(), nullable=False),
        sa.Column("clip_id", sa.Integer(), sa.ForeignKey("clips.id"), nullable=False),
        sa.Column("shard_id", sa.Integer(), sa.ForeignKey("dataset_shards.id"), nullable=False),
        sa.Column("shipped_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("dataset", "clip_id"),
    )
    op.create_index("dataset_shipments_shard", "dataset_shipments", ["shard_id"], unique=False)


def downgrade() -> None:
    op.drop_index("dataset_shipments_shard", table_name="dataset_shipments")
    op.drop_table("dataset_shipments")
    op.drop_table("dataset_shards")
