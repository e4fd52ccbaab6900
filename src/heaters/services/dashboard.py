"""Videos with their state, progress, error and clip counts: the dashboard, `heaters status`, `ingest --wait`."""

from __future__ import annotations

from dataclasses import dataclass

from heaters.adapters.db.uow import connection
from heaters.domain.redact import redact
from heaters.domain.stages import REFUSED
from heaters.domain.states import FAILED_VIDEO_STATES, VideoState
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
    reviewed: int  # decided: neither pending nor skipped
    skipped: int = 0
    last_run_outcome: str | None = None
    # a long video being preprocessed in chunks: [{"index", "state", "progress"}] (index -1: the audio)
    chunks: tuple[dict, ...] = ()

    @property
    def failed(self) -> bool:
        return self.state in FAILED_VIDEO_STATES

    @property
    def running(self) -> bool:
        return self.state in _RUNNING

    @property
    def retryable(self) -> bool:
        """Failed, and not because the input itself was refused: a retry can succeed."""
        return self.failed and self.last_run_outcome != REFUSED

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
            "skipped": self.skipped,
            "failed": self.failed,
            "retryable": self.retryable,
            "running": self.running,
            "chunks": list(self.chunks),
        }


def list_videos(runtime: Runtime, limit: int = 200, video_ids: list[int] | None = None) -> list[VideoRow]:
    """Newest first (all, or just `video_ids`), with counts of the video's active clips."""
    with connection(runtime.database) as uow:
        summaries = uow.videos.listing(limit, video_ids)
        preprocessing = [v.id for v in summaries if v.state == VideoState.PREPROCESSING]
        chunks = uow.chunks.of_videos(preprocessing) if preprocessing else {}
    return [
        VideoRow(
            id=v.id,
            title=v.title or _short_source(v.source),
            source=v.source,
            state=v.state,
            progress=v.progress,
            last_error=redact(v.last_error),  # also rows written before errors were redacted
            attempts=v.attempts,
            duration_seconds=v.duration_seconds,
            frames=v.frame_count,
            fps=v.fps,
            clips=v.clips,
            pending_review=v.pending_review,
            reviewed=v.clips - v.pending_review - v.skipped,
            skipped=v.skipped,
            last_run_outcome=v.last_run_outcome,
            chunks=tuple(
                {"index": c.index, "state": c.state, "progress": None if c.progress is None else round(c.progress, 3)}
                for c in chunks.get(v.id, [])
            ),
        )
        for v in summaries
    ]


def _short_source(source: str) -> str:
    return source.removeprefix("upload:").rstrip("/").rsplit("/", 1)[-1] or source
