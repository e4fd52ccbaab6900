"""Finds work left mid-way and queues it again (runs periodically in every worker).

- Jobs of a dead worker (no heartbeat) stay `doing` forever and keep their lock: put them back to `todo`.
- Entities waiting for or running a stage with no live job (a worker died between committing a stage
  and queueing the next, or the job row was lost): queue that stage.
Failed entities are left alone: their retries were queued when they failed (`runner._fail`).
"""

from __future__ import annotations

import logging

import procrastinate

from heaters.adapters.db.uow import connection
from heaters.domain.stages import STAGES
from heaters.runtime import Runtime

log = logging.getLogger(__name__)


async def retry_stalled_jobs(app: procrastinate.App, stalled_after_seconds: float) -> int:
    stalled = await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after_seconds)
    count = 0
    for job in stalled:
        await app.job_manager.retry_job(job)
        count += 1
    if count:
        log.warning("re-queued %d stalled job(s) of dead workers", count)
    return count


def requeue_orphans(runtime: Runtime) -> int:
    count = 0
    with connection(runtime.database) as uow:
        orphans = [(stage, uow.jobs.orphans(stage)) for stage in STAGES.values()]
    for stage, ids in orphans:
        for entity_id in ids:
            delay = runtime.settings.export_grace_seconds if stage.name == "export" else 0
            if runtime.queue.defer(stage, entity_id, delay_seconds=delay):
                count += 1
    if count:
        log.warning("re-queued %d stage(s) left without a job", count)
    return count
