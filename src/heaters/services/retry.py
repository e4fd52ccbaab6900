"""Retrying a failed stage by hand (`heaters retry`, the dashboard's Retry button)."""

from __future__ import annotations

from dataclasses import dataclass

from heaters.adapters.db.models import Clip, SourceVideo
from heaters.domain.errors import NotFound, Refused
from heaters.domain.stages import Entity, stage_waiting_in
from heaters.domain.states import FAILED_CLIP_STATES, FAILED_VIDEO_STATES
from heaters.runtime import Runtime


@dataclass(frozen=True)
class Retried:
    entity: str
    entity_id: int
    stage: str


def retry(runtime: Runtime, entity: Entity | str, entity_id: int) -> Retried:
    """Re-queue the failed stage of a video or clip, with a fresh attempt budget."""
    entity = Entity(entity)
    model, failed_states = (SourceVideo, FAILED_VIDEO_STATES) if entity is Entity.VIDEO else (Clip, FAILED_CLIP_STATES)
    with runtime.database.sessions.begin() as session:
        row = session.get(model, entity_id, with_for_update=True)
        if row is None:
            raise NotFound(f"no {entity} {entity_id}")
        if row.state not in failed_states:
            raise Refused(f"{entity} {entity_id} is {row.state}, not failed: nothing to retry")
        stage = stage_waiting_in(entity, row.state)
        row.attempts = 0
    runtime.queue.defer(stage, entity_id)
    return Retried(str(entity), entity_id, stage.name)
