"""The timeline core: clips from cuts, MECE checks, cut operations, their refusals and their exact undo."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heaters.domain.errors import BadInput, Refused
from heaters.domain.states import UNDER_REVIEW, ClipState, can_transition_clip
from heaters.domain.timeline import (
    AppliedCut,
    Clip,
    CutPlan,
    MeceViolation,
    add_cut,
    apply_plan,
    check_mece,
    clips_from_cuts,
    move_cut,
    nearest_cut,
    record_applied,
    remove_cut,
    undo_plan,
)

P, A, S, X = (
    ClipState.PENDING_REVIEW,
    ClipState.REVIEW_APPROVED,
    ClipState.REVIEW_SKIPPED,
    ClipState.REVIEW_ARCHIVED,
)
EXPORTING, EXPORTED, SUPERSEDED = ClipState.EXPORTING, ClipState.EXPORTED, ClipState.SUPERSEDED

# Exact undo of a cut over a skipped clip returns it from `superseded` to `review_skipped`.
TABLE_RESTORES_SKIPPED = can_transition_clip(SUPERSEDED, S)
needs_skipped_restore = pytest.mark.skipif(
    not TABLE_RESTORES_SKIPPED,
    reason="states.py lacks superseded -> review_skipped (needed to undo a cut over a skipped clip exactly)",
)


def timeline_of(*spans: tuple[int, int], states: tuple[ClipState, ...] = ()) -> tuple[Clip, ...]:
    states = states or (P,) * len(spans)
    return tuple(Clip(i + 1, s, e, st_) for i, ((s, e), st_) in enumerate(zip(spans, states, strict=True)))


def spans_of(timeline) -> list[tuple[int, int]]:
    return [c.span for c in timeline]


def apply(timeline, plan: CutPlan, first_new_id: int = 100):
    """Apply a forward plan; return the new timeline, what was recorded, and the superseded clips."""
    new_ids = tuple(range(first_new_id, first_new_id + len(plan.create)))
    by_id = {c.id: c for c in timeline}
    superseded = {i: by_id[i] for i in plan.retire}
    return apply_plan(timeline, plan, new_ids, {}), record_applied(timeline, plan, new_ids), superseded


# --- clips_from_cuts ---------------------------------------------------------------------------------


def test_by_default_every_detected_shot_is_a_clip_however_short():
    assert clips_from_cuts([60, 67, 68], 120) == [(0, 60), (60, 67), (67, 68), (68, 120)]


def test_no_cuts_is_one_clip():
    assert clips_from_cuts([], 100, 10) == [(0, 100)]


def test_cuts_outside_the_video_and_duplicates_are_ignored():
    assert clips_from_cuts([-4, 0, 30, 30, 60, 100, 140], 100, 1) == [(0, 30), (30, 60), (60, 100)]


def test_unsorted_cuts_are_sorted():
    assert clips_from_cuts([60, 30], 100, 1) == [(0, 30), (30, 60), (60, 100)]


def test_short_span_merges_into_the_shorter_previous_neighbour():
    # [10, 12) is 2 frames; its neighbours are 10 and 18 frames: it joins the 10-frame one.
    assert clips_from_cuts([10, 12, 30], 50, 5) == [(0, 12), (12, 30), (30, 50)]


def test_short_span_merges_into_the_shorter_next_neighbour():
    # [20, 22) is 2 frames; its neighbours are 20 and 5 frames: it joins the 5-frame one.
    assert clips_from_cuts([20, 22, 27], 60, 5) == [(0, 20), (20, 27), (27, 60)]


def test_equal_neighbours_prefer_the_previous_one():
    assert clips_from_cuts([10, 12], 22, 5) == [(0, 12), (12, 22)]


def test_short_first_and_last_spans_merge_inward():
    assert clips_from_cuts([2, 50, 98], 100, 5) == [(0, 50), (50, 100)]


def test_video_shorter_than_the_minimum_is_one_clip():
    assert clips_from_cuts([3, 5], 8, 24) == [(0, 8)]


def test_a_run_of_one_frame_shots_becomes_clips_of_the_minimum_length():
    spans = clips_from_cuts(range(1, 10), 10, 3)
    check_mece(spans, 10)
    assert all(e - s >= 3 for s, e in spans)
    assert spans == [(0, 4), (4, 10)]


def test_clips_from_cuts_rejects_impossible_inputs():
    with pytest.raises(BadInput, match="at least one frame"):
        clips_from_cuts([], 0, 1)
    with pytest.raises(BadInput, match="minimum clip length"):
        clips_from_cuts([], 10, 0)


@settings(max_examples=300, deadline=None)
@given(
    total=st.integers(1, 2000),
    min_frames=st.integers(1, 60),
    cuts=st.lists(st.integers(-10, 2010), max_size=80),
)
def test_clips_from_cuts_is_mece_long_enough_and_cuts_only_where_told(total, min_frames, cuts):
    spans = clips_from_cuts(cuts, total, min_frames)
    check_mece(spans, total)
    if len(spans) > 1:
        assert all(e - s >= min_frames for s, e in spans)
    assert {s for s, _ in spans[1:]} <= set(cuts)
    inside = sorted({c for c in cuts if 0 < c < total})
    bounds = [0, *inside, total]
    if all(b - a >= min_frames for a, b in zip(bounds, bounds[1:], strict=False)):
        # Nothing too short: every cut inside the video is kept.
        assert [s for s, _ in spans[1:]] == inside


# --- check_mece ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spans", "total", "message"),
    [
        ([(0, 5), (6, 10)], 10, r"frames \[5, 6\) belong to no clip"),
        ([(0, 6), (5, 10)], 10, r"overlap on frames \[5, 6\)"),
        ([(1, 10)], 10, r"frames \[0, 1\) belong to no clip"),
        ([(0, 8)], 10, r"frames \[8, 10\) belong to no clip"),
        ([(0, 12)], 10, "outside the video"),
        ([(-1, 10)], 10, "outside the video"),
        ([(0, 5), (5, 5), (5, 10)], 10, "empty"),
        ([], 10, "at least one clip"),
        ([(0, 1)], 0, "at least one frame"),
    ],
)
def test_check_mece_names_the_problem(spans, total, message):
    with pytest.raises(MeceViolation, match=message):
        check_mece(spans, total)


def test_check_mece_accepts_unsorted_exact_cover():
    check_mece([(5, 10), (0, 5)], 10)


def test_a_timeline_with_a_gap_is_not_operated_on():
    with pytest.raises(MeceViolation):
        add_cut((Clip(1, 0, 10, P), Clip(2, 12, 20, P)), 5, 1)


# --- add_cut ------------------------------------------------------------------------------------------

TIMELINE = timeline_of((0, 30), (30, 60), (60, 100))


def test_add_cut_splits_the_clip_at_the_frame():
    plan = add_cut(TIMELINE, 40, 5)
    assert plan == CutPlan(retire=(2,), create=((30, 40), (40, 60)))
    after, _, _ = apply(TIMELINE, plan)
    assert spans_of(after) == [(0, 30), (30, 40), (40, 60), (60, 100)]
    assert [c.id for c in after] == [1, 100, 101, 3]
    assert all(c.state is P for c in after)


def test_add_cut_splits_a_skipped_clip_into_pending_pieces():
    plan = add_cut(timeline_of((0, 30), (30, 60), states=(P, S)), 40, 5)
    after, _, _ = apply(timeline_of((0, 30), (30, 60), states=(P, S)), plan)
    assert [c.state for c in after] == [P, P, P]


@pytest.mark.parametrize("frame", [-1, 100, 250])
def test_add_cut_refuses_outside_the_video(frame):
    with pytest.raises(Refused, match="frames are 0 to 99"):
        add_cut(TIMELINE, frame, 5)


def test_add_cut_refuses_an_existing_cut():
    with pytest.raises(Refused, match="already a cut at frame 30"):
        add_cut(TIMELINE, 30, 5)


def test_add_cut_refuses_the_start_of_the_video():
    with pytest.raises(Refused, match="start of the video"):
        add_cut(TIMELINE, 0, 5)


def test_add_cut_refuses_a_first_piece_under_the_minimum():
    with pytest.raises(Refused, match="first piece would be 4 frames, shorter than the minimum of 5"):
        add_cut(TIMELINE, 34, 5)


def test_add_cut_refuses_a_second_piece_under_the_minimum():
    with pytest.raises(Refused, match="second piece would be 1 frames"):
        add_cut(TIMELINE, 59, 5)


@pytest.mark.parametrize(("state", "said"), [(A, "already approved"), (EXPORTED, "already exported"), (X, "archived")])
def test_add_cut_refuses_a_clip_no_longer_under_review(state, said):
    timeline = timeline_of((0, 30), (30, 60), (60, 100), states=(P, state, P))
    with pytest.raises(Refused, match=f"clip 2 is {said}"):
        add_cut(timeline, 40, 5)


# --- remove_cut ---------------------------------------------------------------------------------------


def test_remove_cut_merges_with_the_previous_clip():
    plan = remove_cut(TIMELINE, 3)
    assert plan == CutPlan(retire=(2, 3), create=((30, 100),))
    after, _, _ = apply(TIMELINE, plan)
    assert spans_of(after) == [(0, 30), (30, 100)]


def test_remove_cut_refuses_the_first_clip():
    with pytest.raises(Refused, match="first clip of the video"):
        remove_cut(TIMELINE, 1)


def test_remove_cut_refuses_an_unknown_clip():
    with pytest.raises(Refused, match="clip 42 is not part of this video's timeline"):
        remove_cut(TIMELINE, 42)


def test_remove_cut_refuses_when_the_previous_clip_was_exported():
    timeline = timeline_of((0, 30), (30, 60), (60, 100), states=(P, EXPORTED, P))
    with pytest.raises(Refused, match=r"the previous clip \(2\) is already exported"):
        remove_cut(timeline, 3)


def test_remove_cut_refuses_when_the_clip_itself_was_approved():
    timeline = timeline_of((0, 30), (30, 60), (60, 100), states=(P, A, P))
    with pytest.raises(Refused, match="clip 2 is already approved"):
        remove_cut(timeline, 2)


# --- move_cut -----------------------------------------------------------------------------------------


def test_move_cut_moves_the_boundary_between_two_clips():
    plan = move_cut(TIMELINE, 60, 55, 5)
    assert plan == CutPlan(retire=(2, 3), create=((30, 55), (55, 100)))
    after, _, _ = apply(TIMELINE, plan)
    assert spans_of(after) == [(0, 30), (30, 55), (55, 100)]


@pytest.mark.parametrize("frame", [0, 45, 100])
def test_move_cut_refuses_where_there_is_no_cut(frame):
    with pytest.raises(Refused, match=f"no cut at frame {frame}"):
        move_cut(TIMELINE, frame, frame + 1, 5)


def test_move_cut_refuses_staying_put():
    with pytest.raises(Refused, match="already at frame 30"):
        move_cut(TIMELINE, 30, 30, 5)


def test_move_cut_refuses_crossing_the_previous_cut():
    with pytest.raises(Refused, match="cross the neighbouring cut at frame 30"):
        move_cut(TIMELINE, 60, 20, 5)


def test_move_cut_refuses_crossing_the_start_and_end_of_the_video():
    with pytest.raises(Refused, match="cross the start of the video"):
        move_cut(TIMELINE, 30, 0, 1)
    with pytest.raises(Refused, match="cross the end of the video"):
        move_cut(TIMELINE, 60, 100, 1)


def test_move_cut_refuses_crossing_the_next_cut():
    with pytest.raises(Refused, match="cross the neighbouring cut at frame 60"):
        move_cut(TIMELINE, 30, 61, 1)


def test_move_cut_refuses_making_a_clip_shorter_than_the_minimum():
    with pytest.raises(Refused, match="clip 2 would be 3 frames, shorter than the minimum of 5"):
        move_cut(TIMELINE, 60, 33, 5)
    with pytest.raises(Refused, match="clip 1 would be 4 frames"):
        move_cut(TIMELINE, 30, 4, 5)


def test_move_cut_may_lengthen_a_clip_that_is_already_too_short():
    timeline = timeline_of((0, 30), (30, 32), (32, 100))
    plan = move_cut(timeline, 32, 33, 5)
    assert plan.create == ((30, 33), (33, 100))


@pytest.mark.parametrize(("states", "role"), [((A, P), "earlier"), ((P, EXPORTING), "later")])
def test_move_cut_refuses_when_a_neighbour_is_no_longer_under_review(states, role):
    timeline = timeline_of((0, 30), (30, 60), states=states)
    with pytest.raises(Refused, match=f"the {role} clip"):
        move_cut(timeline, 30, 31, 5)


def test_nearest_cut():
    assert nearest_cut(TIMELINE, 0) == 30
    assert nearest_cut(TIMELINE, 44) == 30
    assert nearest_cut(TIMELINE, 45) == 30  # a tie goes to the earlier cut
    assert nearest_cut(TIMELINE, 46) == 60
    assert nearest_cut(TIMELINE, 99) == 60
    assert nearest_cut(timeline_of((0, 100)), 50) is None


# --- undo and apply_plan ------------------------------------------------------------------------------


def test_undo_of_a_split_restores_the_original_clip():
    plan = add_cut(TIMELINE, 40, 5)
    after, applied, superseded = apply(TIMELINE, plan)
    assert applied == AppliedCut(retired=(2,), created=(100, 101), retired_states=(P,))
    inverse = undo_plan(after, applied)
    assert inverse == CutPlan(retire=(100, 101), restore=(2,), restore_states=(P,))
    assert apply_plan(after, inverse, (), superseded) == TIMELINE


def test_undo_is_refused_once_a_created_clip_was_exported():
    after, applied, _ = apply(TIMELINE, add_cut(TIMELINE, 40, 5))
    exported = tuple(Clip(c.id, c.start, c.end, EXPORTED) if c.id == 101 else c for c in after)
    with pytest.raises(Refused, match="clip 101 is already exported"):
        undo_plan(exported, applied)


def test_undo_is_refused_once_a_later_cut_replaced_a_created_clip():
    after, applied, _ = apply(TIMELINE, add_cut(TIMELINE, 40, 5))
    later, _, _ = apply(after, add_cut(after, 50, 5), first_new_id=200)
    with pytest.raises(Refused, match="clip 101 was since changed by another cut operation"):
        undo_plan(later, applied)


def test_applied_cut_payload_round_trips():
    applied = AppliedCut(retired=(2, 3), created=(7,), retired_states=(P, S))
    assert AppliedCut.from_payload(applied.to_payload()) == applied


def test_apply_plan_refuses_a_clip_that_left_the_timeline():
    with pytest.raises(Refused, match="clip 9 is not part of this video's timeline"):
        apply_plan(TIMELINE, CutPlan(retire=(9,), create=((0, 10),)), (100,), {})


def test_apply_plan_catches_a_plan_that_breaks_mece():
    with pytest.raises(MeceViolation, match=r"frames \[35, 60\) belong to no clip"):
        apply_plan(TIMELINE, CutPlan(retire=(2,), create=((30, 35),)), (100,), {})
    with pytest.raises(ValueError, match="new ids"):
        apply_plan(TIMELINE, CutPlan(retire=(2,), create=((30, 60),)), (), {})


@needs_skipped_restore
def test_undo_of_a_merge_restores_a_skipped_clip_as_skipped():
    timeline = timeline_of((0, 30), (30, 60), states=(S, P))
    after, applied, superseded = apply(timeline, remove_cut(timeline, 2))
    assert apply_plan(after, undo_plan(after, applied), (), superseded) == timeline


# --- the property: random cut operations keep the timeline MECE and undo restores it exactly ----------

operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(-3, 303)),
        st.tuples(st.just("remove"), st.integers(0, 10_000)),
        st.tuples(st.just("move"), st.integers(0, 10_000), st.integers(-25, 25)),
        st.tuples(st.just("undo")),
    ),
    max_size=40,
)


def expected_refusal(timeline, op, min_frames) -> bool:
    """An independent oracle: should this operation be refused?"""
    clips = list(timeline)
    starts = [c.start for c in clips]
    total = clips[-1].end
    if op[0] == "add":
        frame = op[1]
        if not 0 <= frame < total or frame in starts:
            return True
        clip = next(c for c in clips if c.start <= frame < c.end)
        return clip.state not in UNDER_REVIEW or min(frame - clip.start, clip.end - frame) < min_frames
    if op[0] == "remove":
        i = op[1] % len(clips)
        return i == 0 or clips[i - 1].state not in UNDER_REVIEW or clips[i].state not in UNDER_REVIEW
    i = op[1] % len(clips)
    left, right = clips[i - 1], clips[i]
    new = right.start + op[2]
    if i == 0 or op[2] == 0 or left.state not in UNDER_REVIEW or right.state not in UNDER_REVIEW:
        return True
    if not left.start < new < right.end:
        return True
    new_left, new_right = new - left.start, right.end - new
    return (new_left < min_frames and new_left < left.frames) or (new_right < min_frames and new_right < right.frames)


def run_cut_session(total, min_frames, detected, states, ops):
    spans = clips_from_cuts(detected, total, min_frames)
    original = tuple(
        Clip(i + 1, s, e, states[i % len(states)]) for i, (s, e) in enumerate(spans)
    )  # ids 1..n, as the database would have given them
    timeline = original
    superseded: dict[int, Clip] = {}
    done: list[AppliedCut] = []
    next_id = 1000

    def undo_last():
        nonlocal timeline
        applied = done.pop()
        by_id = {c.id: c for c in timeline}
        plan = undo_plan(timeline, applied)
        superseded.update({i: by_id[i] for i in plan.retire})
        timeline = apply_plan(timeline, plan, (), superseded)

    for op in ops:
        if op[0] == "undo":
            if done:
                undo_last()
            continue
        should_refuse = expected_refusal(timeline, op, min_frames)
        try:
            if op[0] == "add":
                plan = add_cut(timeline, op[1], min_frames)
            elif op[0] == "remove":
                plan = remove_cut(timeline, timeline[op[1] % len(timeline)].id)
            else:
                cut = timeline[op[1] % len(timeline)].start
                plan = move_cut(timeline, cut, cut + op[2], min_frames)
        except Refused:
            assert should_refuse, f"{op} refused on {timeline}"
            continue
        assert not should_refuse, f"{op} allowed on {timeline}"
        new_ids = tuple(range(next_id, next_id + len(plan.create)))
        next_id += len(plan.create)
        by_id = {c.id: c for c in timeline}
        superseded.update({i: by_id[i] for i in plan.retire})
        done.append(record_applied(timeline, plan, new_ids))
        timeline = apply_plan(timeline, plan, new_ids, superseded)
        check_mece([c.span for c in timeline], total)
        # Clips no longer under review are never touched by a cut operation.
        assert {c for c in original if c.state not in UNDER_REVIEW} <= set(timeline)
    while done:
        undo_last()
    assert timeline == original


@settings(max_examples=250, deadline=None)
@given(
    total=st.integers(1, 300),
    min_frames=st.integers(1, 12),
    detected=st.lists(st.integers(0, 300), max_size=25),
    states=st.lists(st.sampled_from([P, P, P, A, EXPORTED]), min_size=1, max_size=6),
    ops=operations,
)
def test_random_cut_operations_stay_mece_and_undo_restores_the_original(total, min_frames, detected, states, ops):
    run_cut_session(total, min_frames, detected, states, ops)


@needs_skipped_restore
@settings(max_examples=150, deadline=None)
@given(
    total=st.integers(1, 300),
    min_frames=st.integers(1, 12),
    detected=st.lists(st.integers(0, 300), max_size=25),
    states=st.lists(st.sampled_from([P, S, A]), min_size=1, max_size=6),
    ops=operations,
)
def test_random_cut_operations_over_skipped_clips_undo_exactly(total, min_frames, detected, states, ops):
    run_cut_session(total, min_frames, detected, states, ops)
