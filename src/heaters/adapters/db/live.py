"""Live timeline changes across processes: PostgreSQL LISTEN/NOTIFY.

Every write that changes a video's clips (a cut plan, a review effect, a pipeline stage moving a clip along)
sends `NOTIFY heaters_timeline, '<video id>'` in its own transaction (a review action: in the statement that
takes the video's timeline lock, no round trip of its own), so the notice goes out exactly when the change
commits, from whichever process made it. Each web process keeps one listening connection
(`TimelineListener`) on a thread and hands each video id to a callback; the web layer fans it out to the
pages showing that video. `ChannelListener` is the same for any channel (the sign-in sessions' too).
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


class ChannelListener:
    """One LISTEN connection on a daemon thread; `on_notice(payload)` is called for each notice (PostgreSQL folds
    identical notices of one transaction into one). `on_listening(True)` once LISTEN is in place, `on_listening(False)`
    when the connection is lost (notices sent meanwhile are lost too: a subscriber that caches must forget); it
    reconnects by itself. `stop()` returns within `poll_seconds`."""

    def __init__(
        self,
        libpq_url: str,
        channel: str,
        on_notice: Callable[[str], None],
        poll_seconds: float = 0.5,
        on_listening: Callable[[bool], None] | None = None,
    ) -> None:
        assert channel.isidentifier()  # inlined into LISTEN: a plain word
        self._url = libpq_url
        self._channel = channel
        self._on_notice = on_notice
        self._on_listening = on_listening or (lambda listening: None)
        self._poll = poll_seconds
        self._stopping = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"listen-{channel}", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def wait_listening(self, timeout: float = 10.0) -> bool:
        return self._listening.wait(timeout)

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {self._channel}")
                    self._on_listening(True)  # first: whoever waits for `listening` sees the callback's effect
                    self._listening.set()
                    while not self._stopping.is_set():
                        for notice in conn.notifies(timeout=self._poll):
                            self._deliver(notice.payload)
            except psycopg.Error as exc:
                if self._listening.is_set():
                    self._listening.clear()
                    self._on_listening(False)
                log.warning("listener of %s lost its connection (%s); reconnecting", self._channel, exc)
                self._stopping.wait(1.0)
        if self._listening.is_set():
            self._listening.clear()
            self._on_listening(False)

    def _deliver(self, payload: str) -> None:
        try:
            self._on_notice(payload)
        except Exception:  # a subscriber's failure must not stop the listener
            log.exception("%s notice handler failed", self._channel)


class TimelineListener(ChannelListener):
    """The timeline channel: `on_change(video_id)` for each notice."""

    def __init__(self, libpq_url: str, on_change: Callable[[int], None], poll_seconds: float = 0.5) -> None:
        def video(payload: str) -> None:
            try:
                video_id = int(payload)
            except ValueError:
                return
            on_change(video_id)

        super().__init__(libpq_url, CHANNEL, video, poll_seconds)
