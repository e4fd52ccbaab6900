"""The schema on a real PostgreSQL: migrations, the no-overlap constraint, the append-only audit trail."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, ProgrammingError

from heaters.adapters.db.connection import Database


def _video(conn) -> int:
    return conn.execute(
        text("INSERT INTO source_videos (source, state, attempts) VALUES ('x', 'new', 0) RETURNING id")
    ).scalar_one()


def _clip(conn, video_id: int, start: int, end: int, state: str = "pending_review") -> int:
    return conn.execute(
        text(
            "INSERT INTO clips (video_id, start_frame, end_frame, state, attempts) "
            "VALUES (:v, :s, :e, :st, 0) RETURNING id"
        ),
        {"v": video_id, "s": start, "e": end, "st": state},
    ).scalar_one()


def test_migrations_create_extensions_and_tables(database: Database):
    with database.engine.connect() as conn:
        extensions = set(conn.execute(text("SELECT extname FROM pg_extension")).scalars())
        tables = set(conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars())
    assert {"vector", "btree_gist"} <= extensions
    assert {"source_videos", "clips", "review_events", "artifacts", "embeddings", "users"} <= tables


def test_database_refuses_overlapping_active_clips_that_bypass_the_domain(database: Database):
    with database.engine.begin() as conn:
        video = _video(conn)
        _clip(conn, video, 0, 100)
    with pytest.raises(IntegrityError, match="clips_no_overlap"):
        with database.engine.begin() as conn:
            _clip(conn, video, 50, 150)
    with database.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM clips")).scalar_one() == 1


def test_overlap_is_checked_at_commit_so_a_cut_operation_can_pass_through_intermediate_states(database: Database):
    with database.engine.begin() as conn:
        video = _video(conn)
        first = _clip(conn, video, 0, 100)
        second = _clip(conn, video, 100, 200)
    with database.engine.begin() as conn:
        # Move the cut from 100 to 120: momentarily both clips cover [100, 120).
        conn.execute(text("UPDATE clips SET end_frame = 120 WHERE id = :id"), {"id": first})
        conn.execute(text("UPDATE clips SET start_frame = 120 WHERE id = :id"), {"id": second})
    with database.engine.connect() as conn:
        spans = conn.execute(text("SELECT start_frame, end_frame FROM clips ORDER BY start_frame")).all()
    assert [tuple(s) for s in spans] == [(0, 120), (120, 200)]


def test_superseded_clips_may_overlap_active_ones_and_other_videos_are_independent(database: Database):
    with database.engine.begin() as conn:
        video, other = _video(conn), _video(conn)
        _clip(conn, video, 0, 100, state="superseded")
        _clip(conn, video, 0, 50)
        _clip(conn, video, 50, 100)
        _clip(conn, other, 0, 100)
    with database.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM clips")).scalar_one() == 4


def test_invalid_range_refused(database: Database):
    with pytest.raises(IntegrityError, match="clip_range_valid"):
        with database.engine.begin() as conn:
            _clip(conn, _video(conn), 10, 10)


def test_review_events_are_append_only(database: Database):
    with database.engine.begin() as conn:
        event = conn.execute(
            text("INSERT INTO review_events (action, payload) VALUES ('approve', '{}') RETURNING id")
        ).scalar_one()
    for statement in (
        "UPDATE review_events SET action = 'skip' WHERE id = :id",
        "DELETE FROM review_events WHERE id = :id",
    ):
        with pytest.raises(ProgrammingError, match="append-only"):
            with database.engine.begin() as conn:
                conn.execute(text(statement), {"id": event})


def test_the_clips_a_reviewer_holds_are_found_by_index_not_by_scanning_every_clip(database: Database):
    """Migration 0008: releasing a reviewer's other claims (and asking whether they hold any) on every page read
    must not scan the clips table."""
    with database.engine.begin() as conn:
        video = _video(conn)
        user = conn.execute(
            text("INSERT INTO users (name, password_hash) VALUES ('holder', 'x') RETURNING id")
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO clips (video_id, start_frame, end_frame, state, attempts) "
                "SELECT :v, n, n + 1, 'pending_review', 0 FROM generate_series(0, 19999) AS n"
            ),
            {"v": video},
        )
        conn.execute(text("UPDATE clips SET claimed_by = :u WHERE start_frame = 7"), {"u": user})
        conn.execute(text("ANALYZE clips"))
        index = conn.execute(text("SELECT indexdef FROM pg_indexes WHERE indexname = 'clips_claimed_by'")).scalar()
        plan = "\n".join(
            conn.execute(text("EXPLAIN SELECT id FROM clips WHERE claimed_by = :u AND id <> 3"), {"u": user}).scalars()
        )
    assert index is not None and "WHERE (claimed_by IS NOT NULL)" in index
    assert "clips_claimed_by" in plan and "Seq Scan" not in plan, plan
