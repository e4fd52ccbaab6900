"""The work of each stage. Each loads what it needs, asks the domain, performs it through adapters and
returns a recorder that `runner.run_stage` calls inside the final transaction, with the unit of work.

Objects are stored under deterministic keys before the recorder runs, so a crash between the two only
means the next attempt overwrites the same objects; nothing is recorded that does not exist.
"""

from __future__ import annotations

import hashlib
import io
import shutil
from collections.abc import Callable
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

from PIL import Image

from heaters.adapters.db.uow import UnitOfWork, connection, transaction
from heaters.domain import storage_keys
from heaters.domain.errors import BadInput
from heaters.domain.limits import MediaLimits
from heaters.domain.manifest import ExportedClip, manifest_jsonl
from heaters.domain.records import ArtifactKind, ArtifactRecord, ClipRecord, Preprocessed, VideoRecord
from heaters.pipeline.runner import Recorder
from heaters.runtime import Runtime

Progress = Callable[[float], None]


@contextmanager
def _scratch(runtime: Runtime, name: str):
    """A private working directory in this process's scratch (data_dir/work/run-…), removed whatever
    happens; what a killed process leaves is swept when a worker starts (`adapters.scratch`)."""
    path = runtime.scratch.make_dir(name)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# --- videos


def download(runtime: Runtime, video: VideoRecord, progress: Progress) -> Recorder:
    from heaters.adapters.download import fetch_source
    from heaters.domain.sources import SourceKind, classify_source

    if video.original_key:
        # An upload or a local file: the submitting process already stored it (nothing crosses machines
        # but the database and the object store), checked it and recorded its hash.
        if not runtime.storage.exists(video.original_key):
            raise BadInput("the stored original is gone; submit the file again")
        return lambda uow, row: None
    if classify_source(video.source) is not SourceKind.URL:
        raise BadInput(
            "uploads and local files are stored by the process that submits them (`heaters ingest PATH` on the "
            "machine that has the file); this one never reached storage: submit it again"
        )
    with _scratch(runtime, f"download-{video.id}") as work:
        fetched = fetch_source(video.source, work, settings=runtime.settings, progress=progress)
        if not video.allow_duplicate:
            _refuse_duplicate_content(runtime, video.id, fetched.content_sha256)
        key = storage_keys.original_key(video.id, fetched.extension)
        runtime.storage.put_file(key, fetched.path)

    def record(uow: UnitOfWork, row: VideoRecord) -> None:
        source_url = (fetched.canonical_url or fetched.source_url) if fetched.source_url else None
        uow.videos.record_download(row.id, key, fetched.content_sha256, fetched.title, source_url)

    return record


def _refuse_duplicate_content(runtime: Runtime, video_id: int, sha256: str) -> None:
    with connection(runtime.database) as uow:
        other = uow.videos.other_with_content(sha256, video_id)
    if other is not None:
        raise BadInput(f"the same file was already ingested as video {other} (ingest with --force to add it again)")


def preprocess(runtime: Runtime, video: VideoRecord, progress: Progress) -> Recorder:
    from heaters.adapters.media.preprocess import preprocess as run_preprocess
    from heaters.pipeline import chunked

    settings = runtime.settings
    if settings.chunk_seconds > 0:  # a long video is preprocessed in chunks, by as many workers as there are
        with connection(runtime.database) as uow:
            planned = bool(uow.chunks.of_video(video.id))
        if planned:
            return chunked.coordinate(runtime, video, progress)
        plan, has_audio, rate = chunked.plan_for(runtime, video)
        if not plan.single_job:
            chunked.start(runtime, video, plan, has_audio, rate, progress)  # hands off
    limits = MediaLimits.from_settings(settings)
    keys = {
        "master": storage_keys.master_key(video.id),
        "proxy": storage_keys.proxy_key(video.id),
        "features": storage_keys.features_key(video.id),
    }
    with _scratch(runtime, f"preprocess-{video.id}") as work:
        # one sequential read of the whole original: a local copy (S3) is the fastest way to decode it
        source = runtime.storage.local_path(video.original_key) or _local_copy(runtime, video.original_key, work)
        result = run_preprocess(source, work, proxy_crf=settings.proxy_crf, limits=limits, progress=progress)
        runtime.storage.put_file(keys["master"], result.master_path, content_type="video/x-matroska")
        runtime.storage.put_file(keys["proxy"], result.proxy_path, content_type="video/mp4")
        runtime.storage.put_file(keys["features"], result.features_path, content_type="application/octet-stream")

    preprocessed = Preprocessed(
        master_key=keys["master"],
        proxy_key=keys["proxy"],
        features_key=keys["features"],
        fps=float(result.fps),
        frame_count=result.frame_count,
        duration_seconds=result.duration_seconds,
        width=result.width,
        height=result.height,
        rotation=result.probe.rotation,
        has_audio=result.has_audio,
        probe=result.summary()["probe"],
    )

    def record(uow: UnitOfWork, row: VideoRecord) -> None:
        uow.videos.record_preprocess(row.id, preprocessed)

    return record


def _local_copy(runtime: Runtime, key: str, work: Path) -> Path:
    """The stored object as a local file: in place for local storage, else downloaded into `work`.

    The single-job preprocess reads the whole original once, from a local copy (bench/original_read.py:
    download-then-decode against decoding by byte ranges); a chunk reads only its part of the original by
    byte ranges (`chunked.original_source`). Either way FFmpeg never gets a URL for a user-supplied file."""
    path = runtime.storage.local_path(key)
    if path is not None:
        return path
    return runtime.storage.download_to(key, work / Path(key).name)


def detect_scenes(runtime: Runtime, video: VideoRecord, progress: Progress) -> Recorder:
    from heaters.adapters.media.analysis import FeatureRows
    from heaters.domain.progressive import detect_in_windows
    from heaters.pipeline.chunked import forget_segments

    forget_segments(runtime, video.id)  # a chunked video's segments, now assembled and recorded
    with connection(runtime.database) as uow:
        clips_end = uow.clips.covered_end(video.id)  # a chunked video's clips settled while it was preprocessed
    with _scratch(runtime, f"detect-{video.id}") as work:
        # read window by window: a long video's features are never in memory whole
        with FeatureRows(_local_copy(runtime, video.features_key, work)) as features:
            if len(features) != video.frame_count:
                raise BadInput(f"features cover {len(features)} frames but the proxy has {video.frame_count}")
            # every detected shot is a clip, however short (the detector's own minimum is a few frames)
            settled = list(detect_in_windows(features.read, video.frame_count, video.fps, clips_end=clips_end))
    spans = [span for part in settled for span in part.spans]
    boundaries = [b for part in settled for b in part.boundaries]
    suggested = [b for part in settled for b in part.suggested]

    def record(uow: UnitOfWork, row: VideoRecord) -> None:
        # Idempotent: clips are added once, in this transaction, after those already there (MECE over the video).
        if uow.clips.extend(row.id, clips_end, spans):
            uow.boundaries.record(row.id, boundaries, suggested)

    return record


# --- clips


def _video_of(runtime: Runtime, clip: ClipRecord) -> VideoRecord:
    with connection(runtime.database) as uow:
        video = uow.videos.get(clip.video_id)
    if video is None:
        raise BadInput(f"clip {clip.id}'s video {clip.video_id} is gone")
    return video


def export(runtime: Runtime, clip: ClipRecord, progress: Progress) -> Recorder:
    from heaters.pipeline.runner import HandedOff

    video = _video_of(runtime, clip)
    if not video.proxy_key:  # approved while its (chunked) video is still preprocessed: recovery asks again
        raise HandedOff("the video is still being preprocessed")
    key = storage_keys.clip_key(video.id, clip.id, clip.start_frame, clip.end_frame)
    with _scratch(runtime, f"export-{clip.id}") as work:
        out = work / "clip.mp4"
        if runtime.settings.export_profile == "master_reencode":
            from heaters.adapters.media.reencode import reencode_clip

            source = runtime.storage.media_input(video.master_key)
            info = reencode_clip(source, clip.start_frame, clip.end_frame, out)
        else:  # stream copy of exactly these frames from the all-intra proxy: no re-encode
            from heaters.adapters.media.clip import cut_clip

            source = runtime.storage.media_input(video.proxy_key)
            info = cut_clip(source, clip.start_frame, clip.end_frame, out)
        runtime.storage.put_file(key, out, content_type="video/mp4")

    def record(uow: UnitOfWork, row: ClipRecord) -> None:
        details = {
            "start_frame": row.start_frame,
            "end_frame": row.end_frame,
            "fps": str(info.fps),
            "profile": runtime.settings.export_profile,
        }
        uow.artifacts.record(
            [
                ArtifactRecord(
                    video.id, row.id, ArtifactKind.EXPORT, key, info.sha256, info.size_bytes, "video/mp4", details
                )
            ]
        )
        _write_manifest(runtime, uow, video)

    return record


def _write_manifest(runtime: Runtime, uow: UnitOfWork, video: VideoRecord) -> None:
    """Rewrite the video's manifest (JSON Lines, every exported clip) inside the export's transaction.

    A per-video lock serialises concurrent exports of one video, so each manifest written includes every
    export committed before it plus this one. A crash after the write and before the commit leaves a
    manifest naming a clip not yet recorded; the export's retry rewrites it.
    """
    uow.artifacts.lock_manifest(video.id)
    clips = [
        ExportedClip(
            video_id=video.id,
            source_url=video.source_url,
            source_title=video.title,
            clip_id=row.clip_id,
            start_frame=row.details["start_frame"],
            end_frame=row.details["end_frame"],
            fps=Fraction(row.details["fps"]),
            storage_key=row.key,
            sha256=row.sha256,
            size_bytes=row.size_bytes,
            group=row.group_id,
            reviewer=row.reviewer,
            exported_at=row.created_at.isoformat() if row.created_at else None,
        )
        for row in uow.artifacts.exports_of_video(video.id)
    ]
    data = manifest_jsonl(clips).encode()
    key = storage_keys.manifest_key(video.id)
    runtime.storage.put_bytes(key, data, content_type="application/x-ndjson")
    digest = hashlib.sha256(data).hexdigest()
    details = {"clips": len(clips)}
    uow.artifacts.record(
        [ArtifactRecord(video.id, None, ArtifactKind.MANIFEST, key, digest, len(data), "application/x-ndjson", details)]
    )


def rewrite_manifest(runtime: Runtime, video_id: int) -> None:
    """The `manifest` task: rewrite a video's manifest after its groups changed (see `services.review`)."""
    with transaction(runtime.database) as uow:
        video = uow.videos.get(video_id)
        if video is not None:
            _write_manifest(runtime, uow, video)


def exported_key(runtime: Runtime, clip_id: int) -> str:
    with connection(runtime.database) as uow:
        exported = uow.artifacts.exported_file(clip_id)
    if exported is None:
        raise BadInput(f"clip {clip_id} has no exported file")
    return exported.key


def keyframes(runtime: Runtime, clip: ClipRecord, progress: Progress) -> Recorder:
    from heaters.adapters.media.keyframes import extract_keyframes

    strategy = runtime.settings.keyframe_strategy
    frames = extract_keyframes(runtime.storage.media_input(exported_key(runtime, clip.id)), strategy)
    artifacts = []
    for frame in frames:
        key = storage_keys.keyframe_key(clip.id, frame.percent, frame.ext)
        runtime.storage.put_bytes(key, frame.data, content_type=frame.content_type)
        details = {
            "strategy": strategy,
            "percent": frame.percent,
            "frame_index": frame.frame_index,
            "timestamp_seconds": frame.timestamp_seconds,
        }
        artifacts.append(
            ArtifactRecord(
                clip.video_id, clip.id, ArtifactKind.KEYFRAME, key, None, len(frame.data), frame.content_type, details
            )
        )

    def record(uow: UnitOfWork, row: ClipRecord) -> None:
        # A changed strategy replaces the old keyframe records (keys are per percent, so same-strategy retries
        # overwrite in place).
        uow.artifacts.forget_keyframes_except(row.id, [a.key for a in artifacts])
        uow.artifacts.record(artifacts)

    return record


def embed(runtime: Runtime, clip: ClipRecord, progress: Progress) -> Recorder:
    from heaters.adapters.embeddings import load_model
    from heaters.domain.embedding import clip_embedding

    model = load_model(runtime.settings.embedding_model)
    _register_model(runtime, model.name, model.dimension)
    with connection(runtime.database) as uow:
        keys = uow.artifacts.keyframe_keys(clip.id)
    if not keys:
        raise BadInput(f"clip {clip.id} has no keyframes")
    images = [Image.open(io.BytesIO(runtime.storage.read_bytes(k))).convert("RGB") for k in keys]
    vector = clip_embedding(model.embed_images(images))
    strategy = runtime.settings.keyframe_strategy

    def record(uow: UnitOfWork, row: ClipRecord) -> None:
        uow.embeddings.store(row.id, model.name, strategy, vector.tolist())

    return record


_registered_models: set[tuple[str, str, int]] = set()


def _register_model(runtime: Runtime, name: str, dimension: int) -> None:
    """The model's vector index (DDL), created once per database, model and process before its first vector."""
    registration = (runtime.database.url, name, dimension)
    if registration not in _registered_models:
        with transaction(runtime.database) as uow:
            uow.embeddings.ensure_model_index(name, dimension)
        _registered_models.add(registration)


WORK = {
    "download": download,
    "preprocess": preprocess,
    "detect_scenes": detect_scenes,
    "export": export,
    "keyframes": keyframes,
    "embed": embed,
}
