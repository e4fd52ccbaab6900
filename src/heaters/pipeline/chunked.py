"""A long video's preprocessing in chunks: one job per chunk, on any worker, then assembly.

The `preprocess` stage of a video longer than a few chunks (`heaters.domain.chunks`) becomes a
coordinator that runs several times while the video stays in `preprocessing`:
1. First run: plan the chunks (rows in `video_chunks`: video chunks 0…n-1 and the audio, index -1), queue one
   `preprocess_chunk` job each, hand off (`runner.HandedOff`: no attempt counted).
2. Each chunk job (`run_chunk`, the runner's three-step protocol for one chunk): mark it running and count
   its attempt; write its master/proxy/feature segments (`adapters.media.chunks`) to deterministic keys
   (`chunks/{video}/{chunk}/…`); mark it done and queue the coordinator again. A killed chunk job is picked
   up again by procrastinate's stalled-job recovery and redone alone; the other chunks stay done.
3. Later runs: settle the clips of the finished prefix (progressive review, `settle_prefix`), re-queue
   chunks that lost their job, and once every chunk is done, assemble the segments by stream copy into the
   same master/proxy/features keys as a one-job preprocess, and record the video as preprocessed.

Worker scratch holds one chunk's segments at a time (removed once stored), nothing else: the original is
read in place (local storage) or by byte ranges from a presigned URL (S3), and the assembly writes the
master and proxy in place (local) or streams them into multipart uploads (S3). Memory is bounded the same
way: packets are copied as they are read, features are read one chunk at a time.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from contextlib import ExitStack
from fractions import Fraction
from pathlib import Path

import numpy as np

from heaters.adapters.db.uow import UnitOfWork, connection, transaction
from heaters.domain import storage_keys
from heaters.domain.chunks import AUDIO_CHUNK, ChunkPlan, ChunkState, all_done, done_fraction, done_prefix_frames
from heaters.domain.errors import BadInput, HeatersError
from heaters.domain.limits import MediaLimits
from heaters.domain.records import Preprocessed, VideoRecord
from heaters.domain.redact import redact
from heaters.domain.stages import CHUNK_TASK, EXPORT, PREPROCESS, REFUSED, retry_backoff_seconds
from heaters.domain.states import ClipState, VideoState
from heaters.pipeline.runner import WORKER_NAME, HandedOff, Recorder
from heaters.runtime import Runtime

log = logging.getLogger(__name__)
Progress = Callable[[float], None]

SEGMENT_FILES = {"master": "master.mkv", "proxy": "proxy.mp4", "features": "features.npy"}
AUDIO_FILES = ("audio.mka", "audio.m4a")


def original_source(runtime: Runtime, key: str):
    """The video's original as the decoder reads it: the local file in place, or (S3) the stored object read
    by byte ranges; a chunk decodes its minute of the original and never downloads the whole file."""
    from heaters.adapters.media.inputs import StoredOriginal

    local = runtime.storage.local_path(key)
    if local is not None:
        return local
    storage = runtime.storage
    return StoredOriginal(Path(key).name, storage.size(key), lambda: storage.open_ranged(key))


def _probe(runtime: Runtime, video: VideoRecord):
    from heaters.adapters.media.probe import probe

    source = original_source(runtime, video.original_key)
    return source, probe(source, MediaLimits.from_settings(runtime.settings))


def _rate(info) -> Fraction:
    from heaters.domain.framegrid import choose_output_rate

    return choose_output_rate(info.average_rate, info.nominal_rate)


def plan_for(runtime: Runtime, video: VideoRecord) -> tuple[ChunkPlan, bool, Fraction]:
    """The video's chunk plan, whether it has audio, and its grid's rate (from the probe of its original)."""
    from heaters.domain.chunks import plan_chunks

    if not video.original_key:
        raise BadInput("the video has no stored original")
    _, info = _probe(runtime, video)
    rate = _rate(info)
    return plan_chunks(info.duration_seconds, rate, runtime.settings.chunk_seconds), info.has_audio, rate


def start(
    runtime: Runtime, video: VideoRecord, plan: ChunkPlan, has_audio: bool, rate: Fraction, progress: Progress
) -> None:
    """Create the video's chunks and queue their jobs; hands off (raises HandedOff)."""
    rows = [(i, plan.first(i), plan.stop(i)) for i in plan.indexes]
    if has_audio:
        rows.append((AUDIO_CHUNK, 0, None))
    with transaction(runtime.database) as uow:
        uow.videos.record_grid(video.id, float(rate))  # clips of finished chunks are reviewed before the end
        uow.chunks.plan(video.id, rows)
        for chunk in _queue_order(uow.chunks.of_video(video.id)):
            if chunk.state == ChunkState.PENDING:
                uow.jobs.defer_chunk(chunk.id)
    progress(0.0)
    raise HandedOff(f"{plan.count} chunks of {plan.chunk_frames} frames queued")


def _queue_order(chunks: list) -> list:
    """Video chunks in frame order, the audio third: the first clip settles once chunks 0 and 1 are done, so
    the audio does not delay it, and it runs while other workers still have chunks to do rather than alone
    at the end (measured with two workers on a 20-minute video: ~30 s of audio in the serial tail)."""
    video = sorted((c for c in chunks if c.index != AUDIO_CHUNK), key=lambda c: c.index)
    audio = [c for c in chunks if c.index == AUDIO_CHUNK]
    return video[:2] + audio + video[2:]


def coordinate(runtime: Runtime, video: VideoRecord, progress: Progress) -> Recorder:
    """A later run of the video's preprocess stage: hand off again until every chunk is done, then assemble."""
    with transaction(runtime.database) as uow:
        chunks = uow.chunks.of_video(video.id)
        failed = [c for c in chunks if c.state == ChunkState.FAILED]
        refused = [c for c in failed if uow.runs.last_outcome(CHUNK_TASK, c.id) == REFUSED]
        for chunk in failed:  # a retry of the video (automatic or by hand) runs them again
            uow.chunks.reset(chunk.id)
    if failed:
        what = "audio" if failed[0].index == AUDIO_CHUNK else f"chunk {failed[0].index}"
        message = f"{what} failed: {failed[0].last_error}"
        raise BadInput(message) if refused else HeatersError(message)
    states = [c.as_progress() for c in chunks]
    if not all_done(states):
        with transaction(runtime.database) as uow:
            for chunk in chunks:
                if chunk.state == ChunkState.PENDING:
                    uow.jobs.defer_chunk(chunk.id)
        progress(done_fraction(states))
        settle_prefix(runtime, video, done_prefix_frames(states))
        raise HandedOff(f"{sum(c.state == ChunkState.DONE for c in chunks)} of {len(chunks)} chunks done")
    return _assemble(runtime, video, chunks, progress)


def _assemble(runtime: Runtime, video: VideoRecord, chunks, progress: Progress) -> Recorder:
    from heaters.adapters.media.chunks import Segment, assemble_into
    from heaters.adapters.media.preprocess import probe_summary

    storage = runtime.storage
    _, info = _probe(runtime, video)
    rate = _rate(info)
    segments = [
        Segment(
            c.first_frame,
            c.frame_count or 0,
            storage.media_input(storage_keys.chunk_key(video.id, c.index, SEGMENT_FILES["master"])),
            storage.media_input(storage_keys.chunk_key(video.id, c.index, SEGMENT_FILES["proxy"])),
            storage_keys.chunk_key(video.id, c.index, SEGMENT_FILES["features"]),
        )
        for c in chunks
        if c.index != AUDIO_CHUNK
    ]
    has_audio = any(c.index == AUDIO_CHUNK for c in chunks)
    audio = (
        tuple(storage.media_input(storage_keys.chunk_key(video.id, AUDIO_CHUNK, name)) for name in AUDIO_FILES)
        if has_audio
        else None
    )
    keys = {
        "master": storage_keys.master_key(video.id),
        "proxy": storage_keys.proxy_key(video.id),
        "features": storage_keys.features_key(video.id),
    }
    content_types = {"master": "video/x-matroska", "proxy": "video/mp4", "features": "application/octet-stream"}
    work = runtime.scratch.make_dir(f"assemble-{video.id}")
    try:
        # Written in place by the local backend, streamed part by part to S3: never whole in scratch.
        with ExitStack() as outputs:
            targets = {
                name: outputs.enter_context(storage.media_output(key, work, content_type=content_types[name]))
                for name, key in keys.items()
            }
            read = lambda key: _load_npy(storage.read_bytes(key))  # noqa: E731
            frame_count = assemble_into(
                segments, audio, targets, rate, read_features=read, max_output_bytes=runtime.settings.max_output_bytes
            )
            progress(0.99)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    master_size = (info.display_width, info.display_height)
    preprocessed = Preprocessed(
        master_key=keys["master"],
        proxy_key=keys["proxy"],
        features_key=keys["features"],
        fps=float(rate),
        frame_count=frame_count,
        duration_seconds=frame_count / float(rate),
        width=master_size[0] - master_size[0] % 2,
        height=master_size[1] - master_size[1] % 2,
        rotation=info.rotation,
        has_audio=info.has_audio,
        probe=probe_summary(info),
    )

    def record(uow: UnitOfWork, row: VideoRecord) -> None:
        uow.videos.record_preprocess(row.id, preprocessed)
        # clips approved during progressive review waited for the assembled proxy (stages.export)
        for clip_id in uow.clips.of_video_in_state(row.id, ClipState.EXPORTING):
            uow.jobs.defer(EXPORT, clip_id)

    return record


def _load_npy(data: bytes) -> np.ndarray:
    import io

    return np.load(io.BytesIO(data), allow_pickle=False)


def forget_segments(runtime: Runtime, video_id: int) -> None:
    """Remove a preprocessed video's chunk segments (the assembled files replace them)."""
    for key in list(runtime.storage.list(storage_keys.chunks_prefix(video_id))):
        runtime.storage.delete(key)


# --- one chunk


def run_chunk(runtime: Runtime, chunk_id: int) -> str:
    settings = runtime.settings
    with transaction(runtime.database) as uow:
        chunk = uow.chunks.lock(chunk_id)
        if chunk is None or chunk.state == ChunkState.DONE:
            return "skipped"
        video = uow.videos.get(chunk.video_id)
        if video is None or video.state != VideoState.PREPROCESSING:
            return "skipped"
        if chunk.attempts >= settings.max_attempts + settings.max_interrupted_runs:
            uow.chunks.fail(chunk_id, f"gave up after {chunk.attempts} attempts, the last ones interrupted")
            uow.jobs.defer(PREPROCESS, video.id)
            return "failed"
        uow.chunks.start(chunk_id)
        run_id = uow.runs.start(CHUNK_TASK, chunk_id, WORKER_NAME)
    fields = {"stage": CHUNK_TASK, "entity_id": chunk_id, "video_id": video.id, "chunk": chunk.index}
    log.info("chunk %s of video %s started", chunk.index, video.id, extra=fields)
    started = time.monotonic()
    try:
        frame_count = _write_chunk(runtime, video, chunk, _chunk_progress(runtime, chunk_id, video))
    except Exception as error:  # noqa: BLE001 — recorded on the chunk; BadInput is not retried
        refused = isinstance(error, BadInput)
        if not refused:
            log.exception("chunk %s of video %s failed", chunk.index, video.id, extra=fields)
        message = redact(str(error) if refused else f"{type(error).__name__}: {error}")
        return _fail_chunk(runtime, chunk_id, video.id, run_id, message, refused=refused)
    with transaction(runtime.database) as uow:
        locked = uow.chunks.lock(chunk_id)
        if locked is None or locked.state != ChunkState.RUNNING:
            uow.runs.finish(run_id, "skipped", "state changed while working")
            return "skipped"
        uow.chunks.finish(chunk_id, frame_count)
        uow.runs.finish(run_id, "done")
        states = [c.as_progress() for c in uow.chunks.of_video(video.id)]
        uow.videos.set_progress(video.id, VideoState.PREPROCESSING, done_fraction(states))
        uow.jobs.defer(PREPROCESS, video.id)  # the coordinator settles clips, or assembles after the last chunk
    log.info("chunk %s of video %s done in %.2f s", chunk.index, video.id, time.monotonic() - started, extra=fields)
    return "done"


def _fail_chunk(runtime: Runtime, chunk_id: int, video_id: int, run_id: int, message: str, *, refused: bool) -> str:
    settings = runtime.settings
    with transaction(runtime.database) as uow:
        locked = uow.chunks.lock(chunk_id)
        if locked is None or locked.state != ChunkState.RUNNING:
            uow.runs.finish(run_id, "skipped", "state changed while working")
            return "skipped"
        retry = not refused and locked.attempts < settings.max_attempts
        uow.chunks.fail(chunk_id, message, final=not retry)
        uow.runs.finish(run_id, "retrying" if retry else REFUSED if refused else "failed", message)
        if retry:
            uow.jobs.defer_chunk(
                chunk_id, delay_seconds=retry_backoff_seconds(locked.attempts, settings.retry_backoff_seconds)
            )
        else:
            uow.jobs.defer(PREPROCESS, video_id)  # the coordinator fails the video with this message
    return "retrying" if retry else "failed"


def _chunk_progress(runtime: Runtime, chunk_id: int, video: VideoRecord) -> Progress:
    settings = runtime.settings
    chunk_seconds = settings.chunk_seconds or (video.duration_seconds or settings.max_duration_seconds)
    limit = settings.stage_time_limit_seconds + settings.stage_time_limit_per_media_second * chunk_seconds
    deadline = time.monotonic() + limit
    last = [0.0]

    def report(fraction: float) -> None:
        now = time.monotonic()
        if now > deadline:
            from heaters.pipeline.runner import StageTimedOut

            raise StageTimedOut(f"a chunk of video {video.id} ran past its time limit of {limit:.0f} s")
        if now - last[0] < 0.5:
            return
        last[0] = now
        with transaction(runtime.database) as uow:
            uow.chunks.set_progress(chunk_id, fraction)

    return report


def _write_chunk(runtime: Runtime, video: VideoRecord, chunk, progress: Progress) -> int:
    from heaters.adapters.media.chunks import preprocess_audio, preprocess_chunk
    from heaters.adapters.media.preprocess import Slots

    settings = runtime.settings
    source, info = _probe(runtime, video)
    work = runtime.scratch.make_dir(f"chunk-{video.id}-{chunk.index}")
    try:
        if chunk.index == AUDIO_CHUNK:
            written = preprocess_audio(source, info, work)
            if written is not None:
                for path, name in zip(written, AUDIO_FILES, strict=True):
                    runtime.storage.put_file(storage_keys.chunk_key(video.id, AUDIO_CHUNK, name), path)
            return 0
        segment = preprocess_chunk(
            source,
            info,
            work,
            Slots(chunk.first_frame, chunk.stop_frame),
            proxy_crf=settings.proxy_crf,
            limits=MediaLimits.from_settings(settings),
            progress=progress,
        )
        for field, name in SEGMENT_FILES.items():
            runtime.storage.put_file(
                storage_keys.chunk_key(video.id, chunk.index, name), getattr(segment, f"{field}_path")
            )
        return segment.frame_count
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --- progressive review


def settle_prefix(runtime: Runtime, video: VideoRecord, prefix_frames: int) -> int:
    """Create the clips of the settled part of the finished prefix [0, prefix_frames) (and record their
    boundaries): they can be reviewed before the rest of the video is preprocessed. Returns where the clips
    end now. The clip after the last settled boundary waits for the next chunks."""
    from heaters.domain.progressive import settle, window_start
    from heaters.domain.shots import settle_frames

    with connection(runtime.database) as uow:
        clips_end = uow.clips.covered_end(video.id)
        chunks = [c for c in uow.chunks.of_video(video.id) if c.index != AUDIO_CHUNK and c.state == ChunkState.DONE]
    fps = video.fps
    if not fps or prefix_frames - settle_frames(fps) <= clips_end:
        return clips_end  # not enough new frames to settle anything
    first = window_start(clips_end, fps)
    parts = [
        (
            c.first_frame,
            _load_npy(runtime.storage.read_bytes(storage_keys.chunk_key(video.id, c.index, "features.npy"))),
        )
        for c in chunks
        if c.first_frame < prefix_frames and c.first_frame + (c.frame_count or 0) > first
    ]
    window = np.concatenate([rows for _, rows in parts])[first - parts[0][0] : prefix_frames - parts[0][0]]
    settled = settle(window, first, clips_end, fps, video_end=False)
    if not settled.spans:
        return clips_end
    with transaction(runtime.database) as uow:
        uow.videos.lock(video.id)
        if uow.clips.extend(video.id, clips_end, settled.spans):
            uow.boundaries.record(video.id, settled.boundaries, settled.suggested)
    log.info("video %s: clips settled up to frame %d of %d preprocessed", video.id, settled.end, prefix_frames)
    return settled.end
