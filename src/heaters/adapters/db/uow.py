"""The unit of work: one database connection (usually one transaction) and the gateways that share it.

    with transaction(database) as uow:        # BEGIN … COMMIT (ROLLBACK on an exception)
        timeline = uow.timeline.lock_of_clip(clip_id)
        …
        uow.events.append(…)

Every SQL statement of the product lives in a gateway module of this package; services and the pipeline
see only these gateways and the plain values they return, so "an action, its audit event and its export
job" is one transaction because the three gateways write through the same connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection

from heaters.adapters.db.artifacts import Artifacts
from heaters.adapters.db.boundaries import Boundaries
from heaters.adapters.db.chunks import Chunks
from heaters.adapters.db.clips import Clips
from heaters.adapters.db.connection import Database
from heaters.adapters.db.embeddings import Embeddings
from heaters.adapters.db.gateway import DeferredWrites
from heaters.adapters.db.jobs import Jobs
from heaters.adapters.db.library import LibraryReads
from heaters.adapters.db.review_events import ReviewEvents
from heaters.adapters.db.review_queue import ReviewQueue
from heaters.adapters.db.stage_runs import StageRuns
from heaters.adapters.db.staged import StagedTable
from heaters.adapters.db.timeline import Timeline
from heaters.adapters.db.users import Users
from heaters.adapters.db.videos import Videos
from heaters.domain.stages import Entity


class UnitOfWork:
    """The gateways, bound to one connection. Cheap to build: each gateway only keeps the connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._writes = writes = DeferredWrites(conn)
        self.videos = Videos(conn, writes)
        self.clips = Clips(conn, writes)
        self.chunks = Chunks(conn, writes)
        self.boundaries = Boundaries(conn, writes)
        self.timeline = Timeline(conn, writes)
        self.events = ReviewEvents(conn, writes)
        self.review_queue = ReviewQueue(conn, writes)
        self.artifacts = Artifacts(conn, writes)
        self.embeddings = Embeddings(conn, writes)
        self.runs = StageRuns(conn, writes)
        self.jobs = Jobs(conn, writes)
        self.users = Users(conn, writes)
        self.library = LibraryReads(conn, writes)

    def staged(self, entity: Entity) -> StagedTable:
        """The table the pipeline's stages move `entity` along: the one video-or-clip dispatch."""
        return self.videos if entity is Entity.VIDEO else self.clips

    @contextmanager
    def transaction(self) -> Iterator[UnitOfWork]:
        """A transaction on this connection (for work that continues on it afterwards, see `autocommit`)."""
        with self.conn.begin():
            yield self

    @contextmanager
    def action(self) -> Iterator[UnitOfWork]:
        """One transaction in as few round trips as PostgreSQL allows (a review action, on every key press):
        BEGIN travels with the video's timeline lock (`Timeline.lock`, `Timeline.lock_of_clip`), and the writes
        whose results nobody reads (`Gateway.write`) travel with the COMMIT. Statements before the lock run on
        their own — reads only: a write before the lock would wait for the COMMIT like any other, and the BEGIN is
        put in front of it there. Rolled back (held writes dropped) if the block raises."""
        self.autocommit()  # the driver sends no BEGIN of its own; the lock's statement carries it
        with self.conn.begin():
            self._writes.active = True
            try:
                yield self
                self._writes.send_with_commit()
            finally:
                self._writes.active = False
                self._writes.discard()

    def autocommit(self) -> None:
        """From now on each statement commits on its own (no BEGIN/COMMIT round trips)."""
        self.conn.execution_options(isolation_level="AUTOCOMMIT")

    def close(self) -> None:
        """Give the connection back (a unit of work from `dedicated`)."""
        self.conn.close()


@contextmanager
def transaction(database: Database) -> Iterator[UnitOfWork]:
    """One transaction: committed when the block ends, rolled back if it raises."""
    with database.engine.begin() as conn:
        yield UnitOfWork(conn)


@contextmanager
def connection(database: Database) -> Iterator[UnitOfWork]:
    """A connection for reads (or for `UnitOfWork.transaction` blocks followed by more statements)."""
    with database.engine.connect() as conn:
        yield UnitOfWork(conn)


def dedicated(database: Database) -> UnitOfWork:
    """A unit of work on a connection kept until `close()`, each statement committing on its own: for a long-lived
    reader on a thread of its own (the live timeline hub), so it never waits for, nor takes, a request's turn."""
    uow = UnitOfWork(database.engine.connect())
    uow.autocommit()
    return uow
