"""Review use cases: the claimed queue, the actions, undo, and what the review page shows.

Each action is one transaction: lock the video's timeline, ask the domain for a plan or effect (or a
refusal), write it, append the audit event naming the reviewer. Approved clips are queued for export
after a short grace period, so that an immediate Ctrl+Z still finds them under review.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, func, select, update

from heaters.adapters.db import review_store
from heaters.adapters.db.models import Clip as ClipRow
from heaters.adapters.db.models import SourceVideo
from heaters.domain import review as review_domain
from heaters.domain import timeline as timeline_domain
from heaters.domain.errors import NotFound, Refused
from heaters.domain.review import CUT_ACTIONS, ActionKind, ReviewEffect
from heaters.domain.stages import EXPORT
from heaters.domain.states import ClipState
from heaters.domain.timeline import AppliedCut, Clip
from heaters.runtime import Runtime


@dataclass(frozen=True)
class ClipView:
    """Everything the review page shows about one clip."""

    id: int
    video_id: int
    video_title: str
    start_frame: int
    end_frame: int
    fps: float
    state: str
    group_id: int | None
    position: int  # 1-based among the video's active clips
    count: int
    video_frames: int

    @property
    def frames(self) -> int:
        return self.end_frame - self.start_frame

    @property
    def start_seconds(self) -> float:
        return self.start_frame / self.fps

    @property
    def end_seconds(self) -> float:
        return self.end_frame / self.fps

    @property
    def duration_seconds(self) -> float:
        return self.frames / self.fps

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "video_id": self.video_id,
            "video_title": self.video_title,
            "start_frame": self.start_frame,
            "end_frame": self.end_frame,
            "frames": self.frames,
            "fps": self.fps,
            "start_seconds": round(self.start_seconds, 4),
            "end_seconds": round(self.end_seconds, 4),
            "duration_seconds": round(self.duration_seconds, 4),
            "state": self.state,
            "group_id": self.group_id,
            "position": self.position,
            "count": self.count,
            "video_frames": self.video_frames,
        }


@dataclass(frozen=True)
class ActionResult:
    action: str
    event_id: int
    video_id: int
    focus_clip_id: int | None  # the clip the reviewer should see next (None: take the next in the queue)
    message: str
    changed_clip_ids: tuple[int, ...] = field(default=())

    def as_json(self) -> dict:
        return {
            "action": self.action,
            "event_id": self.event_id,
            "video_id": self.video_id,
            "focus_clip_id": self.focus_clip_id,
            "message": self.message,
            "changed_clip_ids": list(self.changed_clip_ids),
        }


# --- queue


def claim_next(runtime: Runtime, reviewer_id: int) -> ClipView | None:
    """Claim the next clip to review for a lease: a clip this reviewer already holds, else the next pending
    clip (by video, then time), else a skipped one — skipping means "later", not "never". Two reviewers
    never hold the same clip; an expired claim is free again."""
    lease = timedelta(seconds=runtime.settings.claim_lease_seconds)
    with runtime.database.sessions.begin() as session:
        now = datetime.now(UTC)
        candidate = (
            select(ClipRow.id)
            .where(
                ClipRow.state.in_((ClipState.PENDING_REVIEW, ClipState.REVIEW_SKIPPED)),
                (ClipRow.claimed_by.is_(None)) | (ClipRow.claimed_by == reviewer_id) | (ClipRow.claim_expires_at < now),
            )
            .order_by(
                case((ClipRow.claimed_by == reviewer_id, 0), else_=1),
                case((ClipRow.state == ClipState.PENDING_REVIEW, 0), else_=1),
                ClipRow.video_id,
                ClipRow.start_frame,
            )
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        clip_id = session.execute(
            update(ClipRow)
            .where(ClipRow.id == candidate)
            .values(claimed_by=reviewer_id, claim_expires_at=now + lease)
            .returning(ClipRow.id)
        ).scalar()
    return clip_view(runtime, clip_id) if clip_id is not None else None


def claim_clip(runtime: Runtime, reviewer_id: int, clip_id: int) -> None:
    """Hold a specific clip (the one shown after a split or an undo) unless another reviewer holds it."""
    lease = timedelta(seconds=runtime.settings.claim_lease_seconds)
    with runtime.database.sessions.begin() as session:
        now = datetime.now(UTC)
        session.execute(
            update(ClipRow)
            .where(
                ClipRow.id == clip_id,
                (ClipRow.claimed_by.is_(None)) | (ClipRow.claimed_by == reviewer_id) | (ClipRow.claim_expires_at < now),
            )
            .values(claimed_by=reviewer_id, claim_expires_at=now + lease)
        )


def upcoming_clip_ids(runtime: Runtime, reviewer_id: int, after_clip_id: int | None, limit: int = 3) -> list[int]:
    """Unclaimed pending clips likely to come next, for the player to prefetch (a hint, not a claim)."""
    with runtime.database.sessions() as session:
        now = datetime.now(UTC)
        query = select(ClipRow.id).where(
            ClipRow.state == ClipState.PENDING_REVIEW,
            (ClipRow.claimed_by.is_(None)) | (ClipRow.claim_expires_at < now),
        )
        if after_clip_id is not None:
            current = session.get(ClipRow, after_clip_id)
            if current is not None:
                query = query.where(
                    (ClipRow.video_id > current.video_id)
                    | ((ClipRow.video_id == current.video_id) & (ClipRow.start_frame > current.start_frame))
                )
        return list(session.scalars(query.order_by(ClipRow.video_id, ClipRow.start_frame).limit(limit)))


def clip_view(runtime: Runtime, clip_id: int) -> ClipView:
    with runtime.database.sessions() as session:
        row = session.get(ClipRow, clip_id)
        if row is None:
            raise NotFound(f"no clip {clip_id}")
        video = session.get(SourceVideo, row.video_id)
        position, count = session.execute(
            select(
                func.count().filter(ClipRow.start_frame <= row.start_frame),
                func.count(),
            ).where(ClipRow.video_id == row.video_id, ClipRow.state != ClipState.SUPERSEDED)
        ).one()
        return ClipView(
            id=row.id,
            video_id=row.video_id,
            video_title=video.title or video.source,
            start_frame=row.start_frame,
            end_frame=row.end_frame,
            fps=video.fps or 25.0,
            state=row.state,
            group_id=row.group_id,
            position=position if row.state != ClipState.SUPERSEDED else 0,
            count=count,
            video_frames=video.frame_count or row.end_frame,
        )


def video_timeline(runtime: Runtime, video_id: int) -> tuple[Clip, ...]:
    with runtime.database.sessions() as session:
        rows = session.scalars(
            select(ClipRow)
            .where(ClipRow.video_id == video_id, ClipRow.state != ClipState.SUPERSEDED)
            .order_by(ClipRow.start_frame)
        ).all()
        return tuple(review_store.to_domain(r) for r in rows)


# --- actions


def act(
    runtime: Runtime,
    reviewer_id: int,
    clip_id: int,
    action: ActionKind | str,
    *,
    frame: int | None = None,
    to_frame: int | None = None,
) -> ActionResult:
    """Perform one review action on `clip_id`. `frame` is a video frame (split at it / the cut to move);
    `to_frame` is where a moved cut goes. Raises Refused with the reason when the rules say no."""
    action = ActionKind(action)
    if action is ActionKind.UNDO:
        return undo_last(runtime, reviewer_id)
    with runtime.database.sessions.begin() as session:
        clip_row = session.get(ClipRow, clip_id)
        if clip_row is None:
            raise NotFound(f"no clip {clip_id}")
        video = session.get(SourceVideo, clip_row.video_id)
        timeline, rows = review_store.lock_timeline(session, video.id)
        by_id = {c.id: c for c in timeline}
        if clip_id not in by_id:
            raise Refused(f"clip {clip_id} was replaced by a cut operation; reload to see the current clips")
        clip = by_id[clip_id]
        min_frames = max(1, round(runtime.settings.min_clip_seconds * (video.fps or 25.0)))
        payload = {"clip_id": clip_id, "frame": frame, "to_frame": to_frame}

        if action in CUT_ACTIONS:
            plan = _cut_plan(action, timeline, clip, frame, to_frame, min_frames)
            new_ids = review_store.apply_cut_plan(session, video.id, timeline, plan, reviewer_id)
            applied = timeline_domain.record_applied(timeline, plan, new_ids)
            focus = _focus_after_cut(action, new_ids, plan, timeline, clip)
            inverse = {"cut": applied.to_payload()}
            changed = (*plan.retire, *new_ids)
            message = _cut_message(action, plan)
        else:
            effect = _decision(action, timeline, clip)
            review_store.apply_review_effect(session, effect, rows, reviewer_id)
            inverse = {"effect": effect.to_payload()}
            focus = None
            changed = tuple(sorted(effect.clip_ids))
            message = f"{_PAST_TENSE[action]} clip {clip_id}"
        event_id = review_store.append_event(
            session,
            actor_id=reviewer_id,
            video_id=video.id,
            clip_id=clip_id,
            action=action,
            payload=payload,
            inverse=inverse,
        )
        approved = [i for i in changed if i in rows and rows[i].state == ClipState.REVIEW_APPROVED]
        _hold(session, runtime, reviewer_id, focus)
    _queue_exports(runtime, approved)
    return ActionResult(str(action), event_id, video.id, focus, message, changed)


_PAST_TENSE = {
    ActionKind.APPROVE: "approved",
    ActionKind.SKIP: "skipped",
    ActionKind.ARCHIVE: "archived",
    ActionKind.GROUP: "grouped",
}


def _hold(session, runtime: Runtime, reviewer_id: int, clip_id: int | None) -> None:
    """Inside the action's transaction: the reviewer holds the clip shown next (after a split or an undo),
    unless another reviewer's lease on it is still running."""
    if clip_id is None:
        return
    row = session.get(ClipRow, clip_id)
    if row is None:
        return
    now = datetime.now(UTC)
    if row.claimed_by in (None, reviewer_id) or (row.claim_expires_at and row.claim_expires_at < now):
        row.claimed_by = reviewer_id
        row.claim_expires_at = now + timedelta(seconds=runtime.settings.claim_lease_seconds)


def _decision(action: ActionKind, timeline: tuple[Clip, ...], clip: Clip) -> ReviewEffect:
    if action is ActionKind.GROUP:
        index = timeline.index(clip)
        return review_domain.group(clip, timeline[index - 1] if index > 0 else None)
    return review_domain.decide(action, clip)


def _cut_plan(action, timeline, clip, frame, to_frame, min_frames):
    if action is ActionKind.SPLIT:
        if frame is None:
            raise Refused("split needs the frame to split at")
        return timeline_domain.add_cut(timeline, frame, min_frames)
    if action is ActionKind.MERGE:
        return timeline_domain.remove_cut(timeline, clip.id)
    if frame is None or to_frame is None:
        raise Refused("moving a cut needs the cut's frame and where to move it")
    return timeline_domain.move_cut(timeline, frame, to_frame, min_frames)


def _focus_after_cut(action, new_ids, plan, timeline, clip) -> int | None:
    """After a split show the first piece; after a merge the merged clip; after a move, the piece that
    now holds the start of the clip the reviewer was looking at (or its new self)."""
    if not new_ids:
        return None
    for clip_id, (start, end) in zip(new_ids, plan.create, strict=True):
        if start <= clip.start < end:
            return clip_id
    return new_ids[0]


def _cut_message(action: ActionKind, plan) -> str:
    spans = ", ".join(f"[{s}, {e})" for s, e in plan.create)
    return {"split": "split into", "merge": "merged into", "move_cut": "moved cut:"}[action] + " " + spans


def undo_last(runtime: Runtime, reviewer_id: int) -> ActionResult:
    """Undo this reviewer's most recent action not yet undone; repeated calls walk further back."""
    with runtime.database.sessions.begin() as session:
        event = review_store.last_undoable_event(session, reviewer_id)
        if event is None:
            raise Refused("nothing to undo")
        timeline, rows = review_store.lock_timeline(session, event.video_id)
        inverse = event.inverse or {}
        if "cut" in inverse:
            applied = AppliedCut.from_payload(inverse["cut"])
            plan = timeline_domain.undo_plan(timeline, applied)
            review_store.apply_cut_plan(session, event.video_id, timeline, plan, reviewer_id)
            focus = _restored_focus(event.payload.get("clip_id"), applied)
            changed = (*plan.retire, *plan.restore)
            payload_inverse = None
        else:
            effect = ReviewEffect.from_payload(inverse["effect"])
            by_id = {c.id: c for c in timeline}
            following = _following(timeline, effect)
            reverse = review_domain.undo(effect, by_id, following)
            review_store.apply_review_effect(session, reverse, rows, reviewer_id)
            focus = event.clip_id
            changed = tuple(sorted(reverse.clip_ids))
            payload_inverse = None
        event_id = review_store.append_event(
            session,
            actor_id=reviewer_id,
            video_id=event.video_id,
            clip_id=event.clip_id,
            action=ActionKind.UNDO,
            payload={"undid": event.action, "event_id": event.id},
            inverse=payload_inverse,
            undoes_event_id=event.id,
        )
        approved = [i for i in changed if i in rows and rows[i].state == ClipState.REVIEW_APPROVED]
        _hold(session, runtime, reviewer_id, focus)
    _queue_exports(runtime, approved)
    return ActionResult("undo", event_id, event.video_id, focus, f"undid {event.action}", changed)


def _restored_focus(original_clip_id: int | None, applied: AppliedCut) -> int | None:
    if original_clip_id in applied.retired:
        return original_clip_id
    return applied.retired[0] if applied.retired else None


def _following(timeline: tuple[Clip, ...], effect: ReviewEffect) -> Clip | None:
    ids = effect.clip_ids
    positions = [i for i, c in enumerate(timeline) if c.id in ids]
    if not positions or positions[-1] + 1 >= len(timeline):
        return None
    return timeline[positions[-1] + 1]


def _queue_exports(runtime: Runtime, clip_ids: list[int]) -> None:
    for clip_id in clip_ids:
        runtime.queue.defer(EXPORT, clip_id, delay_seconds=runtime.settings.export_grace_seconds)
