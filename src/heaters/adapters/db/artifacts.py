"""The artifacts gateway: stored objects derived from a video or clip (exported files, keyframes,
manifests) — recording them, and the one query for each thing people ask of them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text

from heaters.adapters.db.gateway import Gateway
from heaters.domain.records import ArtifactKind, ArtifactRecord

# Upsert by key: a retried stage finds its own earlier record and updates it in place.
_UPSERT = text("""
    INSERT INTO artifacts (video_id, clip_id, kind, key, sha256, size_bytes, content_type, details)
    SELECT * FROM unnest(
        CAST(:video_ids AS integer[]), CAST(:clip_ids AS integer[]), CAST(:kinds AS text[]), CAST(:keys AS text[]),
        CAST(:sha256s AS text[]), CAST(:sizes AS bigint[]), CAST(:content_types AS text[]), CAST(:details AS jsonb[])
    )
    ON CONFLICT (key) DO UPDATE SET sha256 = excluded.sha256, size_bytes = excluded.size_bytes,
        content_type = excluded.content_type, details = excluded.details
""")
# The exported file of a clip, with what a download needs (its video's title for the file name).
_EXPORTED_FILE = text("""
    SELECT a.key, a.sha256, a.size_bytes, coalesce(v.title, v.source) AS title
    FROM artifacts AS a JOIN source_videos AS v ON v.id = a.video_id
    WHERE a.clip_id = :clip_id AND a.kind = :export
    ORDER BY a.id DESC LIMIT 1
""")
_KEYFRAME_KEYS = text("SELECT key FROM artifacts WHERE clip_id = :clip_id AND kind = :keyframe ORDER BY key")
_KEYFRAME = text("""
    SELECT id, key, size_bytes, content_type, details->>'frame_index' FROM artifacts
    WHERE id = :id AND kind = :keyframe
""")
_DELETE_OTHER_KEYFRAMES = text("""
    DELETE FROM artifacts WHERE clip_id = :clip_id AND kind = :keyframe AND NOT (key = ANY(CAST(:keep AS text[])))
""")
_EXPORTS_OF_VIDEO = text("""
    SELECT a.clip_id, a.key, a.sha256, a.size_bytes, a.details, a.created_at, c.group_id, u.name
    FROM artifacts AS a
    JOIN clips AS c ON c.id = a.clip_id
    LEFT JOIN users AS u ON u.id = c.reviewer_id
    WHERE a.video_id = :video_id AND a.kind = :export
    ORDER BY c.start_frame, a.clip_id
""")
_LOCK_MANIFEST = text("SELECT pg_advisory_xact_lock(hashtext('manifest'), :video_id)")


@dataclass(frozen=True)
class ExportedFile:
    key: str
    sha256: str | None
    size_bytes: int | None
    video_title: str


@dataclass(frozen=True)
class StoredKeyframe:
    id: int
    key: str
    size_bytes: int | None
    content_type: str | None
    frame_index: str | None


@dataclass(frozen=True)
class ExportRow:
    """An exported clip as the manifest lists it."""

    clip_id: int
    key: str
    sha256: str | None
    size_bytes: int | None
    details: dict
    created_at: datetime | None
    group_id: int | None
    reviewer: str | None


class Artifacts(Gateway):
    def record(self, artifacts: Sequence[ArtifactRecord]) -> None:
        if not artifacts:
            return
        params = {
            "video_ids": [a.video_id for a in artifacts],
            "clip_ids": [a.clip_id for a in artifacts],
            "kinds": [str(a.kind) for a in artifacts],
            "keys": [a.key for a in artifacts],
            "sha256s": [a.sha256 for a in artifacts],
            "sizes": [a.size_bytes for a in artifacts],
            "content_types": [a.content_type for a in artifacts],
            "details": [json.dumps(a.details) for a in artifacts],
        }
        self.conn.execute(_UPSERT, params)

    def exported_file(self, clip_id: int) -> ExportedFile | None:
        row = self.conn.execute(_EXPORTED_FILE, {"clip_id": clip_id, "export": ArtifactKind.EXPORT}).first()
        return ExportedFile(*row) if row is not None else None

    def keyframe_keys(self, clip_id: int) -> list[str]:
        return list(
            self.conn.execute(_KEYFRAME_KEYS, {"clip_id": clip_id, "keyframe": ArtifactKind.KEYFRAME}).scalars()
        )

    def keyframe(self, artifact_id: int) -> StoredKeyframe | None:
        row = self.conn.execute(_KEYFRAME, {"id": artifact_id, "keyframe": ArtifactKind.KEYFRAME}).first()
        return StoredKeyframe(*row) if row is not None else None

    def forget_keyframes_except(self, clip_id: int, keep: list[str]) -> None:
        """Drop the clip's keyframe records other than `keep` (a changed strategy replaces the old ones)."""
        params = {"clip_id": clip_id, "keyframe": ArtifactKind.KEYFRAME, "keep": keep}
        self.conn.execute(_DELETE_OTHER_KEYFRAMES, params)

    def lock_manifest(self, video_id: int) -> None:
        """Serialise manifest rewrites of one video until the transaction ends."""
        self.conn.execute(_LOCK_MANIFEST, {"video_id": video_id})

    def exports_of_video(self, video_id: int) -> list[ExportRow]:
        return [
            ExportRow(*row)
            for row in self.conn.execute(_EXPORTS_OF_VIDEO, {"video_id": video_id, "export": ArtifactKind.EXPORT})
        ]
