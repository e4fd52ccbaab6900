"""The clip-boundaries gateway on a real PostgreSQL: record, read back, idempotent, constraints."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from heaters.adapters.db.boundaries import record_boundaries, video_boundaries
from heaters.adapters.db.connection import Database
from heaters.domain.shots import Boundary


def _video(conn) -> int:
    return conn.execute(
        text("INSERT INTO source_videos (source, state, attempts) VALUES ('x', 'new', 0) RETURNING id")
    ).scalar_one()


def test_boundaries_and_suggestions_round_trip_and_recording_twice_changes_nothing(database: Database):
    kept = [Boundary(30, "cut", (29, 30), 0.98), Boundary(80, "dissolve", (72, 88), 0.61)]
    suggested = [Boundary(55, "cut", (54, 55), 0.31)]
    with database.engine.begin() as conn:
        video = _video(conn)
        record_boundaries(conn, video, kept, suggested)
        record_boundaries(conn, video, [Boundary(30, "cut", (29, 30), 0.5)], [])  # a retried stage
    with database.engine.connect() as conn:
        stored = video_boundaries(conn, video)
        assert video_boundaries(conn, video + 1).boundaries == ()
    assert stored.boundaries == tuple(kept) and stored.suggested == tuple(suggested)
    assert [b.frame for b in stored.by_confidence()] == [55, 80, 30]  # cut review: least confident first


def test_the_database_refuses_an_unknown_kind_or_a_confidence_outside_0_1(database: Database):
    for bad in (Boundary(10, "wipe", (9, 10), 0.9), Boundary(10, "cut", (9, 10), 1.5)):
        with pytest.raises(IntegrityError), database.engine.begin() as conn:
            record_boundaries(conn, _video(conn), [bad])
