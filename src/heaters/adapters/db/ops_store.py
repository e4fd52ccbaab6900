"""Gateway for operations: readiness of the job queue, and the counts /metrics exports.

Metrics come from the database, not from process memory, so the web app reports the whole cluster's
queue and stage history no matter which worker did the work.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, text

from heaters.adapters.db.connection import Database
from heaters.adapters.db.models import Clip, SourceVideo


def queue_reachable(database: Database) -> None:
    """Raise unless the job queue's tables answer."""
    with database.engine.connect() as conn:
        conn.execute(text("SELECT 1 FROM procrastinate_jobs LIMIT 1"))


@dataclass(frozen=True)
class StageHistory:
    stage: str
    outcome: str
    runs: int
    seconds_sum: float
    buckets: tuple[int, ...]  # cumulative counts of finished runs at or under each bound


@dataclass(frozen=True)
class ClusterCounts:
    jobs: dict[tuple[str, str], int]  # (task, status) -> jobs waiting or running
    videos: dict[str, int]
    clips: dict[str, int]
    stages: list[StageHistory]
    connections: dict[str, int]  # application_name -> connections of ours


def cluster_counts(database: Database, bounds: tuple[float, ...]) -> ClusterCounts:
    bucket_columns = ", ".join(
        f"count(*) FILTER (WHERE extract(epoch FROM finished_at - started_at) <= {float(b)})" for b in bounds
    )
    with database.engine.connect() as conn:
        jobs = conn.execute(
            text(
                "SELECT task_name, status::text, count(*) FROM procrastinate_jobs "
                "WHERE status IN ('todo', 'doing') GROUP BY 1, 2"
            )
        ).all()
        videos = conn.execute(select(SourceVideo.state, func.count()).group_by(SourceVideo.state)).all()
        clips = conn.execute(select(Clip.state, func.count()).group_by(Clip.state)).all()
        stages = conn.execute(
            text(
                "SELECT stage, outcome, count(*), "
                "coalesce(sum(extract(epoch FROM finished_at - started_at)), 0)"
                + (", " + bucket_columns if bounds else "")
                + " FROM stage_runs WHERE finished_at IS NOT NULL GROUP BY 1, 2"
            )
        ).all()
        connections = conn.execute(
            text(
                "SELECT application_name, count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name LIKE 'heaters:%' GROUP BY 1"
            )
        ).all()
    return ClusterCounts(
        jobs={(task, status): n for task, status, n in jobs},
        videos=dict(videos),
        clips=dict(clips),
        stages=[StageHistory(r[0], r[1], r[2], float(r[3]), tuple(r[4:])) for r in stages],
        connections=dict(connections),
    )
