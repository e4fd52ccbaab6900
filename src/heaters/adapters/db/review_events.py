"""The review events gateway: the append-only audit trail, and what undo needs from it."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import text

from heaters.adapters.db.gateway import Gateway

_APPEND_RESERVED_EVENT = text("""
    INSERT INTO review_events (id, actor_id, video_id, clip_id, action, payload, inverse, undoes_event_id)
    VALUES (:id, :actor_id, :video_id, :clip_id, :action, CAST(:payload AS jsonb), CAST(:inverse AS jsonb),
            :undoes_event_id)
""")
_APPEND_EVENT = text("""
    INSERT INTO review_events (actor_id, video_id, clip_id, action, payload, inverse, undoes_event_id)
    VALUES (:actor_id, :video_id, :clip_id, :action, CAST(:payload AS jsonb), CAST(:inverse AS jsonb),
            :undoes_event_id)
    RETURNING id
""")
_LAST_UNDOABLE_EVENT = text("""
    SELECT e.id, e.video_id, e.clip_id, e.action, e.payload, e.inverse FROM review_events AS e
    WHERE e.actor_id = :actor_id AND e.action <> :undo
      -- NOT EXISTS probes the unique index on undoes_event_id; NOT IN would hash every undo ever made
      AND NOT EXISTS (SELECT 1 FROM review_events AS u WHERE u.undoes_event_id = e.id)
    ORDER BY e.id DESC
    LIMIT 1
    FOR UPDATE OF e
""")


_RECENT_UNDOABLE_EVENTS = text("""
    SELECT e.id, e.video_id, e.clip_id, e.action, e.payload, e.inverse FROM review_events AS e
    WHERE e.actor_id = :actor_id AND e.action <> :undo
      AND NOT EXISTS (SELECT 1 FROM review_events AS u WHERE u.undoes_event_id = e.id)
      AND (CAST(:event_id AS bigint) IS NULL OR e.id = :event_id)
    ORDER BY e.id DESC
    LIMIT :limit
""")
_HISTORY = text("""
    SELECT e.id, e.video_id, e.clip_id, e.action, e.payload, e.created_at,
           EXISTS (SELECT 1 FROM review_events AS u WHERE u.undoes_event_id = e.id) AS undone
    FROM review_events AS e
    WHERE e.actor_id = :actor_id AND e.action <> :undo
    ORDER BY e.id DESC
    LIMIT :limit
""")


@dataclass(frozen=True)
class HistoryRecord:
    id: int
    video_id: int
    clip_id: int | None
    action: str
    payload: dict
    created_at: object
    undone: bool


@dataclass(frozen=True)
class EventRecord:
    id: int
    video_id: int
    clip_id: int | None
    action: str
    payload: dict
    inverse: dict | None


class ReviewEvents(Gateway):
    def append(
        self,
        *,
        actor_id: int,
        video_id: int,
        clip_id: int | None,
        action: str,
        payload: dict,
        inverse: dict | None,
        undoes_event_id: int | None = None,
        reserved_id: int | None = None,
    ) -> int:
        """Append an event; its id. With `reserved_id` (reserved by the timeline lock, `LockedTimeline.event_id`) the
        INSERT needs no answer: a write, sent with the COMMIT inside a unit of work's `action`."""
        params = {
            "actor_id": actor_id,
            "video_id": video_id,
            "clip_id": clip_id,
            "action": str(action),
            "payload": json.dumps(payload),
            "inverse": json.dumps(inverse),  # None is stored as JSON null
            "undoes_event_id": undoes_event_id,
        }
        if reserved_id is not None:
            self.write(_APPEND_RESERVED_EVENT, params | {"id": reserved_id})
            return reserved_id
        return self.conn.execute(_APPEND_EVENT, params).scalar_one()

    def last_undoable(self, actor_id: int, undo_action: str) -> EventRecord | None:
        """This reviewer's most recent action that is not an undo and has not been undone (locked)."""
        row = self.conn.execute(_LAST_UNDOABLE_EVENT, {"actor_id": actor_id, "undo": undo_action}).first()
        return EventRecord(*row) if row is not None else None

    def recent_undoable(
        self, actor_id: int, undo_action: str, limit: int, event_id: int | None = None
    ) -> list[EventRecord]:
        """This reviewer's most recent actions not undone, newest first (or just `event_id`, if it is one)."""
        params = {"actor_id": actor_id, "undo": undo_action, "limit": limit, "event_id": event_id}
        return [EventRecord(*row) for row in self.conn.execute(_RECENT_UNDOABLE_EVENTS, params)]

    def history(self, actor_id: int, undo_action: str, limit: int) -> list[HistoryRecord]:
        """This reviewer's recent actions (undos excluded), newest first, each saying whether it was undone."""
        params = {"actor_id": actor_id, "undo": undo_action, "limit": limit}
        return [HistoryRecord(*row) for row in self.conn.execute(_HISTORY, params)]
