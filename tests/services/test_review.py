"""Review use cases on a real PostgreSQL: claims, every action, undo walking back, refusals, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from heaters.adapters.db.models import Clip as ClipRow
from heaters.adapters.db.models import ReviewEvent, SourceVideo
from heaters.domain.errors import Refused
from heaters.domain.timeline import clips_from_cuts
from heaters.services import review
from heaters.services.users import create_user


@pytest.fixture
def reviewers(runtime):
    return create_user(runtime.database, "ana", "password-1"), create_user(runtime.database, "ben", "password-2")


def make_video(runtime, cuts=(50, 100, 150), frames=200, fps=25.0) -> int:
    with runtime.database.sessions.begin() as session:
        video = SourceVideo(
            source="x.mp4", title="A video", state="scenes_detected", attempts=0, fps=fps, frame_count=frames
        )
        session.add(video)
        session.flush()
        for start, end in clips_from_cuts(list(cuts), frames, 1):
            session.add(
                ClipRow(video_id=video.id, start_frame=start, end_frame=end, state="pending_review", attempts=0)
            )
        return video.id


def spans(runtime, video_id):
    return [(c.start, c.end, str(c.state)) for c in review.video_timeline(runtime, video_id)]


def test_two_reviewers_claim_different_clips_in_video_then_time_order(runtime, reviewers):
    ana, ben = reviewers
    make_video(runtime)
    first = review.claim_next(runtime, ana.id)
    second = review.claim_next(runtime, ben.id)
    assert (first.start_frame, second.start_frame) == (0, 50)
    assert review.claim_next(runtime, ana.id).id == first.id  # a held clip comes back to its holder
    assert (first.position, first.count, first.video_title) == (1, 4, "A video")


def test_an_expired_claim_returns_to_the_queue(runtime, reviewers):
    ana, ben = reviewers
    make_video(runtime, cuts=())
    held = review.claim_next(runtime, ana.id)
    assert review.claim_next(runtime, ben.id) is None
    with runtime.database.engine.begin() as conn:
        conn.execute(text("UPDATE clips SET claim_expires_at = now() - interval '1 second'"))
    assert review.claim_next(runtime, ben.id).id == held.id


def test_decisions_write_audit_events_naming_the_reviewer_and_undo_walks_back(runtime, reviewers):
    ana, _ = reviewers
    video = make_video(runtime)
    ids = [c.id for c in review.video_timeline(runtime, video)]
    review.act(runtime, ana.id, ids[0], "approve")
    review.act(runtime, ana.id, ids[1], "skip")
    review.act(runtime, ana.id, ids[2], "group")  # with the skipped clip before it: both approved, one group
    review.act(runtime, ana.id, ids[3], "archive")
    assert [s for *_, s in spans(runtime, video)] == ["review_approved"] * 3 + ["review_archived"]
    assert [c.group_id for c in review.video_timeline(runtime, video)] == [None, ids[1], ids[1], None]
    with runtime.database.sessions() as session:
        events = session.scalars(select(ReviewEvent).order_by(ReviewEvent.id)).all()
        assert [(e.action, e.actor_id) for e in events] == [
            (a, ana.id) for a in ("approve", "skip", "group", "archive")
        ]
    for _ in range(4):
        review.undo_last(runtime, ana.id)
    assert [s for *_, s in spans(runtime, video)] == ["pending_review"] * 4
    with pytest.raises(Refused, match="nothing to undo"):
        review.undo_last(runtime, ana.id)


def test_split_merge_move_then_undo_three_times_restores_the_exact_timeline(runtime, reviewers):
    ana, _ = reviewers
    video = make_video(runtime)
    original = review.video_timeline(runtime, video)
    second = original[1]
    split = review.act(runtime, ana.id, second.id, "split", frame=75)
    assert [(s, e) for s, e, _ in spans(runtime, video)] == [(0, 50), (50, 75), (75, 100), (100, 150), (150, 200)]
    third = review.video_timeline(runtime, video)[3]
    review.act(runtime, ana.id, third.id, "merge")
    assert [(s, e) for s, e, _ in spans(runtime, video)] == [(0, 50), (50, 75), (75, 150), (150, 200)]
    review.act(runtime, ana.id, split.focus_clip_id, "move_cut", frame=75, to_frame=80)
    assert [(s, e) for s, e, _ in spans(runtime, video)] == [(0, 50), (50, 80), (80, 150), (150, 200)]
    for _ in range(3):
        review.undo_last(runtime, ana.id)
    assert review.video_timeline(runtime, video) == original  # same ids, spans and states


def test_cut_operations_refused_next_to_a_clip_no_longer_under_review(runtime, reviewers):
    ana, _ = reviewers
    video = make_video(runtime)
    first, second, *_ = review.video_timeline(runtime, video)
    review.act(runtime, ana.id, first.id, "approve")
    with runtime.database.engine.begin() as conn:  # the export picked it up
        conn.execute(text("UPDATE clips SET state = 'exporting' WHERE id = :id"), {"id": first.id})
    with pytest.raises(Refused, match="merge|export"):
        review.act(runtime, ana.id, second.id, "merge")
    with pytest.raises(Refused, match="export"):
        review.undo_last(runtime, ana.id)
    assert [(s, e) for s, e, _ in spans(runtime, video)] == [(0, 50), (50, 100), (100, 150), (150, 200)]


def test_split_one_frame_before_a_clip_end_is_accepted(runtime, reviewers):
    """Any clip of one frame or more is allowed: fast-cut footage has real shots of a few frames."""
    ana, _ = reviewers
    video = make_video(runtime)
    second = review.video_timeline(runtime, video)[1]
    review.act(runtime, ana.id, second.id, "split", frame=99)
    assert [(s, e) for s, e, _ in spans(runtime, video)] == [(0, 50), (50, 99), (99, 100), (100, 150), (150, 200)]
    first = review.video_timeline(runtime, video)[0]
    review.act(runtime, ana.id, first.id, "split", frame=1)  # and one frame after a clip's start
    assert spans(runtime, video)[:2] == [(0, 1, "pending_review"), (1, 50, "pending_review")]
    tail = review.video_timeline(runtime, video)[3]
    assert (tail.start, tail.end) == (99, 100)
    with pytest.raises(Refused, match="already a cut"):
        review.act(runtime, ana.id, tail.id, "split", frame=99)


def test_approval_queues_export_after_the_grace_period(runtime, reviewers):
    ana, _ = reviewers
    video = make_video(runtime, cuts=())
    (clip,) = review.video_timeline(runtime, video)
    review.act(runtime, ana.id, clip.id, "approve")
    with runtime.database.engine.connect() as conn:
        job = conn.execute(text("SELECT task_name, lock, scheduled_at > now() FROM procrastinate_jobs")).one()
    assert tuple(job) == ("export", f"export:{clip.id}", True)


def test_skipped_clips_come_back_after_the_pending_ones(runtime, reviewers):
    ana, _ = reviewers
    make_video(runtime, cuts=(100,))
    first = review.claim_next(runtime, ana.id)
    result = review.act(runtime, ana.id, first.id, "skip")
    assert result.message == f"skipped clip {first.id}"
    second = review.claim_next(runtime, ana.id)
    assert second.start_frame == 100  # pending clips first
    review.act(runtime, ana.id, second.id, "approve")
    again = review.claim_next(runtime, ana.id)
    assert (again.id, again.state) == (first.id, "review_skipped")  # then the skipped one, to decide now
    review.act(runtime, ana.id, again.id, "archive")
    assert review.claim_next(runtime, ana.id) is None
