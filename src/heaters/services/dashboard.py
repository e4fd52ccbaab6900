"""Videos with their state, progress, error and clip counts: the dashboard, `heaters status`, `ingest --wait`."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from heaters.adapters.db.models import Clip, SourceVideo
from heaters.domain.redact import redact
from heaters.domain.states import FAILED_VIDEO_STATES, ClipState, VideoState
from heaters.runtime import Runtime

_RUNNING = {VideoState.DOWNLOADING, VideoState.PREPROCESSING, VideoState.DETECTING_SCENES}


@dataclass(frozen=True)
class VideoRow:
    id: int
    title: str
    source: str
    state: str
    progress: float | None
    last_error: str | None
    attempts: int
    duration_seconds: float | None
    frames: int | None
    fps: float | None
    clips: int
    pending_review: int
    reviewed: int

    @property
    def failed(self) -> bool:
        return self.state in FAILED_VIDEO_STATES

    @property
    def running(self) -> bool:
        return self.state in _RUNNING

    @property
    def ready_for_review(self) -> bool:
        return self.state == VideoState.SCENES_DETECTED and self.pending_review > 0

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "source": self.source,
            "state": self.state,
            "progress": None if self.progress is None else round(self.progress, 4),
            "last_error": self.last_error,
            "attempts": self.attempts,
            "duration_seconds": self.duration_seconds,
            "frames": self.frames,
            "fps": self.fps,
            "clips": self.clips,
            "pending_review": self.pending_review,
            "reviewed": self.reviewed,
            "failed": self.failed,
            "running": self.running,
        }


def list_videos(runtime: Runtime, limit: int = 200, video_ids: list[int] | None = None) -> list[VideoRow]:
    """Newest first (all, or just `video_ids`), with counts of the video's active clips."""
    active = Clip.state != ClipState.SUPERSEDED
    counts = (
        select(
            Clip.video_id,
            func.count().filter(active).label("clips"),
            func.count().filter(Clip.state == ClipState.PENDING_REVIEW).label("pending"),
        )
        .group_by(Clip.video_id)
        .subquery()
    )
    query = (
        select(SourceVideo, counts.c.clips, counts.c.pending)
        .outerjoin(counts, counts.c.video_id == SourceVideo.id)
        .order_by(SourceVideo.id.desc())
        .limit(limit)
    )
    if video_ids is not None:
        query = query.where(SourceVideo.id.in_(video_ids))
    with runtime.database.sessions() as session:
        rows = session.execute(query).all()
    return [
        VideoRow(
            id=video.id,
            title=video.title or _short_source(video.source),
            source=video.source,
            state=video.state,
            progress=video.progress,
            last_error=redact(video.last_error),  # also rows written before errors were redacted
            attempts=video.attempts,
            duration_seconds=video.duration_seconds,
            frames=video.frame_count,
            fps=video.fps,
            clips=clips or 0,
            pending_review=pending or 0,
            reviewed=(clips or 0) - (pending or 0),
        )
        for video, clips, pending in rows
    ]


def _short_source(source: str) -> str:
    return source.removeprefix("upload:").rstrip("/").rsplit("/", 1)[-1] or source
