"""The review page's one-transaction action path (`act_and_show`, `undo_and_show`) answers exactly what the
separate calls answer (`review.act` / `undo_last`, then `next_after`, then `page_state`), and is all or
nothing: a refused action leaves no event, no claim and no export job."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from heaters.domain.errors import Refused
from heaters.services import review, review_page
from tests.services.test_review import make_video


@pytest.fixture
def reviewers(runtime):
    from heaters.services.users import create_user

    return create_user(runtime.database, "ana", "password-1"), create_user(runtime.database, "ben", "password-2")


def separately(runtime, reviewer_id, clip_id, action, **kwargs) -> dict:
    """What the routes did before: three transactions."""
    if action == "undo":
        result = review.undo_last(runtime, reviewer_id)
        view = review_page.next_after(runtime, reviewer_id, -1, result)
    else:
        result = review.act(runtime, reviewer_id, clip_id, action, **kwargs)
        view = review_page.next_after(runtime, reviewer_id, clip_id, result)
    return {"result": result.as_json(), "state": review_page.page_state(runtime, reviewer_id, view)}


def together(runtime, reviewer_id, clip_id, action, **kwargs) -> dict:
    if action == "undo":
        return review_page.undo_and_show(runtime, reviewer_id)
    return review_page.act_and_show(runtime, reviewer_id, clip_id, action, **kwargs)


def claims(runtime) -> list[tuple]:
    with runtime.database.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT id, claimed_by FROM clips ORDER BY id"))]


def spans_of(timeline) -> list[tuple]:
    return [(c.start, c.end, str(c.state)) for c in timeline]


def held_spans(runtime, held: list[tuple]) -> set[tuple]:
    """Which frames each reviewer holds (clip ids differ between two runs of a cut operation)."""
    with runtime.database.engine.connect() as conn:
        span = {
            r.id: (r.start_frame, r.end_frame)
            for r in conn.execute(text("SELECT id, start_frame, end_frame FROM clips"))
        }
    return {(span[clip_id], reviewer_id) for clip_id, reviewer_id in held if reviewer_id is not None}


def restore_claims(runtime, held: list[tuple]) -> None:
    with runtime.database.engine.begin() as conn:
        conn.execute(text("UPDATE clips SET claimed_by = NULL, claim_expires_at = NULL"))
        for clip_id, reviewer_id in held:
            if reviewer_id is not None:
                conn.execute(
                    text(
                        "UPDATE clips SET claimed_by = :r, claim_expires_at = now() + interval '1 hour' WHERE id = :i"
                    ),
                    {"r": reviewer_id, "i": clip_id},
                )


def without_event_ids(answer: dict) -> dict:
    return answer | {"result": answer["result"] | {"event_id": None}}


@pytest.mark.parametrize(
    ("action", "kwargs"),
    [
        ("approve", {}),
        ("skip", {}),
        ("archive", {}),
        ("group", {}),
        ("split", {"frame": 75}),
        ("merge", {}),
        ("move_cut", {"frame": 100, "to_frame": 110}),  # the clip's own end: the page shows its new self
        ("move_cut", {"frame": 150, "to_frame": 160}),  # a cut away from the clip: the page stays on it
    ],
)
def test_one_transaction_answers_what_the_separate_calls_answer(runtime, reviewers, action, kwargs):
    ana, ben = reviewers
    video = make_video(runtime)
    review.claim_next(runtime, ben.id)  # another reviewer holds the first clip
    second = review_page.next_page_state(runtime, ana.id)["clip"]
    assert second["start_frame"] == 50
    before = claims(runtime)
    answers = []
    for perform in (separately, together):
        answer = perform(runtime, ana.id, second["id"], action, **kwargs)
        after = claims(runtime)
        timeline = review.video_timeline(runtime, video)
        answers.append((without_event_ids(answer), after, timeline))
        undone = perform(runtime, ana.id, None, "undo")  # back to the start, by the same path
        assert undone["result"]["action"] == "undo"
        restore_claims(runtime, before)  # and the claims as they were
    (separate, separate_claims, separate_timeline), (joint, joint_claims, joint_timeline) = answers
    if action in ("split", "merge", "move_cut"):  # new clips get new ids: compare spans, states and holders
        assert spans_of(joint_timeline) == spans_of(separate_timeline)
        assert joint["result"]["message"] == separate["result"]["message"]
        for key in ("start_frame", "end_frame", "state", "position", "count"):
            assert joint["state"]["clip"][key] == separate["state"]["clip"][key]
        assert held_spans(runtime, joint_claims) == held_spans(runtime, separate_claims)
    else:
        assert joint == separate
        assert joint_claims == separate_claims
        assert joint_timeline == separate_timeline


def test_a_refused_action_leaves_no_trace(runtime, reviewers):
    ana, _ = reviewers
    make_video(runtime)
    first = review_page.next_page_state(runtime, ana.id)["clip"]
    before = claims(runtime)
    with pytest.raises(Refused, match="first clip"):
        review_page.act_and_show(runtime, ana.id, first["id"], "group")
    with runtime.database.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM review_events")).scalar() == 0
    assert claims(runtime) == before


def test_an_approval_and_its_export_job_commit_together(runtime, reviewers):
    ana, _ = reviewers
    make_video(runtime, cuts=(100,))
    first = review_page.next_page_state(runtime, ana.id)["clip"]
    answer = review_page.act_and_show(runtime, ana.id, first["id"], "approve")
    assert answer["state"]["clip"]["start_frame"] == 100 and answer["state"]["upcoming"] == []
    with runtime.database.engine.connect() as conn:
        job = conn.execute(text("SELECT task_name, lock, args, scheduled_at > now() FROM procrastinate_jobs")).one()
    assert tuple(job) == ("export", f"export:{first['id']}", {"entity_id": first["id"]}, True)
    done = review_page.act_and_show(runtime, ana.id, answer["state"]["clip"]["id"], "approve")
    assert done["state"] == {"clip": None, "timeline": [], "upcoming": []}
