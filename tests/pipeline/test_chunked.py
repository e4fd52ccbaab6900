"""Chunked preprocessing of a long video through the real job queue and worker, on real footage.

The test video is built from real footage with hard cuts on, one before and one after chunk boundaries
(chunks of 2 s = 50 frames here, so the video can be short). The chunked result must equal a one-pass
preprocess of the same file: master frames bit-identical to the source's, the proxy's decoded frames
identical to a one-pass proxy's, the same audio sample count, the same features and the same cuts.
"""

from __future__ import annotations

import hashlib
import os
import signal
import time

import av
import numpy as np
import pytest
from sqlalchemy import select

from heaters.adapters.db.models import Clip as ClipRow
from heaters.adapters.db.models import SourceVideo, StageRun, VideoChunk
from heaters.adapters.media.preprocess import preprocess
from heaters.domain.shots import detect
from heaters.domain.stages import CHUNK_TASK
from heaters.domain.timeline import check_mece
from heaters.services import review
from heaters.services.ingest import submit_source
from tests.adapters.chunk_media import build_cut_video
from tests.adapters.conftest import fake_aws_credentials, moto_endpoint, s3_bucket_name  # noqa: F401
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
    # frame order with the audio third: it never delays the first clip, and never runs alone at the end
    index_of = {c.id: c.index for c in chunks}
    assert [index_of[r.entity_id] for r in sorted(runs, key=lambda r: r.started_at)] == [0, 1, -1, *range(2, 10)]

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

    # progressive: the clips ending settle_frames (178 here) before the last chunk's start existed before the
    # video was preprocessed (settled as chunks finished; the last chunk's run assembles at once): [0, 50) … [200, 249)
    with runtime.database.sessions() as session:
        preprocessed_at = session.scalar(
            select(StageRun.finished_at).where(StageRun.stage == "preprocess", StageRun.outcome == "done")
        )
        created = session.scalars(select(ClipRow.created_at).where(ClipRow.video_id == video.id)).all()
    assert sum(at < preprocessed_at for at in created) == 5

    timeline = review.video_timeline(runtime, video.id)
    check_mece([c.span for c in timeline], FRAMES)
    assert [c.start for c in timeline[1:]] == detect(np.load(one_pass.features_path), 25.0).cuts == CUTS
    assert not list(storage.list(f"chunks/{video.id}/"))  # segments are removed once assembled


# --- a worker killed in the middle of a chunk

LONG_FRAMES = 1000
LONG_CUTS = [100, 199, 301, 400, 555, 700, 799, 901]
KILLED_CHUNK = 3


def partial_segment_of(runtime, index: int):
    """The half-written master segment of chunk `index` in some worker's scratch, if one is being written."""
    for path in (runtime.settings.data_path / "work").glob(f"run-*/chunk-*-{index}-*/.master.partial.mkv"):
        try:
            if path.stat().st_size > 0:
                return path
        except FileNotFoundError:
            continue
    return None


def test_a_chunk_killed_mid_way_is_redone_alone(runtime, settings, tmp_path):
    from tests.pipeline.test_fault_injection import start_worker

    source = build_cut_video(tmp_path / "long.mp4", LONG_CUTS, LONG_FRAMES)
    reference = preprocess(source, tmp_path / "reference")
    os.environ["HEATERS_CHUNK_SECONDS"] = str(CHUNK_SECONDS)  # for the worker processes: 20 chunks
    try:
        submitted = submit_source(runtime, str(source))
        worker = start_worker(runtime)
        deadline = time.monotonic() + 120
        while partial_segment_of(runtime, KILLED_CHUNK) is None:
            assert time.monotonic() < deadline and worker.poll() is None, "chunk 3 never started"
            time.sleep(0.005)
        worker.send_signal(signal.SIGKILL)  # in the middle of writing chunk 3
        worker.wait()
        worker = start_worker(runtime)
        try:
            while time.monotonic() < deadline + 240:
                with runtime.database.sessions() as session:
                    state = session.get(SourceVideo, submitted.video_id).state
                    session.expire_all()
                if state in ("scenes_detected", "preprocess_failed", "detect_scenes_failed"):
                    break
                time.sleep(0.2)
        finally:
            worker.terminate()
            worker.wait(timeout=60)
    finally:
        os.environ.pop("HEATERS_CHUNK_SECONDS", None)

    with runtime.database.sessions() as session:
        video = session.get(SourceVideo, submitted.video_id)
        chunks = {c.id: c.index for c in session.scalars(select(VideoChunk).where(VideoChunk.video_id == video.id))}
        runs = session.execute(select(StageRun.entity_id, StageRun.outcome).where(StageRun.stage == CHUNK_TASK)).all()
    assert (video.state, video.last_error, video.frame_count) == ("scenes_detected", None, LONG_FRAMES)
    runs_of = {
        index: sorted(outcome for chunk_id, outcome in runs if chunks[chunk_id] == index) for index in chunks.values()
    }
    assert runs_of.pop(KILLED_CHUNK) == ["done", "interrupted"]  # redone once, after the kill
    assert all(outcomes == ["done"] for outcomes in runs_of.values()), runs_of  # every other chunk ran once

    storage = runtime.storage
    assert frame_sums(storage.local_path(video.proxy_key)) == frame_sums(reference.proxy_path)
    assert frame_sums(storage.local_path(video.master_key)) == frame_sums(source)
    assert audio_samples(storage.local_path(video.proxy_key)) == audio_samples(reference.proxy_path)
    assert np.array_equal(np.load(storage.local_path(video.features_key)), np.load(reference.features_path))
    timeline = review.video_timeline(runtime, video.id)
    assert [c.start for c in timeline[1:]] == detect(np.load(reference.features_path), 25.0).cuts == LONG_CUTS


# --- on S3: the original and the segments read by byte ranges, the assembly streamed into multipart uploads


class ScratchWatcher:
    """Polls a scratch directory from another thread: the most bytes it ever held, and every name seen."""

    def __init__(self, root):
        import threading

        self.root, self.peak, self.names = root, 0, set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(0.005):
            total = 0
            for path in list(self.root.rglob("*")):
                try:
                    if path.is_file():
                        total += path.stat().st_size
                        self.names.add(path.name)
                except FileNotFoundError:
                    pass
            self.peak = max(self.peak, total)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def test_chunked_on_s3_with_a_clip_played_from_segments_before_the_end(
    runtime,
    cut_video,
    one_pass,
    tmp_path,
    moto_endpoint,  # noqa: F811
    fake_aws_credentials,  # noqa: F811
    s3_bucket_name,  # noqa: F811
):
    from heaters.adapters.db.uow import connection
    from heaters.adapters.storage import S3Storage
    from heaters.domain.stages import DOWNLOAD, PREPROCESS
    from heaters.pipeline.chunked import run_chunk
    from heaters.pipeline.runner import run_stage
    from heaters.pipeline.stages import WORK
    from heaters.runtime import Runtime
    from heaters.services import media

    s3 = S3Storage(s3_bucket_name, endpoint_url=moto_endpoint, region="us-east-1", prefix="chunked")
    s3.ensure_bucket()
    runtime = Runtime(settings=runtime.settings, database=runtime.database, storage=s3, queue=runtime.queue)
    video_id = submit_source(runtime, str(cut_video)).video_id

    def stage(which):
        return run_stage(runtime, which, video_id, lambda row, progress: WORK[which.name](runtime, row, progress))

    assert stage(DOWNLOAD).outcome == "done" and stage(PREPROCESS).outcome == "handed_off"
    with connection(runtime.database) as uow:
        chunks = [c for c in uow.chunks.of_video(video_id) if c.index >= 0]
    for chunk in chunks[:7]:
        assert run_chunk(runtime, chunk.id) == "done"
    assert stage(PREPROCESS).outcome == "handed_off"
    first = review.video_timeline(runtime, video_id)[0]
    assert first.span == (0, 50)
    source = media.clip_media(runtime, first.id)
    assert source.proxy_key is None and source.segments  # cut from the S3 segment, by its presigned URL
    clip = media.write_clip_file(runtime, source, tmp_path / "clip.mp4")
    assert frame_sums(clip) == frame_sums(one_pass.proxy_path)[:50]

    with ScratchWatcher(runtime.scratch.path) as scratch:
        drain(runtime)  # the other chunks, the audio, the assembly, detection
    with runtime.database.sessions() as session:
        video = session.get(SourceVideo, video_id)
    assert (video.state, video.frame_count) == ("scenes_detected", FRAMES)
    # bounded scratch: a chunk's segments at most; the original was never copied in, the assembled master
    # (several S3 parts) streamed out without landing there
    master_bytes = s3.size(video.master_key)
    assert master_bytes > 3 * 8 * 1024 * 1024
    assert 0 < scratch.peak < master_bytes / 5, (scratch.peak, master_bytes)
    assert not [n for n in scratch.names if "original" in n or n.startswith("object-")], scratch.names
    assert s3.unfinished_uploads() == []
    proxy = s3.download_to(video.proxy_key, tmp_path / "proxy.mp4")
    assert frame_sums(proxy) == frame_sums(one_pass.proxy_path)
    assert audio_samples(proxy) == audio_samples(one_pass.proxy_path)
    assert [c.start for c in review.video_timeline(runtime, video_id)[1:]] == CUTS
    assert not list(s3.list(f"chunks/{video_id}/"))
