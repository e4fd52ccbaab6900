"""The pipeline on real footage, through the real job queue and worker, on real PostgreSQL."""

from __future__ import annotations

import hashlib
import json

import av
import pytest
from sqlalchemy import func, select

from heaters.adapters.db.models import Artifact, Embedding, SourceVideo
from heaters.adapters.db.models import Clip as ClipRow
from heaters.adapters.sample_media import fetch
from heaters.domain.errors import BadInput
from heaters.domain.stages import DETECT_SCENES
from heaters.domain.timeline import check_mece
from heaters.pipeline.runner import run_stage
from heaters.pipeline.stages import WORK
from heaters.services import review
from heaters.services.ingest import submit_source
from heaters.services.users import create_user
from tests.conftest import review_queue
from tests.pipeline.conftest import drain


def video_row(runtime, video_id) -> SourceVideo:
    with runtime.database.sessions() as session:
        return session.get(SourceVideo, video_id)


def test_ingest_to_embedded_on_real_footage(runtime):
    bikes = fetch("bikes.mp4")
    submitted = submit_source(runtime, str(bikes))
    assert submit_source(runtime, str(bikes)).video_id == submitted.video_id  # not ingested twice
    drain(runtime)

    video = video_row(runtime, submitted.video_id)
    assert (video.state, video.last_error, video.frame_count, video.fps) == ("scenes_detected", None, 250, 25.0)
    for key in (video.original_key, video.master_key, video.proxy_key, video.features_key):
        assert runtime.storage.exists(key)
    timeline = review.video_timeline(runtime, video.id)
    check_mece([c.span for c in timeline], 250)
    # every real shot is a clip, the 8-frame closing shot too
    assert [c.start for c in timeline[1:]] == [30, 76, 137, 187, 242]

    # Idempotent: running detection again creates nothing new.
    again = run_stage(runtime, DETECT_SCENES, video.id, lambda row, p: WORK["detect_scenes"](runtime, row, p))
    assert again.outcome == "skipped"

    reviewer = create_user(runtime.database, "ana", "password-1")
    review_queue(runtime, reviewer.id)
    drain(runtime)

    with runtime.database.sessions() as session:
        states = session.scalars(select(ClipRow.state).where(ClipRow.video_id == video.id)).all()
        assert set(states) == {"embedded"}
        exports = session.scalars(select(Artifact).where(Artifact.kind == "export")).all()
        keyframes = session.scalar(select(func.count()).select_from(Artifact).where(Artifact.kind == "keyframe"))
        embeddings = session.scalars(select(Embedding)).all()
    assert len(exports) == len(timeline) and keyframes == 3 * len(timeline) and len(embeddings) == len(timeline)
    manifest = [
        json.loads(line) for line in runtime.storage.read_bytes(f"manifests/{video.id}/manifest.jsonl").splitlines()
    ]
    assert [(m["start_frame"], m["end_frame"]) for m in manifest] == [c.span for c in timeline]
    by_key = {a.key: a for a in exports}
    for record in manifest:
        assert record["sha256"] == by_key[record["storage_key"]].sha256
        assert record["fps"] == "25/1" and record["reviewer"] == "ana" and record["source_title"] == "bikes"
        assert record["duration_seconds"] == pytest.approx((record["end_frame"] - record["start_frame"]) / 25)
    for artifact in exports:
        assert hashlib.sha256(runtime.storage.read_bytes(artifact.key)).hexdigest() == artifact.sha256
        with av.open(runtime.storage.local_path(artifact.key)) as container:
            frames = sum(1 for _ in container.decode(video=0))
        assert frames == artifact.details["end_frame"] - artifact.details["start_frame"]


def test_bad_inputs_end_in_failed_states_with_readable_errors_and_nothing_recorded(runtime, tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text_file = tmp_path / "notes.mp4"
    text_file.write_bytes(b"this is not a video at all " * 100)
    # Refused when submitted, naming the setting to change; nothing is recorded.
    with pytest.raises(BadInput, match=r"outside the allowed roots.*HEATERS_ALLOWED_ROOTS"):
        submit_source(runtime, "/etc/hostname")
    with pytest.raises(BadInput, match=r"empty"):
        submit_source(runtime, str(empty))
    with pytest.raises(BadInput, match=r"does not look like a video"):
        submit_source(runtime, str(text_file))
    with runtime.database.sessions() as session:
        assert session.query(SourceVideo).count() == 0
    # A file that passes the submit check but is no video after all (it changed) fails in the pipeline.
    text_file.write_bytes(fetch("bikes.mp4").read_bytes()[:64] + b"this is not a video at all " * 100)
    failed_id = submit_source(runtime, str(text_file)).video_id
    drain(runtime)
    failed = video_row(runtime, failed_id)
    assert failed.state == "preprocess_failed" and failed.last_error
    assert failed.master_key is None and failed.proxy_key is None
    assert not list(runtime.storage.list(f"proxies/{failed.id}/"))


def test_master_reencode_export_profile(runtime):
    runtime.settings = runtime.settings.model_copy(update={"export_profile": "master_reencode"})
    video_id = submit_source(runtime, str(fetch("carphone_pristine.mp4"))).video_id
    drain(runtime)
    reviewer = create_user(runtime.database, "ana", "password-1")
    review_queue(runtime, reviewer.id)
    drain(runtime)
    with runtime.database.sessions() as session:
        (export,) = session.scalars(select(Artifact).where(Artifact.kind == "export")).all()
        assert session.get(ClipRow, export.clip_id).state == "embedded"
    assert export.details["profile"] == "master_reencode"
    with av.open(runtime.storage.local_path(export.key)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.width, stream.height) == ("h264", 176, 144)
        assert sum(1 for _ in container.decode(stream)) == 120
    assert video_row(runtime, video_id).frame_count == 120


def test_grouping_clips_after_export_rewrites_the_manifest(runtime):
    """A group is metadata: grouping two clips that are already exported (and undoing it) rewrites the
    video's manifest through the `manifest` job, without exporting anything again."""
    reviewer = create_user(runtime.database, "ana", "password-1")
    video_id = submit_source(runtime, str(fetch("bikes.mp4"))).video_id
    drain(runtime)
    first, second, *_ = review.video_timeline(runtime, video_id)
    for clip in (first, second):
        review.act_and_show(runtime, reviewer.id, clip.id, "approve")
    drain(runtime)
    key = f"manifests/{video_id}/manifest.jsonl"

    def groups() -> dict[int, int | None]:
        return {r["clip_id"]: r["group"] for r in map(json.loads, runtime.storage.read_bytes(key).splitlines())}

    with runtime.database.sessions() as session:
        exports = session.scalar(select(func.count()).select_from(Artifact).where(Artifact.kind == "export"))
    assert groups() == {first.id: None, second.id: None}
    review.act_and_show(runtime, reviewer.id, second.id, "group")
    drain(runtime)
    assert groups() == {first.id: first.id, second.id: first.id}
    review.undo_and_show(runtime, reviewer.id)
    drain(runtime)
    assert groups() == {first.id: None, second.id: None}
    with runtime.database.sessions() as session:  # nothing was exported again
        assert session.scalar(select(func.count()).select_from(Artifact).where(Artifact.kind == "export")) == exports
