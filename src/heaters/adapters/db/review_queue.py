"""The review queue gateway: claims (leases on clips) and the one-statement reads of what the review page
shows — a clip with its video and timeline, and the clips to prefetch after it.

The queue's order and which states are reviewable are the domain's rules; they are bound as parameters
(`heaters.domain.states.UNDER_REVIEW`), never written into the SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text

from heaters.adapters.db.gateway import Gateway
from heaters.domain.states import ClipState

_PENDING = str(ClipState.PENDING_REVIEW)
_SUPERSEDED = str(ClipState.SUPERSEDED)

_HOLD = """
    UPDATE clips SET claimed_by = :reviewer_id, claim_expires_at = :expires_at, updated_at = now()
    WHERE id = :clip_id AND (claimed_by IS NULL OR claimed_by = :reviewer_id OR claim_expires_at < :now)
"""
# Held by this reviewer first, then pending before the other queue states (skipped), then by video and
# time; locked rows (another reviewer claiming or acting on them right now) are passed over, not waited for.
_NEXT_CLAIMABLE = """
    SELECT id FROM clips
    WHERE state = ANY(CAST(:queue_states AS text[]))
      AND (claimed_by IS NULL OR claimed_by = :reviewer_id OR claim_expires_at < :now)
    ORDER BY CASE WHEN claimed_by = :reviewer_id THEN 0 ELSE 1 END,
             CASE WHEN state = :pending THEN 0 ELSE 1 END,
             video_id, start_frame
    LIMIT 1
    FOR UPDATE SKIP LOCKED
"""
_CLAIM_NEXT = f"""
    UPDATE clips SET claimed_by = :reviewer_id, claim_expires_at = :expires_at, updated_at = now()
    WHERE id = ({_NEXT_CLAIMABLE})
    RETURNING id
"""
# Unclaimed pending clips after a point of the queue's order (video, then time): the player prefetches them.
_UPCOMING = """
    SELECT coalesce(json_agg(json_build_array(u.id, u.start_frame, u.end_frame)), '[]') FROM (
        SELECT id, start_frame, end_frame FROM clips
        WHERE state = :pending AND (claimed_by IS NULL OR claim_expires_at < :now) {after}
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
            FROM clips AS t WHERE t.video_id = c.video_id AND t.state <> :superseded) AS timeline,
           ({_UPCOMING.format(after=_AFTER_CLIP)}) AS upcoming
    FROM clips AS c JOIN source_videos AS v ON v.id = c.video_id
    WHERE c.id = {{target}}
"""
_HOLD_STATEMENT = text(_HOLD)
# Holding and reading in one statement: the read sees the row as it was before the claim, which changes
# nothing the page shows (a claim touches only who holds the clip).
_HOLD_THEN_PAGE = text("WITH held AS (" + _HOLD + " RETURNING id) " + _CLIP_PAGE.format(target=":clip_id"))
_CLAIM_NEXT_THEN_PAGE = text(
    "WITH claimed AS (" + _CLAIM_NEXT + ") " + _CLIP_PAGE.format(target="(SELECT id FROM claimed)")
)
_UPCOMING_FROM_START = text(_UPCOMING.format(after=""))


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


def _page(row) -> ClipPage | None:
    return ClipPage(*row) if row is not None else None


class ReviewQueue(Gateway):
    def hold(self, reviewer_id: int, clip_id: int, now: datetime, expires_at: datetime) -> None:
        """The reviewer holds the clip until `expires_at`, unless another reviewer's lease on it still runs."""
        params = {"reviewer_id": reviewer_id, "clip_id": clip_id, "now": now, "expires_at": expires_at}
        self.conn.execute(_HOLD_STATEMENT, params)

    def hold_and_page(
        self, reviewer_id: int, clip_id: int, now: datetime, expires_at: datetime, prefetch: int
    ) -> ClipPage | None:
        """`hold` the clip, then its `clip_page`, in one round trip."""
        params = {
            "reviewer_id": reviewer_id,
            "clip_id": clip_id,
            "now": now,
            "expires_at": expires_at,
            "prefetch": prefetch,
            "pending": _PENDING,
            "superseded": _SUPERSEDED,
        }
        return _page(self.conn.execute(_HOLD_THEN_PAGE, params).first())

    def claim_next_and_page(
        self,
        reviewer_id: int,
        queue_states: tuple[str, ...],
        now: datetime,
        expires_at: datetime,
        prefetch: int,
    ) -> ClipPage | None:
        """Claim the next clip of the queue, then its `clip_page`, in one round trip; None when nothing is left."""
        params = {
            "reviewer_id": reviewer_id,
            "queue_states": [str(s) for s in queue_states],
            "now": now,
            "expires_at": expires_at,
            "prefetch": prefetch,
            "pending": _PENDING,
            "superseded": _SUPERSEDED,
        }
        return _page(self.conn.execute(_CLAIM_NEXT_THEN_PAGE, params).first())

    def upcoming_from_start(self, now: datetime, prefetch: int) -> list[list]:
        """The first unclaimed pending clips of the whole queue (what to prefetch when no clip is shown)."""
        params = {"now": now, "prefetch": prefetch, "pending": _PENDING}
        return self.conn.execute(_UPCOMING_FROM_START, params).scalar_one()
