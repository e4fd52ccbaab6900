"""The unit of work of review: loads a video's timeline locked, writes domain plans and effects back,
and appends the audit event — all inside the caller's transaction (one action, one transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from heaters.adapters.db.models import Clip as ClipRow
from heaters.adapters.db.models import ReviewEvent
from heaters.domain.review import ReviewEffect
from heaters.domain.states import ClipState
from heaters.domain.timeline import Clip, CutPlan, apply_plan


def to_domain(row: ClipRow) -> Clip:
    return Clip(id=row.id, start=row.start_frame, end=row.end_frame, state=ClipState(row.state), group_id=row.group_id)


def lock_timeline(session: Session, video_id: int) -> tuple[tuple[Clip, ...], dict[int, ClipRow]]:
    """The video's active clips, locked until commit so concurrent actions on one video queue up."""
    rows = session.scalars(
        select(ClipRow)
        .where(ClipRow.video_id == video_id, ClipRow.state != ClipState.SUPERSEDED)
        .order_by(ClipRow.start_frame)
        .with_for_update()
    ).all()
    return tuple(to_domain(r) for r in rows), {r.id: r for r in rows}


def apply_cut_plan(
    session: Session, video_id: int, timeline: Sequence[Clip], plan: CutPlan, reviewer_id: int
) -> tuple[int, ...]:
    """Write a cut plan; returns the ids of the created clips. The plan is first applied in memory, which
    checks every transition and that the result is MECE; the database's exclusion constraint checks again
    at commit."""
    restored_rows = {
        r.id: r for r in session.scalars(select(ClipRow).where(ClipRow.id.in_(plan.restore)).with_for_update())
    }
    superseded = {i: to_domain(r) for i, r in restored_rows.items()}
    created_rows = [
        ClipRow(video_id=video_id, start_frame=s, end_frame=e, state=ClipState.PENDING_REVIEW, attempts=0)
        for s, e in plan.create
    ]
    session.add_all(created_rows)
    session.flush()  # ids for the created clips
    new_ids = tuple(r.id for r in created_rows)
    apply_plan(timeline, plan, new_ids, superseded)  # raises before anything is committed
    for clip_id in plan.retire:
        row = session.get(ClipRow, clip_id)
        row.state = ClipState.SUPERSEDED
        row.claimed_by = row.claim_expires_at = None
    for clip_id, state in zip(plan.restore, plan.restore_states, strict=True):
        restored_rows[clip_id].state = state
    for row in created_rows:
        row.reviewer_id = reviewer_id
    session.flush()
    return new_ids


def apply_review_effect(session: Session, effect: ReviewEffect, rows: dict[int, ClipRow], reviewer_id: int) -> None:
    now = datetime.now(UTC)
    for change in effect.changes:
        row = rows[change.clip_id]
        row.state = change.after
        row.reviewer_id = reviewer_id
        row.reviewed_at = now if change.after not in (ClipState.PENDING_REVIEW,) else None
        row.claimed_by = row.claim_expires_at = None
    for change in effect.group_changes:
        rows[change.clip_id].group_id = change.after
    session.flush()


def append_event(
    session: Session,
    *,
    actor_id: int,
    video_id: int,
    clip_id: int | None,
    action: str,
    payload: dict,
    inverse: dict | None,
    undoes_event_id: int | None = None,
) -> int:
    event = ReviewEvent(
        actor_id=actor_id,
        video_id=video_id,
        clip_id=clip_id,
        action=action,
        payload=payload,
        inverse=inverse,
        undoes_event_id=undoes_event_id,
    )
    session.add(event)
    session.flush()
    return event.id


def last_undoable_event(session: Session, actor_id: int) -> ReviewEvent | None:
    """This reviewer's most recent action that is not an undo and has not been undone."""
    undone = select(ReviewEvent.undoes_event_id).where(ReviewEvent.undoes_event_id.is_not(None))
    return session.scalars(
        select(ReviewEvent)
        .where(ReviewEvent.actor_id == actor_id, ReviewEvent.action != "undo", ReviewEvent.id.not_in(undone))
        .order_by(ReviewEvent.id.desc())
        .limit(1)
        .with_for_update()
    ).first()
