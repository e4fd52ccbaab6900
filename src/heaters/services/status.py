"""Counts of videos and clips by state, for `heaters status` and the dashboard."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from heaters.adapters.db.connection import Database
from heaters.adapters.db.models import Clip, SourceVideo
from heaters.domain.states import ClipState, VideoState


@dataclass(frozen=True)
class StatusCounts:
    videos: dict[str, int]
    clips: dict[str, int]

    def as_json(self) -> dict:
        return {"videos": self.videos, "clips": self.clips}


def status_counts(database: Database) -> StatusCounts:
    with database.sessions() as session:
        videos = dict(session.execute(select(SourceVideo.state, func.count()).group_by(SourceVideo.state)).all())
        clips = dict(session.execute(select(Clip.state, func.count()).group_by(Clip.state)).all())
    # Every state appears (with 0) so scripts can rely on the keys.
    return StatusCounts(
        videos={state.value: videos.get(state.value, 0) for state in VideoState},
        clips={state.value: clips.get(state.value, 0) for state in ClipState},
    )


def video_summaries(database: Database, video_ids: list[int] | None = None, limit: int = 200) -> list[dict]:
    """Videos with their state and progress (newest first), for `status`, `ingest --wait` and the dashboard."""
    clip_count = (
        select(func.count())
        .where(Clip.video_id == SourceVideo.id, Clip.state != ClipState.SUPERSEDED)
        .correlate(SourceVideo)
        .scalar_subquery()
    )
    query = select(SourceVideo, clip_count).order_by(SourceVideo.id.desc()).limit(limit)
    if video_ids is not None:
        query = query.where(SourceVideo.id.in_(video_ids))
    with database.sessions() as session:
        rows = session.execute(query).all()
    return [
        {
            "id": v.id,
            "title": v.title or v.source,
            "source": v.source,
            "state": v.state,
            "progress": v.progress,
            "attempts": v.attempts,
            "last_error": v.last_error,
            "frames": v.frame_count,
            "fps": v.fps,
            "clips": clips,
        }
        for v, clips in rows
    ]
