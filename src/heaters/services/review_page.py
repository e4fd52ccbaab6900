"""What the review page needs besides the clip itself: the video's timeline, the clips to prefetch, and
what to show after an action. Built on `heaters.services.review`, which owns the rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from heaters.adapters.db import review_store
from heaters.adapters.db.models import Clip as ClipRow
from heaters.adapters.db.models import SourceVideo
from heaters.domain.errors import NotFound
from heaters.domain.review import CUT_ACTIONS, ActionKind
from heaters.services import review
from heaters.services.review import ActionResult, ClipView

PREFETCH = 3


@dataclass(frozen=True)
class ClipMediaSource:
    """Where a clip's frames come from: enough to cut and cache it."""

    clip_id: int
    video_id: int
    start_frame: int
    end_frame: int
    proxy_key: str | None

    @property
    def version(self) -> str:
        return f"{self.start_frame}-{self.end_frame}"


def clip_video_url(clip_id: int, start_frame: int, end_frame: int) -> str:
    # The range in the URL makes the URL change whenever the clip's frames would, so caching is safe.
    return f"/clips/{clip_id}/video.mp4?v={start_frame}-{end_frame}"


def media_source(runtime, clip_id: int) -> ClipMediaSource:
    with runtime.database.sessions() as session:
        row = session.execute(
            select(ClipRow.video_id, ClipRow.start_frame, ClipRow.end_frame, SourceVideo.proxy_key)
            .join(SourceVideo, SourceVideo.id == ClipRow.video_id)
            .where(ClipRow.id == clip_id)
        ).first()
    if row is None:
        raise NotFound(f"no clip {clip_id}")
    return ClipMediaSource(clip_id, row.video_id, row.start_frame, row.end_frame, row.proxy_key)


def video_media(runtime, video_id: int) -> SourceVideo:
    with runtime.database.sessions() as session:
        video = session.get(SourceVideo, video_id)
    if video is None:
        raise NotFound(f"no video {video_id}")
    return video


def page_state(runtime, reviewer_id: int, view: ClipView | None) -> dict:
    """The JSON the page renders: clip, timeline, video geometry, prefetch list (None clip: queue empty).
    One statement reads all of it."""
    now = datetime.now(UTC)
    with runtime.database.engine.connect() as conn:
        if view is None:
            return _empty_state(review_store.upcoming_from_start(conn, now, PREFETCH))
        page = review_store.clip_page(conn, view.id, now, PREFETCH)
    if page is None:
        raise NotFound(f"no clip {view.id}")
    return _state(page, view)


def next_page_state(runtime, reviewer_id: int) -> dict:
    """Claim the next clip (`review.claim_next`) and return its page state, in one transaction."""
    now = datetime.now(UTC)
    with runtime.database.engine.begin() as conn:
        return _claim_next_state(conn, runtime.settings, reviewer_id, now)


def open_page_state(runtime, reviewer_id: int, clip_id: int) -> dict:
    """Show a specific clip (a link, a click on the timeline), held unless another reviewer holds it."""
    now = datetime.now(UTC)
    with runtime.database.engine.begin() as conn:
        return _held_state(conn, runtime.settings, reviewer_id, clip_id, now)


def act_and_show(
    runtime, reviewer_id: int, clip_id: int, action, *, frame: int | None = None, to_frame: int | None = None
) -> dict:
    """One review action and what to show next — `review.act`, then `next_after` and `page_state` — on one
    connection in a handful of round trips. Returns {"result": …, "state": …}."""
    now = datetime.now(UTC)
    with runtime.database.engine.connect() as conn:
        with conn.begin():
            result = review.act_in(
                conn, runtime.settings, reviewer_id, clip_id, action, frame=frame, to_frame=to_frame, now=now
            )
        return _answer(conn, runtime.settings, reviewer_id, clip_id, result, now)


def undo_and_show(runtime, reviewer_id: int) -> dict:
    """`review.undo_last` and what to show next (see `act_and_show`)."""
    now = datetime.now(UTC)
    with runtime.database.engine.connect() as conn:
        with conn.begin():
            result = review.undo_in(conn, runtime.settings, reviewer_id, now=now)
        return _answer(conn, runtime.settings, reviewer_id, -1, result, now)


def _answer(conn, settings, reviewer_id: int, acted_on: int, result: ActionResult, now: datetime) -> dict:
    """After the action's transaction: it has released the video's timeline, which every reviewer working on
    that video needs for their next action, so the claim and the page read run after it, not under it — each
    a single statement, atomic on its own (autocommit: no BEGIN/COMMIT round trips)."""
    conn.execution_options(isolation_level="AUTOCOMMIT")
    return {"result": result.as_json(), "state": _state_after(conn, settings, reviewer_id, acted_on, result, now)}


def _state_after(conn, settings, reviewer_id: int, acted_on: int, result: ActionResult, now: datetime) -> dict:
    """The page state of the clip `next_after` chooses, claimed or held. The service's own focus is held as
    `review.act` would hold it, even when the page stays on the acted-on clip."""
    focus = _focus(acted_on, result)
    if result.focus_clip_id is not None and result.focus_clip_id != focus:
        review_store.hold(conn, reviewer_id, result.focus_clip_id, now, review.lease_end(settings, now))
    if focus is not None:
        return _held_state(conn, settings, reviewer_id, focus, now)
    return _claim_next_state(conn, settings, reviewer_id, now)


def _held_state(conn, settings, reviewer_id: int, clip_id: int, now: datetime) -> dict:
    lease = review.lease_end(settings, now)
    page = review_store.hold_and_page(conn, reviewer_id, clip_id, now, lease, PREFETCH)
    if page is None:
        raise NotFound(f"no clip {clip_id}")
    return _state(page, review.view_of(page))


def _claim_next_state(conn, settings, reviewer_id: int, now: datetime) -> dict:
    page = review_store.claim_next_and_page(conn, reviewer_id, now, review.lease_end(settings, now), PREFETCH)
    if page is None:
        return _empty_state(review_store.upcoming_from_start(conn, now, PREFETCH))
    return _state(page, review.view_of(page))


def _empty_state(upcoming: list[list]) -> dict:
    return {"clip": None, "timeline": [], "upcoming": _upcoming(upcoming)}


def _state(page: review_store.ClipPage, view: ClipView) -> dict:
    clip = view.as_json() | {"video_url": clip_video_url(view.id, view.start_frame, view.end_frame)}
    return {
        "clip": clip,
        "video": {
            "id": page.video_id,
            "title": view.video_title,
            "frames": view.video_frames,
            "fps": view.fps,
            "width": page.width,
            "height": page.height,
            "strip_url": f"/videos/{page.video_id}/strip.jpg",
        },
        "timeline": [
            {"id": clip_id, "start": start, "end": end, "state": state, "group_id": group_id}
            for clip_id, start, end, state, group_id in page.timeline
        ],
        "upcoming": _upcoming(page.upcoming),
    }


def _upcoming(rows: list[list]) -> list[dict]:
    """Unclaimed pending clips after the shown one (the order `review.claim_next` follows), to prefetch."""
    return [{"id": clip_id, "video_url": clip_video_url(clip_id, start, end)} for clip_id, start, end in rows]


def _focus(acted_on: int, result: ActionResult) -> int | None:
    """After a cut operation that left the current clip alone (a cut dragged elsewhere on the timeline) stay
    on it; otherwise the service's focus (None: take the next in the queue)."""
    if ActionKind(result.action) in CUT_ACTIONS and acted_on not in result.changed_clip_ids:
        return acted_on
    return result.focus_clip_id


def next_after(runtime, reviewer_id: int, acted_on: int, result: ActionResult) -> ClipView | None:
    """The clip to show after an action: after a cut operation that left the current clip alone (a cut
    dragged elsewhere on the timeline) stay on it; otherwise the service's focus, else the next claim."""
    focus = _focus(acted_on, result)
    if focus is not None:
        if focus != result.focus_clip_id:  # the service already holds its own focus for the reviewer
            review.claim_clip(runtime, reviewer_id, focus)
        return review.clip_view(runtime, focus)
    return review.claim_next(runtime, reviewer_id)
