"""Migrations as an operator meets them: a non-superuser owner role, `heaters migrate`, --no-migrate."""

from __future__ import annotations

import threading
import uuid
from urllib.parse import urlparse

import psycopg
import pytest
from sqlalchemy import create_engine, text

from heaters.adapters.db.connection import open_database, to_sqlalchemy_url
from heaters.adapters.db.migrate import MigrationFailed, ensure_current, head_revision, upgrade_to_head
from heaters.config import Settings
from heaters.services.users import ensure_first_user


@pytest.fixture
def owner_database(postgres_admin_url):
    """A fresh database owned by a new login role that is not a superuser; returns (admin, owner) URLs."""
    name = f"owned_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {name} LOGIN PASSWORD 'owner-pw'")
        conn.execute(f"CREATE DATABASE {name} OWNER {name}")
    admin = urlparse(postgres_admin_url)._replace(path="/" + name)
    owner = admin._replace(netloc=f"{name}:owner-pw@{admin.netloc.rpartition('@')[2]}")
    return admin.geturl(), owner.geturl()


def test_a_failed_migration_shows_the_real_error_and_releases_the_lock(owner_database):
    admin_url, owner_url = owner_database
    engine = create_engine(to_sqlalchemy_url(owner_url))
    with pytest.raises(MigrationFailed) as failed:
        upgrade_to_head(engine)
    message = str(failed.value)
    assert "permission denied to create extension" in message and "CREATE EXTENSION IF NOT EXISTS vector" in message
    assert "InFailedSqlTransaction" not in message and "owner-pw" not in message
    with engine.connect() as conn:  # nothing half-applied, and the advisory lock is free again
        assert conn.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")).scalar() == 0
        assert conn.execute(text("SELECT to_regclass('source_videos')")).scalar() is None
    with pytest.raises(MigrationFailed, match="run `heaters migrate`"):
        ensure_current(engine)

    with psycopg.connect(admin_url, autocommit=True) as conn:  # the README's superuser step
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    upgrade_to_head(engine)
    ensure_current(engine)
    engine.dispose()


def test_no_migrate_refuses_an_old_schema_and_accepts_a_current_one(owner_database, tmp_path):
    admin_url, owner_url = owner_database
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    settings = Settings(data_dir=tmp_path, database_url=owner_url, migrate_on_start=False)
    with pytest.raises(MigrationFailed, match="none \\(empty database\\)"):
        open_database(settings)
    open_database(settings, migrate=True).engine.dispose()
    database = open_database(settings)
    with database.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
        name = conn.execute(text("SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()"))
        assert name.scalar().startswith("heaters:")
    database.engine.dispose()


def test_processes_starting_together_create_the_first_reviewer_once(database):
    results, errors = [], []
    barrier = threading.Barrier(4)

    def start() -> None:
        barrier.wait()
        try:
            results.append(ensure_first_user(database, "admin", "first-password"))
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    created = [r for r in results if r is not None]
    assert len(created) == 1 and created[0][0].name == "admin"
