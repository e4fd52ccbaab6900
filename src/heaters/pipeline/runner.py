"""Runs one stage for one entity so that a crash at any moment loses nothing and repeats nothing.

1. In a short transaction (row locked): re-check the state; an entity already past this stage is left
   alone (idempotent); otherwise mark it running and count the attempt.
2. Do the work outside any transaction. Objects go to deterministic storage keys, so a retry after a
   crash overwrites the same object instead of leaving an orphan.
3. In a second transaction: re-check the state, record the results (only objects that now exist) and
   move to the stage's done state. Then queue the next stage (recovery re-queues it if we die first).
Failures: bad input fails at once; anything else fails and is retried with backoff up to the limit.
`last_error` is redacted (no presigned URL, query string or password: every reviewer reads it).
Each run logs one line when it starts and one when it ends, with its duration.
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
from dataclasses import dataclass, replace

from heaters.adapters.db.uow import UnitOfWork, transaction
from heaters.domain.errors import BadInput, HeatersError
from heaters.domain.records import ClipRecord, VideoRecord
from heaters.domain.redact import redact
from heaters.domain.stages import REFUSED, STAGES, Entity, Stage, check_transition, retry_backoff_seconds
from heaters.runtime import Runtime

log = logging.getLogger(__name__)
WORKER_NAME = f"{socket.gethostname()}:{os.getpid()}"

Record = VideoRecord | ClipRecord
# The work gets a snapshot of the entity and a progress callback; it returns a function that records its
# results through the unit of work inside the final transaction (the entity's row locked).
Recorder = Callable[[UnitOfWork, Record], None]
Work = Callable[[Record, Callable[[float], None]], Recorder]


class StageTimedOut(HeatersError):
    """The stage ran past its time limit."""


class HandedOff(Exception):  # noqa: N818 — an outcome, not an error
    """The work goes on in other jobs (a long video's chunks, `pipeline.chunked`), which queue this stage again
    when they are done: the entity stays in the running state, and this run does not count as an attempt."""


@dataclass(frozen=True)
class StageOutcome:
    stage: str
    entity_id: int
    outcome: str  # "done", "skipped", "failed", "retrying"
    detail: str = ""


def _transition(stage: Stage, current: str, target: str) -> None:
    check_transition(stage.entity, current, target)


def run_stage(runtime: Runtime, stage: Stage, entity_id: int, work: Work) -> StageOutcome:
    with transaction(runtime.database) as uow:
        table = uow.staged(stage.entity)
        entity = table.lock(entity_id)
        if entity is None:
            return StageOutcome(stage.name, entity_id, "skipped", "no such entity")
        if not stage.can_start_from(entity.state):
            return StageOutcome(stage.name, entity_id, "skipped", f"state is {entity.state}")
        max_attempts = runtime.settings.max_attempts
        budget = max_attempts + runtime.settings.max_interrupted_runs
        if entity.attempts >= budget and entity.state != stage.ready:
            # Runs that never finished (the worker died each time) count too: stop here, not in a crash loop.
            # A killed worker is not always the input's fault (deploys, chaos), hence the extra allowance.
            message = (
                f"gave up after {entity.attempts} attempts, the last ones interrupted (HEATERS_MAX_ATTEMPTS is "
                f"{max_attempts}, HEATERS_MAX_INTERRUPTED_RUNS {runtime.settings.max_interrupted_runs}); "
                "retry by hand once the cause is fixed"
            )
            if entity.state == stage.running:
                _transition(stage, entity.state, stage.failed)
                table.fail(entity_id, stage.failed, message)
            return StageOutcome(stage.name, entity_id, "failed", message)
        time_limit = _time_limit(runtime, uow, entity)
        _transition(stage, entity.state, stage.running)
        table.start_attempt(entity_id, stage.running)
        run_id = uow.runs.start(stage.name, entity_id, WORKER_NAME)
        snapshot = replace(entity, state=stage.running, attempts=entity.attempts + 1)

    fields = {"stage": stage.name, "entity": str(stage.entity), "entity_id": entity_id, "attempt": snapshot.attempts}
    log.info("%s of %s %s started", stage.name, stage.entity, entity_id, extra=fields)
    started = time.monotonic()
    try:
        record = work(snapshot, _progress_reporter(runtime, stage, entity_id, time_limit))
    except HandedOff as handed_off:
        with transaction(runtime.database) as uow:
            uow.staged(stage.entity).hand_off(entity_id)
            uow.runs.finish(run_id, "handed_off", str(handed_off) or None)
        return _log_end(StageOutcome(stage.name, entity_id, "handed_off", str(handed_off)), fields, started)
    except BadInput as error:
        outcome = _fail(runtime, stage, entity_id, run_id, str(error), retry=False)
        return _log_end(outcome, fields, started)
    except Exception as error:  # noqa: BLE001 — any other failure is worth a retry
        log.exception("%s of %s %s failed", stage.name, stage.entity, entity_id, extra=fields)
        outcome = _fail(runtime, stage, entity_id, run_id, f"{type(error).__name__}: {error}", retry=True)
        return _log_end(outcome, fields, started)

    with transaction(runtime.database) as uow:
        table = uow.staged(stage.entity)
        entity = table.lock(entity_id)
        if entity is None or entity.state != stage.running:
            # Someone else finished or cancelled it meanwhile; our objects sit at the same keys.
            uow.runs.finish(run_id, "skipped", "state changed while working")
            skipped = StageOutcome(stage.name, entity_id, "skipped", "state changed while working")
            return _log_end(skipped, fields, started)
        record(uow, entity)
        _transition(stage, entity.state, stage.done)
        table.finish(entity_id, stage.done)
        uow.runs.finish(run_id, "done")
    if stage.next:
        runtime.queue.defer(STAGES[stage.next], entity_id)
    return _log_end(StageOutcome(stage.name, entity_id, "done"), fields, started)


def _log_end(outcome: StageOutcome, fields: dict, started: float) -> StageOutcome:
    seconds = round(time.monotonic() - started, 3)
    level = logging.INFO if outcome.outcome in ("done", "skipped", "handed_off") else logging.WARNING
    log.log(
        level,
        "%s of %s %s %s in %.2f s%s",
        outcome.stage,
        fields["entity"],
        outcome.entity_id,
        outcome.outcome,
        seconds,
        f": {outcome.detail}" if outcome.detail else "",
        extra={**fields, "outcome": outcome.outcome, "duration_s": seconds},
    )
    return outcome


def _fail(runtime: Runtime, stage: Stage, entity_id: int, run_id: int, message: str, *, retry: bool) -> StageOutcome:
    settings = runtime.settings
    message = redact(message)
    with transaction(runtime.database) as uow:
        table = uow.staged(stage.entity)
        locked = table.lock_state(entity_id)
        if locked is None or locked[0] != stage.running:
            uow.runs.finish(run_id, "skipped", "state changed while working")
            return StageOutcome(stage.name, entity_id, "skipped", "state changed while working")
        state, attempts = locked
        _transition(stage, state, stage.failed)
        will_retry = retry and attempts < settings.max_attempts
        delay = retry_backoff_seconds(attempts, settings.retry_backoff_seconds)
        suffix = f" (attempt {attempts} of {settings.max_attempts}; retrying in {delay} s)" if will_retry else ""
        table.fail(entity_id, stage.failed, message + suffix)
        # "refused": the input itself can never pass this stage, so nobody is offered a retry (services.retry)
        uow.runs.finish(run_id, "retrying" if will_retry else "failed" if retry else REFUSED, message)
    if will_retry:
        runtime.queue.defer(stage, entity_id, delay_seconds=delay)
        return StageOutcome(stage.name, entity_id, "retrying", message)
    return StageOutcome(stage.name, entity_id, "failed", message)


def _time_limit(runtime: Runtime, uow: UnitOfWork, entity: Record) -> float:
    """Seconds this run may take: the base limit plus a share per second of media."""
    settings = runtime.settings
    if isinstance(entity, VideoRecord):
        media_seconds = entity.duration_seconds
    else:
        video = uow.videos.get(entity.video_id)
        fps = video.fps if video is not None else None
        media_seconds = (entity.end_frame - entity.start_frame) / fps if fps else None
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
        with transaction(runtime.database) as uow:
            uow.videos.set_progress(entity_id, stage.running, fraction)

    return report
