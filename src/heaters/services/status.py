"""Counts of videos and clips by state, for `heaters status` (the video list is `services.dashboard`)."""

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
