"""The timeline gateway: a video's active clips as the review rules see them, locked for one action, and
the writes of the domain's cut plans and review effects.

These statements run on every key press, so they are plain SQL built once at import: no ORM identity map,
no statement construction per call, only the columns the rules need. Rule constants (the superseded and
pending states) are bound as parameters, never written into the SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text

from heaters.adapters.db.gateway import Gateway
from heaters.adapters.db.live import CHANNEL, NOTIFY_VIDEO
from heaters.domain.errors import NotFound, Refused
from heaters.domain.review import Claim, ReviewEffect
from heaters.domain.states import ClipState
from heaters.domain.timeline import Clip, CutPlan, MeceViolation, apply_plan, check_mece

_SUPERSEDED = str(ClipState.SUPERSEDED)


def _clip(row: Sequence[Any]) -> Clip:
    clip_id, start, end, state, group_id = row[:5]
    return Clip(id=clip_id, start=start, end=end, state=ClipState(state), group_id=group_id)


@dataclass(frozen=True)
class LockedTimeline:
    """A video's active clips, locked by this transaction until it ends, with who holds which clip."""

    video_id: int
    fps: float | None
    frame_count: int | None
    clips: tuple[Clip, ...]
    claims: dict[int, Claim]
    event_id: int | None = None  # an id reserved for the action's audit event (`ReviewEvents.append`)


# Every change to a video's timeline first takes the video's timeline lock (a transaction-scoped advisory
# lock), then reads the clips in a *second* statement. Under READ COMMITTED a statement's snapshot is taken
# when it starts: a single "SELECT … FOR UPDATE" that waited for another action would see that action's
# retired clips drop out but not the clips it inserted. Both statements go in one round trip (the simple
# query protocol runs each with its own snapshot), so only integers are inlined, never text.
# Taking the lock also queues the video's live-timeline notice (NOTIFY): PostgreSQL sends it only if the
# transaction commits, so it costs no round trip of its own, and a refused action (rolled back) sends nothing.
# And it reserves the id of the action's audit event, so that the event's INSERT needs no answer and travels with
# the COMMIT (`ReviewEvents.append`); an action refused after it leaves a gap in the ids, nothing else.
# A review action need not wait for its commit's disk flush (`durable=False`): the setting rides in the same round
# trip and holds for this transaction only. In a unit of work's `action` the BEGIN rides here too.
_BEGIN = "BEGIN;"
_NOT_DURABLE = "SET LOCAL synchronous_commit = off;"
_RESERVE_EVENT_ID = "nextval(pg_get_serial_sequence('review_events', 'id'))"
_LOCK_VIDEO_OF_CLIP = """
    SELECT pg_advisory_xact_lock(hashtext('timeline'), video_id), pg_notify('{channel}', CAST(video_id AS text)),
           {reserve}
    FROM clips WHERE id = {clip_id};
"""
_LOCK_VIDEO = (
    "SELECT pg_advisory_xact_lock(hashtext('timeline'), {video_id}), pg_notify('{channel}', '{video_id}'), {reserve};"
)
assert CHANNEL.isidentifier()  # inlined: a plain word
_TIMELINE_AFTER_LOCK = """
    SELECT c.id, c.start_frame, c.end_frame, c.state, c.group_id, c.claimed_by, u.name, c.claim_expires_at,
           v.id, v.fps, v.frame_count
    FROM source_videos AS v
    JOIN clips AS c ON c.video_id = v.id AND c.state <> '{superseded}'
    LEFT JOIN users AS u ON u.id = c.claimed_by
    WHERE v.id = {video}
    ORDER BY c.start_frame
    FOR UPDATE OF c
"""
_VIDEO_OF_CLIP = "(SELECT video_id FROM clips WHERE id = {clip_id})"
assert _SUPERSEDED.isidentifier()  # inlined below: a state name is a plain word


def _timeline_after_lock(video: str) -> str:
    return _TIMELINE_AFTER_LOCK.format(video=video, superseded=_SUPERSEDED)


_READ_TIMELINE = text("""
    SELECT id, start_frame, end_frame, state, group_id FROM clips
    WHERE video_id = :video_id AND state <> :superseded
    ORDER BY start_frame
""")
_READ_TIMELINES = text("""
    SELECT id, start_frame, end_frame, state, group_id, video_id FROM clips
    WHERE video_id = ANY(CAST(:video_ids AS integer[])) AND state <> :superseded
    ORDER BY video_id, start_frame
""")
_CLIP_EXISTS = text("SELECT 1 FROM clips WHERE id = :clip_id")
_LOCK_CLIPS = text("""
    SELECT id, start_frame, end_frame, state, group_id FROM clips WHERE id = ANY(CAST(:ids AS integer[])) FOR UPDATE
""")
_INSERT_CLIPS = text("""
    INSERT INTO clips (video_id, start_frame, end_frame, state, attempts, reviewer_id)
    SELECT :video_id, span.start_frame, span.end_frame, :pending, 0, :reviewer_id
    FROM unnest(CAST(:starts AS integer[]), CAST(:ends AS integer[])) AS span(start_frame, end_frame)
    RETURNING id, start_frame
""")
_RETIRE_CLIPS = text("""
    UPDATE clips SET state = :superseded, claimed_by = NULL, claim_expires_at = NULL, updated_at = now()
    WHERE id = ANY(CAST(:ids AS integer[]))
""")
_SET_STATES = text("""
    UPDATE clips AS c SET state = u.state, updated_at = now()
    FROM unnest(CAST(:ids AS integer[]), CAST(:states AS text[])) AS u(id, state)
    WHERE c.id = u.id
""")
_APPLY_STATE_CHANGES = text("""
    UPDATE clips AS c
    SET state = u.state, reviewer_id = :reviewer_id,
        reviewed_at = CASE WHEN u.state = :pending THEN NULL ELSE CAST(:now AS timestamptz) END,
        claimed_by = NULL, claim_expires_at = NULL, updated_at = now()
    FROM unnest(CAST(:ids AS integer[]), CAST(:states AS text[])) AS u(id, state)
    WHERE c.id = u.id
""")
_APPLY_GROUP_CHANGES = text("""
    UPDATE clips AS c SET group_id = u.group_id, updated_at = now()
    FROM unnest(CAST(:ids AS integer[]), CAST(:group_ids AS integer[])) AS u(id, group_id)
    WHERE c.id = u.id
""")


class Timeline(Gateway):
    def lock_of_clip(self, clip_id: int, *, durable: bool = True) -> LockedTimeline:
        """The timeline of `clip_id`'s video, locked; every page showing the video hears of the change when the
        transaction commits. NotFound when there is no such clip; Refused when the clip was replaced by a cut
        operation. `durable=False`: the commit does not wait for the disk (see `_NOT_DURABLE`)."""
        clip_id = int(clip_id)
        locked = self._lock_and_read(
            self._begin_and_durability(durable)
            + _LOCK_VIDEO_OF_CLIP.format(clip_id=clip_id, channel=CHANNEL, reserve=_RESERVE_EVENT_ID)
            + _timeline_after_lock(_VIDEO_OF_CLIP.format(clip_id=clip_id))
        )
        if locked is None or clip_id not in {c.id for c in locked.clips}:
            if self.conn.execute(_CLIP_EXISTS, {"clip_id": clip_id}).first() is None:
                raise NotFound(f"no clip {clip_id}")
            raise Refused(f"clip {clip_id} was replaced by a cut operation; reload to see the current clips")
        return locked

    def lock(self, video_id: int, *, durable: bool = True) -> LockedTimeline | None:
        """The video's active clips, locked until commit so concurrent actions on one video queue up; every page
        showing the video hears of the change when the transaction commits."""
        video_id = int(video_id)
        return self._lock_and_read(
            self._begin_and_durability(durable)
            + _LOCK_VIDEO.format(video_id=video_id, channel=CHANNEL, reserve=_RESERVE_EVENT_ID)
            + _timeline_after_lock(str(video_id))
        )

    def _begin_and_durability(self, durable: bool) -> str:
        """BEGIN when this statement must carry it; and how the commit reaches the disk: not waited for
        (`durable=False`), waited for with the video's lock already released (in a unit of work's `action`, see
        `DeferredWrites.durable_after_commit`), or waited for by the COMMIT itself."""
        begin = _BEGIN if self._writes is not None and self._writes.begins_with_next_statement() else ""
        if not durable:
            return begin + _NOT_DURABLE
        if self._writes is not None and self._writes.active and self._writes.durable_after_commit():
            return begin + _NOT_DURABLE
        return begin

    def _lock_and_read(self, statements: str) -> LockedTimeline | None:
        cursor = self.conn.connection.cursor()
        event_id = None
        try:
            cursor.execute(statements)
            while True:  # the lock's row carries the reserved event id; the timeline's read is the last statement
                if cursor.description is not None and len(cursor.description) == 3:
                    event_id = (cursor.fetchone() or (None, None, None))[2]
                if not cursor.nextset():
                    break
            rows = cursor.fetchall()
        finally:
            cursor.close()
        if not rows:
            return None
        video_id, fps, frame_count = rows[0][8:11]
        clips = tuple(_clip(r) for r in rows)
        if frame_count:
            try:
                check_mece([(c.start, c.end) for c in clips], frame_count)
            except MeceViolation as exc:  # a writer that skipped the timeline lock; never expected
                raise Refused(f"the clips of video {video_id} are being changed; reload and try again ({exc})") from exc
        claims = {
            r[0]: Claim(clip_id=r[0], holder_id=r[5], holder_name=r[6] or f"reviewer {r[5]}", expires_at=r[7])
            for r in rows
            if r[5] is not None and r[7] is not None
        }
        return LockedTimeline(video_id, fps, frame_count, clips, claims, event_id)

    def read(self, video_id: int) -> tuple[Clip, ...]:
        """The video's active clips by time, unlocked."""
        rows = self.conn.execute(_READ_TIMELINE, {"video_id": video_id, "superseded": _SUPERSEDED})
        return tuple(_clip(r) for r in rows)

    def read_many(self, video_ids: Sequence[int]) -> dict[int, tuple[Clip, ...]]:
        """The active clips of each of `video_ids` by time, unlocked, in one statement (a video without clips
        maps to an empty timeline)."""
        ids = sorted({int(v) for v in video_ids})
        found: dict[int, list[Clip]] = {v: [] for v in ids}
        for row in self.conn.execute(_READ_TIMELINES, {"video_ids": ids, "superseded": _SUPERSEDED}):
            found[row[5]].append(_clip(row))
        return {v: tuple(clips) for v, clips in found.items()}

    def announce(self, video_id: int) -> None:
        """Tell every page showing the video that its clips changed, when this transaction commits."""
        self.write(NOTIFY_VIDEO, {"video_id": video_id})

    def apply_cut_plan(
        self, video_id: int, timeline: Sequence[Clip], plan: CutPlan, reviewer_id: int
    ) -> tuple[tuple[int, ...], tuple[Clip, ...]]:
        """Write a cut plan; returns the ids of the created clips (in `plan.create` order) and the timeline after
        it. The caller holds the video's timeline lock (`lock`, `lock_of_clip`), which also announces the change.
        The plan is first applied in memory, which checks every transition and that the result is MECE; the
        database's exclusion constraint checks again at commit."""
        superseded = {}
        if plan.restore:
            superseded = {c.id: c for c in map(_clip, self.conn.execute(_LOCK_CLIPS, {"ids": list(plan.restore)}))}
        new_ids: tuple[int, ...] = ()
        if plan.create:
            params = {
                "video_id": video_id,
                "reviewer_id": reviewer_id,
                "pending": str(ClipState.PENDING_REVIEW),
                "starts": [s for s, _ in plan.create],
                "ends": [e for _, e in plan.create],
            }
            created = self.conn.execute(_INSERT_CLIPS, params).all()
            id_at = {start: clip_id for clip_id, start in created}  # created spans never share a start
            new_ids = tuple(id_at[s] for s, _ in plan.create)
        after = apply_plan(timeline, plan, new_ids, superseded)  # raises before anything is committed
        if plan.retire:
            self.write(_RETIRE_CLIPS, {"ids": list(plan.retire), "superseded": _SUPERSEDED})
        if plan.restore:
            states = [str(s) for s in plan.restore_states]
            self.write(_SET_STATES, {"ids": list(plan.restore), "states": states})
        return new_ids, after  # announced by the timeline's lock

    def apply_review_effect(self, effect: ReviewEffect, reviewer_id: int, now: datetime) -> None:
        """Write a review effect: each changed clip gets its new state, the reviewer, when (none when it goes back
        under review) and loses its claim; group changes set the group."""
        if effect.changes:
            params = {
                "reviewer_id": reviewer_id,
                "now": now,
                "pending": str(ClipState.PENDING_REVIEW),
                "ids": [c.clip_id for c in effect.changes],
                "states": [str(c.after) for c in effect.changes],
            }
            self.write(_APPLY_STATE_CHANGES, params)
        if effect.group_changes:
            params = {
                "ids": [g.clip_id for g in effect.group_changes],
                "group_ids": [g.after for g in effect.group_changes],
            }
            self.write(_APPLY_GROUP_CHANGES, params)
