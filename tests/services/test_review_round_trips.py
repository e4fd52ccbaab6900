"""What a key press costs the database, counted exactly (libpq's own protocol trace, no timing): BEGIN travels with
the video's timeline lock, every write of the action — its audit event included — with the COMMIT, and the commit
is on disk before the answer comes back, although the video's lock was let go before the disk flush; the next
clip's claim and page read follow in the COMMIT's round trip."""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path

import pytest
from psycopg.pq import Trace
from sqlalchemy import event, text

from heaters.adapters.db.uow import connection
from heaters.services import review
from tests.services.test_review import make_video


@pytest.fixture
def ana(runtime):
    from heaters.services.users import create_user

    return create_user(runtime.database, "ana", "password-1")


@contextmanager
def traced(runtime, path: Path):
    """Every message each pooled connection sends while the block runs, in `path` (libpq's PQtrace)."""
    files = []

    def trace(dbapi_connection, record, proxy) -> None:
        f = path.open("a")
        files.append((dbapi_connection, f))
        dbapi_connection.pgconn.trace(f.fileno())
        dbapi_connection.pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS)

    event.listen(runtime.database.engine, "checkout", trace)
    try:
        yield
    finally:
        event.remove(runtime.database.engine, "checkout", trace)
        for dbapi_connection, f in files:
            dbapi_connection.pgconn.untrace()
            f.close()


def claims(runtime) -> list[tuple]:
    with runtime.database.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT video_id, id, claimed_by FROM clips ORDER BY id"))]


def round_trips(path: Path) -> list[str]:
    """The client's requests that wait for an answer: a simple Query, or an extended-protocol Sync (one each)."""
    sent = [line for line in path.read_text().splitlines() if line.startswith("F\t")]
    return [line.split("\t")[2] for line in sent if line.split("\t")[2] in ("Query", "Sync")]


def queries(path: Path) -> list[str]:
    """The text of each simple-protocol Query sent (the trace writes it as it is, newlines included)."""
    messages = re.findall(r'^F\t\d+\tQuery\t "(.*?)"\n(?=[FB]\t)', path.read_text(), re.M | re.S)
    return [m.strip() for m in messages]


@pytest.mark.parametrize("action", ["approve", "skip", "archive"])
def test_a_decision_costs_two_round_trips(runtime, ana, tmp_path, action):
    make_video(runtime, cuts=(50, 100, 150))
    first = review.next_page(runtime, ana.id).clip
    log = tmp_path / "trace.log"
    with traced(runtime, log):
        answer = review.act_and_show(runtime, ana.id, first.id, action)
    assert answer.state.clip is not None and answer.state.clip.id != first.id
    # BEGIN + lock + timeline read; writes + event + COMMIT + the wait for the disk + claim and read the next page
    assert len(round_trips(log)) == 2, log.read_text()
    lock, writes = queries(log)
    assert lock.startswith("BEGIN;") and "SET LOCAL synchronous_commit = off;" in lock  # lock let go at COMMIT …
    assert "INSERT INTO review_events" in writes and "UPDATE clips" in writes
    assert re.search(
        r"COMMIT;\s*SELECT pg_logical_emit_message\(false, 'heaters', 'durable', true\);\s*WITH claimed", writes
    )


def test_an_undo_costs_three_round_trips(runtime, ana, tmp_path):
    make_video(runtime, cuts=(50, 100, 150))
    first = review.next_page(runtime, ana.id).clip
    review.act_and_show(runtime, ana.id, first.id, "approve")
    log = tmp_path / "trace.log"
    with traced(runtime, log):
        answer = review.undo_and_show(runtime, ana.id)
    assert answer.state.clip.id == first.id and answer.state.clip.state == "pending_review"
    # history; BEGIN + lock; writes (the clip held before let go) + COMMIT + disk + hold and read the page
    assert len(round_trips(log)) == 3, log.read_text()
    assert [c[1] for c in claims(runtime) if c[2] == ana.id] == [first.id]  # one clip at a time


def test_an_action_is_on_disk_before_its_answer(runtime, ana):
    """Durable by default: once `act_and_show` returns, the WAL is flushed past the action's COMMIT, although the
    COMMIT itself did not wait (the video's lock was free for the next reviewer during the flush)."""
    assert runtime.settings.review_durable_commit
    make_video(runtime, cuts=(50, 100, 150))
    first = review.next_page(runtime, ana.id).clip
    with connection(runtime.database) as uow:
        with uow.action():
            uow.timeline.lock_of_clip(first.id, durable=True)
            uow.review_queue.hold(ana.id, first.id, _now(), _later())
        flushed = uow.conn.execute(text("SELECT pg_current_wal_flush_lsn() >= pg_current_wal_insert_lsn()")).scalar()
    assert flushed


def test_writes_held_for_the_commit_are_dropped_when_the_action_fails(runtime, ana):
    make_video(runtime, cuts=(50, 100, 150))
    first = review.next_page(runtime, ana.id).clip
    with pytest.raises(RuntimeError), connection(runtime.database) as uow, uow.action():
        uow.timeline.lock_of_clip(first.id)
        uow.events.append(
            actor_id=ana.id, video_id=first.video_id, clip_id=first.id, action="approve", payload={}, inverse=None
        )
        uow.jobs.defer_manifest(first.video_id)
        raise RuntimeError("the rules said no")
    with runtime.database.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM review_events")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM procrastinate_jobs")).scalar() == 0


def test_a_write_before_any_lock_still_runs_in_the_transaction(runtime, ana):
    """A write held back with nothing begun yet gets its BEGIN at the COMMIT: never one statement at a time."""
    make_video(runtime, cuts=(50, 100, 150))
    first = review.next_page(runtime, ana.id).clip
    with connection(runtime.database) as uow:
        with uow.action():
            uow.jobs.defer_manifest(first.video_id)
            uow.review_queue.hold(ana.id, first.id, _now(), _later())
        assert uow.conn.execute(text("SELECT count(*) FROM procrastinate_jobs")).scalar() == 1


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _later():
    from datetime import timedelta

    return _now() + timedelta(minutes=5)


def test_held_writes_keep_every_value_exactly(runtime, ana):
    """Writes held for the COMMIT are bound on the client (psycopg's quoting): awkward text arrives unchanged."""
    make_video(runtime, cuts=(50,))
    first = review.next_page(runtime, ana.id).clip
    awkward = {"note": 'it\'s 100% \\ done; DROP TABLE clips; -- ünïcödé ✓ $defer$ "quoted"'}
    with connection(runtime.database) as uow:
        with uow.action():
            locked = uow.timeline.lock_of_clip(first.id)
            uow.events.append(
                actor_id=ana.id,
                video_id=first.video_id,
                clip_id=first.id,
                action="approve",
                payload=awkward,
                inverse=None,
                reserved_id=locked.event_id,
            )
        stored = uow.conn.execute(text("SELECT id, payload FROM review_events")).one()
    assert tuple(stored) == (locked.event_id, awkward)
