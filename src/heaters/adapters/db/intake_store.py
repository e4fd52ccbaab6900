"""The stored-sources gateway: sources whose original is put into storage at submit time (uploads, local
files): reserve an id, find an earlier video of the same source or content, record the stored original."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from heaters.adapters.db.gateway import Gateway

_RESERVE_ID = text("SELECT nextval(pg_get_serial_sequence('source_videos', 'id'))")
_WITH_SOURCE = text("SELECT id FROM source_videos WHERE source = :source ORDER BY id LIMIT 1")
_WITH_CONTENT = text("SELECT id FROM source_videos WHERE content_sha256 = :sha ORDER BY id LIMIT 1")
_ADD_STORED = text("""
    INSERT INTO source_videos (id, source, title, original_key, content_sha256, allow_duplicate, state, attempts)
    VALUES (:id, :source, :title, :key, :sha, :allow_duplicate, 'new', 0)
""")


@dataclass(frozen=True)
class StoredVideo:
    id: int
    source: str  # the local path, or "upload:NAME"
    title: str
    original_key: str
    content_sha256: str
    allow_duplicate: bool


class StoredSources(Gateway):
    def reserve_id(self) -> int:
        """A video id nobody else will get, before anything is recorded: the original is stored under its
        final key (`originals/{id}/…`) while it arrives, and the row is written once it is complete."""
        return int(self.conn.execute(_RESERVE_ID).scalar_one())

    def with_source(self, source: str) -> int | None:
        return self.conn.execute(_WITH_SOURCE, {"source": source}).scalar()

    def with_content(self, sha256: str) -> int | None:
        return self.conn.execute(_WITH_CONTENT, {"sha": sha256}).scalar()

    def add(self, video: StoredVideo) -> None:
        """The row of a source whose original is already in storage (state `new`; the download stage only
        confirms the object is there)."""
        self.conn.execute(
            _ADD_STORED,
            {
                "id": video.id,
                "source": video.source,
                "title": video.title,
                "key": video.original_key,
                "sha": video.content_sha256,
                "allow_duplicate": video.allow_duplicate,
            },
        )
