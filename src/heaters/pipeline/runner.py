"""Runs one stage for one entity so that a crash at any moment loses nothing and repeats nothing.

1. In a short transaction (row locked): re-check the state; an entity already past this stage is left
   alone (idempotent); otherwise mark it running and count the attempt.
2. Do the work outside any transaction. Objects go to deterministic storage keys, so a retry after a
   crash overwrites the same object instead of leaving an orphan.
3. In a second transaction: re-check the state, record the results (only objects that now exist) and
   move to the stage's done state. Then queue the next stage (recovery re-queues it if we die first).
Failures: bad input fails at once; anything else fails and is retried with backoff up to the limit.
Bounds: a run that would exceed `max_attempts` plus `max_interrupted_runs` (a worker killed again and again,
e.g. by the same input) is failed at step 1 instead of started; every run has a time limit
(`stage_time_limit_seconds` plus `stage_time_limit_per_media_second` per second of the video or clip; the
longest allowed video when its duration is not known yet), checked each time the work reports progress.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, update
from sqlalchemy.orm import Session

from heaters.adapters.db.models import Clip, SourceVideo, StageRun
from heaters.domain.errors import BadInput, HeatersError
from heaters.domain.stages import STAGES, Entity, Stage, retry_backoff_seconds
from heaters.domain.states import ClipState, VideoState, check_clip_transition, check_video_transition
from heaters.runtime import Runtime

log = logging.getLogger(__name__)
WORKER_NAME = f"{socket.gethostname()}:{os.getpid()}"

Row = SourceVideo | Clip
# The work gets a detached snapshot of the row and a progress callback; it returns a function that
# records its results on the locked row inside the final transaction.
Recorder = Callable[[Session, Row], None]
Work = Callable[[Row, Callable[[float], None]], Recorder]


class StageTimedOut(HeatersError):
    """The stage ran past its time limit."""


@dataclass(frozen=True)
class StageOutcome:
    stage: str
    entity_id: int
    outcome: str  # "done", "skipped", "failed", "retrying"
    detail: str = ""


def _model(stage: Stage) -> type[Row]:
    return SourceVideo if stage.entity == Entity.VIDEO else Clip


def _transition(stage: Stage, current: str, target: str) -> None:
    if stage.entity == Entity.VIDEO:
        check_video_transition(VideoState(current), VideoState(target))
    else:
        check_clip_transition(ClipState(current), ClipState(target))


def run_stage(runtime: Runtime, stage: Stage, entity_id: int, work: Work) -> StageOutcome:
    model = _model(stage)
    sessions = runtime.database.sessions
    with sessions.begin() as session:
        row = session.get(model, entity_id, with_for_update=True)
        if row is None:
            return StageOutcome(stage.name, entity_id, "skipped", "no such entity")
        if not stage.can_start_from(row.state):
            return StageOutcome(stage.name, entity_id, "skipped", f"state is {row.state}")
        max_attempts = runtime.settings.max_attempts
        budget = max_attempts + runtime.settings.max_interrupted_runs
        if row.attempts >= budget and row.state != stage.ready:
            # Runs that never finished (the worker died each time) count too: stop here, not in a crash loop.
            # A killed worker is not always the input's fault (deploys, chaos), hence the extra allowance.
            message = (
                f"gave up after {row.attempts} attempts, the last ones interrupted (HEATERS_MAX_ATTEMPTS is "
                f"{max_attempts}, HEATERS_MAX_INTERRUPTED_RUNS {runtime.settings.max_interrupted_runs}); "
                "retry by hand once the cause is fixed"
            )
            if row.state == stage.running:
                _transition(stage, row.state, stage.failed)
                row.state = stage.failed
                row.last_error = message
            return StageOutcome(stage.name, entity_id, "failed", message)
        time_limit = _time_limit(runtime, session, row)
        _transition(stage, row.state, stage.running)
        row.state = stage.running
        row.attempts += 1
        row.last_error = None
        if isinstance(row, SourceVideo):
            row.progress = 0.0
        # A run still marked running was killed mid-way (we hold the entity's lock now).
        session.execute(
            update(StageRun)
            .where(StageRun.stage == stage.name, StageRun.entity_id == entity_id, StageRun.outcome == "running")
            .values(outcome="interrupted")
        )
        run = StageRun(stage=stage.name, entity_id=entity_id, worker=WORKER_NAME, outcome="running")
        session.add(run)
        session.flush()
        run_id = run.id
        session.expunge(row)
        snapshot = row

    try:
        record = work(snapshot, _progress_reporter(runtime, stage, entity_id, time_limit))
    except BadInput as error:
        return _fail(runtime, stage, entity_id, run_id, str(error), retry=False)
    except Exception as error:  # noqa: BLE001 — any other failure is worth a retry
        log.exception("%s of %s %s failed", stage.name, stage.entity, entity_id)
        return _fail(runtime, stage, entity_id, run_id, f"{type(error).__name__}: {error}", retry=True)

    with sessions.begin() as session:
        row = session.get(model, entity_id, with_for_update=True)
        if row is None or row.state != stage.running:
            # Someone else finished or cancelled it meanwhile; our objects sit at the same keys.
            _finish_run(session, run_id, "skipped", "state changed while working")
            return StageOutcome(stage.name, entity_id, "skipped", "state changed while working")
        record(session, row)
        _transition(stage, row.state, stage.done)
        row.state = stage.done
        row.attempts = 0
        if isinstance(row, SourceVideo):
            row.progress = 1.0
        _finish_run(session, run_id, "done")
    if stage.next:
        runtime.queue.defer(STAGES[stage.next], entity_id)
    return StageOutcome(stage.name, entity_id, "done")


def _finish_run(session: Session, run_id: int, outcome: str, detail: str | None = None) -> None:
    session.execute(
        update(StageRun).where(StageRun.id == run_id).values(outcome=outcome, detail=detail, finished_at=func.now())
    )


def _fail(runtime: Runtime, stage: Stage, entity_id: int, run_id: int, message: str, *, retry: bool) -> StageOutcome:
    settings = runtime.settings
    with runtime.database.sessions.begin() as session:
        row = session.get(_model(stage), entity_id, with_for_update=True)
        if row is None or row.state != stage.running:
            _finish_run(session, run_id, "skipped", "state changed while working")
            return StageOutcome(stage.name, entity_id, "skipped", "state changed while working")
        _transition(stage, row.state, stage.failed)
        row.state = stage.failed
        attempts = row.attempts
        will_retry = retry and attempts < settings.max_attempts
        delay = retry_backoff_seconds(attempts, settings.retry_backoff_seconds)
        suffix = f" (attempt {attempts} of {settings.max_attempts}; retrying in {delay} s)" if will_retry else ""
        row.last_error = message + suffix
        _finish_run(session, run_id, "retrying" if will_retry else "failed", message)
    if will_retry:
        runtime.queue.defer(stage, entity_id, delay_seconds=delay)
        return StageOutcome(stage.name, entity_id, "retrying", message)
    return StageOutcome(stage.name, entity_id, "failed", message)


def _time_limit(runtime: Runtime, session: Session, row: Row) -> float:
    """Seconds this run may take: the base limit plus a share per second of media."""
    settings = runtime.settings
    if isinstance(row, SourceVideo):
        media_seconds = row.duration_seconds
    else:
        video = session.get(SourceVideo, row.video_id)
        media_seconds = (row.end_frame - row.start_frame) / video.fps if video is not None and video.fps else None
    if media_seconds is None:
        media_seconds = settings.max_duration_seconds
    return settings.stage_time_limit_seconds + settings.stage_time_limit_per_media_second * media_seconds


def _progress_reporter(
    runtime: Runtime, stage: Stage, entity_id: int, time_limit: float = float("inf")
) -> Callable[[float], None]:
    """Checks the time limit on every report; writes a video's progress at most twice a second (clips are short;
    their progress is not stored)."""
    deadline = time.monotonic() + time_limit
    last = [0.0]

    def report(fraction: float) -> None:
        now = time.monotonic()
        if now > deadline:
            raise StageTimedOut(
                f"{stage.name} ran past its time limit of {time_limit:.0f} s (HEATERS_STAGE_TIME_LIMIT_SECONDS "
                "plus HEATERS_STAGE_TIME_LIMIT_PER_MEDIA_SECOND per second of media)"
            )
        if stage.entity != Entity.VIDEO or now - last[0] < 0.5:
            return
        last[0] = now
        with runtime.database.sessions.begin() as session:
            session.query(SourceVideo).filter_by(id=entity_id, state=stage.running).update(
                {"progress": max(0.0, min(1.0, fraction))}
            )

    return report
