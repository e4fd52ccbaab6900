"""The work of each stage. Each loads what it needs, asks the domain, performs it through adapters and
returns a recorder that `runner.run_stage` calls inside the final transaction.

Objects are stored under deterministic keys before the recorder runs, so a crash between the two only
means the next attempt overwrites the same objects; nothing is recorded that does not exist.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from heaters.adapters.db.models import Artifact, Clip, Embedding, SourceVideo
from heaters.adapters.db.vectors import ensure_model_index
from heaters.domain import storage_keys
from heaters.domain.errors import BadInput
from heaters.domain.states import ClipState
from heaters.domain.timeline import clips_from_cuts
from heaters.pipeline.runner import Recorder
from heaters.runtime import Runtime

Progress = Callable[[float], None]


@contextmanager
def _scratch(runtime: Runtime, name: str):
    """A private working directory under the data dir, removed whatever happens."""
    root = runtime.settings.data_path / "work"
    root.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=root))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# --- videos


def download(runtime: Runtime, video: SourceVideo, progress: Progress) -> Recorder:
    from heaters.adapters.download import adopt_upload, fetch_source
    from heaters.services.ingest import UPLOAD_PREFIX, upload_path

    with _scratch(runtime, f"download-{video.id}") as work:
        if video.source.startswith(UPLOAD_PREFIX):
            upload = upload_path(runtime, video.id)
            if not upload.exists():
                raise BadInput("the uploaded file is gone; upload it again")
            fetched = adopt_upload(upload, video.source[len(UPLOAD_PREFIX) :], work, runtime.settings.max_upload_bytes)
        else:
            fetched = fetch_source(video.source, work, settings=runtime.settings, progress=progress)
        if not video.allow_duplicate:
            _refuse_duplicate_content(runtime, video.id, fetched.content_sha256)
        key = storage_keys.original_key(video.id, fetched.extension)
        runtime.storage.put_file(key, fetched.path)

    def record(session: Session, row: SourceVideo) -> None:
        row.original_key = key
        row.content_sha256 = fetched.content_sha256
        row.title = row.title or fetched.title
        if fetched.source_url and not row.source_url:
            row.source_url = fetched.canonical_url or fetched.source_url

    return record


def _refuse_duplicate_content(runtime: Runtime, video_id: int, sha256: str) -> None:
    with runtime.database.sessions() as session:
        other = session.scalar(
            select(SourceVideo.id)
            .where(SourceVideo.content_sha256 == sha256, SourceVideo.id != video_id)
            .order_by(SourceVideo.id)
            .limit(1)
        )
    if other is not None:
        raise BadInput(f"the same file was already ingested as video {other} (ingest with --force to add it again)")


def preprocess(runtime: Runtime, video: SourceVideo, progress: Progress) -> Recorder:
    from heaters.adapters.media.preprocess import preprocess as run_preprocess
    from heaters.adapters.media.probe import MediaLimits

    settings = runtime.settings
    limits = MediaLimits.from_settings(settings)
    keys = {
        "master": storage_keys.master_key(video.id),
        "proxy": storage_keys.proxy_key(video.id),
        "features": storage_keys.features_key(video.id),
    }
    with _scratch(runtime, f"preprocess-{video.id}") as work:
        source = runtime.storage.media_input(video.original_key)
        result = run_preprocess(source, work, proxy_crf=settings.proxy_crf, limits=limits, progress=progress)
        runtime.storage.put_file(keys["master"], result.master_path, content_type="video/x-matroska")
        runtime.storage.put_file(keys["proxy"], result.proxy_path, content_type="video/mp4")
        runtime.storage.put_file(keys["features"], result.features_path, content_type="application/octet-stream")

    def record(session: Session, row: SourceVideo) -> None:
        row.master_key, row.proxy_key, row.features_key = keys["master"], keys["proxy"], keys["features"]
        row.fps = float(result.fps)
        row.frame_count = result.frame_count
        row.duration_seconds = result.duration_seconds
        row.width, row.height = result.width, result.height
        row.rotation = result.probe.rotation
        row.has_audio = result.has_audio
        row.probe = result.summary()["probe"]

    return record


def detect_scenes(runtime: Runtime, video: SourceVideo, progress: Progress) -> Recorder:
    from heaters.adapters.db.boundaries import record_boundaries
    from heaters.domain.shots import detect

    features = np.load(io.BytesIO(runtime.storage.read_bytes(video.features_key)), allow_pickle=False)
    if len(features) != video.frame_count:
        raise BadInput(f"features cover {len(features)} frames but the proxy has {video.frame_count}")
    # every detected shot is a clip, however short (the detector's own minimum is a few frames)
    detection = detect(features, video.fps)
    spans = clips_from_cuts(detection.cuts, video.frame_count, 1)

    def record(session: Session, row: SourceVideo) -> None:
        # Idempotent: clips are created once, in this transaction, MECE over the whole video.
        existing = session.scalar(select(func.count()).select_from(Clip).where(Clip.video_id == row.id))
        if existing:
            return
        session.add_all(
            Clip(video_id=row.id, start_frame=s, end_frame=e, state=ClipState.PENDING_REVIEW, attempts=0)
            for s, e in spans
        )
        record_boundaries(session, row.id, detection.boundaries, detection.suggested)

    return record


# --- clips


def _clip_video(runtime: Runtime, clip: Clip) -> SourceVideo:
    with runtime.database.sessions() as session:
        return session.get(SourceVideo, clip.video_id)


def _record_artifacts(session: Session, rows: list[dict]) -> None:
    """Upsert by key: a retried stage finds its own earlier record and updates it in place."""
    for row in rows:
        statement = insert(Artifact).values(**row)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=[Artifact.key],
                set_={c: statement.excluded[c] for c in ("sha256", "size_bytes", "content_type", "details")},
            )
        )


def export(runtime: Runtime, clip: Clip, progress: Progress) -> Recorder:
    video = _clip_video(runtime, clip)
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

    def record(session: Session, row: Clip) -> None:
        _record_artifacts(
            session,
            [
                {
                    "video_id": video.id,
                    "clip_id": row.id,
                    "kind": "export",
                    "key": key,
                    "sha256": info.sha256,
                    "size_bytes": info.size_bytes,
                    "content_type": "video/mp4",
                    "details": {
                        "start_frame": row.start_frame,
                        "end_frame": row.end_frame,
                        "fps": str(info.fps),
                        "profile": runtime.settings.export_profile,
                    },
                }
            ],
        )
        _write_manifest(runtime, session, video)

    return record


def _write_manifest(runtime: Runtime, session: Session, video: SourceVideo) -> None:
    """Rewrite the video's manifest (JSON Lines, every exported clip) inside the export's transaction.

    A per-video transaction lock serialises concurrent exports of one video, so each manifest written
    includes every export committed before it plus this one. A crash after the write and before the
    commit leaves a manifest naming a clip not yet recorded; the export's retry rewrites it.
    """
    from fractions import Fraction

    from heaters.adapters.db.models import User
    from heaters.domain.manifest import ExportedClip, manifest_jsonl

    session.execute(text("SELECT pg_advisory_xact_lock(hashtext('manifest'), :video)"), {"video": video.id})
    session.flush()
    rows = session.execute(
        select(Artifact, Clip, User.name)
        .join(Clip, Clip.id == Artifact.clip_id)
        .outerjoin(User, User.id == Clip.reviewer_id)
        .where(Artifact.video_id == video.id, Artifact.kind == "export")
    ).all()
    clips = [
        ExportedClip(
            video_id=video.id,
            source_url=video.source_url,
            source_title=video.title,
            clip_id=clip.id,
            start_frame=artifact.details["start_frame"],
            end_frame=artifact.details["end_frame"],
            fps=Fraction(artifact.details["fps"]),
            storage_key=artifact.key,
            sha256=artifact.sha256,
            size_bytes=artifact.size_bytes,
            group=clip.group_id,
            reviewer=reviewer,
            exported_at=artifact.created_at.isoformat() if artifact.created_at else None,
        )
        for artifact, clip, reviewer in rows
    ]
    data = manifest_jsonl(clips).encode()
    key = storage_keys.manifest_key(video.id)
    runtime.storage.put_bytes(key, data, content_type="application/x-ndjson")
    _record_artifacts(
        session,
        [
            {
                "video_id": video.id,
                "clip_id": None,
                "kind": "manifest",
                "key": key,
                "sha256": hashlib.sha256(data).hexdigest(),
                "size_bytes": len(data),
                "content_type": "application/x-ndjson",
                "details": {"clips": len(clips)},
            }
        ],
    )


def exported_key(runtime: Runtime, clip_id: int) -> str:
    with runtime.database.sessions() as session:
        key = session.scalar(select(Artifact.key).where(Artifact.clip_id == clip_id, Artifact.kind == "export"))
    if key is None:
        raise BadInput(f"clip {clip_id} has no exported file")
    return key


def keyframes(runtime: Runtime, clip: Clip, progress: Progress) -> Recorder:
    from heaters.adapters.media.keyframes import extract_keyframes

    strategy = runtime.settings.keyframe_strategy
    frames = extract_keyframes(runtime.storage.media_input(exported_key(runtime, clip.id)), strategy)
    rows = []
    for frame in frames:
        key = storage_keys.keyframe_key(clip.id, frame.percent, frame.ext)
        runtime.storage.put_bytes(key, frame.data, content_type=frame.content_type)
        rows.append(
            {
                "video_id": clip.video_id,
                "clip_id": clip.id,
                "kind": "keyframe",
                "key": key,
                "size_bytes": len(frame.data),
                "content_type": frame.content_type,
                "details": {
                    "strategy": strategy,
                    "percent": frame.percent,
                    "frame_index": frame.frame_index,
                    "timestamp_seconds": frame.timestamp_seconds,
                },
            }
        )

    def record(session: Session, row: Clip) -> None:
        # A changed strategy replaces the old keyframe records (their objects are deleted after commit
        # would be nicer; keys are per percent, so same-strategy retries overwrite in place).
        session.execute(
            delete(Artifact).where(
                Artifact.clip_id == row.id, Artifact.kind == "keyframe", Artifact.key.not_in([r["key"] for r in rows])
            )
        )
        _record_artifacts(session, rows)

    return record


def embed(runtime: Runtime, clip: Clip, progress: Progress) -> Recorder:
    from heaters.adapters.embeddings import load_model
    from heaters.domain.embedding import clip_embedding

    model = load_model(runtime.settings.embedding_model)
    with runtime.database.sessions() as session:
        keyframes_of_clip = (Artifact.clip_id == clip.id) & (Artifact.kind == "keyframe")
        keys = list(session.scalars(select(Artifact.key).where(keyframes_of_clip).order_by(Artifact.key)))
    if not keys:
        raise BadInput(f"clip {clip.id} has no keyframes")
    images = [Image.open(io.BytesIO(runtime.storage.read_bytes(k))).convert("RGB") for k in keys]
    vector = clip_embedding(model.embed_images(images))
    ensure_model_index(runtime.database, model.name, model.dimension)
    strategy = runtime.settings.keyframe_strategy

    def record(session: Session, row: Clip) -> None:
        statement = insert(Embedding).values(
            clip_id=row.id, model=model.name, strategy=strategy, dimension=model.dimension, embedding=vector.tolist()
        )
        session.execute(
            statement.on_conflict_do_update(
                constraint="embedding_per_clip_model",
                set_={"embedding": statement.excluded.embedding, "dimension": statement.excluded.dimension},
            )
        )

    return record


WORK = {
    "download": download,
    "preprocess": preprocess,
    "detect_scenes": detect_scenes,
    "export": export,
    "keyframes": keyframes,
    "embed": embed,
}
