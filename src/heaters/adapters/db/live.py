"""Live timeline changes across processes: PostgreSQL LISTEN/NOTIFY.

Every write that changes a video's clips (a cut plan, a review effect, a pipeline stage moving a clip along)
sends `NOTIFY heaters_timeline, '<video id>'` in its own transaction (a review action: in the statement that
takes the video's timeline lock, no round trip of its own), so the notice goes out exactly when the change
commits, from whichever process made it. Each web process keeps one listening connection
(`TimelineListener`) on a thread and hands each video id to a callback; the web layer fans it out to the
pages showing that video.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy import text

CHANNEL = "heaters_timeline"
NOTIFY_VIDEO = text(f"SELECT pg_notify('{CHANNEL}', CAST(:video_id AS text))")
NOTIFY_VIDEO_OF_CLIP = text(f"SELECT pg_notify('{CHANNEL}', CAST(video_id AS text)) FROM clips WHERE id = :clip_id")

log = logging.getLogger(__name__)


class TimelineListener:
    """One LISTEN connection on a daemon thread; `on_change(video_id)` is called for each notice (PostgreSQL
    folds identical notices of one transaction into one). Reconnects after a lost connection; `stop()` returns
    within `poll_seconds`."""

    def __init__(self, libpq_url: str, on_change: Callable[[int], None], poll_seconds: float = 0.5) -> None:
        self._url = libpq_url
        self._on_change = on_change
        self._poll = poll_seconds
        self._stopping = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="timeline-listener", daemon=True)

    def start(self) -> TimelineListener:
        self._thread.start()
        return self

    def wait_listening(self, timeout: float = 10.0) -> bool:
        return self._listening.wait(timeout)

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    while not self._stopping.is_set():
                        for notice in conn.notifies(timeout=self._poll):
                            self._deliver(notice.payload)
            except psycopg.Error as exc:
                self._listening.clear()
                log.warning("timeline listener lost its connection (%s); reconnecting", exc)
                self._stopping.wait(1.0)

    def _deliver(self, payload: str) -> None:
        try:
            video_id = int(payload)
        except ValueError:
            return
        try:
            self._on_change(video_id)
        except Exception:  # a subscriber's failure must not stop the listener
            log.exception("timeline change handler failed")
