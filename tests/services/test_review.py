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


def act(runtime, reviewer_id, clip_id, action, **frames):
    """One action through the page's path; its result (the page's next clip is claimed as a side effect)."""
    return review.act_and_show(runtime, reviewer_id, clip_id, action, **frames).result


def undo(runtime, reviewer_id):
    return review.undo_and_show(runtime, reviewer_id).result


def claim(runtime, reviewer_id):
    return review.next_page(runtime, reviewer_id).clip


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
    first = claim(runtime, ana.id)
    second = claim(runtime, ben.id)
    assert (first.start_frame, second.start_frame) == (0, 50)
    assert claim(runtime, ana.id).id == first.id  # a held clip comes back to its holder
    assert (first.position, first.count, first.video_title) == (1, 4, "A video")


def test_an_expired_claim_returns_to_the_queue(runtime, reviewers):
    ana, ben = reviewers
    make_video(runtime, cuts=())
    held = claim(runtime, ana.id)
    assert claim(runtime, ben.id) is None
    with runtime.database.engine.begin() as conn:
        conn.execute(text("UPDATE clips SET claim_expires_at = now() - interval '1 second'"))
    assert claim(runtime, ben.id).id == held.id


def test_decisions_write_audit_events_naming_the_reviewer_and_undo_walks_back(runtime, reviewers):
    ana, _ = reviewers
    video = make_video(runtime)
    ids = [c.id for c in review.video_timeline(runtime, video)]
    act(runtime, ana.id, ids[0], "approve")
    act(runtime, ana.id, ids[1], "skip")
    act(runtime, ana.id, ids[2], "group")  # with the skipped clip before it: both approved, one group
    act(runtime, ana.id, ids[3], "archive")
    assert [s for *_, s in spans(runtime, video)] == ["review_approved"] * 3 + ["review_archived"]
    assert [c.group_id for c in review.video_timeline(runtime, video)] == [None, ids[1], ids[1], None]
    with runtime.database.sessions() as session:
        events = session.scalars(select(ReviewEvent).order_by(ReviewEvent.id)).all()
        assert [(e.action, e.actor_id) for e in events] == [
            (a, ana.id) for a in ("approve", "skip", "group", "archive")
        ]
    for _ in range(4):
        undo(runtime, ana.id)
    assert [s for *_, s in spans(runtime, video)] == ["pending_review"] * 4
    with pytest.raises(Refused, match="nothing to undo"):
        undo(runtime, ana.id)


def test_split_merge_move_then_undo_three_times_restores_the_exact_timeline(runtime, reviewers):
    ana, _ = reviewers
    video = make_video(runtime)
    original = review.video_timeline(runtime, video)
    second = original[1]
    split = act(runtime, ana.id, second.id, "split", frame=75)
    assert [(s, e) for s, e, _ in spans(runtime, video)] == [(0, 50), (50, 75), (75, 100), (100, 150), (150, 200)]
    assert split.focus_clip_id == review.video_timeline(runtime, video)[2].id  # the piece holding the split frame
    third = review.video_timeline(runtime, video)[3]
    act(runtime, ana.id, third.id, "merge")
    assert [(s, e) for s, e, _ in spans(runtime, video)] == [(0, 50), (50, 75), (75, 150), (150, 200)]
    act(runtime, ana.id, review.video_timeline(runtime, video)[1].id, "move_cut", frame=75, to_frame=80)
    assert [(s, e) for s, e, _ in spans(runtime, video)] == [(0, 50), (50, 80), (80, 150), (150, 200)]
    for _ in range(3):
        undo(runtime, ana.id)
    assert review.video_timeline(runtime, video) == original  # same ids, spans and states


def test_cut_operations_refused_next_to_a_clip_no_longer_under_review(runtime, reviewers):
    ana, _ = reviewers
    video = make_video(runtime)
    first, second, *_ = review.video_timeline(runtime, video)
    act(runtime, ana.id, first.id, "approve")
    with runtime.database.engine.begin() as conn:  # the export picked it up
        conn.execute(text("UPDATE clips SET state = 'exporting' WHERE id = :id"), {"id": first.id})
    with pytest.raises(Refused, match="merge|export"):
        act(runtime, ana.id, second.id, "merge")
    with pytest.raises(Refused, match="export"):
        undo(runtime, ana.id)
    assert [(s, e) for s, e, _ in spans(runtime, video)] == [(0, 50), (50, 100), (100, 150), (150, 200)]


def test_split_one_frame_before_a_clip_end_is_accepted(runtime, reviewers):
    """Any clip of one frame or more is allowed: fast-cut footage has real shots of a few frames."""
    ana, _ = reviewers
    video = make_video(runtime)
    second = review.video_timeline(runtime, video)[1]
    act(runtime, ana.id, second.id, "split", frame=99)
    assert [(s, e) for s, e, _ in spans(runtime, video)] == [(0, 50), (50, 99), (99, 100), (100, 150), (150, 200)]
    first = review.video_timeline(runtime, video)[0]
    act(runtime, ana.id, first.id, "split", frame=1)  # and one frame after a clip's start
    assert spans(runtime, video)[:2] == [(0, 1, "pending_review"), (1, 50, "pending_review")]
    tail = review.video_timeline(runtime, video)[3]
    assert (tail.start, tail.end) == (99, 100)
    with pytest.raises(Refused, match="already a cut"):
        act(runtime, ana.id, tail.id, "split", frame=99)


def test_approval_queues_export_after_the_grace_period(runtime, reviewers):
    ana, _ = reviewers
    video = make_video(runtime, cuts=())
    (clip,) = review.video_timeline(runtime, video)
    act(runtime, ana.id, clip.id, "approve")
    with runtime.database.engine.connect() as conn:
        job = conn.execute(text("SELECT task_name, lock, scheduled_at > now() FROM procrastinate_jobs")).one()
    assert tuple(job) == ("export", f"export:{clip.id}", True)


def test_skipped_clips_come_back_after_the_pending_ones(runtime, reviewers):
    ana, _ = reviewers
    make_video(runtime, cuts=(100,))
    first = claim(runtime, ana.id)
    result = act(runtime, ana.id, first.id, "skip")
    assert result.message == f"skipped clip {first.id}"
    second = claim(runtime, ana.id)
    assert second.start_frame == 100  # pending clips first
    act(runtime, ana.id, second.id, "approve")
    again = claim(runtime, ana.id)
    assert (again.id, again.state) == (first.id, "review_skipped")  # then the skipped one, to decide now
    act(runtime, ana.id, again.id, "archive")
    assert claim(runtime, ana.id) is None


def test_a_nudge_moves_the_cut_nearest_to_the_reviewers_frame(runtime, reviewers):
    """The page sends the frame it shows and a delta; the server picks the cut (domain.timeline.nearest_cut)."""
    ana, _ = reviewers
    video = make_video(runtime)  # cuts at 50, 100, 150
    second = review.video_timeline(runtime, video)[1]
    act(runtime, ana.id, second.id, "move_cut", frame=97, delta=2)  # nearest cut to frame 97 is 100
    assert spans(runtime, video)[1:3] == [(50, 102, "pending_review"), (102, 150, "pending_review")]
    with pytest.raises(Refused, match="frame the reviewer is on"):
        act(runtime, ana.id, review.video_timeline(runtime, video)[1].id, "move_cut", delta=1)


@pytest.mark.parametrize("durable", [False, True])
def test_an_action_waits_for_the_disk_only_when_review_commits_are_durable(runtime, reviewers, durable):
    """HEATERS_REVIEW_DURABLE_COMMIT: the action's own transaction (and only it) skips the commit's disk flush."""
    from heaters.adapters.db.uow import connection

    video_id = make_video(runtime)
    first = review.video_timeline(runtime, video_id)[0]
    with connection(runtime.database) as uow:
        with uow.transaction():
            uow.timeline.lock_of_clip(first.id, durable=durable)
            inside = uow.conn.execute(text("SHOW synchronous_commit")).scalar()
        after = uow.conn.execute(text("SHOW synchronous_commit")).scalar()
        uow.conn.rollback()
    assert (inside, after) == ("on" if durable else "off", "on")
    runtime.settings.review_durable_commit = durable
    ana = reviewers[0]
    act(runtime, ana.id, first.id, "approve")
    undo(runtime, ana.id)
    act(runtime, ana.id, first.id, "skip")
    assert [s for *_, s in spans(runtime, video_id)][0] == "review_skipped"
