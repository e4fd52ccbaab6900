"""Gateway for sources stored at submit time (uploads, local files): reserve an id, find duplicates,
record the stored original. Plain values in and out."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, text

from heaters.adapters.db.connection import Database
from heaters.adapters.db.models import SourceVideo


@dataclass(frozen=True)
class StoredVideo:
    id: int
    source: str  # the local path, or "upload:NAME"
    title: str
    original_key: str
    content_sha256: str
    allow_duplicate: bool


def reserve_video_id(database: Database) -> int:
    """A video id nobody else will get, before anything is recorded: the original is stored under its
    final key (`originals/{id}/…`) while it arrives, and the row is written only once it is complete."""
    with database.engine.connect() as conn:
        return int(conn.execute(text("SELECT nextval(pg_get_serial_sequence('source_videos', 'id'))")).scalar_one())


def video_with_source(database: Database, source: str) -> int | None:
    with database.sessions() as session:
        return session.scalar(
            select(SourceVideo.id).where(SourceVideo.source == source).order_by(SourceVideo.id).limit(1)
        )


def video_with_content(database: Database, sha256: str) -> int | None:
    with database.sessions() as session:
        return session.scalar(
            select(SourceVideo.id).where(SourceVideo.content_sha256 == sha256).order_by(SourceVideo.id).limit(1)
        )


def record_stored_video(database: Database, video: StoredVideo) -> None:
    """The row of a source whose original is already in storage (state `new`; the download stage only
    confirms the object is there)."""
    with database.sessions.begin() as session:
        session.add(
            SourceVideo(
                id=video.id,
                source=video.source,
                title=video.title,
                original_key=video.original_key,
                content_sha256=video.content_sha256,
                allow_duplicate=video.allow_duplicate,
                state="new",
                attempts=0,
            )
        )
