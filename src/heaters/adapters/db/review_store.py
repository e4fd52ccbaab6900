"""The unit of work of review: loads a video's timeline locked, writes domain plans and effects back,
appends the audit event, and reads what the review page shows — all inside the caller's transaction (one
action, one transaction), on a SQLAlchemy `Connection`.

These statements run on every key press, so they are plain SQL built once at import: no ORM identity map,
no statement construction or cache-key work per call, only the columns the page and the rules need.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from heaters.domain.errors import NotFound, Refused
from heaters.domain.review import ReviewEffect
from heaters.domain.states import ClipState
from heaters.domain.timeline import Clip, CutPlan, apply_plan


def to_domain(row: Any) -> Clip:
    """A clip row (ORM object or result row with the column names) as the domain sees it."""
    return Clip(id=row.id, start=row.start_frame, end=row.end_frame, state=ClipState(row.state), group_id=row.group_id)


def _clip(row: Sequence[Any]) -> Clip:
    clip_id, start, end, state, group_id = row[:5]
    return Clip(id=clip_id, start=start, end=end, state=ClipState(state), group_id=group_id)


# --- locking and writing


@dataclass(frozen=True)
class LockedTimeline:
    """A video's active clips, locked by this transaction until it ends, and the video's frame rate."""

    video_id: int
    fps: float | None
    clips: tuple[Clip, ...]


# The target clip's video, then that video's active clips locked (FOR UPDATE OF: the video row stays free for
# the pipeline's progress updates). A concurrent action on the same video waits here until this one commits.
_LOCK_TIMELINE_OF_CLIP = text("""
    SELECT c.id, c.start_frame, c.end_frame, c.state, c.group_id, v.id AS video_id, v.fps
    FROM clips AS target
    JOIN source_videos AS v ON v.id = target.video_id
    JOIN clips AS c ON c.video_id = v.id AND c.state <> 'superseded'
    WHERE target.id = :clip_id
    ORDER BY c.start_frame
    FOR UPDATE OF c
""")
_LOCK_TIMELINE = text("""
    SELECT id, start_frame, end_frame, state, group_id FROM clips
    WHERE video_id = :video_id AND state <> 'superseded'
    ORDER BY start_frame
    FOR UPDATE
""")
_CLIP_EXISTS = text("SELECT 1 FROM clips WHERE id = :clip_id")


def lock_timeline_of_clip(conn: Connection, clip_id: int) -> LockedTimeline:
    """The timeline of `clip_id`'s video, locked (one round trip). NotFound when there is no such clip."""
    rows = conn.execute(_LOCK_TIMELINE_OF_CLIP, {"clip_id": clip_id}).all()
    if not rows:
        if conn.execute(_CLIP_EXISTS, {"clip_id": clip_id}).first() is None:
            raise NotFound(f"no clip {clip_id}")
        raise Refused(f"clip {clip_id} was replaced by a cut operation; reload to see the current clips")
    return LockedTimeline(rows[0].video_id, rows[0].fps, tuple(_clip(r) for r in rows))


def lock_timeline(conn: Connection, video_id: int) -> tuple[Clip, ...]:
    """The video's active clips, locked until commit so concurrent actions on one video queue up."""
    return tuple(_clip(r) for r in conn.execute(_LOCK_TIMELINE, {"video_id": video_id}))


_LOCK_CLIPS = text("""
    SELECT id, start_frame, end_frame, state, group_id FROM clips WHERE id = ANY(CAST(:ids AS integer[])) FOR UPDATE
""")
_INSERT_CLIPS = text("""
    INSERT INTO clips (video_id, start_frame, end_frame, state, attempts, reviewer_id)
    SELECT :video_id, span.start_frame, span.end_frame, 'pending_review', 0, :reviewer_id
    FROM unnest(CAST(:starts AS integer[]), CAST(:ends AS integer[])) AS span(start_frame, end_frame)
    RETURNING id, start_frame
""")
_RETIRE_CLIPS = text("""
    UPDATE clips SET state = 'superseded', claimed_by = NULL, claim_expires_at = NULL, updated_at = now()
    WHERE id = ANY(CAST(:ids AS integer[]))
""")
_SET_STATES = text("""
    UPDATE clips AS c SET state = u.state, updated_at = now()
    FROM unnest(CAST(:ids AS integer[]), CAST(:states AS text[])) AS u(id, state)
    WHERE c.id = u.id
""")


def apply_cut_plan(
    conn: Connection, video_id: int, timeline: Sequence[Clip], plan: CutPlan, reviewer_id: int
) -> tuple[tuple[int, ...], tuple[Clip, ...]]:
    """Write a cut plan; returns the ids of the created clips (in `plan.create` order) and the timeline after
    it. The plan is first applied in memory, which checks every transition and that the result is MECE; the
    database's exclusion constraint checks again at commit."""
    superseded = {}
    if plan.restore:
        superseded = {c.id: c for c in map(_clip, conn.execute(_LOCK_CLIPS, {"ids": list(plan.restore)}))}
    new_ids: tuple[int, ...] = ()
    if plan.create:
        created = conn.execute(
            _INSERT_CLIPS,
            {
                "video_id": video_id,
                "reviewer_id": reviewer_id,
                "starts": [s for s, _ in plan.create],
                "ends": [e for _, e in plan.create],
            },
        ).all()
        id_at = {start: clip_id for clip_id, start in created}  # created spans never share a start
        new_ids = tuple(id_at[s] for s, _ in plan.create)
    after = apply_plan(timeline, plan, new_ids, superseded)  # raises before anything is committed
    if plan.retire:
        conn.execute(_RETIRE_CLIPS, {"ids": list(plan.retire)})
    if plan.restore:
        conn.execute(_SET_STATES, {"ids": list(plan.restore), "states": [str(s) for s in plan.restore_states]})
    return new_ids, after


_APPLY_STATE_CHANGES = text("""
    UPDATE clips AS c
    SET state = u.state, reviewer_id = :reviewer_id,
        reviewed_at = CASE WHEN u.state = 'pending_review' THEN NULL ELSE CAST(:now AS timestamptz) END,
        claimed_by = NULL, claim_expires_at = NULL, updated_at = now()
    FROM unnest(CAST(:ids AS integer[]), CAST(:states AS text[])) AS u(id, state)
    WHERE c.id = u.id
""")
_APPLY_GROUP_CHANGES = text("""
    UPDATE clips AS c SET group_id = u.group_id, updated_at = now()
    FROM unnest(CAST(:ids AS integer[]), CAST(:group_ids AS integer[])) AS u(id, group_id)
    WHERE c.id = u.id
""")


def apply_review_effect(conn: Connection, effect: ReviewEffect, reviewer_id: int, now: datetime) -> None:
    """Write a review effect: each changed clip gets its new state, the reviewer, when (none when it goes back
    under review) and loses its claim; group changes set the group."""
    if effect.changes:
        conn.execute(
            _APPLY_STATE_CHANGES,
            {
                "reviewer_id": reviewer_id,
                "now": now,
                "ids": [c.clip_id for c in effect.changes],
                "states": [str(c.after) for c in effect.changes],
            },
        )
    if effect.group_changes:
        conn.execute(
            _APPLY_GROUP_CHANGES,
            {"ids": [g.clip_id for g in effect.group_changes], "group_ids": [g.after for g in effect.group_changes]},
        )


# --- the audit trail

_APPEND_EVENT = text("""
    INSERT INTO review_events (actor_id, video_id, clip_id, action, payload, inverse, undoes_event_id)
    VALUES (:actor_id, :video_id, :clip_id, :action, CAST(:payload AS jsonb), CAST(:inverse AS jsonb),
            :undoes_event_id)
    RETURNING id
""")


def append_event(
    conn: Connection,
    *,
    actor_id: int,
    video_id: int,
    clip_id: int | None,
    action: str,
    payload: dict,
    inverse: dict | None,
    undoes_event_id: int | None = None,
) -> int:
    return conn.execute(
        _APPEND_EVENT,
        {
            "actor_id": actor_id,
            "video_id": video_id,
            "clip_id": clip_id,
            "action": str(action),
            "payload": json.dumps(payload),
            "inverse": json.dumps(inverse),  # None is stored as JSON null, as the ORM column always did
            "undoes_event_id": undoes_event_id,
        },
    ).scalar_one()


@dataclass(frozen=True)
class EventRecord:
    id: int
    video_id: int
    clip_id: int | None
    action: str
    payload: dict
    inverse: dict | None


_LAST_UNDOABLE_EVENT = text("""
    SELECT e.id, e.video_id, e.clip_id, e.action, e.payload, e.inverse FROM review_events AS e
    WHERE e.actor_id = :actor_id AND e.action <> 'undo'
      -- NOT EXISTS probes the unique index on undoes_event_id; NOT IN would hash every undo ever made
      AND NOT EXISTS (SELECT 1 FROM review_events AS u WHERE u.undoes_event_id = e.id)
    ORDER BY e.id DESC
    LIMIT 1
    FOR UPDATE OF e
""")


def last_undoable_event(conn: Connection, actor_id: int) -> EventRecord | None:
    """This reviewer's most recent action that is not an undo and has not been undone (locked)."""
    row = conn.execute(_LAST_UNDOABLE_EVENT, {"actor_id": actor_id}).first()
    return EventRecord(*row) if row is not None else None


# --- claims

_HOLD = text("""
    UPDATE clips SET claimed_by = :reviewer_id, claim_expires_at = :expires_at, updated_at = now()
    WHERE id = :clip_id AND (claimed_by IS NULL OR claimed_by = :reviewer_id OR claim_expires_at < :now)
""")
# Held by this reviewer first, then pending before skipped, then by video and time; locked rows (another
# reviewer claiming or acting on them right now) are passed over rather than waited for.
_NEXT_CLAIMABLE = """
    SELECT id FROM clips
    WHERE state IN ('pending_review', 'review_skipped')
      AND (claimed_by IS NULL OR claimed_by = :reviewer_id OR claim_expires_at < :now)
    ORDER BY CASE WHEN claimed_by = :reviewer_id THEN 0 ELSE 1 END,
             CASE WHEN state = 'pending_review' THEN 0 ELSE 1 END,
             video_id, start_frame
    LIMIT 1
    FOR UPDATE SKIP LOCKED
"""
_CLAIM_NEXT = text(f"""
    UPDATE clips SET claimed_by = :reviewer_id, claim_expires_at = :expires_at, updated_at = now()
    WHERE id = ({_NEXT_CLAIMABLE})
    RETURNING id
""")


def hold(conn: Connection, reviewer_id: int, clip_id: int, now: datetime, expires_at: datetime) -> None:
    """The reviewer holds the clip until `expires_at`, unless another reviewer's lease on it is still running."""
    conn.execute(_HOLD, {"reviewer_id": reviewer_id, "clip_id": clip_id, "now": now, "expires_at": expires_at})


def claim_next(conn: Connection, reviewer_id: int, now: datetime, expires_at: datetime) -> int | None:
    """Claim the next clip to review (see `heaters.services.review.claim_next`); its id, or None."""
    return conn.execute(_CLAIM_NEXT, {"reviewer_id": reviewer_id, "now": now, "expires_at": expires_at}).scalar()


# --- what the review page shows


@dataclass(frozen=True)
class ClipPage:
    """One clip with its video and timeline, and the clips to prefetch after it: all the review page reads."""

    id: int
    video_id: int
    start_frame: int
    end_frame: int
    state: str
    group_id: int | None
    video_title: str | None
    video_source: str
    fps: float | None
    frame_count: int | None
    width: int | None
    height: int | None
    timeline: list[list]  # [id, start_frame, end_frame, state, group_id] of the video's active clips, by time
    upcoming: list[list]  # [id, start_frame, end_frame] of the unclaimed pending clips after this one


# Unclaimed pending clips after a point of the queue's order (video, then time): the player prefetches them.
_UPCOMING = """
    SELECT coalesce(json_agg(json_build_array(u.id, u.start_frame, u.end_frame)), '[]') FROM (
        SELECT id, start_frame, end_frame FROM clips
        WHERE state = 'pending_review' AND (claimed_by IS NULL OR claim_expires_at < :now) {after}
        ORDER BY video_id, start_frame
        LIMIT :prefetch
    ) AS u
"""
_AFTER_CLIP = "AND (video_id > c.video_id OR (video_id = c.video_id AND start_frame > c.start_frame))"
_CLIP_PAGE = f"""
    SELECT c.id, c.video_id, c.start_frame, c.end_frame, c.state, c.group_id,
           v.title, v.source, v.fps, v.frame_count, v.width, v.height,
           (SELECT coalesce(json_agg(json_build_array(t.id, t.start_frame, t.end_frame, t.state, t.group_id)
                                     ORDER BY t.start_frame), '[]')
            FROM clips AS t WHERE t.video_id = c.video_id AND t.state <> 'superseded') AS timeline,
           ({_UPCOMING.format(after=_AFTER_CLIP)}) AS upcoming
    FROM clips AS c JOIN source_videos AS v ON v.id = c.video_id
    WHERE c.id = {{target}}
"""
_PAGE_OF_CLIP = text(_CLIP_PAGE.format(target=":clip_id"))
# Holding and reading in one statement: the read sees the row as it was before the claim, which changes
# nothing the page shows (a claim touches only who holds the clip).
_HOLD_THEN_PAGE = text("WITH held AS (" + _HOLD.text + " RETURNING id) " + _CLIP_PAGE.format(target=":clip_id"))
_CLAIM_NEXT_THEN_PAGE = text(
    "WITH claimed AS (" + _CLAIM_NEXT.text + ") " + _CLIP_PAGE.format(target="(SELECT id FROM claimed)")
)
_UPCOMING_FROM_START = text(_UPCOMING.format(after=""))


def _page(row) -> ClipPage | None:
    return ClipPage(*row) if row is not None else None


def clip_page(conn: Connection, clip_id: int, now: datetime, prefetch: int) -> ClipPage | None:
    return _page(conn.execute(_PAGE_OF_CLIP, {"clip_id": clip_id, "now": now, "prefetch": prefetch}).first())


def hold_and_page(
    conn: Connection, reviewer_id: int, clip_id: int, now: datetime, expires_at: datetime, prefetch: int
) -> ClipPage | None:
    """`hold` the clip, then its `clip_page`, in one round trip."""
    params = {"reviewer_id": reviewer_id, "clip_id": clip_id, "now": now, "expires_at": expires_at}
    return _page(conn.execute(_HOLD_THEN_PAGE, params | {"prefetch": prefetch}).first())


def claim_next_and_page(
    conn: Connection, reviewer_id: int, now: datetime, expires_at: datetime, prefetch: int
) -> ClipPage | None:
    """`claim_next`, then the claimed clip's `clip_page`, in one round trip; None when nothing is left."""
    params = {"reviewer_id": reviewer_id, "now": now, "expires_at": expires_at, "prefetch": prefetch}
    return _page(conn.execute(_CLAIM_NEXT_THEN_PAGE, params).first())


def upcoming_from_start(conn: Connection, now: datetime, prefetch: int) -> list[list]:
    """The first unclaimed pending clips of the whole queue (what to prefetch when no clip is shown)."""
    return conn.execute(_UPCOMING_FROM_START, {"now": now, "prefetch": prefetch}).scalar_one()
