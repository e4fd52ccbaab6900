"""What cut review reads: the detector's boundaries of a video with their confidence, and its suggested
cuts (table `clip_boundaries`, migration 0004, written by shot detection).

A database migrated before that table existed reads as "no boundaries recorded" (every cut then shows
without a confidence)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text

from heaters.adapters.db.gateway import Gateway

_TABLE_EXISTS = text("SELECT to_regclass('clip_boundaries') IS NOT NULL")
_BOUNDARIES = text("""
    SELECT frame, kind, confidence, suggested FROM clip_boundaries WHERE video_id = :video_id ORDER BY frame
""")
_RECORD = text("""
    INSERT INTO clip_boundaries (video_id, frame, kind, span_start, span_end, confidence, suggested)
    VALUES (:video_id, :frame, :kind, :span_start, :span_end, :confidence, :suggested)
    ON CONFLICT (video_id, frame) DO NOTHING
""")


@dataclass(frozen=True)
class DetectedBoundary:
    """A boundary the detector found (kept: it started a clip) or suggested (below its threshold)."""

    frame: int  # the first frame of the new shot
    kind: str  # "cut" | "dissolve" | "fade"
    confidence: float
    suggested: bool


class CutReviewReads(Gateway):
    def boundaries(self, video_id: int) -> list[DetectedBoundary]:
        """The video's detected and suggested boundaries by frame (none when nothing was recorded)."""
        if not self.conn.execute(_TABLE_EXISTS).scalar():
            return []
        return [DetectedBoundary(*row) for row in self.conn.execute(_BOUNDARIES, {"video_id": video_id})]

    def record(self, video_id: int, boundaries: Sequence[DetectedBoundary]) -> None:
        """Store boundaries as shot detection does (a frame already stored is kept)."""
        rows = [
            {
                "video_id": video_id,
                "frame": b.frame,
                "kind": b.kind,
                "span_start": b.frame - 1,
                "span_end": b.frame,
                "confidence": b.confidence,
                "suggested": b.suggested,
            }
            for b in boundaries
        ]
        if rows:
            self.conn.execute(_RECORD, rows)
