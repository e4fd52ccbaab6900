"""What operators and their tools ask of a running deployment: readiness, cluster-wide counts for
/metrics, schema migrations, and sweeping scratch that dead runs left on this machine."""

from __future__ import annotations

from heaters.adapters.db.ops_store import ClusterCounts, cluster_counts, queue_reachable
from heaters.adapters.scratch import Swept, sweep
from heaters.config import Settings
from heaters.domain.redact import redact
from heaters.runtime import Runtime


def readiness(runtime: Runtime) -> dict[str, str]:
    """Each dependency as "ok" or the (redacted) reason it failed: database, storage, job queue."""
    from heaters.adapters.db.connection import ping

    checks = {
        "database": lambda: ping(runtime.database),
        "storage": runtime.storage.check,
        "queue": lambda: queue_reachable(runtime.database),
    }
    answers: dict[str, str] = {}
    for name, check in checks.items():
        try:
            check()
            answers[name] = "ok"
        except Exception as error:  # noqa: BLE001 — any failure means not ready; say which and why
            answers[name] = redact(f"{type(error).__name__}: {error}")[:300]
    return answers


def counts(runtime: Runtime, duration_bounds: tuple[float, ...]) -> ClusterCounts:
    return cluster_counts(runtime.database, duration_bounds)


def migrate(settings: Settings) -> tuple[str | None, str]:
    """Bring the schema up to date; returns (current revision, this version's head)."""
    from heaters.adapters.db.connection import open_database
    from heaters.adapters.db.migrate import current_revision, head_revision

    database = open_database(settings, migrate=True)
    try:
        return current_revision(database.engine), head_revision()
    finally:
        database.engine.dispose()


def sweep_scratch(settings: Settings) -> Swept:
    """Remove the scratch (data_dir/work) that runs killed on this machine left behind."""
    return sweep(settings.data_path / "work")
