"""Queueing a pipeline job inside the caller's database transaction (procrastinate's own SQL function).

`heaters.adapters.job_queue.JobQueue.defer` queues through procrastinate's connection pool, so the job is
visible at once and independently of whatever the caller is writing. A review approval instead queues its
export here, on the action's own connection: the job appears exactly when the approval commits (never for
an approval that rolled back, never missing for one that committed), and it costs one round trip on a
connection the action already holds.

The statement is procrastinate's `defer_jobs` query (`procrastinate_defer_jobs_v1`, sql/queries.sql) for the
same job `JobQueue.defer` would create: queue, task name, priority 0, lock and queueing lock
`Stage.lock(id)`, arguments `{"entity_id": id}`. It runs in a PL/pgSQL block so that "a job for it is already
waiting" (the queueing lock's unique index) is absorbed in a subtransaction instead of aborting the
caller's transaction — the same outcome as `JobQueue.defer` returning False.
"""

from __future__ import annotations

import math
import re

from sqlalchemy import Connection

from heaters.adapters.job_queue import QUEUE
from heaters.domain.stages import Stage

_SAFE_NAME = re.compile(r"[a-z_]+")
_SAFE_LOCK = re.compile(r"[a-z_]+:[0-9]+")


def defer_in_transaction(conn: Connection, stage: Stage, entity_id: int, *, delay_seconds: float = 0) -> None:
    """Queue `stage` for the entity when the caller's transaction commits; no-op if one is already waiting."""
    conn.exec_driver_sql(defer_statement(stage.name, stage.lock(entity_id), entity_id, delay_seconds=delay_seconds))


def defer_task_in_transaction(
    conn: Connection, task: str, lock: str, entity_id: int, *, delay_seconds: float = 0, priority: int = 0
) -> None:
    """Queue the task `task(entity_id=…)` under `lock` when the caller's transaction commits (see above)."""
    conn.exec_driver_sql(defer_statement(task, lock, entity_id, delay_seconds=delay_seconds, priority=priority))


def defer_statement(task: str, lock: str, entity_id: int, *, delay_seconds: float = 0, priority: int = 0) -> str:
    """The statement that queues `task(entity_id=…)` under `lock` (see above): plain SQL, every value checked."""
    # A DO block takes no bind parameters; every value below is an int, a float or a checked name.
    entity_id, priority = int(entity_id), int(priority)
    if not _SAFE_NAME.fullmatch(task) or not _SAFE_NAME.fullmatch(QUEUE):
        raise ValueError(f"unexpected task or queue name: {task!r}, {QUEUE!r}")
    if not _SAFE_LOCK.fullmatch(lock):
        raise ValueError(f"unexpected lock: {lock!r}")
    if not math.isfinite(delay_seconds) or delay_seconds < 0:
        raise ValueError(f"delay must be a finite number of seconds >= 0, not {delay_seconds!r}")
    scheduled_at = f"clock_timestamp() + make_interval(secs => {float(delay_seconds)!r})" if delay_seconds else "NULL"
    return f"""
        DO $defer$ BEGIN
            PERFORM procrastinate_defer_jobs_v1(ARRAY[ROW(
                '{QUEUE}', '{task}', {priority}, '{lock}', '{lock}',
                jsonb_build_object('entity_id', {entity_id}), {scheduled_at}
            )::procrastinate_job_to_defer_v1]);
        EXCEPTION WHEN unique_violation THEN
            NULL;  -- a job for this entity is already waiting: that one will do
        END $defer$
    """
