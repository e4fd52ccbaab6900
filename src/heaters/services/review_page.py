"""What the review page needs besides the clip itself: the video's timeline, the clips to prefetch, and
what to show after an action. Built on `heaters.services.review`, which owns the rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from heaters.adapters.db.models import Clip as ClipRow
from heaters.adapters.db.models import SourceVideo
from heaters.domain.errors import NotFound
from heaters.domain.review import CUT_ACTIONS, ActionKind
from heaters.domain.states import ClipState
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

    One session for all of it: this runs after every key press, and each extra checkout is a round trip.
    """
    with runtime.database.sessions() as session:
        upcoming = _upcoming(session, view)
        if view is None:
            return {"clip": None, "timeline": [], "upcoming": upcoming}
        video = session.get(SourceVideo, view.video_id)
        timeline = session.execute(
            select(ClipRow.id, ClipRow.start_frame, ClipRow.end_frame, ClipRow.state, ClipRow.group_id)
            .where(ClipRow.video_id == view.video_id, ClipRow.state != ClipState.SUPERSEDED)
            .order_by(ClipRow.start_frame)
        ).all()
    clip = view.as_json() | {"video_url": clip_video_url(view.id, view.start_frame, view.end_frame)}
    return {
        "clip": clip,
        "video": {
            "id": video.id,
            "title": view.video_title,
            "frames": view.video_frames,
            "fps": view.fps,
            "width": video.width,
            "height": video.height,
            "strip_url": f"/videos/{video.id}/strip.jpg",
        },
        "timeline": [
            {"id": c.id, "start": c.start_frame, "end": c.end_frame, "state": c.state, "group_id": c.group_id}
            for c in timeline
        ],
        "upcoming": upcoming,
    }


def _upcoming(session, view: ClipView | None) -> list[dict]:
    """Unclaimed pending clips after this one (the order `review.claim_next` follows), to prefetch. The same
    rule as `review.upcoming_clip_ids`, with the ranges the URLs need, in the page's session."""
    now = datetime.now(UTC)
    query = select(ClipRow.id, ClipRow.start_frame, ClipRow.end_frame).where(
        ClipRow.state == ClipState.PENDING_REVIEW,
        (ClipRow.claimed_by.is_(None)) | (ClipRow.claim_expires_at < now),
    )
    if view is not None:
        query = query.where(
            (ClipRow.video_id > view.video_id)
            | ((ClipRow.video_id == view.video_id) & (ClipRow.start_frame > view.start_frame))
        )
    rows = session.execute(query.order_by(ClipRow.video_id, ClipRow.start_frame).limit(PREFETCH)).all()
    return [{"id": r.id, "video_url": clip_video_url(r.id, r.start_frame, r.end_frame)} for r in rows]


def next_after(runtime, reviewer_id: int, acted_on: int, result: ActionResult) -> ClipView | None:
    """The clip to show after an action: after a cut operation that left the current clip alone (a cut
    dragged elsewhere on the timeline) stay on it; otherwise the service's focus, else the next claim."""
    action = ActionKind(result.action)
    focus = result.focus_clip_id
    if action in CUT_ACTIONS and acted_on not in result.changed_clip_ids:
        focus = acted_on
    if focus is not None:
        if focus != result.focus_clip_id:  # the service already holds its own focus for the reviewer
            review.claim_clip(runtime, reviewer_id, focus)
        return review.clip_view(runtime, focus)
    return review.claim_next(runtime, reviewer_id)


def open_clip(runtime, reviewer_id: int, clip_id: int) -> ClipView:
    """Show a specific clip (a link, a click on the timeline): hold it unless another reviewer does."""
    view = review.clip_view(runtime, clip_id)
    review.claim_clip(runtime, reviewer_id, clip_id)
    return view
