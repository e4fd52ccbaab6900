"""The videos gateway: submitting, the pipeline's records of a video, progress, and the video listing that
the dashboard, `heaters status` and `ingest --wait` show."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import text

from heaters.adapters.db.staged import StagedTable
from heaters.domain.records import Preprocessed, VideoRecord
from heaters.domain.stages import STAGES, Entity
from heaters.domain.states import ClipState, VideoState

_RECORD_COLUMNS = (
    "id, source, source_url, title, state, attempts, allow_duplicate, fps, frame_count, duration_seconds, "
    "original_key, master_key, proxy_key, features_key"
)
_GET = text(f"SELECT {_RECORD_COLUMNS} FROM source_videos WHERE id = :id")
_LOCK = text(f"SELECT {_RECORD_COLUMNS} FROM source_videos WHERE id = :id FOR UPDATE")
_FIND_SUBMITTED = text("""
    SELECT id FROM source_videos
    WHERE source = :source OR (CAST(:url AS text) IS NOT NULL AND source_url = :url)
    ORDER BY id LIMIT 1
""")
_ADD = text("""
    INSERT INTO source_videos (source, source_url, title, state, attempts, allow_duplicate)
    VALUES (:source, :url, :title, :state, 0, :allow_duplicate)
    RETURNING id
""")
_OTHER_WITH_CONTENT = text("SELECT id FROM source_videos WHERE content_sha256 = :sha AND id <> :id ORDER BY id LIMIT 1")
_RECORD_DOWNLOAD = text("""
    UPDATE source_videos
    SET original_key = :key, content_sha256 = :sha, title = coalesce(title, :title),
        source_url = coalesce(source_url, :source_url), updated_at = now()
    WHERE id = :id
""")
_RECORD_PREPROCESS = text("""
    UPDATE source_videos
    SET master_key = :master_key, proxy_key = :proxy_key, features_key = :features_key, fps = :fps,
        frame_count = :frame_count, duration_seconds = :duration_seconds, width = :width, height = :height,
        rotation = :rotation, has_audio = :has_audio, probe = CAST(:probe AS jsonb), updated_at = now()
    WHERE id = :id
""")
_RECORD_GRID = text("UPDATE source_videos SET fps = :fps, updated_at = now() WHERE id = :id")
_SET_PROGRESS = text("UPDATE source_videos SET progress = :fraction WHERE id = :id AND state = :state")
_COUNT = text("SELECT count(*) FROM source_videos")
_STATE_COUNTS = text("SELECT state, count(*) FROM source_videos GROUP BY state")
_LISTING = text("""
    SELECT v.id, v.title, v.source, v.state, v.progress, v.last_error, v.attempts, v.duration_seconds,
           v.frame_count, v.fps,
           coalesce(c.active, 0) AS clips, coalesce(c.pending, 0) AS pending, coalesce(c.skipped, 0) AS skipped,
           (SELECT r.outcome FROM stage_runs AS r
            WHERE r.entity_id = v.id AND r.stage = ANY(CAST(:video_stages AS text[]))
            ORDER BY r.id DESC LIMIT 1) AS last_run_outcome
    FROM source_videos AS v
    LEFT JOIN (
        SELECT video_id, count(*) FILTER (WHERE state <> :superseded) AS active,
               count(*) FILTER (WHERE state = :pending) AS pending,
               count(*) FILTER (WHERE state = :skipped) AS skipped
        FROM clips GROUP BY video_id
    ) AS c ON c.video_id = v.id
    WHERE CAST(:ids AS integer[]) IS NULL OR v.id = ANY(CAST(:ids AS integer[]))
    ORDER BY v.id DESC
    LIMIT :limit
""")


@dataclass(frozen=True)
class VideoSummary:
    """One line of the video listing: the video's progress and its active clips' counts."""

    id: int
    title: str | None
    source: str
    state: str
    progress: float | None
    last_error: str | None
    attempts: int
    duration_seconds: float | None
    frame_count: int | None
    fps: float | None
    clips: int
    pending_review: int
    skipped: int
    last_run_outcome: str | None  # of the video's latest stage run ("refused": its input can never pass)


class Videos(StagedTable):
    TABLE = "source_videos"
    HAS_PROGRESS = True

    def get(self, video_id: int) -> VideoRecord | None:
        row = self.conn.execute(_GET, {"id": video_id}).first()
        return VideoRecord(*row) if row is not None else None

    def lock(self, video_id: int) -> VideoRecord | None:
        """The video, its row locked until the transaction ends."""
        row = self.conn.execute(_LOCK, {"id": video_id}).first()
        return VideoRecord(*row) if row is not None else None

    def find_submitted(self, source: str, url: str | None) -> int | None:
        """The first video submitted as this source (or with this normalised URL)."""
        return self.conn.execute(_FIND_SUBMITTED, {"source": source, "url": url}).scalar()

    def add(
        self, source: str, *, source_url: str | None = None, title: str | None = None, allow_duplicate: bool = False
    ) -> int:
        params = {
            "source": source,
            "url": source_url,
            "title": title,
            "state": VideoState.NEW,
            "allow_duplicate": allow_duplicate,
        }
        return self.conn.execute(_ADD, params).scalar_one()

    def other_with_content(self, sha256: str, video_id: int) -> int | None:
        """Another video whose downloaded file has this SHA-256."""
        return self.conn.execute(_OTHER_WITH_CONTENT, {"sha": sha256, "id": video_id}).scalar()

    def record_download(
        self, video_id: int, original_key: str, sha256: str, title: str | None, source_url: str | None
    ) -> None:
        """The original now in storage; title and canonical URL only fill what is still empty."""
        params = {"id": video_id, "key": original_key, "sha": sha256, "title": title, "source_url": source_url}
        self.conn.execute(_RECORD_DOWNLOAD, params)

    def record_preprocess(self, video_id: int, result: Preprocessed) -> None:
        params = {
            "id": video_id,
            "master_key": result.master_key,
            "proxy_key": result.proxy_key,
            "features_key": result.features_key,
            "fps": result.fps,
            "frame_count": result.frame_count,
            "duration_seconds": result.duration_seconds,
            "width": result.width,
            "height": result.height,
            "rotation": result.rotation,
            "has_audio": result.has_audio,
            "probe": json.dumps(result.probe),
        }
        self.conn.execute(_RECORD_PREPROCESS, params)

    def record_grid(self, video_id: int, fps: float) -> None:
        """The frame rate of the proxy grid, known from the probe before preprocessing ends (chunked
        preprocessing: clips of the finished part are reviewed meanwhile)."""
        self.conn.execute(_RECORD_GRID, {"id": video_id, "fps": fps})

    def set_progress(self, video_id: int, while_state: str, fraction: float) -> None:
        """Progress of the running stage; ignored once the video left `while_state`."""
        fraction = max(0.0, min(1.0, fraction))
        self.conn.execute(_SET_PROGRESS, {"id": video_id, "state": while_state, "fraction": fraction})

    def count(self) -> int:
        return self.conn.execute(_COUNT).scalar_one()

    def state_counts(self) -> dict[str, int]:
        return dict(self.conn.execute(_STATE_COUNTS).all())

    def listing(self, limit: int, video_ids: list[int] | None = None) -> list[VideoSummary]:
        """Newest first (all, or just `video_ids`), with counts of each video's active and pending clips."""
        params = {
            "limit": limit,
            "ids": video_ids,
            "superseded": ClipState.SUPERSEDED,
            "pending": ClipState.PENDING_REVIEW,
            "video_stages": [s.name for s in STAGES.values() if s.entity is Entity.VIDEO],
            "skipped": ClipState.REVIEW_SKIPPED,
        }
        return [VideoSummary(*row) for row in self.conn.execute(_LISTING, params)]
