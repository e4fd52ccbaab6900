"""Progressive review in a real browser: a clip of a long video's first chunk is reviewed (approved by its
key) while a real worker process is in the middle of the video's later chunks and the dashboard shows them
running (chunks of 2 s here)."""

from __future__ import annotations

import os
import time

import av
import pytest
from sqlalchemy import select

from heaters.adapters.db.models import Artifact, SourceVideo, StageRun, VideoChunk
from heaters.adapters.db.models import Clip as ClipRow
from heaters.adapters.db.uow import connection
from heaters.domain.stages import CHUNK_TASK, DOWNLOAD, PREPROCESS
from heaters.domain.timeline import check_mece
from heaters.pipeline.chunked import run_chunk
from heaters.pipeline.runner import run_stage
from heaters.pipeline.stages import WORK
from heaters.services import review
from heaters.services.ingest import submit_source
from heaters.web.app import create_app
from tests.adapters.chunk_media import build_cut_video
from tests.pipeline.test_fault_injection import start_worker
from tests.web.conftest import served
from tests.web.test_browser import ARTIFACTS, browser, new_page, press, shown, sign_in, wait_playing  # noqa: F401

pytestmark = pytest.mark.browser

# 40 chunks of 50 frames: the worker takes a while over the 33 left once the first 7 are done, so a clip is
# reviewed while it is in the middle of one of them
FRAMES = 2000
CUTS = [50, 99, 151, 200, 249, 301, 350, 420, *range(500, FRAMES, 100)]
CHUNKS = FRAMES // 50
FIRST_CHUNKS = 7  # frames [0, 350) preprocessed before the worker starts
RUNNING_CELL = ".chunk[data-state='running']"


@pytest.fixture
def settings(settings, tmp_path):
    return settings.model_copy(
        update={
            "chunk_seconds": 2.0,
            "allowed_roots": [tmp_path],
            "export_grace_seconds": 0,
            "retry_backoff_seconds": 1,
        }
    )


def stage(runtime, which, video_id):
    return run_stage(runtime, which, video_id, lambda row, progress: WORK[which.name](runtime, row, progress))


def running_chunks(runtime, video_id: int, worker_pid: int) -> list[int]:
    """Indexes of the video's chunks that are `running`, each in a run of the worker process `worker_pid`."""
    with runtime.database.sessions() as session:
        rows = session.execute(
            select(VideoChunk.index)
            .join(StageRun, (StageRun.entity_id == VideoChunk.id) & (StageRun.stage == CHUNK_TASK))
            .where(
                VideoChunk.video_id == video_id,
                VideoChunk.state == "running",
                StageRun.outcome == "running",
                StageRun.worker.endswith(f":{worker_pid}"),
            )
        ).all()
    return [index for (index,) in rows]


def wait_for_running_chunks(runtime, video_id: int, worker_pid: int, timeout: float = 30) -> list[int]:
    """The running chunks, once there are some (between two chunks the worker briefly runs none)."""
    deadline = time.monotonic() + timeout
    while not (running := running_chunks(runtime, video_id, worker_pid)):
        assert time.monotonic() < deadline, "no chunk running in the worker"
        time.sleep(0.05)
    return running


def wait_until_done(runtime, video_id: int, clip_id: int, worker, timeout: float = 600) -> None:
    """Until the worker has preprocessed the whole video and exported and embedded the approved clip."""
    deadline = time.monotonic() + timeout
    while True:
        with runtime.database.sessions() as session:
            video_state = session.get(SourceVideo, video_id).state
            clip_state = session.scalar(select(ClipRow.state).where(ClipRow.id == clip_id))
        if video_state == "scenes_detected" and clip_state == "embedded":
            return
        assert video_state not in ("preprocess_failed", "detect_scenes_failed"), video_state
        assert worker.poll() is None, "the worker died"
        assert time.monotonic() < deadline, (video_state, clip_state)
        time.sleep(0.2)


def test_a_clip_of_the_first_chunk_is_reviewed_while_a_worker_is_in_the_middle_of_later_chunks(
    runtime,
    browser,  # noqa: F811 — the module-scoped fixture of test_browser
    reviewers,
    tmp_path,
):
    source = build_cut_video(tmp_path / "long.mp4", CUTS, FRAMES)
    video_id = submit_source(runtime, str(source)).video_id
    assert stage(runtime, DOWNLOAD, video_id).outcome == "done"
    assert stage(runtime, PREPROCESS, video_id).outcome == "handed_off"  # chunks planned and queued
    with connection(runtime.database) as uow:
        chunks = uow.chunks.of_video(video_id)
    assert len(chunks) == CHUNKS + 1  # and the audio
    # the first chunks and the audio (queued third) here; the worker process gets the later video chunks
    for chunk in [c for c in chunks if c.index >= 0][:FIRST_CHUNKS] + [c for c in chunks if c.index < 0]:
        assert run_chunk(runtime, chunk.id) == "done"
    assert stage(runtime, PREPROCESS, video_id).outcome == "handed_off"  # settles the clips of [0, 350)
    settled = [c.span for c in review.video_timeline(runtime, video_id)]
    assert settled == [(0, 50), (50, 99), (99, 151)]  # the clip from 151 waits for later chunks

    os.environ["HEATERS_CHUNK_SECONDS"] = "2"  # the worker process's settings come from its environment
    try:
        worker = start_worker(runtime)  # picks up the queued jobs: the other chunks, the coordinator, …
    finally:
        os.environ.pop("HEATERS_CHUNK_SECONDS", None)
    try:
        with served(create_app(runtime)) as base:
            dashboard = new_page(browser, base)
            sign_in(dashboard, target="/")
            row = f"tr[data-video-id='{video_id}']"
            dashboard.wait_for_selector(f"{row} {RUNNING_CELL}", timeout=120_000)
            before = wait_for_running_chunks(runtime, video_id, worker.pid)
            assert min(before) >= FIRST_CHUNKS  # a later chunk, in the worker process

            page = new_page(browser, base)
            sign_in(page, target=f"/review?video={video_id}")
            clip = shown(page)
            assert (clip["start_frame"], clip["end_frame"]) == (0, 50)
            wait_playing(page, clip["id"])
            assert abs(page.evaluate("window.heaters.video.duration") - 2.0) <= 1 / 25
            press(page, "a")  # approved while the worker is preprocessing the video
            assert shown(page)["start_frame"] == 50
            with runtime.database.sessions() as session:
                # approved; the worker may already have taken its export, which waits for the assembled proxy
                approved = session.scalar(select(ClipRow.state).where(ClipRow.id == clip["id"]))
                assert approved in ("review_approved", "exporting")

            # the dashboard counts the approval and shows a later chunk running, in the same render
            rendered = dashboard.wait_for_function(
                """([row, running]) => {
                    const cells = document.querySelector(row);
                    if (cells === null || cells.querySelector(running) === null) return null;
                    const clips = cells.children[4].textContent;
                    if (!/^1\\/\\d+ reviewed/.test(clips)) return null;
                    const chunks = [...cells.querySelectorAll(".chunk")].map((c) => c.dataset.state);
                    return { state: cells.dataset.state, chunks };
                }""",
                arg=[row, RUNNING_CELL],
            ).json_value()
            assert rendered["state"] == "preprocessing"
            states = rendered["chunks"]
            assert len(states) == CHUNKS + 1 and states.count("running") == 1 and "pending" in states
            assert states.count("done") >= FIRST_CHUNKS
            after = wait_for_running_chunks(runtime, video_id, worker.pid)  # the database agrees
            assert min(after) >= FIRST_CHUNKS
            ARTIFACTS.mkdir(exist_ok=True)
            dashboard.screenshot(path=str(ARTIFACTS / "dashboard-chunks.png"))

        # the rest of the video, then the export that waited for the assembled proxy, all by the worker
        wait_until_done(runtime, video_id, clip["id"], worker)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    with runtime.database.sessions() as session:
        video = session.get(SourceVideo, video_id)
        assert (video.state, video.frame_count) == ("scenes_detected", FRAMES)
        assert not session.scalars(select(VideoChunk).where(VideoChunk.state != "done")).all()
        key = session.scalar(select(Artifact.key).where(Artifact.clip_id == clip["id"], Artifact.kind == "export"))
    timeline = review.video_timeline(runtime, video_id)
    check_mece([c.span for c in timeline], FRAMES)
    assert [c.start for c in timeline[1:]] == CUTS
    assert timeline[0].span == (0, 50)
    with av.open(str(runtime.storage.local_path(key))) as container:
        assert sum(1 for _ in container.decode(video=0)) == 50
