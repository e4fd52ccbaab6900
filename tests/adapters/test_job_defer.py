"""Queueing a job inside a transaction: the same job JobQueue.defer makes, visible exactly when the caller
commits, and a job already waiting absorbs the request without breaking the caller's transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from heaters.adapters.db.job_defer import defer_in_transaction
from heaters.domain.stages import EXPORT, KEYFRAMES

JOB_COLUMNS = "queue_name, task_name, priority, lock, queueing_lock, args, status"


def jobs(runtime) -> list[tuple]:
    with runtime.database.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(f"SELECT {JOB_COLUMNS} FROM procrastinate_jobs ORDER BY id"))]


def test_the_job_is_the_one_the_queue_makes_and_appears_only_on_commit(runtime):
    runtime.queue.defer(KEYFRAMES, 7)
    (reference,) = jobs(runtime)
    with runtime.database.engine.begin() as conn:
        defer_in_transaction(conn, KEYFRAMES, 8)
        assert len(jobs(runtime)) == 1  # not visible to anyone else before the commit
    made = jobs(runtime)[1]

    def expected(entity_id):
        lock = f"keyframes:{entity_id}"
        return ("heaters", "keyframes", 0, lock, lock, {"entity_id": entity_id}, "todo")

    assert (reference, made) == (expected(7), expected(8))


def test_nothing_is_queued_when_the_transaction_rolls_back(runtime):
    with pytest.raises(RuntimeError), runtime.database.engine.begin() as conn:
        defer_in_transaction(conn, EXPORT, 3, delay_seconds=5)
        raise RuntimeError("the action failed after queueing")
    assert jobs(runtime) == []


def test_a_waiting_job_absorbs_the_request_and_the_transaction_goes_on(runtime):
    runtime.queue.defer(EXPORT, 3, delay_seconds=60)
    with runtime.database.engine.begin() as conn:
        defer_in_transaction(conn, EXPORT, 3, delay_seconds=5)
        assert conn.execute(text("SELECT 1")).scalar() == 1  # still usable: the conflict was absorbed
        defer_in_transaction(conn, EXPORT, 4, delay_seconds=5)
    assert [(j[3], j[6]) for j in jobs(runtime)] == [("export:3", "todo"), ("export:4", "todo")]
    with runtime.database.engine.connect() as conn:
        delays = conn.execute(text("SELECT scheduled_at - now() FROM procrastinate_jobs ORDER BY id")).scalars().all()
    assert delays[0].total_seconds() > 30 and 0 < delays[1].total_seconds() <= 5  # the waiting job was kept
