"""Table definitions (SQLAlchemy). The domain never sees these rows; the unit of work translates.

Constraints that protect the data live in the database itself, not only in code:
- a video's active clips never overlap (exclusion constraint, deferrable so that one cut operation may
  pass through intermediate states inside its transaction);
- review events are append-only (a trigger refuses UPDATE and DELETE, see the migration).
"""

from __future__ import annotations

from datetime import datetime

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, ExcludeConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


def _now_column() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _now_column()


class SourceVideo(Base):
    __tablename__ = "source_videos"
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(Text, doc="What was submitted: a URL, a local path or 'upload:NAME'.")
    source_url: Mapped[str | None] = mapped_column(Text, index=True)
    title: Mapped[str | None] = mapped_column(Text)
    content_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    allow_duplicate: Mapped[bool] = mapped_column(default=False, doc="Ingest even if URL/content was seen.")
    state: Mapped[str] = mapped_column(String(32), index=True, default="new")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    progress: Mapped[float | None] = mapped_column(Double)
    # probe metadata and the proxy's frame grid (the grid clips index)
    duration_seconds: Mapped[float | None] = mapped_column(Double)
    fps: Mapped[float | None] = mapped_column(Double)
    frame_count: Mapped[int | None] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    rotation: Mapped[int | None] = mapped_column(Integer)
    has_audio: Mapped[bool | None] = mapped_column()
    probe: Mapped[dict | None] = mapped_column(JSONB)
    # storage keys (set only after the object exists)
    original_key: Mapped[str | None] = mapped_column(Text)
    master_key: Mapped[str | None] = mapped_column(Text)
    proxy_key: Mapped[str | None] = mapped_column(Text)
    features_key: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _now_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )


class Clip(Base):
    __tablename__ = "clips"
    id: Mapped[int] = mapped_column(primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("source_videos.id"), index=True)
    start_frame: Mapped[int] = mapped_column(Integer, doc="First frame (inclusive) on the proxy's grid.")
    end_frame: Mapped[int] = mapped_column(Integer, doc="End frame (exclusive).")
    state: Mapped[str] = mapped_column(String(32), index=True, default="pending_review")
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    group_id: Mapped[int | None] = mapped_column(
        Integer, index=True, doc="Clips reviewed as one group share it: the id of the group's first clip."
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claim_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _now_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )

    __table_args__ = (
        CheckConstraint("start_frame >= 0 AND end_frame > start_frame", name="clip_range_valid"),
        Index("clips_video_start", "video_id", "start_frame"),
        # migration 0008: the clips someone holds (looked up by holder on every page read)
        Index("clips_claimed_by", "claimed_by", postgresql_where=text("claimed_by IS NOT NULL")),
    )


# The database refuses two active clips of one video that overlap, whatever code wrote them. Deferred
# to commit time so that a cut operation can pass through intermediate states inside one transaction.
Clip.__table__.append_constraint(
    ExcludeConstraint(
        (Clip.video_id, "="),
        (func.int4range(Clip.start_frame, Clip.end_frame), "&&"),
        name="clips_no_overlap",
        using="gist",
        where=text("state <> 'superseded'"),
        deferrable=True,
        initially="DEFERRED",
    )
)


class ReviewEvent(Base):
    """Append-only audit trail of review actions; what undo needs is in `inverse`."""

    __tablename__ = "review_events"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    video_id: Mapped[int | None] = mapped_column(ForeignKey("source_videos.id"), index=True)
    clip_id: Mapped[int | None] = mapped_column(ForeignKey("clips.id"))
    action: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict] = mapped_column(JSONB, default=dict)
    inverse: Mapped[dict | None] = mapped_column(JSONB, doc="The data undo needs to reverse this action.")
    undoes_event_id: Mapped[int | None] = mapped_column(ForeignKey("review_events.id"), unique=True)
    created_at: Mapped[datetime] = _now_column()


class Artifact(Base):
    """A stored object derived from a clip or video: an exported clip, a keyframe, a manifest."""

    __tablename__ = "artifacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("source_videos.id"), index=True)
    clip_id: Mapped[int | None] = mapped_column(ForeignKey("clips.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(Text, unique=True)
    sha256: Mapped[str | None] = mapped_column(String(64))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    content_type: Mapped[str | None] = mapped_column(String(100))
    details: Mapped[dict] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = _now_column()


class Embedding(Base):
    """A clip's vector for one model and keyframe strategy; models of any dimension coexist.

    The HNSW index is per model (a partial expression index casting to that model's dimension),
    created when a model first stores a vector — see `adapters.db.vectors`.
    """

    __tablename__ = "embeddings"
    id: Mapped[int] = mapped_column(primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clips.id"), index=True)
    model: Mapped[str] = mapped_column(String(200))
    strategy: Mapped[str] = mapped_column(String(100))
    dimension: Mapped[int] = mapped_column(Integer)
    embedding: Mapped[list[float]] = mapped_column(Vector())
    created_at: Mapped[datetime] = _now_column()

    __table_args__ = (UniqueConstraint("clip_id", "model", "strategy", name="embedding_per_clip_model"),)


class StageRun(Base):
    """One execution of a pipeline stage for one entity: who ran it, when, and how it ended.

    Outcomes: running (or killed mid-way until the next attempt marks it `interrupted`), done, failed, refused
    (the input itself was refused: no retry is offered),
    retrying, skipped. Operators read it to see what the workers did; tests use it to prove no stage ran
    twice for one entity.
    """

    __tablename__ = "stage_runs"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    stage: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(16), default="running")
    detail: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = _now_column()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("stage_runs_stage_entity", "stage", "entity_id"),)


class VideoChunk(Base):
    """One chunk of a long video's preprocessing (`heaters.domain.chunks`): grid frames [first_frame,
    stop_frame) (stop NULL: to the end of the video), or the video's audio (index -1). Each is one job."""

    __tablename__ = "video_chunks"
    id: Mapped[int] = mapped_column(primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("source_videos.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer)
    first_frame: Mapped[int] = mapped_column(Integer)
    stop_frame: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[float | None] = mapped_column(Double)
    frame_count: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = _now_column()

    __table_args__ = (
        UniqueConstraint("video_id", "index", name="video_chunk_index"),
        CheckConstraint("state IN ('pending', 'running', 'done', 'failed')", name="video_chunk_state"),
    )


class DatasetShard(Base):
    """A WebDataset shard written by `heaters export-dataset` into a dataset (its output directory)."""

    __tablename__ = "dataset_shards"
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset: Mapped[str] = mapped_column(Text)
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    samples: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = _now_column()

    __table_args__ = (UniqueConstraint("dataset", "seq", name="dataset_shard_seq"),)


class DatasetShipment(Base):
    """A clip shipped to a dataset, in which shard: at most once per dataset (the primary key)."""

    __tablename__ = "dataset_shipments"
    dataset: Mapped[str] = mapped_column(Text, primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clips.id"), primary_key=True)
    shard_id: Mapped[int] = mapped_column(ForeignKey("dataset_shards.id"))
    shipped_at: Mapped[datetime] = _now_column()

    __table_args__ = (Index("dataset_shipments_shard", "shard_id"),)


class ClipBoundary(Base):
    """A shot boundary the detector reported for a video, with its confidence; `suggested` marks a
    near-miss below the threshold (no clip starts there until a reviewer splits). Written once by shot
    detection; the review page reads them (cut-review mode walks the lowest confidence first)."""

    __tablename__ = "clip_boundaries"
    video_id: Mapped[int] = mapped_column(ForeignKey("source_videos.id", ondelete="CASCADE"), primary_key=True)
    frame: Mapped[int] = mapped_column(Integer, primary_key=True, doc="First frame of the new shot.")
    kind: Mapped[str] = mapped_column(String(16), doc="cut | dissolve | fade")
    span_start: Mapped[int] = mapped_column(Integer, doc="First frame of the transition.")
    span_end: Mapped[int] = mapped_column(Integer, doc="Last frame of the transition (inclusive).")
    confidence: Mapped[float] = mapped_column(Double)
    suggested: Mapped[bool] = mapped_column()
    created_at: Mapped[datetime] = _now_column()

    __table_args__ = (
        CheckConstraint("kind IN ('cut', 'dissolve', 'fade')", name="clip_boundary_kind"),
        CheckConstraint("confidence >= 0 AND confidence <= 1", name="clip_boundary_confidence"),
        CheckConstraint("frame > 0 AND span_start <= span_end", name="clip_boundary_frames"),
    )
