"""Progressive review in a real browser: a clip of a long video's first chunk is reviewed while the
dashboard shows the video's later chunks still to be preprocessed (chunks of 2 s here)."""

from __future__ import annotations

import threading

import av
import pytest
from sqlalchemy import select

from heaters.adapters.db.models import Clip as ClipRow
from heaters.adapters.db.models import SourceVideo, VideoChunk
from heaters.adapters.db.uow import connection
from heaters.domain.stages import DOWNLOAD, PREPROCESS
from heaters.domain.timeline import check_mece
from heaters.pipeline.chunked import run_chunk
from heaters.pipeline.runner import run_stage
from heaters.pipeline.stages import WORK
from heaters.services import review
from heaters.services.ingest import submit_source
from heaters.web.app import create_app
from tests.adapters.chunk_media import build_cut_video
from tests.pipeline.conftest import drain
from tests.web.conftest import served
from tests.web.test_browser import ARTIFACTS, browser, new_page, press, shown, sign_in, wait_playing  # noqa: F401

pytestmark = pytest.mark.browser

FRAMES, CUTS = 500, [50, 99, 151, 200, 249, 301, 350, 420]
FIRST_CHUNKS = 7  # of 10: frames [0, 350) preprocessed before the browser opens


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


def test_a_clip_of_the_first_chunk_is_reviewed_while_later_chunks_are_preprocessed(
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
    for chunk in [c for c in chunks if c.index >= 0][:FIRST_CHUNKS]:  # a worker's first chunks
        assert run_chunk(runtime, chunk.id) == "done"
    assert stage(runtime, PREPROCESS, video_id).outcome == "handed_off"  # settles the clips of [0, 350)
    settled = [c.span for c in review.video_timeline(runtime, video_id)]
    assert settled == [(0, 50), (50, 99), (99, 151)]  # the clip from 151 waits for later chunks

    with served(create_app(runtime)) as base:
        page = new_page(browser, base)
        sign_in(page, target=f"/review?video={video_id}")
        clip = shown(page)
        assert (clip["start_frame"], clip["end_frame"]) == (0, 50)
        wait_playing(page, clip["id"])
        assert abs(page.evaluate("window.heaters.video.duration") - 2.0) <= 1 / 25
        press(page, "a")  # approved while the video is still being preprocessed
        assert shown(page)["start_frame"] == 50

        dashboard = new_page(browser, base)
        sign_in(dashboard, target="/")
        row = f"tr[data-video-id='{video_id}']"
        dashboard.wait_for_selector(f"{row} .chunk[data-state='done']")
        assert dashboard.get_attribute(row, "data-state") == "preprocessing"
        states = dashboard.eval_on_selector_all(f"{row} .chunk", "cells => cells.map(c => c.dataset.state)")
        assert states.count("done") == FIRST_CHUNKS and states.count("pending") == 4  # 3 chunks and the audio
        ARTIFACTS.mkdir(exist_ok=True)
        dashboard.screenshot(path=str(ARTIFACTS / "dashboard-chunks.png"))

    with runtime.database.sessions() as session:
        assert session.scalar(select(ClipRow.state).where(ClipRow.id == clip["id"])) == "review_approved"
    # the rest of the video, then the export that waited for the assembled proxy (in a thread of its own:
    # Playwright's event loop runs in this one)
    worker = threading.Thread(target=drain, args=(runtime,))
    worker.start()
    worker.join()
    with runtime.database.sessions() as session:
        video = session.get(SourceVideo, video_id)
        assert (video.state, video.frame_count) == ("scenes_detected", FRAMES)
        assert session.scalar(select(ClipRow.state).where(ClipRow.id == clip["id"])) == "embedded"
        assert not session.scalars(select(VideoChunk).where(VideoChunk.state != "done")).all()
    timeline = review.video_timeline(runtime, video_id)
    check_mece([c.span for c in timeline], FRAMES)
    assert [c.start for c in timeline[1:]] == CUTS
    exported = review.video_timeline(runtime, video_id)[0]
    assert exported.span == (0, 50)
    with runtime.database.sessions() as session:
        from heaters.adapters.db.models import Artifact

        key = session.scalar(select(Artifact.key).where(Artifact.clip_id == clip["id"], Artifact.kind == "export"))
    with av.open(str(runtime.storage.local_path(key))) as container:
        assert sum(1 for _ in container.decode(video=0)) == 50
