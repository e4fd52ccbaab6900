"""Apply Alembic migrations programmatically, once, under a PostgreSQL advisory lock.

Several processes (web, workers on other machines) may start at the same moment; the lock makes the
first one migrate and the others wait and find nothing left to do. Operators can instead run
`heaters migrate` once per upgrade and start the app processes with `--no-migrate`
(HEATERS_MIGRATE_ON_START=false); those then only check that the schema is current.

A failed migration is rolled back *before* the lock is released (releasing it inside the aborted
transaction would fail and hide the real error), and is reported as `MigrationFailed` with the
database's own message, plus what to do when it is the classic one: extensions need a superuser.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from heaters.domain.errors import HeatersError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_MIGRATION_LOCK_ID = 0x48_45_41_54  # "HEAT"
EXTENSIONS = ("vector", "btree_gist")
SUPERUSER_STEP = "CREATE EXTENSION IF NOT EXISTS vector; CREATE EXTENSION IF NOT EXISTS btree_gist;"
log = logging.getLogger(__name__)


class MigrationFailed(HeatersError):
    """The schema could not be brought up to date (or is not, and this process may not migrate)."""


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        # configparser treats % as interpolation; URLs with a socket path contain %2F.
        config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_to_head(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
        try:
            config = alembic_config(engine)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()
        except BaseException as error:
            connection.rollback()  # leave the aborted transaction first, or the unlock below fails too
            _release(connection)
            if isinstance(error, DBAPIError):
                raise MigrationFailed(_explain(error, engine)) from error
            raise
        _release(connection)


def _release(connection) -> None:
    try:
        connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _MIGRATION_LOCK_ID})
        connection.commit()
    except DBAPIError:  # the session lock ends with the connection anyway; never hide the real error
        log.warning("could not release the migration lock; it is released when the connection closes")


def _explain(error: DBAPIError, engine: Engine) -> str:
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    message = f"database migration failed: {reason}"
    lowered = reason.lower()
    if "extension" in lowered or "permission denied" in lowered or "must be owner" in lowered:
        database = engine.url.database or "the database"
        message += (
            f". The extensions {' and '.join(EXTENSIONS)} must be created by a superuser, once, in {database}: "
            f'psql -d {database} -c "{SUPERUSER_STEP}" (see the README, Production)'
        )
    return message


def ensure_current(engine: Engine) -> None:
    """For processes started with --no-migrate: refuse to run against an older (or newer) schema."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise MigrationFailed(
            f"the database schema is at revision {current or 'none (empty database)'} but this version of Heaters "
            f"needs {head}: run `heaters migrate` (stop the workers first), then start again"
        )
