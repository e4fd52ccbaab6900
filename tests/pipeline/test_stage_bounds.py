"""Every stage run is bounded: a time limit checked while it works, and `max_attempts` checked before it starts."""

from __future__ import annotations

from heaters.adapters.db.models import SourceVideo
from heaters.adapters.sample_media import fetch
from heaters.domain.stages import PREPROCESS
from heaters.domain.storage_keys import original_key
from heaters.pipeline import stages
from heaters.pipeline.runner import run_stage


def _downloaded_video(runtime, *, state: str = "downloaded", attempts: int = 0) -> int:
    with runtime.database.sessions.begin() as session:
        video = SourceVideo(source="bikes.mp4", state=state, attempts=attempts, title="bikes")
        session.add(video)
        session.flush()
        video.original_key = original_key(video.id, ".mp4")
        video_id = video.id
    runtime.storage.put_file(original_key(video_id, ".mp4"), fetch("bikes.mp4"))
    return video_id


def _video(runtime, video_id: int) -> SourceVideo:
    with runtime.database.sessions() as session:
        return session.get(SourceVideo, video_id)


def test_a_stage_past_its_time_limit_is_stopped_and_failed(runtime):
    # A limit no real preprocess can meet: the work is stopped at its next progress report, not left running.
    runtime.settings.stage_time_limit_seconds = 0.001
    runtime.settings.stage_time_limit_per_media_second = 0
    runtime.settings.max_attempts = 1
    video_id = _downloaded_video(runtime)
    outcome = run_stage(runtime, PREPROCESS, video_id, lambda row, progress: stages.preprocess(runtime, row, progress))
    assert outcome.outcome == "failed"
    video = _video(runtime, video_id)
    assert video.state == "preprocess_failed"
    assert "ran past its time limit" in video.last_error and "HEATERS_STAGE_TIME_LIMIT_SECONDS" in video.last_error
    assert video.proxy_key is None
    # the stage's scratch removed (only this process's run directory and its lock remain)
    assert [p.name for p in runtime.scratch.path.iterdir()] == [".lock"]


def test_the_time_limit_scales_with_the_videos_duration(runtime):
    runtime.settings.stage_time_limit_seconds = 0.001
    runtime.settings.stage_time_limit_per_media_second = 60  # 10 s of footage: 600 s, plenty
    video_id = _downloaded_video(runtime)
    with runtime.database.sessions.begin() as session:
        session.get(SourceVideo, video_id).duration_seconds = 10.0
    outcome = run_stage(runtime, PREPROCESS, video_id, lambda row, progress: stages.preprocess(runtime, row, progress))
    assert outcome.outcome == "done", outcome


def test_max_attempts_is_enforced_when_a_run_starts(runtime):
    """A video whose runs never finish (the worker was killed each time) is failed instead of started again."""
    runtime.settings.max_attempts = 2
    runtime.settings.max_interrupted_runs = 3
    video_id = _downloaded_video(runtime, state="preprocessing", attempts=5)
    started = []
    outcome = run_stage(runtime, PREPROCESS, video_id, lambda row, progress: started.append(row))
    assert started == []
    assert outcome.outcome == "failed"
    video = _video(runtime, video_id)
    assert video.state == "preprocess_failed"
    assert "gave up after 5 attempts" in video.last_error and "HEATERS_MAX_INTERRUPTED_RUNS 3" in video.last_error


def test_an_interrupted_run_within_the_allowance_starts_again(runtime):
    runtime.settings.max_attempts = 2
    runtime.settings.max_interrupted_runs = 3
    video_id = _downloaded_video(runtime, state="preprocessing", attempts=4)
    outcome = run_stage(runtime, PREPROCESS, video_id, lambda row, progress: stages.preprocess(runtime, row, progress))
    assert outcome.outcome == "done"
