"""Live timelines: a process-wide subscription to "this video's clips changed", fed by the database
(PostgreSQL LISTEN/NOTIFY, so changes made by any process — another web server, a worker — arrive), and the
reads that answer it: the timelines of several changed videos in one statement, on a connection of their own."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from heaters.adapters.db.live import TimelineListener
from heaters.adapters.db.uow import UnitOfWork, dedicated
from heaters.domain.timeline import Clip
from heaters.runtime import Runtime


def listen_for_timeline_changes(runtime: Runtime, on_change: Callable[[int], None]) -> TimelineListener:
    """Start one listening connection; `on_change(video_id)` runs on its thread. Stop it with `.stop()`."""
    return TimelineListener(runtime.database.libpq_url, on_change).start()


class TimelineReader:
    """Reads for one thread (the live hub's): a connection kept across reads, outside the requests' turn for the
    pool; replaced after a failure."""

    def __init__(self, runtime: Runtime) -> None:
        self._database = runtime.database
        self._uow: UnitOfWork | None = None

    def timelines(self, video_ids: Iterable[int]) -> dict[int, tuple[Clip, ...]]:
        if self._uow is None:
            self._uow = dedicated(self._database)
        try:
            return self._uow.timeline.read_many(list(video_ids))
        except Exception:
            self.close()  # a lost connection: the next read opens another
            raise

    def close(self) -> None:
        if self._uow is not None:
            uow, self._uow = self._uow, None
            try:
                uow.close()
            except Exception:  # noqa: BLE001 — closing a broken connection may fail too; it is gone either way
                pass
