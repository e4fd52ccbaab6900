"""Gateway for the detector's shot boundaries of a video (table `clip_boundaries`).

Shot detection records every boundary it keeps (each one is the start of a clip) with its confidence,
and its near-misses as suggested cuts, in the same transaction that creates the clips. The review page
reads them back as plain dataclasses (cut-review mode walks boundaries lowest confidence first; a
suggested cut is where a reviewer may want to split).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text

from heaters.adapters.db.gateway import Gateway
from heaters.domain.shots import Boundary

_INSERT = text("""
    INSERT INTO clip_boundaries (video_id, frame, kind, span_start, span_end, confidence, suggested)
    VALUES (:video_id, :frame, :kind, :span_start, :span_end, :confidence, :suggested)
    ON CONFLICT (video_id, frame) DO NOTHING
""")
_SELECT = text("""
    SELECT frame, kind, span_start, span_end, confidence, suggested FROM clip_boundaries
    WHERE video_id = :video_id ORDER BY frame
""")


@dataclass(frozen=True)
class VideoBoundaries:
    """A video's detected boundaries (each starts a clip as detected) and suggested cuts, by frame."""

    video_id: int
    boundaries: tuple[Boundary, ...]
    suggested: tuple[Boundary, ...]

    def by_confidence(self) -> tuple[Boundary, ...]:
        """Boundaries and suggestions together, least confident first (ties: earlier frame)."""
        return tuple(sorted((*self.boundaries, *self.suggested), key=lambda b: (b.confidence, b.frame)))


def record_boundaries(conn, video_id: int, boundaries: Sequence[Boundary], suggested: Sequence[Boundary] = ()) -> None:
    """Store a video's boundaries and suggestions (idempotent: a frame already stored is kept).

    `conn` is a SQLAlchemy Connection or Session, inside the caller's transaction."""
    rows = [
        {
            "video_id": video_id,
            "frame": b.frame,
            "kind": b.kind,
            "span_start": b.span[0],
            "span_end": b.span[1],
            "confidence": b.confidence,
            "suggested": is_suggestion,
        }
        for is_suggestion, group in ((False, boundaries), (True, suggested))
        for b in group
        if b.frame > 0
    ]
    if rows:
        conn.execute(_INSERT, rows)


def video_boundaries(conn, video_id: int) -> VideoBoundaries:
    """The stored boundaries and suggested cuts of one video (empty for a video detected before they
    were recorded)."""
    kept: list[Boundary] = []
    suggested: list[Boundary] = []
    for frame, kind, a, b, confidence, is_suggestion in conn.execute(_SELECT, {"video_id": video_id}):
        (suggested if is_suggestion else kept).append(Boundary(frame, kind, (a, b), confidence))
    return VideoBoundaries(video_id, tuple(kept), tuple(suggested))


class Boundaries(Gateway):
    """The unit of work's view of `record_boundaries` / `video_boundaries`."""

    def record(self, video_id: int, boundaries: Sequence[Boundary], suggested: Sequence[Boundary] = ()) -> None:
        record_boundaries(self.conn, video_id, boundaries, suggested)

    def of_video(self, video_id: int) -> VideoBoundaries:
        return video_boundaries(self.conn, video_id)
