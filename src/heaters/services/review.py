"""Review use cases: the claimed queue, the actions, undo, and what the review page shows next.

Each action is one transaction: take the video's timeline lock, ask the domain for a plan or effect (or a
refusal), check nobody else holds the clips it changes, write it, append the audit event naming the
reviewer. Approved clips are queued for export after a short grace period, so that an immediate Ctrl+Z
still finds them under review; the export job is written in the action's transaction, so it exists exactly
when the approval does.

An action runs as a unit of work's `action`, in two round trips: BEGIN travels with the lock (which also reserves
the audit event's id), then every write, the event included, travels with the COMMIT. The video's lock — which
every reviewer on the video needs for their next key — is let go at COMMIT, before the disk flush, which the same
round trip then waits for: the answer still comes back only once the action is on disk
(`HEATERS_REVIEW_DURABLE_COMMIT`). The claim and read of the clip to show next follow in that same round trip,
after the COMMIT: a decision costs two round trips, an undo three (it reads the history first).

There is one path for "act, then show what comes next" — `act_and_show` / `undo_and_show` — used by the
web API, the tests and the benchmark alike; `next_page` and `open_page` show a clip without acting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from heaters.adapters.db.review_queue import ClipPage
from heaters.adapters.db.uow import UnitOfWork, connection, transaction
from heaters.config import Settings
from heaters.domain import review as review_domain
from heaters.domain import timeline as timeline_domain
from heaters.domain.cut_review import CutItem, cut_review_items
from heaters.domain.errors import NotFound, Refused
from heaters.domain.framegrid import fps_or_default, frames_in
from heaters.domain.review import CUT_ACTIONS, ActionKind, HeldByAnother, ReviewEffect
from heaters.domain.stages import EXPORT
from heaters.domain.states import EXPORTED_STATES, UNDER_REVIEW, ClipState
from heaters.domain.timeline import AppliedCut, Clip
from heaters.runtime import Runtime

PREFETCH = 3


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
    held_by: str | None = None  # another reviewer holding the clip: it can be viewed, not acted on
    held_until: datetime | None = None

    @property
    def frames(self) -> int:
        return self.end_frame - self.start_frame

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "video_id": self.video_id,
            "video_title": self.video_title,
            "start_frame": self.start_frame,
            "end_frame": self.end_frame,
            "frames": self.frames,
            "fps": self.fps,
            "start_seconds": round(self.start_frame / self.fps, 4),
            "end_seconds": round(self.end_frame / self.fps, 4),
            "duration_seconds": round(self.frames / self.fps, 4),
            "state": self.state,
            "group_id": self.group_id,
            "position": self.position,
            "count": self.count,
            "video_frames": self.video_frames,
            "held_by": self.held_by,
            "held_until": self.held_until.astimezone(UTC).strftime("%H:%M:%S UTC") if self.held_until else None,
        }


@dataclass(frozen=True)
class PageState:
    """What the review page renders: a clip with its video and timeline (None: the queue is empty), and the
    clips to prefetch. The web layer turns it into JSON with the media URLs."""

    clip: ClipView | None
    page: ClipPage | None
    upcoming: list[list]  # [id, start_frame, end_frame]
    queue_video: int | None = None  # a per-video queue: only this video's clips


@dataclass(frozen=True)
class ActionResult:
    action: str
    event_id: int
    video_id: int
    focus_clip_id: int | None  # the clip the reviewer should see next (None: take the next in the queue)
    message: str
    changed_clip_ids: tuple[int, ...] = field(default=())
    acted_at: tuple[int, int] | None = None  # (video id, start frame) of the clip acted on: its video comes next

    def as_json(self) -> dict:
        return {
            "action": self.action,
            "event_id": self.event_id,
            "video_id": self.video_id,
            "focus_clip_id": self.focus_clip_id,
            "message": self.message,
            "changed_clip_ids": list(self.changed_clip_ids),
        }


@dataclass(frozen=True)
class Answer:
    """An action's result and the page to show after it."""

    result: ActionResult
    state: PageState


def lease_end(settings: Settings, now: datetime) -> datetime:
    """When a claim made `now` expires."""
    return now + timedelta(seconds=settings.claim_lease_seconds)


# --- showing clips


def next_page(runtime: Runtime, reviewer_id: int, video_id: int | None = None) -> PageState:
    """Claim the next clip to review for a lease and show it: a clip this reviewer holds, else the next
    pending clip (by video, then time), else a skipped one — skipping means "later": once more, after the
    pending clips; skipped again, it leaves the queue, so the queue ends. Two reviewers never hold the same
    clip; an expired claim is free again. `video_id`: that video's queue only."""
    now = datetime.now(UTC)
    with transaction(runtime.database) as uow:
        return _claim_next_state(uow, runtime.settings, reviewer_id, now, _Next(only_video=video_id))


def open_page(runtime: Runtime, reviewer_id: int, clip_id: int, video_id: int | None = None) -> PageState:
    """Show a specific clip (a link, a click on the timeline), held unless another reviewer holds it. A clip
    replaced by a cut operation shows the clip that now holds its first frame (the page's URL follows)."""
    now = datetime.now(UTC)
    with transaction(runtime.database) as uow:
        state = _held_state(uow, runtime.settings, reviewer_id, clip_id, now)
        if state.clip is not None and state.clip.state == ClipState.SUPERSEDED:
            current = uow.review_queue.active_at_start_of(clip_id)
            if current is not None:
                state = _held_state(uow, runtime.settings, reviewer_id, current, now)
        return replace(state, queue_video=video_id)


@dataclass(frozen=True)
class HistoryEntry:
    """One of the reviewer's recent actions, for the history panel."""

    event_id: int
    action: str
    video_id: int
    clip_id: int | None
    at: datetime
    undone: bool
    summary: str

    def as_json(self) -> dict:
        return {
            "event_id": self.event_id,
            "action": self.action,
            "video_id": self.video_id,
            "clip_id": self.clip_id,
            "at": self.at.astimezone(UTC).strftime("%H:%M:%S"),
            "undone": self.undone,
            "summary": self.summary,
        }


def history(runtime: Runtime, reviewer_id: int, limit: int = 15) -> list[HistoryEntry]:
    """The reviewer's own recent actions, newest first, each saying whether it was undone."""
    with connection(runtime.database) as uow:
        records = uow.events.history(reviewer_id, ActionKind.UNDO, limit)
    return [
        HistoryEntry(r.id, r.action, r.video_id, r.clip_id, r.created_at, r.undone, _summary(r.action, r.payload))
        for r in records
    ]


def _summary(action: str, payload: dict) -> str:
    clip = payload.get("clip_id")
    if action == ActionKind.SPLIT:
        return f"split clip {clip} at frame {payload.get('frame')}"
    if action == ActionKind.MOVE_CUT:
        return f"moved cut {payload.get('frame')} → {payload.get('to_frame')}"
    if action == ActionKind.MERGE:
        return f"merged clip {clip} into the previous clip"
    if action == ActionKind.SKIP and payload.get("again"):
        return f"skipped clip {clip} again"
    return f"{_PAST_TENSE.get(ActionKind(action), action)} clip {clip}"


def cut_review(runtime: Runtime, video_id: int) -> list[CutItem]:
    """The video's cuts and suggested cuts, least confident first (cut-review mode)."""
    with connection(runtime.database) as uow:
        timeline = uow.timeline.read(video_id)
        recorded = uow.boundaries.of_video(video_id)
    detected = sorted(
        [(b.frame, b.kind, b.confidence, False) for b in recorded.boundaries]
        + [(b.frame, b.kind, b.confidence, True) for b in recorded.suggested]
    )
    if not timeline:
        raise NotFound(f"no clips for video {video_id}")
    return cut_review_items(timeline, detected)


def video_timeline(runtime: Runtime, video_id: int) -> tuple[Clip, ...]:
    with connection(runtime.database) as uow:
        return uow.timeline.read(video_id)


# --- acting


def act_and_show(
    runtime: Runtime,
    reviewer_id: int,
    clip_id: int,
    action: ActionKind | str,
    *,
    frame: int | None = None,
    to_frame: int | None = None,
    delta: int | None = None,
    queue_video: int | None = None,
) -> Answer:
    """Perform one review action on `clip_id`, then claim or hold what the reviewer sees next. `frame` is a
    video frame (split at it / the cut to move); `to_frame` is where a moved cut goes — or, with `delta`, the
    cut nearest to `frame` moves by `delta` frames (the page's nudge keys). Raises Refused with the reason when
    the rules say no (HeldByAnother when another reviewer holds a clip it would change)."""
    now = datetime.now(UTC)
    with connection(runtime.database) as uow:
        with uow.action():  # BEGIN rides with the timeline lock, the writes and the next page's read with the COMMIT
            moves = _Frames(frame, to_frame, delta)
            result = _act(uow, runtime.settings, reviewer_id, clip_id, ActionKind(action), moves, now)
            show = _answer_after_commit(uow, runtime.settings, reviewer_id, clip_id, result, now, queue_video)
        return show()


def undo_and_show(
    runtime: Runtime, reviewer_id: int, event_id: int | None = None, queue_video: int | None = None
) -> Answer:
    """Undo this reviewer's most recent action that can still be undone (repeated calls walk further back;
    actions that can no longer be undone — their clip was exported — are stepped over, and the answer says
    so), or the action `event_id` when that is still legal; then show the clip it concerned."""
    now = datetime.now(UTC)
    with connection(runtime.database) as uow:
        with uow.action():  # the history is read before the lock, on its own; then as `act_and_show`
            result = _undo(uow, runtime.settings, reviewer_id, now, event_id)
            show = _answer_after_commit(uow, runtime.settings, reviewer_id, -1, result, now, queue_video)
        return show()


def _act(
    uow: UnitOfWork,
    settings: Settings,
    reviewer_id: int,
    clip_id: int,
    action: ActionKind,
    frames: _Frames,
    now: datetime,
) -> ActionResult:
    if action is ActionKind.UNDO:
        return _undo(uow, settings, reviewer_id, now)
    locked = uow.timeline.lock_of_clip(clip_id, durable=settings.review_durable_commit)
    timeline = locked.clips
    clip = next(c for c in timeline if c.id == clip_id)
    frame, to_frame = frames.resolve(action, timeline)
    payload: dict = {"clip_id": clip_id, "frame": frame, "to_frame": to_frame}

    if action in CUT_ACTIONS:
        min_frames = frames_in(settings.min_clip_seconds, locked.fps)
        plan = _cut_plan(action, timeline, clip, frame, to_frame, min_frames)
        review_domain.check_not_held_by_others(plan.retire, locked.claims, reviewer_id, now)
        new_ids, _ = uow.timeline.apply_cut_plan(locked.video_id, timeline, plan, reviewer_id)
        applied = timeline_domain.record_applied(timeline, plan, new_ids)
        focus = _focus_after_cut(action, new_ids, plan, clip, frame)
        inverse = {"cut": applied.to_payload()}
        changed = (*plan.retire, *new_ids)
        message = _cut_message(action, plan)
        approved: list[int] = []  # a cut operation leaves no clip approved: new clips wait for review
    else:
        effect = _decision(action, timeline, clip)
        review_domain.check_not_held_by_others(effect.clip_ids, locked.claims, reviewer_id, now)
        uow.timeline.apply_review_effect(effect, reviewer_id, now)
        inverse = {"effect": effect.to_payload()}
        focus = None
        changed = tuple(sorted(effect.clip_ids))
        message = _decision_message(action, clip, effect)
        if action is ActionKind.SKIP and not effect.changes:
            payload["again"] = True  # the queue passes over it from now on
        approved = _approved_after(timeline, effect)
        _rewrite_manifest_if_exported(uow, locked.video_id, timeline, effect)
    event_id = uow.events.append(
        actor_id=reviewer_id,
        video_id=locked.video_id,
        clip_id=clip_id,
        action=action,
        payload=payload,
        inverse=inverse,
        reserved_id=locked.event_id,
    )
    _queue_exports(uow, settings, approved)
    _hold_in_action(uow, settings, reviewer_id, focus, now)
    return ActionResult(str(action), event_id, locked.video_id, focus, message, changed, (locked.video_id, clip.start))


def _hold_in_action(uow: UnitOfWork, settings: Settings, reviewer_id: int, focus: int | None, now: datetime) -> None:
    """The clip the reviewer sees next, when the action names it (a new piece, a restored clip), is held in the
    action's own transaction: no other reviewer's claim can take it between the commit and the page read."""
    if focus is not None:
        uow.review_queue.hold(reviewer_id, focus, now, lease_end(settings, now))


@dataclass(frozen=True)
class _Frames:
    """The frames an action names: the frame to split at or the cut to move and where to (or by how much)."""

    frame: int | None
    to_frame: int | None
    delta: int | None

    def resolve(self, action: ActionKind, timeline: tuple[Clip, ...]) -> tuple[int | None, int | None]:
        if action is not ActionKind.MOVE_CUT or self.delta is None or self.to_frame is not None:
            return self.frame, self.to_frame
        if self.frame is None:
            raise Refused("nudging a cut needs the frame the reviewer is on")
        cut = timeline_domain.nearest_cut(timeline, self.frame)
        if cut is None:
            raise Refused("this video has no cuts to move")
        return cut, cut + self.delta


def _decision_message(action: ActionKind, clip: Clip, effect: ReviewEffect) -> str:
    if action is ActionKind.SKIP and not effect.changes:
        return f"skipped clip {clip.id} again: it leaves the queue (open it from the timeline to decide it)"
    message = f"{_PAST_TENSE[action]} clip {clip.id}"
    others = [c for c in effect.changes if c.clip_id != clip.id]
    if action is ActionKind.GROUP:
        group_id = next((g.after for g in effect.group_changes), clip.group_id)
        message += f" with the previous clip (group {group_id})"
    for change in others:  # never change another clip's decision without saying so
        message += f"; clip {change.clip_id} was {change.before.removeprefix('review_')}, now approved"
    return message


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


def _focus_after_cut(action: ActionKind, new_ids, plan, clip, frame) -> int | None:
    """After a split show the piece that holds the split frame (the playhead stays where it was, so the next
    K splits further on); after a merge the merged clip; after a move the new self of the clip the reviewer
    was looking at (the earlier or the later clip of the cut), so repeated nudges stay on it."""
    if not new_ids:
        return None
    if action is ActionKind.MOVE_CUT and clip.id in plan.retire:
        return new_ids[plan.retire.index(clip.id)]
    at = frame if action is ActionKind.SPLIT and frame is not None else clip.start
    for clip_id, (start, end) in zip(new_ids, plan.create, strict=True):
        if start <= at < end:
            return clip_id
    return new_ids[0]


def _cut_message(action: ActionKind, plan) -> str:
    spans = ", ".join(f"[{s}, {e})" for s, e in plan.create)
    return {"split": "split into", "merge": "merged into", "move_cut": "moved cut:"}[action] + " " + spans


def _undo(
    uow: UnitOfWork, settings: Settings, reviewer_id: int, now: datetime, event_id: int | None = None
) -> ActionResult:
    candidates = uow.events.recent_undoable(reviewer_id, ActionKind.UNDO, UNDO_LOOKBACK, event_id)
    if not candidates:
        raise Refused("nothing to undo" if event_id is None else f"action {event_id} is not yours or already undone")
    stepped_over: list[str] = []
    for event in candidates:
        try:
            prepared = _prepare_undo(uow, reviewer_id, event, now, settings.review_durable_commit)
        except HeldByAnother:
            raise  # someone else's claim is not "can no longer be undone": it passes
        except Refused as refusal:
            if event_id is not None:
                raise
            stepped_over.append(str(refusal))
            continue
        result = prepared(settings)
        if stepped_over:
            message = result.message + " · stepped over what can no longer be undone: " + "; ".join(stepped_over)
            return replace(result, message=message)
        return result
    raise Refused("nothing left that can be undone: " + "; ".join(stepped_over))


UNDO_LOOKBACK = 25  # how far back undo looks past actions that can no longer be undone


def _prepare_undo(uow: UnitOfWork, reviewer_id: int, event, now: datetime, durable: bool = True):
    """Check that `event` can be undone now (raises Refused, having written nothing, when it cannot) and return
    the step that writes the undo."""
    locked = uow.timeline.lock(event.video_id, durable=durable)
    timeline = locked.clips if locked else ()
    claims = locked.claims if locked else {}
    inverse = event.inverse or {}
    if "cut" in inverse:
        applied = AppliedCut.from_payload(inverse["cut"])
        plan = timeline_domain.undo_plan(timeline, applied)
        review_domain.check_not_held_by_others(plan.retire, claims, reviewer_id, now)
    else:
        effect = ReviewEffect.from_payload(inverse["effect"])
        by_id = {c.id: c for c in timeline}
        reverse = review_domain.undo(effect, by_id, _following(timeline, effect))
        review_domain.check_not_held_by_others(reverse.clip_ids, claims, reviewer_id, now)

    def write(settings: Settings) -> ActionResult:
        if "cut" in inverse:
            uow.timeline.apply_cut_plan(event.video_id, timeline, plan, reviewer_id)
            focus = _restored_focus(event.payload.get("clip_id"), applied)
            changed = (*plan.retire, *plan.restore)
            approved: list[int] = []  # created clips go away, restored ones come back as they were
        else:
            uow.timeline.apply_review_effect(reverse, reviewer_id, now)
            focus = event.clip_id
            changed = tuple(sorted(reverse.clip_ids))
            approved = _approved_after(timeline, reverse)
            _rewrite_manifest_if_exported(uow, event.video_id, timeline, reverse)
        event_id = uow.events.append(
            actor_id=reviewer_id,
            video_id=event.video_id,
            clip_id=event.clip_id,
            action=ActionKind.UNDO,
            payload={"undid": event.action, "event_id": event.id},
            inverse=None,
            undoes_event_id=event.id,
            reserved_id=locked.event_id if locked else None,
        )
        _queue_exports(uow, settings, approved)
        _hold_in_action(uow, settings, reviewer_id, focus, now)
        message = f"undid: {_summary(event.action, event.payload)}"
        return ActionResult("undo", event_id, event.video_id, focus, message, changed)

    return write


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


def _queue_exports(uow: UnitOfWork, settings: Settings, clip_ids: list[int]) -> None:
    """Export approved clips after a grace period (an immediate Ctrl+Z still finds them under review)."""
    for clip_id in clip_ids:
        uow.jobs.defer(EXPORT, clip_id, delay_seconds=settings.export_grace_seconds)


def _rewrite_manifest_if_exported(uow: UnitOfWork, video_id: int, timeline, effect: ReviewEffect) -> None:
    """A group is metadata: when it changes for a clip that is already exported, the video's manifest (which
    lists each exported clip's group) is rewritten by a job queued in this transaction."""
    state = {c.id: c.state for c in timeline}
    if any(state.get(g.clip_id) in EXPORTED_STATES for g in effect.group_changes):
        uow.jobs.defer_manifest(video_id)


# --- what comes next


def _answer_after_commit(
    uow: UnitOfWork, settings, reviewer_id: int, acted_on: int, result: ActionResult, now, queue_video=None
) -> Callable[[], Answer]:
    """Inside the action, once it is decided: what the reviewer sees next. Its claim and page read are one
    statement sent right after the COMMIT, in the COMMIT's round trip — after it, not under it: the COMMIT has
    released the video's timeline, which every reviewer working on that video needs for their next action, and the
    statement runs on its own, atomic (autocommit). Returns the step that builds the answer from what it read."""
    focus = _focus(acted_on, result)
    if result.focus_clip_id is not None and result.focus_clip_id != focus:
        uow.review_queue.hold(reviewer_id, result.focus_clip_id, now, lease_end(settings, now))
    if focus is not None:
        # One clip at a time: the reviewer's other claims are let go in the action's COMMIT (a statement that never
        # waits — rows locked by others are passed over — so it cannot deadlock under the video's lock).
        uow.review_queue.release_others(reviewer_id, focus)
        uow.review_queue.hold_and_page_after_commit(reviewer_id, focus, now, lease_end(settings, now), PREFETCH)

        def held() -> Answer:
            state = _held_state_of(uow, reviewer_id, focus, now, uow.review_queue.page_after_commit())
            return Answer(result, replace(state, queue_video=queue_video))

        return held
    # never hand back the clip just acted on (a skipped clip stays in the queue, for later)
    wanted = _Next(after=result.acted_at, exclude_id=acted_on if acted_on > 0 else None, only_video=queue_video)
    uow.review_queue.claim_next_and_page_after_commit(reviewer_id, tuple(UNDER_REVIEW), now, lease_end(settings, now),
        PREFETCH, after=wanted.after, exclude_id=wanted.exclude_id, only_video=wanted.only_video)  # fmt: skip

    def claimed() -> Answer:
        state = _claimed_state_of(uow, reviewer_id, now, wanted, uow.review_queue.page_after_commit())
        return Answer(result, replace(state, queue_video=queue_video))

    return claimed


def _focus(acted_on: int, result: ActionResult) -> int | None:
    """After a cut operation that left the current clip alone (a cut dragged elsewhere on the timeline) stay
    on it; otherwise the action's focus (None: take the next in the queue)."""
    if ActionKind(result.action) in CUT_ACTIONS and acted_on not in result.changed_clip_ids:
        return acted_on
    return result.focus_clip_id


@dataclass(frozen=True)
class _Next:
    """Which clip the queue hands out next: `after` (video id, start frame) the clip just acted on, whose video
    comes first; never `exclude_id`; only `only_video`'s clips when set."""

    after: tuple[int, int] | None = None
    exclude_id: int | None = None
    only_video: int | None = None


def _held_state(uow: UnitOfWork, settings, reviewer_id: int, clip_id: int, now: datetime) -> PageState:
    page = uow.review_queue.hold_and_page(reviewer_id, clip_id, now, lease_end(settings, now), PREFETCH)
    return _held_state_of(uow, reviewer_id, clip_id, now, page)


def _held_state_of(uow: UnitOfWork, reviewer_id: int, clip_id: int, now: datetime, page: ClipPage | None) -> PageState:
    if page is None:
        raise NotFound(f"no clip {clip_id}")
    view = view_of(page, reviewer_id, now)
    if view.held_by is None and page.holds_others:
        uow.review_queue.release_others(reviewer_id, clip_id)
    return PageState(view, page, page.upcoming)


def _claim_next_state(uow: UnitOfWork, settings, reviewer_id: int, now: datetime, wanted: _Next) -> PageState:
    page = uow.review_queue.claim_next_and_page(
        reviewer_id,
        tuple(UNDER_REVIEW),
        now,
        lease_end(settings, now),
        PREFETCH,
        after=wanted.after,
        exclude_id=wanted.exclude_id,
        only_video=wanted.only_video,
    )
    return _claimed_state_of(uow, reviewer_id, now, wanted, page)


def _claimed_state_of(uow: UnitOfWork, reviewer_id: int, now: datetime, wanted: _Next, page: ClipPage | None):
    if page is None or page.holds_others:
        uow.review_queue.release_others(reviewer_id, page.id if page is not None else None)
    if page is None:
        return PageState(None, None, uow.review_queue.upcoming_from_start(now, PREFETCH), wanted.only_video)
    return PageState(view_of(page, reviewer_id, now), page, page.upcoming, wanted.only_video)


def view_of(page: ClipPage, reviewer_id: int | None = None, now: datetime | None = None) -> ClipView:
    """The `ClipView` of a clip page; position and count come from the timeline the page carries."""
    active = page.state != ClipState.SUPERSEDED
    return ClipView(
        id=page.id,
        video_id=page.video_id,
        video_title=page.video_title or page.video_source,
        start_frame=page.start_frame,
        end_frame=page.end_frame,
        fps=fps_or_default(page.fps),
        state=page.state,
        group_id=page.group_id,
        # the clip's place among the video's active clips (which never overlap), by start
        position=sum(1 for t in page.timeline if t[1] <= page.start_frame) if active else 0,
        count=len(page.timeline),
        video_frames=page.frame_count or page.end_frame,
        **_holder(page, reviewer_id, now),
    )


def _holder(page: ClipPage, reviewer_id: int | None, now: datetime | None) -> dict:
    held = (
        page.holder_id is not None
        and page.holder_id != reviewer_id
        and page.held_until is not None
        and (now is None or page.held_until > now)
    )
    return {"held_by": page.holder_name, "held_until": page.held_until} if held else {}
