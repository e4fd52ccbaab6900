"""Review use cases: the claimed queue, the actions, undo, and what the review page shows.

Each action is one transaction: lock the video's timeline, ask the domain for a plan or effect (or a
refusal), write it, append the audit event naming the reviewer. Approved clips are queued for export
after a short grace period, so that an immediate Ctrl+Z still finds them under review; the export job is
written in the action's transaction, so it exists exactly when the approval does.

`act_in` / `undo_in` do the work inside a caller's transaction (the review page adds the next clip on the
same connection, see `heaters.services.review_page.act_and_show`); `act` / `undo_last` wrap them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, select

from heaters.adapters.db import review_store
from heaters.adapters.db.job_defer import defer_in_transaction
from heaters.adapters.db.models import Clip as ClipRow
from heaters.config import Settings
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


def lease_end(settings: Settings, now: datetime) -> datetime:
    """When a claim made `now` expires."""
    return now + timedelta(seconds=settings.claim_lease_seconds)


def view_of(page: review_store.ClipPage) -> ClipView:
    """The `ClipView` of a clip page; position and count come from the timeline the page carries."""
    active = page.state != ClipState.SUPERSEDED
    return ClipView(
        id=page.id,
        video_id=page.video_id,
        video_title=page.video_title or page.video_source,
        start_frame=page.start_frame,
        end_frame=page.end_frame,
        fps=page.fps or 25.0,
        state=page.state,
        group_id=page.group_id,
        # the clip's place among the video's active clips (which never overlap), by start
        position=sum(1 for t in page.timeline if t[1] <= page.start_frame) if active else 0,
        count=len(page.timeline),
        video_frames=page.frame_count or page.end_frame,
    )


def claim_next(runtime: Runtime, reviewer_id: int) -> ClipView | None:
    """Claim the next clip to review for a lease: a clip this reviewer already holds, else the next pending
    clip (by video, then time), else a skipped one — skipping means "later", not "never". Two reviewers
    never hold the same clip; an expired claim is free again."""
    now = datetime.now(UTC)
    with runtime.database.engine.begin() as conn:
        page = review_store.claim_next_and_page(conn, reviewer_id, now, lease_end(runtime.settings, now), prefetch=0)
    return view_of(page) if page is not None else None


def claim_clip(runtime: Runtime, reviewer_id: int, clip_id: int) -> None:
    """Hold a specific clip (the one shown after a split or an undo) unless another reviewer holds it."""
    now = datetime.now(UTC)
    with runtime.database.engine.begin() as conn:
        review_store.hold(conn, reviewer_id, clip_id, now, lease_end(runtime.settings, now))


def clip_view(runtime: Runtime, clip_id: int) -> ClipView:
    with runtime.database.engine.connect() as conn:
        page = review_store.clip_page(conn, clip_id, datetime.now(UTC), prefetch=0)
    if page is None:
        raise NotFound(f"no clip {clip_id}")
    return view_of(page)


def video_timeline(runtime: Runtime, video_id: int) -> tuple[Clip, ...]:
    with runtime.database.sessions() as session:
        rows = session.execute(
            select(ClipRow.id, ClipRow.start_frame, ClipRow.end_frame, ClipRow.state, ClipRow.group_id)
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
    now = datetime.now(UTC)
    with runtime.database.engine.begin() as conn:
        result = act_in(conn, runtime.settings, reviewer_id, clip_id, action, frame=frame, to_frame=to_frame, now=now)
        if result.focus_clip_id is not None:
            review_store.hold(conn, reviewer_id, result.focus_clip_id, now, lease_end(runtime.settings, now))
    return result


def act_in(
    conn: Connection,
    settings: Settings,
    reviewer_id: int,
    clip_id: int,
    action: ActionKind | str,
    *,
    frame: int | None = None,
    to_frame: int | None = None,
    now: datetime,
) -> ActionResult:
    """`act` inside the caller's transaction, without holding the focus clip (the caller shows and holds
    whatever comes next). Lock the video's timeline, let the domain decide, write it, append the audit
    event, queue approved clips for export: all or nothing with the caller's commit."""
    action = ActionKind(action)
    if action is ActionKind.UNDO:
        return undo_in(conn, settings, reviewer_id, now=now)
    locked = review_store.lock_timeline_of_clip(conn, clip_id)
    timeline = locked.clips
    by_id = {c.id: c for c in timeline}
    if clip_id not in by_id:
        raise Refused(f"clip {clip_id} was replaced by a cut operation; reload to see the current clips")
    clip = by_id[clip_id]
    payload = {"clip_id": clip_id, "frame": frame, "to_frame": to_frame}

    if action in CUT_ACTIONS:
        min_frames = max(1, round(settings.min_clip_seconds * (locked.fps or 25.0)))
        plan = _cut_plan(action, timeline, clip, frame, to_frame, min_frames)
        new_ids, _ = review_store.apply_cut_plan(conn, locked.video_id, timeline, plan, reviewer_id)
        applied = timeline_domain.record_applied(timeline, plan, new_ids)
        focus = _focus_after_cut(action, new_ids, plan, timeline, clip)
        inverse = {"cut": applied.to_payload()}
        changed = (*plan.retire, *new_ids)
        message = _cut_message(action, plan)
        approved: list[int] = []  # a cut operation leaves no clip approved: new clips wait for review
    else:
        effect = _decision(action, timeline, clip)
        review_store.apply_review_effect(conn, effect, reviewer_id, now)
        inverse = {"effect": effect.to_payload()}
        focus = None
        changed = tuple(sorted(effect.clip_ids))
        message = f"{_PAST_TENSE[action]} clip {clip_id}"
        approved = _approved_after(timeline, effect)
    event_id = review_store.append_event(
        conn,
        actor_id=reviewer_id,
        video_id=locked.video_id,
        clip_id=clip_id,
        action=action,
        payload=payload,
        inverse=inverse,
    )
    _queue_exports(conn, settings, approved)
    return ActionResult(str(action), event_id, locked.video_id, focus, message, changed)


_PAST_TENSE = {
    ActionKind.APPROVE: "approved",
    ActionKind.SKIP: "skipped",
    ActionKind.ARCHIVE: "archived",
    ActionKind.GROUP: "grouped",
}


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
    now = datetime.now(UTC)
    with runtime.database.engine.begin() as conn:
        result = undo_in(conn, runtime.settings, reviewer_id, now=now)
        if result.focus_clip_id is not None:
            review_store.hold(conn, reviewer_id, result.focus_clip_id, now, lease_end(runtime.settings, now))
    return result


def undo_in(conn: Connection, settings: Settings, reviewer_id: int, *, now: datetime) -> ActionResult:
    """`undo_last` inside the caller's transaction, without holding the focus clip (see `act_in`)."""
    event = review_store.last_undoable_event(conn, reviewer_id)
    if event is None:
        raise Refused("nothing to undo")
    timeline = review_store.lock_timeline(conn, event.video_id)
    inverse = event.inverse or {}
    if "cut" in inverse:
        applied = AppliedCut.from_payload(inverse["cut"])
        plan = timeline_domain.undo_plan(timeline, applied)
        review_store.apply_cut_plan(conn, event.video_id, timeline, plan, reviewer_id)
        focus = _restored_focus(event.payload.get("clip_id"), applied)
        changed = (*plan.retire, *plan.restore)
        approved: list[int] = []  # created clips go away, restored ones come back as they were
    else:
        effect = ReviewEffect.from_payload(inverse["effect"])
        by_id = {c.id: c for c in timeline}
        following = _following(timeline, effect)
        reverse = review_domain.undo(effect, by_id, following)
        review_store.apply_review_effect(conn, reverse, reviewer_id, now)
        focus = event.clip_id
        changed = tuple(sorted(reverse.clip_ids))
        approved = _approved_after(timeline, reverse)
    event_id = review_store.append_event(
        conn,
        actor_id=reviewer_id,
        video_id=event.video_id,
        clip_id=event.clip_id,
        action=ActionKind.UNDO,
        payload={"undid": event.action, "event_id": event.id},
        inverse=None,
        undoes_event_id=event.id,
    )
    _queue_exports(conn, settings, approved)
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


def _approved_after(timeline: tuple[Clip, ...], effect: ReviewEffect) -> list[int]:
    """The clips `effect` touched that are approved once it is written (grouping may touch an approved clip,
    whose export is then queued again: a job already waiting absorbs it)."""
    state = {c.id: c.state for c in timeline} | {c.clip_id: c.after for c in effect.changes}
    return [i for i in sorted(effect.clip_ids) if state.get(i) == ClipState.REVIEW_APPROVED]


def _queue_exports(conn: Connection, settings: Settings, clip_ids: list[int]) -> None:
    """Export approved clips after a grace period (an immediate Ctrl+Z still finds them under review). The jobs
    are written in the action's transaction, so they exist exactly when the approval does."""
    for clip_id in clip_ids:
        defer_in_transaction(conn, EXPORT, clip_id, delay_seconds=settings.export_grace_seconds)
