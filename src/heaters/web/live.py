"""Server-sent events of a video's timeline: every page showing a video gets its clips again within a moment
of any change, whichever process made it.

One listener per web process (`heaters.services.live`) hands each changed video id to this hub. Notices of
videos no page here shows are dropped at once. The others are collected by the hub's own reader thread, which
reads the timelines of all videos changed meanwhile in one statement on its own connection — never in the
requests' thread pool, never waiting for a pooled connection — then hands one message per video to the event
loop, which fans it out to that video's subscribers (one queue per open page). At most one read per
`READ_EVERY` seconds: a burst of actions on any number of videos costs one read, not one per action. Streams
end on their own after `STREAM_SECONDS` (the browser's EventSource reconnects at once and gets the timeline
again), so a server stopping never waits long for them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections import defaultdict
from collections.abc import AsyncIterator

from starlette.concurrency import run_in_threadpool

from heaters.runtime import Runtime
from heaters.services import live, review

STREAM_SECONDS = 60.0
PING_SECONDS = 15.0
READ_EVERY = 0.1  # seconds: the reader's pace under a stream of notices (the first one is read at once)

log = logging.getLogger(__name__)


def timeline_message(video_id: int, clips) -> str:
    data = [{"id": c.id, "start": c.start, "end": c.end, "state": str(c.state), "group_id": c.group_id} for c in clips]
    return f"event: timeline\ndata: {json.dumps({'video_id': video_id, 'timeline': data})}\n\n"


class LiveTimelines:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.subscribers: dict[int, set[asyncio.Queue]] = defaultdict(set)  # the event loop's only
        self.listener = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._watched: frozenset[int] = frozenset()  # videos with a page open here (replaced whole, read by threads)
        self._changed: set[int] = set()  # noticed, not read yet (under _lock)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._reader: threading.Thread | None = None

    def _ensure_listening(self) -> None:
        if self.listener is None:
            self.loop = asyncio.get_running_loop()
            self._reader = threading.Thread(target=self._read_changes, name="timeline-reader", daemon=True)
            self._reader.start()
            self.listener = live.listen_for_timeline_changes(self.runtime, self._noticed)

    def _noticed(self, video_id: int) -> None:  # on the listener's thread
        if video_id in self._watched:
            with self._lock:
                self._changed.add(video_id)
            self._wake.set()

    def _read_changes(self) -> None:  # the reader thread
        reader = live.TimelineReader(self.runtime)
        try:
            while not self._stopping.is_set():
                if not self._wake.wait(timeout=1.0):
                    continue
                with self._lock:
                    self._wake.clear()
                    video_ids, self._changed = self._changed & self._watched, set()
                if video_ids:
                    try:
                        timelines = reader.timelines(video_ids)
                    except Exception:  # a lost connection: the pages get the next change (or reconnect)
                        log.exception("live timelines: reading %d timelines failed", len(video_ids))
                    else:
                        messages = {v: timeline_message(v, clips) for v, clips in timelines.items()}
                        self._hand_to_loop(messages)
                self._stopping.wait(READ_EVERY)
        finally:
            reader.close()

    def _hand_to_loop(self, messages: dict[int, str]) -> None:
        loop = self.loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._fan_out, messages)
            except RuntimeError:  # the loop closed meanwhile
                pass

    def _fan_out(self, messages: dict[int, str]) -> None:
        for video_id, message in messages.items():
            for queue in list(self.subscribers.get(video_id, ())):
                queue.put_nowait(message)

    def _subscribe(self, video_id: int, queue: asyncio.Queue) -> None:
        self.subscribers[video_id].add(queue)
        self._watched = frozenset(self.subscribers)

    def _unsubscribe(self, video_id: int, queue: asyncio.Queue) -> None:
        self.subscribers[video_id].discard(queue)
        if not self.subscribers[video_id]:
            del self.subscribers[video_id]
        self._watched = frozenset(self.subscribers)

    def timeline_event(self, video_id: int) -> str:
        return timeline_message(video_id, review.video_timeline(self.runtime, video_id))

    async def stream(self, video_id: int) -> AsyncIterator[str]:
        queue: asyncio.Queue = asyncio.Queue()
        self._ensure_listening()
        self._subscribe(video_id, queue)
        if not self.listener.wait_listening(0):
            # the first stream of this process: LISTEN before the first read, so no change can fall in between
            await run_in_threadpool(self.listener.wait_listening, 10.0)
        loop = asyncio.get_running_loop()
        ends = loop.time() + STREAM_SECONDS
        try:
            yield "retry: 500\n\n"
            # what changed while the page was (re)connecting
            yield await run_in_threadpool(self.timeline_event, video_id)
            while (left := ends - loop.time()) > 0:
                try:
                    message = await asyncio.wait_for(queue.get(), timeout=min(left, PING_SECONDS))
                except TimeoutError:
                    yield ": ping\n\n"
                    continue
                if message is None:
                    return
                yield message
        finally:
            self._unsubscribe(video_id, queue)

    def close(self) -> None:
        """End every stream and stop listening (the server is stopping)."""

        def end_streams() -> None:
            for queues in list(self.subscribers.values()):
                for queue in list(queues):
                    queue.put_nowait(None)

        loop = self.loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(end_streams)
            except RuntimeError:  # the loop closed meanwhile
                pass
        if self.listener is not None:
            self.listener.stop()
            self.listener = None
        self._stopping.set()
        self._wake.set()
        if self._reader is not None:
            self._reader.join(timeout=5)
            self._reader = None
