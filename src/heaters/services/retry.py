"""Retrying a failed stage by hand (`heaters retry`, the dashboard's Retry button)."""

from __future__ import annotations

from dataclasses import dataclass

from heaters.adapters.db.uow import transaction
from heaters.domain.errors import NotFound, Refused
from heaters.domain.stages import REFUSED, Entity, failed_states, stage_waiting_in
from heaters.runtime import Runtime


@dataclass(frozen=True)
class Retried:
    entity: str
    entity_id: int
    stage: str


def retry(runtime: Runtime, entity: Entity | str, entity_id: int) -> Retried:
    """Re-queue the failed stage of a video or clip, with a fresh attempt budget."""
    entity = Entity(entity)
    with transaction(runtime.database) as uow:
        table = uow.staged(entity)
        locked = table.lock_state(entity_id)
        if locked is None:
            raise NotFound(f"no {entity} {entity_id}")
        state, _ = locked
        if state not in failed_states(entity):
            raise Refused(f"{entity} {entity_id} is {state}, not failed: nothing to retry")
        stage = stage_waiting_in(entity, state)
        if uow.runs.last_outcome(stage.name, entity_id) == REFUSED:
            raise Refused(
                f"retrying cannot help: {stage.name} refused this {entity}'s input (see its error); fix the input, "
                "or the setting the error names, and submit it again"
            )
        table.reset_attempts(entity_id)
    runtime.queue.defer(stage, entity_id)
    return Retried(str(entity), entity_id, stage.name)
