"""Initial schema: videos, clips (no overlaps), audit events, artifacts, embeddings, users.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 15:20:05.633177
"""

from collections.abc import Sequence

import pgvector.sqlalchemy
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # pgvector for embeddings; btree_gist so an exclusion constraint can mix `=` (video) and `&&` (range).
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table(
        "source_videos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("content_sha256", sa.String(length=64), nullable=True),
        sa.Column("allow_duplicate", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("progress", sa.Double(), nullable=True),
        sa.Column("duration_seconds", sa.Double(), nullable=True),
        sa.Column("fps", sa.Double(), nullable=True),
        sa.Column("frame_count", sa.Integer(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("rotation", sa.Integer(), nullable=True),
        sa.Column("has_audio", sa.Boolean(), nullable=True),
        sa.Column("probe", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("original_key", sa.Text(), nullable=True),
        sa.Column("master_key", sa.Text(), nullable=True),
        sa.Column("proxy_key", sa.Text(), nullable=True),
        sa.Column("features_key", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_source_videos_content_sha256"), "source_videos", ["content_sha256"], unique=False)
    op.create_index(op.f("ix_source_videos_source_url"), "source_videos", ["source_url"], unique=False)
    op.create_index(op.f("ix_source_videos_state"), "source_videos", ["state"], unique=False)
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "clips",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("video_id", sa.Integer(), nullable=False),
        sa.Column("start_frame", sa.Integer(), nullable=False),
        sa.Column("end_frame", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.Integer(), nullable=True),
        sa.Column("claim_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        postgresql.ExcludeConstraint(
            (sa.column("video_id"), "="),
            (sa.text("int4range(start_frame, end_frame)"), "&&"),
            where=sa.text("state <> 'superseded'"),
            deferrable=True,
            initially="DEFERRED",
            using="gist",
            name="clips_no_overlap",
        ),
        sa.CheckConstraint("start_frame >= 0 AND end_frame > start_frame", name="clip_range_valid"),
        sa.ForeignKeyConstraint(
            ["claimed_by"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["video_id"],
            ["source_videos.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("clips_video_start", "clips", ["video_id", "start_frame"], unique=False)
    op.create_index(op.f("ix_clips_group_id"), "clips", ["group_id"], unique=False)
    op.create_index(op.f("ix_clips_state"), "clips", ["state"], unique=False)
    op.create_index(op.f("ix_clips_video_id"), "clips", ["video_id"], unique=False)
    op.create_table(
        "artifacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("video_id", sa.Integer(), nullable=False),
        sa.Column("clip_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("content_type", sa.String(length=100), nullable=True),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["clip_id"],
            ["clips.id"],
        ),
        sa.ForeignKeyConstraint(
            ["video_id"],
            ["source_videos.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index(op.f("ix_artifacts_clip_id"), "artifacts", ["clip_id"], unique=False)
    op.create_index(op.f("ix_artifacts_video_id"), "artifacts", ["video_id"], unique=False)
    op.create_table(
        "embeddings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clip_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("strategy", sa.String(length=100), nullable=False),
        sa.Column("dimension", sa.Integer(), nullable=False),
        sa.Column("embedding", pgvector.sqlalchemy.vector.VECTOR(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["clip_id"],
            ["clips.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("clip_id", "model", "strategy", name="embedding_per_clip_model"),
    )
    op.create_index(op.f("ix_embeddings_clip_id"), "embeddings", ["clip_id"], unique=False)
    op.create_table(
        "review_events",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("video_id", sa.Integer(), nullable=True),
        sa.Column("clip_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("inverse", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("undoes_event_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["clip_id"],
            ["clips.id"],
        ),
        sa.ForeignKeyConstraint(
            ["undoes_event_id"],
            ["review_events.id"],
        ),
        sa.ForeignKeyConstraint(
            ["video_id"],
            ["source_videos.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("undoes_event_id"),
    )
    op.create_index(op.f("ix_review_events_actor_id"), "review_events", ["actor_id"], unique=False)
    op.create_index(op.f("ix_review_events_video_id"), "review_events", ["video_id"], unique=False)
    # The audit trail is append-only: undo appends an event, it never edits one.
    op.execute(
        """
        CREATE FUNCTION review_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'review_events is append-only';
        END $$;
        CREATE TRIGGER review_events_append_only BEFORE UPDATE OR DELETE ON review_events
            FOR EACH ROW EXECUTE FUNCTION review_events_append_only();
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS review_events_append_only ON review_events")
    op.execute("DROP FUNCTION IF EXISTS review_events_append_only()")
    op.drop_index(op.f("ix_review_events_video_id"), table_name="review_events")
    op.drop_index(op.f("ix_review_events_actor_id"), table_name="review_events")
    op.drop_table("review_events")
    op.drop_index(op.f("ix_embeddings_clip_id"), table_name="embeddings")
    op.drop_table("embeddings")
    op.drop_index(op.f("ix_artifacts_video_id"), table_name="artifacts")
    op.drop_index(op.f("ix_artifacts_clip_id"), table_name="artifacts")
    op.drop_table("artifacts")
    op.drop_index(op.f("ix_clips_video_id"), table_name="clips")
    op.drop_index(op.f("ix_clips_state"), table_name="clips")
    op.drop_index(op.f("ix_clips_group_id"), table_name="clips")
    op.drop_index("clips_video_start", table_name="clips")
    op.drop_table("clips")
    op.drop_table("users")
    op.drop_index(op.f("ix_source_videos_state"), table_name="source_videos")
    op.drop_index(op.f("ix_source_videos_source_url"), table_name="source_videos")
    op.drop_index(op.f("ix_source_videos_content_sha256"), table_name="source_videos")
    op.drop_table("source_videos")
