"""The review page's path (`act_and_show`, `undo_and_show`): one transaction per action, all or nothing, claims
enforced, and racing reviewers on one video never see a stale timeline."""

from __future__ import annotations

import random
import threading

import pytest
from sqlalchemy import text

from heaters.domain.errors import HeatersError, Refused
from heaters.domain.review import HeldByAnother
from heaters.domain.timeline import check_mece
from heaters.services import review
from tests.services.test_review import make_video


@pytest.fixture
def reviewers(runtime):
    from heaters.services.users import create_user

    return [create_user(runtime.database, name, "password-1") for name in ("ana", "ben", "carla")]


def claims(runtime) -> list[tuple]:
    with runtime.database.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT id, claimed_by FROM clips ORDER BY id"))]


def events(runtime) -> int:
    with runtime.database.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM review_events")).scalar()


def test_a_refused_action_leaves_no_trace(runtime, reviewers):
    ana, *_ = reviewers
    make_video(runtime)
    first = review.next_page(runtime, ana.id).clip
    before = claims(runtime)
    with pytest.raises(Refused, match="first clip"):
        review.act_and_show(runtime, ana.id, first.id, "group")
    assert events(runtime) == 0
    assert claims(runtime) == before


def test_an_approval_and_its_export_job_commit_together(runtime, reviewers):
    ana, *_ = reviewers
    make_video(runtime, cuts=(100,))
    first = review.next_page(runtime, ana.id).clip
    answer = review.act_and_show(runtime, ana.id, first.id, "approve")
    assert answer.state.clip.start_frame == 100 and answer.state.upcoming == []
    with runtime.database.engine.connect() as conn:
        job = conn.execute(text("SELECT task_name, lock, args, scheduled_at > now() FROM procrastinate_jobs")).one()
    assert tuple(job) == ("export", f"export:{first.id}", {"entity_id": first.id}, True)
    done = review.act_and_show(runtime, ana.id, answer.state.clip.id, "approve")
    assert done.state.clip is None and done.state.upcoming == []


def test_a_clip_held_by_another_reviewer_can_be_viewed_but_not_acted_on(runtime, reviewers):
    ana, ben, _ = reviewers
    video = make_video(runtime)
    held = review.next_page(runtime, ben.id).clip
    shown = review.open_page(runtime, ana.id, held.id)  # viewing is fine
    assert shown.clip.id == held.id and shown.clip.state == "pending_review"
    for action, frames in (("approve", {}), ("archive", {}), ("split", {"frame": held.start_frame + 25})):
        with pytest.raises(HeldByAnother, match="ben"):
            review.act_and_show(runtime, ana.id, held.id, action, **frames)
    second = review.video_timeline(runtime, video)[1]
    with pytest.raises(HeldByAnother, match="ben"):  # merging into ben's clip changes it too
        review.act_and_show(runtime, ana.id, second.id, "merge")
    assert events(runtime) == 0
    review.act_and_show(runtime, ben.id, held.id, "approve")  # its holder acts


def test_racing_cut_operations_keep_the_timeline_mece_and_never_fail_unexpectedly(runtime, reviewers):
    """Three reviewers split, merge and group on one video at the same moment, round after round: every answer
    is a result or a readable refusal, and the clips cover the video exactly once after every round."""
    video = make_video(runtime, cuts=tuple(range(20, 400, 20)), frames=400)
    rng = random.Random(7)
    unexpected: list[BaseException] = []

    def reviewer_acts(reviewer_id: int, barrier: threading.Barrier, choice: tuple) -> None:
        action, clip_id, frame = choice
        barrier.wait()
        try:
            review.act_and_show(runtime, reviewer_id, clip_id, action, **({"frame": frame} if frame else {}))
        except Refused:
            pass  # the rules said no (held by another, already merged, …): a message, not a failure
        except (HeatersError, Exception) as error:  # noqa: BLE001 — anything else is the bug under test
            unexpected.append(error)

    for _ in range(25):
        timeline = review.video_timeline(runtime, video)
        barrier = threading.Barrier(len(reviewers))
        threads = []
        for reviewer in reviewers:
            clip = rng.choice(timeline[1:])
            action = rng.choice(("split", "merge", "group"))
            frame = rng.randrange(clip.start + 1, clip.end) if action == "split" and clip.end - clip.start > 1 else None
            if action == "split" and frame is None:
                action = "merge"
            threads.append(
                threading.Thread(target=reviewer_acts, args=(reviewer.id, barrier, (action, clip.id, frame)))
            )
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        after = review.video_timeline(runtime, video)
        check_mece([(c.start, c.end) for c in after], 400)
        groups: dict[int, list[int]] = {}
        for index, clip in enumerate(after):
            if clip.group_id is not None:
                groups.setdefault(clip.group_id, []).append(index)
        for members in groups.values():  # a group is a run of neighbouring clips
            assert members == list(range(members[0], members[0] + len(members)))
        with runtime.database.engine.begin() as conn:  # free every claim so the next round can act anywhere
            conn.execute(text("UPDATE clips SET claimed_by = NULL, claim_expires_at = NULL"))
    assert unexpected == []
