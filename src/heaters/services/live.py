"""Live timelines: a process-wide subscription to "this video's clips changed", fed by the database
(PostgreSQL LISTEN/NOTIFY, so changes made by any process — another web server, a worker — arrive)."""

from __future__ import annotations

from collections.abc import Callable

from heaters.adapters.db.live import TimelineListener
from heaters.runtime import Runtime


def listen_for_timeline_changes(runtime: Runtime, on_change: Callable[[int], None]) -> TimelineListener:
    """Start one listening connection; `on_change(video_id)` runs on its thread. Stop it with `.stop()`."""
    return TimelineListener(runtime.database.libpq_url, on_change).start()
