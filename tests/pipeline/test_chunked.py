"""Chunked preprocessing of a long video through the real job queue and worker, on real footage.

The test video is built from real footage with hard cuts on, one before and one after chunk boundaries
(chunks of 2 s = 50 frames here, so the video can be short). The chunked result must equal a one-pass
preprocess of the same file: master frames bit-identical to the source's, the proxy's decoded frames
identical to a one-pass proxy's, the same audio sample count, the same features and the same cuts.
"""

from __future__ import annotations

import hashlib

import av
import numpy as np
import pytest
from sqlalchemy import select

from heaters.adapters.db.models import SourceVideo, StageRun, VideoChunk
from heaters.adapters.media.preprocess import preprocess
from heaters.domain.shots import detect
from heaters.domain.stages import CHUNK_TASK
from heaters.domain.timeline import check_mece
from heaters.services import review
from heaters.services.ingest import submit_source
from tests.adapters.chunk_media import build_cut_video
from tests.pipeline.conftest import drain

FRAMES = 500
CHUNK_SECONDS = 2.0  # 50 frames at 25 fps
# on a chunk boundary (50, 200, 350), one frame before one (99, 249), one after (151, 301), elsewhere (420)
CUTS = [50, 99, 151, 200, 249, 301, 350, 420]


@pytest.fixture(scope="module")
def cut_video(tmp_path_factory):
    return build_cut_video(tmp_path_factory.mktemp("chunked") / "cuts.mp4", CUTS, FRAMES)


@pytest.fixture(scope="module")
def one_pass(cut_video, tmp_path_factory):
    return preprocess(cut_video, tmp_path_factory.mktemp("one-pass"))


@pytest.fixture
def settings(settings, cut_video):
    return settings.model_copy(
        update={"chunk_seconds": CHUNK_SECONDS, "allowed_roots": [*settings.allowed_roots, cut_video.parent]}
    )


def frame_sums(path) -> list[str]:
    with av.open(str(path)) as container:
        return [hashlib.sha256(f.to_ndarray(format="yuv420p").tobytes()).hexdigest() for f in container.decode(video=0)]


def audio_samples(path) -> int:
    with av.open(str(path)) as container:
        return sum(f.samples for f in container.decode(audio=0))


def keyframe_flags(path) -> list[bool]:
    with av.open(str(path)) as container:
        return [p.is_keyframe for p in container.demux(video=0) if p.size]


def test_chunked_preprocess_equals_one_pass(runtime, cut_video, one_pass):
    submitted = submit_source(runtime, str(cut_video))
    drain(runtime)

    with runtime.database.sessions() as session:
        video = session.get(SourceVideo, submitted.video_id)
        chunks = session.scalars(select(VideoChunk).where(VideoChunk.video_id == video.id)).all()
        runs = session.scalars(select(StageRun).where(StageRun.stage == CHUNK_TASK)).all()
    assert (video.state, video.last_error, video.frame_count, video.fps) == ("scenes_detected", None, FRAMES, 25.0)
    assert sorted(c.index for c in chunks) == [-1, *range(10)] and {c.state for c in chunks} == {"done"}
    assert sorted(r.entity_id for r in runs if r.outcome == "done") == sorted(c.id for c in chunks)

    storage = runtime.storage
    master, proxy = storage.local_path(video.master_key), storage.local_path(video.proxy_key)
    assert frame_sums(master) == frame_sums(cut_video)  # lossless: the source's pixels
    proxy_frames = frame_sums(proxy)
    assert len(proxy_frames) == FRAMES and proxy_frames == frame_sums(one_pass.proxy_path)
    assert all(keyframe_flags(proxy)) and len(keyframe_flags(proxy)) == FRAMES  # all-intra
    assert audio_samples(proxy) == audio_samples(one_pass.proxy_path) > 0
    assert audio_samples(master) == audio_samples(one_pass.master_path)
    features = np.load(storage.local_path(video.features_key))
    assert np.array_equal(features, np.load(one_pass.features_path))

    timeline = review.video_timeline(runtime, video.id)
    check_mece([c.span for c in timeline], FRAMES)
    assert [c.start for c in timeline[1:]] == detect(np.load(one_pass.features_path), 25.0).cuts == CUTS
    assert not list(storage.list(f"chunks/{video.id}/"))  # segments are removed once assembled
