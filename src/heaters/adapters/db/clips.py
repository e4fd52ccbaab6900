"""The clips gateway, as the pipeline sees clips: one clip's record, a video's clips created by shot
detection, and counts by state. (Review's reads and writes of a video's timeline are in `timeline`.)"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text

from heaters.adapters.db.live import NOTIFY_VIDEO_OF_CLIP
from heaters.adapters.db.staged import StagedTable
from heaters.domain.records import ClipRecord
from heaters.domain.states import ClipState

_COLUMNS = "id, video_id, start_frame, end_frame, state, attempts, group_id"
_GET = text(f"SELECT {_COLUMNS} FROM clips WHERE id = :id")
_LOCK = text(f"SELECT {_COLUMNS} FROM clips WHERE id = :id FOR UPDATE")
_COUNT_OF_VIDEO = text("SELECT count(*) FROM clips WHERE video_id = :video_id")
_CREATE = text("""
    INSERT INTO clips (video_id, start_frame, end_frame, state, attempts)
    SELECT :video_id, span.start_frame, span.end_frame, :state, 0
    FROM unnest(CAST(:starts AS integer[]), CAST(:ends AS integer[])) AS span(start_frame, end_frame)
""")
_STATE_COUNTS = text("SELECT state, count(*) FROM clips GROUP BY state")
_OF_VIDEO_IN_STATE = text("SELECT id FROM clips WHERE video_id = :video_id AND state = :state ORDER BY start_frame")
_COVERED_END = text("SELECT coalesce(max(end_frame), 0) FROM clips WHERE video_id = :video_id AND state <> :superseded")


class Clips(StagedTable):
    TABLE = "clips"

    # A stage moving a clip along (exporting, exported, …) changes what review pages show on its timeline.
    def start_attempt(self, entity_id: int, running_state: str) -> None:
        super().start_attempt(entity_id, running_state)
        self.conn.execute(NOTIFY_VIDEO_OF_CLIP, {"clip_id": entity_id})

    def finish(self, entity_id: int, done_state: str) -> None:
        super().finish(entity_id, done_state)
        self.conn.execute(NOTIFY_VIDEO_OF_CLIP, {"clip_id": entity_id})

    def fail(self, entity_id: int, failed_state: str, error: str) -> None:
        super().fail(entity_id, failed_state, error)
        self.conn.execute(NOTIFY_VIDEO_OF_CLIP, {"clip_id": entity_id})

    def get(self, clip_id: int) -> ClipRecord | None:
        row = self.conn.execute(_GET, {"id": clip_id}).first()
        return ClipRecord(*row) if row is not None else None

    def lock(self, clip_id: int) -> ClipRecord | None:
        row = self.conn.execute(_LOCK, {"id": clip_id}).first()
        return ClipRecord(*row) if row is not None else None

    def create_for_video(self, video_id: int, spans: Sequence[tuple[int, int]]) -> bool:
        """The video's clips, all pending review; nothing (False) if the video already has clips, so that a
        repeated detection run creates nothing twice. Call with the video's row locked."""
        if self.conn.execute(_COUNT_OF_VIDEO, {"video_id": video_id}).scalar_one():
            return False
        params = {
            "video_id": video_id,
            "state": ClipState.PENDING_REVIEW,
            "starts": [s for s, _ in spans],
            "ends": [e for _, e in spans],
        }
        self.conn.execute(_CREATE, params)
        return True

    def of_video_in_state(self, video_id: int, state: str) -> list[int]:
        return list(self.conn.execute(_OF_VIDEO_IN_STATE, {"video_id": video_id, "state": state}).scalars())

    def covered_end(self, video_id: int) -> int:
        """Where the video's clips end: they cover [0, covered_end) (0: no clips yet)."""
        params = {"video_id": video_id, "superseded": ClipState.SUPERSEDED}
        return self.conn.execute(_COVERED_END, params).scalar_one()

    def extend(self, video_id: int, from_frame: int, spans: Sequence[tuple[int, int]]) -> bool:
        """Add clips (pending review) after the video's clips, which must end exactly at `from_frame` (0: no
        clips yet) — else nothing is added and False is returned, so a repeated settling run creates nothing
        twice. `spans` must be contiguous from `from_frame`. Call with the video's row locked."""
        if not spans or self.covered_end(video_id) != from_frame or spans[0][0] != from_frame:
            return False
        params = {
            "video_id": video_id,
            "state": ClipState.PENDING_REVIEW,
            "starts": [s for s, _ in spans],
            "ends": [e for _, e in spans],
        }
        self.conn.execute(_CREATE, params)
        return True

    def state_counts(self) -> dict[str, int]:
        return dict(self.conn.execute(_STATE_COUNTS).all())
