"""Read models of the clip library: clip cards (a clip with its video, export size and keyframes), the
videos that have exported clips, counts, search hits, and the review page's stand-in for similar clips."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text

from heaters.adapters.db.gateway import Gateway
from heaters.domain.records import ArtifactKind

# A clip card: the clip, its video's title and rate, its export's size and its keyframes in clip order.
_CARD_COLUMNS = """
    c.id, c.video_id, coalesce(v.title, v.source), c.start_frame, c.end_frame, v.fps, c.state,
    (SELECT a.size_bytes FROM artifacts AS a WHERE a.clip_id = c.id AND a.kind = :export ORDER BY a.id DESC LIMIT 1),
    (SELECT a.key FROM artifacts AS a WHERE a.clip_id = c.id AND a.kind = :export ORDER BY a.id DESC LIMIT 1),
    coalesce((SELECT array_agg(a.id ORDER BY coalesce((a.details->>'percent')::float, 0), a.id)
              FROM artifacts AS a WHERE a.clip_id = c.id AND a.kind = :keyframe), '{}')
"""
_CARDS = text(f"""
    SELECT {_CARD_COLUMNS}
    FROM clips AS c JOIN source_videos AS v ON v.id = c.video_id
    WHERE c.state = ANY(CAST(:states AS text[])) AND (CAST(:video_id AS integer) IS NULL OR c.video_id = :video_id)
    ORDER BY c.video_id, c.start_frame, c.id
    OFFSET :offset LIMIT :limit
""")
_CARDS_BY_ID = text(f"""
    SELECT {_CARD_COLUMNS}
    FROM clips AS c JOIN source_videos AS v ON v.id = c.video_id
    WHERE c.id = ANY(CAST(:ids AS integer[]))
""")
_COUNT_BY_STATE = text("""
    SELECT state, count(*) FROM clips
    WHERE state = ANY(CAST(:states AS text[])) AND (CAST(:video_id AS integer) IS NULL OR video_id = :video_id)
    GROUP BY state
""")
_VIDEOS = text("""
    SELECT v.id, coalesce(v.title, v.source), count(c.id)
    FROM source_videos AS v JOIN clips AS c ON c.video_id = v.id
    WHERE c.state = ANY(CAST(:states AS text[]))
    GROUP BY v.id ORDER BY v.id
""")
# The embedded clip of the same video nearest in frames to the given clip: frames between the two ranges
# (0 when they overlap), then the nearer start, then the id.
_NEAREST_EMBEDDED = text("""
    SELECT n.id, n.start_frame - c.start_frame, coalesce(v.fps, :default_fps)
    FROM clips AS c
    JOIN source_videos AS v ON v.id = c.video_id
    JOIN clips AS n ON n.video_id = c.video_id
    WHERE c.id = :clip_id AND EXISTS (SELECT 1 FROM embeddings AS e WHERE e.clip_id = n.id)
    ORDER BY greatest(n.start_frame - c.end_frame, c.start_frame - n.end_frame, 0),
             abs(n.start_frame - c.start_frame), n.id
    LIMIT 1
""")
_CLIP_EXISTS = text("SELECT EXISTS (SELECT 1 FROM clips WHERE id = :clip_id)")


@dataclass(frozen=True)
class ClipCard:
    """A clip as the library, search results and similar-clip panels show it."""

    clip_id: int
    video_id: int
    video_title: str
    start_frame: int
    end_frame: int
    fps: float | None
    state: str
    export_size: int | None
    export_key: str | None
    keyframe_ids: tuple[int, ...]  # in clip order (by percent)


@dataclass(frozen=True)
class Neighbour:
    clip_id: int
    offset_frames: int
    fps: float


def _card(row) -> ClipCard:
    return ClipCard(*row[:9], tuple(row[9]))


def _kinds() -> dict:
    return {"export": ArtifactKind.EXPORT, "keyframe": ArtifactKind.KEYFRAME}


class LibraryReads(Gateway):
    def cards(
        self, states: Sequence[str], *, video_id: int | None, offset: int, limit: int
    ) -> tuple[list[ClipCard], int]:
        """A page of clip cards in these states (by video, then time) and how many there are in all."""
        filters = {"states": [str(s) for s in states], "video_id": video_id}
        rows = self.conn.execute(_CARDS, filters | _kinds() | {"offset": offset, "limit": limit})
        cards = [_card(r) for r in rows]
        total = sum(self.state_counts(states, video_id).values())
        return cards, total

    def cards_by_id(self, clip_ids: Sequence[int]) -> dict[int, ClipCard]:
        if not clip_ids:
            return {}
        rows = self.conn.execute(_CARDS_BY_ID, {"ids": list(clip_ids)} | _kinds())
        return {card.clip_id: card for card in map(_card, rows)}

    def state_counts(self, states: Sequence[str], video_id: int | None = None) -> dict[str, int]:
        params = {"states": [str(s) for s in states], "video_id": video_id}
        return dict(self.conn.execute(_COUNT_BY_STATE, params).all())

    def videos(self, states: Sequence[str]) -> list[tuple[int, str, int]]:
        """(id, title, clips) of the videos with clips in these states."""
        return [tuple(r) for r in self.conn.execute(_VIDEOS, {"states": [str(s) for s in states]})]

    def nearest_embedded(self, clip_id: int, default_fps: float) -> Neighbour | None:
        row = self.conn.execute(_NEAREST_EMBEDDED, {"clip_id": clip_id, "default_fps": default_fps}).first()
        return Neighbour(*row) if row is not None else None

    def clip_exists(self, clip_id: int) -> bool:
        return self.conn.execute(_CLIP_EXISTS, {"clip_id": clip_id}).scalar_one()
