"""The video chunks gateway: a long video's chunk jobs (plan, start, finish, fail, progress) and what the
dashboard shows of them. Which frames a chunk holds is the domain's business (`heaters.domain.chunks`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text

from heaters.adapters.db.gateway import Gateway
from heaters.domain.chunks import ChunkProgress, ChunkState

_COLUMNS = "id, video_id, index, first_frame, stop_frame, state, attempts, progress, frame_count, last_error"
_PLAN = text("""
    INSERT INTO video_chunks (video_id, index, first_frame, stop_frame, state, attempts)
    SELECT :video_id, c.index, c.first_frame, c.stop_frame, :state, 0
    FROM unnest(CAST(:indexes AS integer[]), CAST(:firsts AS integer[]), CAST(:stops AS integer[]))
         AS c(index, first_frame, stop_frame)
    ON CONFLICT (video_id, index) DO NOTHING
""")
_OF_VIDEO = text(f"SELECT {_COLUMNS} FROM video_chunks WHERE video_id = :video_id ORDER BY index")
_OF_VIDEOS = text(f"SELECT {_COLUMNS} FROM video_chunks WHERE video_id = ANY(CAST(:ids AS integer[])) ORDER BY index")
_LOCK = text(f"SELECT {_COLUMNS} FROM video_chunks WHERE id = :id FOR UPDATE")
_START = text("""
    UPDATE video_chunks SET state = :state, attempts = attempts + 1, progress = 0, last_error = NULL,
        updated_at = now()
    WHERE id = :id
""")
_FINISH = text("""
    UPDATE video_chunks SET state = :state, frame_count = :frame_count, progress = 1, updated_at = now()
    WHERE id = :id
""")
_FAIL = text("UPDATE video_chunks SET state = :state, last_error = :error, updated_at = now() WHERE id = :id")
_RESET = text("""
    UPDATE video_chunks SET state = :state, attempts = 0, progress = NULL, updated_at = now()
    WHERE id = :id AND state <> :done
""")
_SET_PROGRESS = text(
    "UPDATE video_chunks SET progress = :fraction, updated_at = now() WHERE id = :id AND state = :running"
)


@dataclass(frozen=True)
class ChunkRecord:
    id: int
    video_id: int
    index: int  # -1: the audio
    first_frame: int
    stop_frame: int | None
    state: str
    attempts: int
    progress: float | None
    frame_count: int | None
    last_error: str | None

    def as_progress(self) -> ChunkProgress:
        return ChunkProgress(self.index, self.state, self.first_frame, self.frame_count)


class Chunks(Gateway):
    def plan(self, video_id: int, chunks: Sequence[tuple[int, int, int | None]]) -> None:
        """Create the video's chunks (index, first frame, stop frame) as pending; existing ones are kept."""
        params = {
            "video_id": video_id,
            "state": ChunkState.PENDING,
            "indexes": [c[0] for c in chunks],
            "firsts": [c[1] for c in chunks],
            "stops": [c[2] for c in chunks],
        }
        self.conn.execute(_PLAN, params)

    def of_video(self, video_id: int) -> list[ChunkRecord]:
        return [ChunkRecord(*row) for row in self.conn.execute(_OF_VIDEO, {"video_id": video_id})]

    def of_videos(self, video_ids: Sequence[int]) -> dict[int, list[ChunkRecord]]:
        found: dict[int, list[ChunkRecord]] = {}
        for row in self.conn.execute(_OF_VIDEOS, {"ids": list(video_ids)}):
            record = ChunkRecord(*row)
            found.setdefault(record.video_id, []).append(record)
        return found

    def lock(self, chunk_id: int) -> ChunkRecord | None:
        row = self.conn.execute(_LOCK, {"id": chunk_id}).first()
        return ChunkRecord(*row) if row is not None else None

    def start(self, chunk_id: int) -> None:
        self.conn.execute(_START, {"id": chunk_id, "state": ChunkState.RUNNING})

    def finish(self, chunk_id: int, frame_count: int) -> None:
        self.conn.execute(_FINISH, {"id": chunk_id, "state": ChunkState.DONE, "frame_count": frame_count})

    def fail(self, chunk_id: int, error: str, *, final: bool = True) -> None:
        """Failed for good (the video's preprocessing fails with it), or pending again for a retry."""
        state = ChunkState.FAILED if final else ChunkState.PENDING
        self.conn.execute(_FAIL, {"id": chunk_id, "state": state, "error": error})

    def reset(self, chunk_id: int) -> None:
        """Pending again with a fresh attempt budget (a video retried by hand); a done chunk stays done."""
        self.conn.execute(_RESET, {"id": chunk_id, "state": ChunkState.PENDING, "done": ChunkState.DONE})

    def set_progress(self, chunk_id: int, fraction: float) -> None:
        params = {"id": chunk_id, "fraction": max(0.0, min(1.0, fraction)), "running": ChunkState.RUNNING}
        self.conn.execute(_SET_PROGRESS, params)
