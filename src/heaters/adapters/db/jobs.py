"""The jobs gateway: pipeline jobs queued inside the caller's transaction, and the recovery query for
entities whose stage has no live job. (Queueing outside a transaction is `heaters.adapters.job_queue`.)"""

from __future__ import annotations

from sqlalchemy import text

from heaters.adapters.db.clips import Clips
from heaters.adapters.db.gateway import Gateway
from heaters.adapters.db.job_defer import defer_statement
from heaters.adapters.db.videos import Videos
from heaters.domain.stages import CHUNK_TASK, MANIFEST_TASK, Entity, Stage, chunk_lock, manifest_lock

CHUNK_PRIORITY = -1
_TABLES = {Entity.VIDEO: Videos.TABLE, Entity.CLIP: Clips.TABLE}
# Entities in a stage's ready or running state, without a todo/doing job holding that stage's lock.
_ORPHANS = """
    SELECT e.id FROM {table} AS e
    WHERE e.state IN (:ready, :running)
      AND NOT EXISTS (
        SELECT 1 FROM procrastinate_jobs AS j
        WHERE j.lock = :stage || ':' || e.id AND j.status IN ('todo', 'doing')
      )
    ORDER BY e.id
"""
_ORPHAN_QUERIES = {entity: text(_ORPHANS.format(table=table)) for entity, table in _TABLES.items()}


class Jobs(Gateway):
    def defer(self, stage: Stage, entity_id: int, *, delay_seconds: float = 0) -> None:
        """Queue `stage` for the entity when this transaction commits; no-op if one is already waiting."""
        self.write(defer_statement(stage.name, stage.lock(entity_id), entity_id, delay_seconds=delay_seconds))

    def defer_manifest(self, video_id: int) -> None:
        """Rewrite the video's export manifest when this transaction commits (no-op if one is waiting)."""
        self.write(defer_statement(MANIFEST_TASK, manifest_lock(video_id), video_id))

    def defer_chunk(self, chunk_id: int, *, delay_seconds: float = 0) -> None:
        """Queue the chunk's preprocessing job when this transaction commits (no-op if one is waiting)."""
        # Below every other job: a worker that finishes a chunk first runs the coordinator that chunk queued (it
        # settles the new clips for review) and any short job (an export) before its next chunk.
        self.write(
            defer_statement(
                CHUNK_TASK, chunk_lock(chunk_id), chunk_id, delay_seconds=delay_seconds, priority=CHUNK_PRIORITY
            )
        )

    def orphans(self, stage: Stage) -> list[int]:
        """Entities waiting for or running `stage` with no live job (their worker died between steps)."""
        params = {"ready": stage.ready, "running": stage.running, "stage": stage.name}
        return list(self.conn.execute(_ORPHAN_QUERIES[stage.entity], params).scalars())
