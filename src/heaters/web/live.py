"""Server-sent events of a video's timeline: every page showing a video gets its clips again within a moment
of any change, whichever process made it.

One listener per web process (`heaters.services.live`) hands each changed video id to this hub, which reads
the video's timeline once and fans it out to that video's subscribers (one queue per open page). Streams end
on their own after `STREAM_SECONDS` (the browser's EventSource reconnects at once and gets the timeline
again), so a server stopping never waits long for them.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import AsyncIterator

from starlette.concurrency import run_in_threadpool

from heaters.runtime import Runtime
from heaters.services import live, review

STREAM_SECONDS = 60.0
PING_SECONDS = 15.0


class LiveTimelines:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.subscribers: dict[int, set[asyncio.Queue]] = defaultdict(set)
        self.listener = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.reading: set[int] = set()  # videos whose timeline is being read for their subscribers
        self.stale: set[int] = set()  # … and changed again meanwhile

    def _ensure_listening(self) -> None:
        if self.listener is None:
            self.loop = asyncio.get_running_loop()
            self.listener = live.listen_for_timeline_changes(self.runtime, self._changed)

    def _changed(self, video_id: int) -> None:  # on the listener's thread
        loop = self.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._fan_out, video_id)

    def _fan_out(self, video_id: int) -> None:
        if not self.subscribers.get(video_id):
            return
        # One read of a video's timeline at a time: notices arriving meanwhile are folded into one more read
        # right after it (a burst of actions on one video costs two reads, not one per action).
        if video_id in self.reading:
            self.stale.add(video_id)
            return
        self.reading.add(video_id)
        asyncio.ensure_future(self._send(video_id))

    async def _send(self, video_id: int) -> None:
        try:
            while True:
                self.stale.discard(video_id)
                message = await run_in_threadpool(self.timeline_event, video_id)
                for queue in list(self.subscribers.get(video_id, ())):
                    queue.put_nowait(message)
                if video_id not in self.stale:
                    return
        finally:
            self.reading.discard(video_id)

    def timeline_event(self, video_id: int) -> str:
        clips = review.video_timeline(self.runtime, video_id)
        data = [
            {"id": c.id, "start": c.start, "end": c.end, "state": str(c.state), "group_id": c.group_id} for c in clips
        ]
        return f"event: timeline\ndata: {json.dumps({'video_id': video_id, 'timeline': data})}\n\n"

    async def stream(self, video_id: int) -> AsyncIterator[str]:
        queue: asyncio.Queue = asyncio.Queue()
        self._ensure_listening()
        self.subscribers[video_id].add(queue)
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
            self.subscribers[video_id].discard(queue)
            if not self.subscribers[video_id]:
                del self.subscribers[video_id]

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
