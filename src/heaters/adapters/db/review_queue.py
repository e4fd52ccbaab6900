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
from heaters.domain.review import ActionKind
from heaters.domain.states import ClipState

_SKIP = str(ActionKind.SKIP)
_PENDING = str(ClipState.PENDING_REVIEW)
_SUPERSEDED = str(ClipState.SUPERSEDED)

_HOLD = """
    UPDATE clips SET claimed_by = :reviewer_id, claim_expires_at = :expires_at, updated_at = now()
    WHERE id = :clip_id AND (claimed_by IS NULL OR claimed_by = :reviewer_id OR claim_expires_at < :now)
"""
# A reviewer holds one clip at a time: taking a clip lets go of any other (an old claim in another video must
# not pull the reviewer back to it, nor keep it from others until it expires). Best effort and never waiting:
# a row locked by someone's action right now is passed over. A statement of its own, run after the claim: a
# statement holding a freshly claimed clip must not take other rows (an action locking the whole timeline of a
# video waits on that clip in turn: a deadlock).
_RELEASE_OTHERS = text("""
    UPDATE clips SET claimed_by = NULL, claim_expires_at = NULL
    WHERE id IN (
        SELECT id FROM clips WHERE claimed_by = :reviewer_id AND id <> :keep_id
        FOR UPDATE SKIP LOCKED
    )
""")
# The queue's order: the clip this reviewer holds (unexpired) first; then pending clips before skipped ones;
# then the video the reviewer just worked on (its clips after the one acted on first); skipped clips least
# recently skipped first; then by video and time. Never the clip just acted on (`exclude_id`); a skipped clip
# skipped again (an undone-free `skip` event marked "again") has left the queue — skipping means "later",
# once. Locked rows (another reviewer claiming or acting on them right now) are passed over, not waited for.
_NEXT_CLAIMABLE = """
    SELECT id FROM clips AS q
    WHERE state = ANY(CAST(:queue_states AS text[]))
      AND (claimed_by IS NULL OR claimed_by = :reviewer_id OR claim_expires_at < :now)
      AND id <> :exclude_id
      AND (CAST(:only_video AS integer) IS NULL OR video_id = :only_video)
      AND (state = :pending OR NOT EXISTS (
            SELECT 1 FROM review_events AS e
            WHERE e.video_id = q.video_id AND e.clip_id = q.id AND e.action = :skip AND e.payload ->> 'again' = 'true'
              AND NOT EXISTS (SELECT 1 FROM review_events AS u WHERE u.undoes_event_id = e.id)))
    ORDER BY CASE WHEN claimed_by = :reviewer_id AND claim_expires_at >= :now THEN 0 ELSE 1 END,
             CASE WHEN state = :pending THEN 0 ELSE 1 END,
             CASE WHEN video_id = :prefer_video THEN 0 ELSE 1 END,
             CASE WHEN video_id = :prefer_video AND start_frame < :prefer_start THEN 1 ELSE 0 END,
             CASE WHEN state = :pending THEN NULL ELSE reviewed_at END NULLS FIRST,
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
# The holder columns are read as the row was before this statement's own claim: a holder other than the
# reader means the claim was refused (another reviewer's lease runs). A claim is a lease, lost harmlessly in a
# database crash (the clip is claimable again): its commit does not wait for the disk (set_config, local to the
# statement's transaction, costs no round trip).
_CLIP_PAGE = f"""
    SELECT c.id, c.video_id, c.start_frame, c.end_frame, c.state, c.group_id,
           v.title, v.source, v.fps, v.frame_count, v.width, v.height,
           (SELECT coalesce(json_agg(json_build_array(t.id, t.start_frame, t.end_frame, t.state, t.group_id)
                                     ORDER BY t.start_frame), '[]')
            FROM clips AS t WHERE t.video_id = c.video_id AND t.state <> :superseded) AS timeline,
           ({_UPCOMING.format(after=_AFTER_CLIP)}) AS upcoming,
           c.claimed_by, (SELECT name FROM users WHERE id = c.claimed_by), c.claim_expires_at,
           EXISTS (SELECT 1 FROM clips AS o WHERE o.claimed_by = :reviewer_id AND o.id <> c.id) AS holds_others
    FROM clips AS c JOIN source_videos AS v ON v.id = c.video_id
    WHERE c.id = {{target}} AND set_config('synchronous_commit', 'off', true) IS NOT NULL
"""
_ACTIVE_AT = text("""
    SELECT a.id FROM clips AS s JOIN clips AS a ON a.video_id = s.video_id
    WHERE s.id = :clip_id AND a.state <> :superseded AND a.start_frame <= s.start_frame AND s.start_frame < a.end_frame
""")
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
    holder_id: int | None = None  # who held the clip before this read's own claim, and until when
    holder_name: str | None = None
    held_until: datetime | None = None
    holds_others: bool = False  # the reader holds other clips too (to let go of: one clip at a time)


def _page(row) -> ClipPage | None:
    return ClipPage(*row) if row is not None else None


def _hold_params(reviewer_id: int, clip_id: int, now: datetime, expires_at: datetime, prefetch: int) -> dict:
    return {
        "reviewer_id": reviewer_id,
        "clip_id": clip_id,
        "now": now,
        "expires_at": expires_at,
        "prefetch": prefetch,
        "pending": _PENDING,
        "superseded": _SUPERSEDED,
    }


def _claim_params(reviewer_id, queue_states, now, expires_at, prefetch, after, exclude_id, only_video) -> dict:
    return {
        "reviewer_id": reviewer_id,
        "queue_states": [str(s) for s in queue_states],
        "now": now,
        "expires_at": expires_at,
        "prefetch": prefetch,
        "pending": _PENDING,
        "superseded": _SUPERSEDED,
        "skip": _SKIP,
        "exclude_id": exclude_id if exclude_id is not None else -1,
        "only_video": only_video,
        "prefer_video": after[0] if after else None,
        "prefer_start": after[1] if after else 0,
    }


class ReviewQueue(Gateway):
    def hold(self, reviewer_id: int, clip_id: int, now: datetime, expires_at: datetime) -> None:
        """The reviewer holds the clip until `expires_at`, unless another reviewer's lease on it still runs."""
        params = {"reviewer_id": reviewer_id, "clip_id": clip_id, "now": now, "expires_at": expires_at}
        self.write(_HOLD_STATEMENT, params)

    def hold_and_page(
        self, reviewer_id: int, clip_id: int, now: datetime, expires_at: datetime, prefetch: int
    ) -> ClipPage | None:
        """`hold` the clip, then its `clip_page`, in one round trip."""
        params = _hold_params(reviewer_id, clip_id, now, expires_at, prefetch)
        return _page(self.conn.execute(_HOLD_THEN_PAGE, params).first())

    def claim_next_and_page(
        self,
        reviewer_id: int,
        queue_states: tuple[str, ...],
        now: datetime,
        expires_at: datetime,
        prefetch: int,
        *,
        after: tuple[int, int] | None = None,
        exclude_id: int | None = None,
        only_video: int | None = None,
    ) -> ClipPage | None:
        """Claim the next clip of the queue, then its `clip_page`, in one round trip; None when nothing is left.
        `after` (video id, start frame): the clip just acted on, whose video comes first; `exclude_id`: a clip
        not to hand back (the one just skipped); `only_video`: a per-video queue."""
        params = _claim_params(reviewer_id, queue_states, now, expires_at, prefetch, after, exclude_id, only_video)
        return _page(self.conn.execute(_CLAIM_NEXT_THEN_PAGE, params).first())

    # Inside a unit of work's `action`: the same reads, sent right after its COMMIT in the COMMIT's round trip (not
    # under the action's locks); the page is `page_after_commit()` once the action's block has ended.

    def hold_and_page_after_commit(
        self, reviewer_id: int, clip_id: int, now: datetime, expires_at: datetime, prefetch: int
    ) -> None:
        self._read_after_commit(_HOLD_THEN_PAGE, _hold_params(reviewer_id, clip_id, now, expires_at, prefetch))

    def claim_next_and_page_after_commit(
        self,
        reviewer_id: int,
        queue_states: tuple[str, ...],
        now: datetime,
        expires_at: datetime,
        prefetch: int,
        *,
        after: tuple[int, int] | None = None,
        exclude_id: int | None = None,
        only_video: int | None = None,
    ) -> None:
        params = _claim_params(reviewer_id, queue_states, now, expires_at, prefetch, after, exclude_id, only_video)
        self._read_after_commit(_CLAIM_NEXT_THEN_PAGE, params)

    def page_after_commit(self) -> ClipPage | None:
        assert self._writes is not None
        return _page(self._writes.row_after_commit)

    def _read_after_commit(self, statement, params: dict) -> None:
        if self._writes is None or not self._writes.active:
            raise RuntimeError("a read after the commit belongs inside a unit of work's action")
        self._writes.read_after_commit(statement, params)

    def release_others(self, reviewer_id: int, keep_id: int | None) -> None:
        """Let go of every claim of this reviewer but `keep_id` (see `_RELEASE_OTHERS`)."""
        self.write(_RELEASE_OTHERS, {"reviewer_id": reviewer_id, "keep_id": keep_id if keep_id else -1})

    def active_at_start_of(self, clip_id: int) -> int | None:
        """The active clip that now holds the first frame of `clip_id` (itself, or its replacement)."""
        return self.conn.execute(_ACTIVE_AT, {"clip_id": clip_id, "superseded": _SUPERSEDED}).scalar()

    def upcoming_from_start(self, now: datetime, prefetch: int) -> list[list]:
        """The first unclaimed pending clips of the whole queue (what to prefetch when no clip is shown)."""
        params = {"now": now, "prefetch": prefetch, "pending": _PENDING}
        return self.conn.execute(_UPCOMING_FROM_START, params).scalar_one()
