"""Prometheus `/metrics` (prometheus-client): the cluster's state read from the database at each scrape.

Workers on other machines expose nothing themselves: everything they do is recorded in PostgreSQL (the
job queue, `stage_runs`, the states), so one scrape of any web process sees the whole cluster:
- `heaters_queue_jobs{stage,status}`: jobs waiting (todo) or running (doing) per stage;
- `heaters_stage_duration_seconds{stage,outcome}`: a histogram of finished stage runs;
- `heaters_stage_failures_total{stage}`: runs that failed (retried or not);
- `heaters_videos{state}`, `heaters_clips{state}`: entities by state;
- `heaters_db_connections{application}`: connections each Heaters process holds (`heaters:HOST:PID`).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from heaters.domain.stages import STAGES
from heaters.domain.states import ClipState, VideoState
from heaters.runtime import Runtime
from heaters.services.operations import counts as cluster_counts

DURATION_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
FAILED_OUTCOMES = ("failed", "retrying")


class ClusterCollector:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    def collect(self):
        counts = cluster_counts(self.runtime, DURATION_BUCKETS)
        queue = GaugeMetricFamily(
            "heaters_queue_jobs", "Jobs waiting or running, per stage.", labels=["stage", "status"]
        )
        for name in [*STAGES, "recover"]:
            for status in ("todo", "doing"):
                queue.add_metric([name, status], counts.jobs.get((name, status), 0))
        yield queue

        durations = HistogramMetricFamily(
            "heaters_stage_duration_seconds", "Duration of finished stage runs.", labels=["stage", "outcome"]
        )
        failures = CounterMetricFamily("heaters_stage_failures", "Stage runs that failed.", labels=["stage"])
        failed_by_stage = dict.fromkeys(STAGES, 0)
        for history in counts.stages:
            buckets = [(str(b), n) for b, n in zip(DURATION_BUCKETS, history.buckets, strict=True)]
            buckets.append(("+Inf", history.runs))
            durations.add_metric([history.stage, history.outcome], buckets, history.seconds_sum)
            if history.outcome in FAILED_OUTCOMES:
                failed_by_stage[history.stage] = failed_by_stage.get(history.stage, 0) + history.runs
        for stage, n in failed_by_stage.items():
            failures.add_metric([stage], n)
        yield durations
        yield failures

        videos = GaugeMetricFamily("heaters_videos", "Source videos by state.", labels=["state"])
        for state in VideoState:
            videos.add_metric([state.value], counts.videos.get(state.value, 0))
        yield videos
        clips = GaugeMetricFamily("heaters_clips", "Clips by state.", labels=["state"])
        for state in ClipState:
            clips.add_metric([state.value], counts.clips.get(state.value, 0))
        yield clips

        connections = GaugeMetricFamily(
            "heaters_db_connections", "Database connections per Heaters process.", labels=["application"]
        )
        for application, n in sorted(counts.connections.items()):
            connections.add_metric([application], n)
        yield connections


def metrics_registry(runtime: Runtime) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ClusterCollector(runtime))
    return registry
