"""Counts of videos and clips by state, for `heaters status` (the video list is `services.dashboard`)."""

from __future__ import annotations

from dataclasses import dataclass

from heaters.adapters.db.uow import connection
from heaters.domain.states import ClipState, VideoState
from heaters.runtime import Runtime


@dataclass(frozen=True)
class StatusCounts:
    videos: dict[str, int]
    clips: dict[str, int]

    def as_json(self) -> dict:
        return {"videos": self.videos, "clips": self.clips}


def status_counts(runtime: Runtime) -> StatusCounts:
    with connection(runtime.database) as uow:
        videos = uow.videos.state_counts()
        clips = uow.clips.state_counts()
    # Every state appears (with 0) so scripts can rely on the keys.
    return StatusCounts(
        videos={state.value: videos.get(state.value, 0) for state in VideoState},
        clips={state.value: clips.get(state.value, 0) for state in ClipState},
    )


def database_reachable(runtime: Runtime) -> bool:
    from heaters.adapters.db.connection import ping

    return ping(runtime.database)
