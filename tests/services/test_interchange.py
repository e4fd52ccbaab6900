"""Exports for editors (OpenTimelineIO, EDL) and for training (WebDataset shards), from the real pipeline's
results: bikes.mp4 (25 fps, six shots) and the same footage re-timed to 30000/1001, each ingested,
detected, reviewed (approve, group, archive), exported, keyframed and embedded once per module. Read
back with OpenTimelineIO and webdataset themselves."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import opentimelineio as otio
import pytest
import webdataset
from fastapi.testclient import TestClient
from sqlalchemy import text

from heaters.adapters.db.connection import open_database
from heaters.adapters.job_queue import JobQueue
from heaters.adapters.sample_media import DEFAULT_CACHE, fetch
from heaters.adapters.storage import S3Storage, storage_from_settings
from heaters.config import Settings
from heaters.domain.errors import BadInput, NotFound, Refused
from heaters.domain.interchange import PARTIAL_SUFFIX, shard_name
from heaters.runtime import Runtime
from heaters.services import review
from heaters.services.ingest import submit_source
from heaters.services.interchange import dataset_name, export_dataset, export_timeline
from heaters.services.users import create_user
from heaters.web.app import create_app
from tests.adapters.conftest import fake_aws_credentials, moto_endpoint, s3_bucket_name  # noqa: F401
from tests.conftest import new_database
from tests.pipeline.conftest import drain
from tests.web.conftest import PASSWORD, served, sign_in
from tests.web.test_browser import browser, new_page  # noqa: F401 (browser is a fixture)

NTSC = Fraction(30000, 1001)
CLI = [sys.executable, "-c", "from heaters.cli import main; main()"]


def retime(source: Path, out: Path, rate: Fraction) -> Path:
    """The same frames with new timestamps at `rate` (real footage at a rational rate)."""
    with av.open(str(source)) as inp, av.open(str(out), "w") as output:
        stream = output.add_stream("libx264", rate=rate)
        vin = inp.streams.video[0]
        stream.width, stream.height, stream.pix_fmt = vin.width, vin.height, "yuv420p"
        stream.options = {"crf": "12"}
        for index, frame in enumerate(inp.decode(vin)):
            image = frame.reformat(format="yuv420p")
            image.pts, image.time_base = index, Fraction(1) / rate
            output.mux(stream.encode(image))
        output.mux(stream.encode(None))
    return out


def review_video(runtime: Runtime, reviewer_id: int, video_id: int) -> None:
    """Clip 0 approved, 1 and 2 grouped with it, 3 archived, the rest approved."""
    for index, clip in enumerate(review.video_timeline(runtime, video_id)):
        action = {1: "group", 2: "group", 3: "archive"}.get(index, "approve")
        review.act_and_show(runtime, reviewer_id, clip.id, action)


@pytest.fixture(scope="module")
def library(postgres_admin_url, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("interchange")
    ntsc_source = retime(fetch("bikes.mp4"), tmp / "bikes_ntsc.mp4", NTSC)
    settings = Settings(
        data_dir=tmp / "data",
        database_url=new_database(postgres_admin_url),
        allowed_roots=[DEFAULT_CACHE, tmp],
        export_grace_seconds=0,
    )
    database = open_database(settings)
    runtime = Runtime(
        settings=settings, database=database, storage=storage_from_settings(settings), queue=JobQueue(database)
    )
    ana = create_user(database, "ana", PASSWORD)
    videos = {
        "bikes": submit_source(runtime, str(fetch("bikes.mp4"))).video_id,
        "ntsc": submit_source(runtime, str(ntsc_source), force=True).video_id,
    }
    drain(runtime)
    for video_id in videos.values():
        review_video(runtime, ana.id, video_id)
    drain(runtime)
    yield {"runtime": runtime, "videos": videos, "tmp": tmp}
    runtime.queue.close()
    database.engine.dispose()


def clips_of(runtime: Runtime, video_id: int) -> list:
    return list(review.video_timeline(runtime, video_id))


def exported(runtime: Runtime) -> dict[int, dict]:
    """clip id → manifest record, from every video's export manifest (the pipeline's own output)."""
    records = {}
    for key in runtime.storage.list("manifests/"):
        for line in runtime.storage.read_bytes(key).splitlines():
            record = json.loads(line)
            records[record["clip_id"]] = record
    return records


# --- OpenTimelineIO


@pytest.mark.parametrize("name, rate", [("bikes", Fraction(25)), ("ntsc", NTSC)])
def test_otio_round_trip_gives_exactly_the_clips_frame_ranges(library, name, rate):
    runtime, video_id = library["runtime"], library["videos"][name]
    clips = clips_of(runtime, video_id)
    approved = [c for c in clips if c.state == "embedded"]
    archived = [c for c in clips if c.state == "review_archived"]
    assert len(approved) >= 4 and len(archived) == 1

    timeline_file = export_timeline(runtime, video_id, "otio")
    timeline = otio.adapters.read_from_string(timeline_file.data.decode(), "otio_json")

    assert Fraction(timeline.metadata["heaters"]["fps"]) == rate
    tracks = {t.name: t for t in timeline.tracks}
    assert tracks["Approved"].enabled and not tracks["Archived"].enabled
    for track, expected in ((tracks["Approved"], approved), (tracks["Archived"], archived)):
        read = list(track.find_clips())
        assert [c.metadata["heaters"]["clip_id"] for c in read] == [c.id for c in expected]
        for otio_clip, clip in zip(read, expected, strict=True):
            start, duration = otio_clip.source_range.start_time, otio_clip.source_range.duration
            # Frames exact, and the rate is exactly the grid's rate: times are frame / fps as rationals.
            assert Fraction(start.rate).limit_denominator(1001) == rate and start.rate == float(rate)
            assert (start.value, duration.value) == (clip.start, clip.end - clip.start)
            assert Fraction(start.value) / Fraction(start.rate).limit_denominator(1001) == Fraction(clip.start) / rate
            assert otio.opentime.to_frames(start, float(rate)) == clip.start
            # Placed at its own source position, so the tracks line up with the source and each other.
            assert otio_clip.range_in_parent().start_time.value == clip.start
            assert otio_clip.metadata["heaters"]["reviewer"] == "ana"
            confidence = otio_clip.metadata["heaters"]["detector_confidence"]
            if clip.start == 0:  # no cut starts the video's first clip
                assert confidence is None
            else:  # every other clip starts at a cut the detector found (nobody split by hand here)
                assert 0 < confidence <= 1
            reference = otio_clip.media_reference
            assert reference.metadata["heaters"]["kind"] == "master"  # master present: the reference
            assert Path(reference.target_url.removeprefix("file://")).is_file()
            assert reference.available_range.duration.value == 250
    # Groups as markers: the first three clips were reviewed as one group.
    group_id = approved[0].id
    marked = [c for c in tracks["Approved"].find_clips() if c.markers]
    assert [c.metadata["heaters"]["clip_id"] for c in marked] == [c.id for c in approved[:3]]
    for c in marked:
        (marker,) = c.markers
        assert marker.name == f"group {group_id}" and marker.marked_range == c.source_range


@pytest.mark.parametrize("name, rate", [("bikes", Fraction(25)), ("ntsc", NTSC)])
def test_edl_from_otios_own_adapter_reads_back_to_the_same_frames(library, name, rate):
    runtime, video_id = library["runtime"], library["videos"][name]
    approved = [c for c in clips_of(runtime, video_id) if c.state == "embedded"]
    edl = export_timeline(runtime, video_id, "edl")
    assert edl.filename.endswith(".edl")
    timeline = otio.adapters.read_from_string(edl.data.decode(), "cmx_3600", rate=float(rate))
    read = list(timeline.find_clips())
    assert len(read) == len(approved)  # the archived track is disabled: not in the EDL
    for otio_clip, clip in zip(read, approved, strict=True):
        source = otio_clip.source_range
        assert otio.opentime.to_frames(source.start_time, float(rate)) == clip.start
        assert otio.opentime.to_frames(source.duration, float(rate)) == clip.end - clip.start
        assert otio.opentime.to_frames(otio_clip.range_in_parent().start_time, float(rate)) == clip.start


def test_timeline_refusals(library):
    runtime = library["runtime"]
    with pytest.raises(NotFound):
        export_timeline(runtime, 9999)
    with pytest.raises(BadInput, match="unknown timeline format"):
        export_timeline(runtime, library["videos"]["bikes"], "pdf")


def test_dashboard_downloads_the_timeline(library):
    video_id = library["videos"]["ntsc"]
    with TestClient(create_app(library["runtime"]), follow_redirects=False) as client:
        assert client.get(f"/videos/{video_id}/timeline.otio").status_code == 401  # signed out: nothing
        sign_in(client, "ana")
        response = client.get(f"/videos/{video_id}/timeline.otio")
        assert response.status_code == 200
        assert f'filename="heaters-video-{video_id}.otio"' in response.headers["content-disposition"]
        timeline = otio.adapters.read_from_string(response.text, "otio_json")
        assert timeline.metadata["heaters"]["fps"] == "30000/1001"
        assert client.get(f"/videos/{video_id}/timeline.edl").text.startswith("TITLE:")
        assert client.get("/videos/9999/timeline.otio").status_code == 404
        assert client.get(f"/videos/{video_id}/timeline.pdf").status_code == 404
        assert "timeline.otio" in client.get("/static/dashboard.js").text


@pytest.mark.browser
def test_dashboard_link_downloads_the_timeline_in_a_browser(library, browser):  # noqa: F811
    video_id = library["videos"]["ntsc"]
    with served(create_app(library["runtime"])) as base:
        page = new_page(browser, base)
        page.goto("/")
        page.fill("input[name=name]", "ana")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        link = page.locator(f'tr[data-video-id="{video_id}"] a[href$="/timeline.otio"]')
        link.wait_for()
        with page.expect_download() as download:
            link.click()
        assert download.value.suggested_filename == f"heaters-video-{video_id}.otio"
        timeline = otio.adapters.read_from_file(str(download.value.path()), "otio_json")
        page.context.close()
    expected = [(c.start, c.end - c.start) for c in clips_of(library["runtime"], video_id) if c.state == "embedded"]
    approved = next(t for t in timeline.tracks if t.name == "Approved")
    assert [(c.source_range.start_time.value, c.source_range.duration.value) for c in approved.find_clips()] == expected


# --- WebDataset


def frame_digests(source) -> list[str]:
    with av.open(source) as container:
        return [hashlib.md5(f.to_ndarray(format="rgb24").tobytes()).hexdigest() for f in container.decode(video=0)]


def read_dataset(out: Path) -> list[dict]:
    urls = sorted(str(p) for p in out.glob("*.tar"))
    return list(webdataset.WebDataset(urls, shardshuffle=False, empty_check=False))


def shippable(runtime: Runtime) -> set[int]:
    with runtime.database.engine.connect() as conn:
        return set(conn.execute(text("SELECT id FROM clips WHERE state = 'embedded'")).scalars())


def check_samples(runtime: Runtime, samples: list[dict]) -> None:
    """Every sample: its MP4 decodes to exactly its clip's frames; checksums equal the manifest's."""
    manifest = exported(runtime)
    proxies = {}
    for sample in samples:
        record = json.loads(sample["json"])
        clip_id = record["clip_id"]
        assert hashlib.sha256(sample["mp4"]).hexdigest() == record["sha256"] == manifest[clip_id]["sha256"]
        assert (
            record["detector_confidence"] is None
            if record["start_frame"] == 0
            else 0 < record["detector_confidence"] <= 1
        )
        for field in ("start_frame", "end_frame", "fps", "group", "reviewer", "storage_key", "source_title"):
            assert record[field] == manifest[clip_id][field]
        if record["video_id"] not in proxies:
            proxies[record["video_id"]] = frame_digests(
                runtime.storage.media_input(f"proxies/{record['video_id']}/proxy.mp4")
            )
        assert (
            frame_digests(io.BytesIO(sample["mp4"]))
            == proxies[record["video_id"]][record["start_frame"] : record["end_frame"]]
        )
        assert [k for k in sample if k.startswith("kf")] == ["kf025.jpg", "kf050.jpg", "kf075.jpg"]
        assert sample["kf050.jpg"][:2] == b"\xff\xd8"  # JPEG
        vector = np.load(io.BytesIO(sample["npy"]))
        assert vector.dtype == np.float32 and vector.ndim == 1 and abs(np.linalg.norm(vector) - 1) < 1e-4
        assert record["embedding_model"] and record["embedding_file"] == "npy"


def test_webdataset_from_the_pipeline_reads_back_and_a_second_run_ships_nothing(library, tmp_path):
    runtime = library["runtime"]
    out = tmp_path / "dataset"
    calls = []
    run = export_dataset(runtime, out, shard_size=300_000, progress=lambda *a: calls.append(a))
    expected = shippable(runtime)
    assert run.clips == len(expected) >= 8 and len(run.shards) > 1
    assert calls[-1][:2] == (len(expected), len(expected))
    samples = read_dataset(out)
    assert sorted(json.loads(s["json"])["clip_id"] for s in samples) == sorted(expected)
    check_samples(runtime, samples)
    assert not list(out.glob(f"*{PARTIAL_SUFFIX}"))

    # The README's loading example: a webdataset pipeline that decodes each MP4 to its frames.
    def frames(data):
        return [f.to_ndarray(format="rgb24") for f in av.open(io.BytesIO(data)).decode(video=0)]

    urls = sorted(str(p) for p in out.glob("heaters-*.tar"))
    dataset = webdataset.WebDataset(urls, shardshuffle=False)
    pipeline = dataset.decode(webdataset.handle_extension("mp4", frames), "rgb").to_tuple("mp4", "json")
    decoded = [(len(video), video[0].shape, meta["frame_count"]) for video, meta in pipeline]
    assert all(n == count for n, _, count in decoded)
    assert len(decoded) == len(expected) and decoded[0][1] == (272, 640, 3)

    again = export_dataset(runtime, out, shard_size=300_000)
    assert (again.clips, again.shards) == (0, [])
    assert len(read_dataset(out)) == len(expected)


def test_filters_by_video_and_date(library, tmp_path):
    runtime = library["runtime"]
    out = tmp_path / "dataset"
    bikes = library["videos"]["bikes"]
    from datetime import UTC, datetime, timedelta

    future = datetime.now(UTC) + timedelta(days=1)
    assert export_dataset(runtime, out, since=future).clips == 0
    run = export_dataset(runtime, out, video_ids=[bikes], embeddings=False)
    samples = read_dataset(out)
    assert {json.loads(s["json"])["video_id"] for s in samples} == {bikes} and run.clips == len(samples)
    assert all("npy" not in s and json.loads(s["json"])["embedding_file"] is None for s in samples)
    rest = export_dataset(runtime, out)  # later: everything not yet in this dataset
    assert run.clips + rest.clips == len(shippable(runtime)) == len(read_dataset(out))


def test_webdataset_streamed_from_s3(library, tmp_path, moto_endpoint, fake_aws_credentials, s3_bucket_name):  # noqa: F811
    local = library["runtime"]
    s3 = S3Storage(s3_bucket_name, endpoint_url=moto_endpoint, region="us-east-1", prefix="lib")
    s3.ensure_bucket()
    for prefix in ("clips/", "keyframes/", "manifests/", "proxies/"):
        for key in local.storage.list(prefix):
            s3.put_file(key, local.storage.local_path(key))
    runtime = Runtime(settings=local.settings, database=local.database, storage=s3, queue=local.queue)
    out = tmp_path / "from-s3"
    run = export_dataset(runtime, out, shard_size=10**9)
    samples = read_dataset(out)
    assert run.clips == len(samples) == len(shippable(runtime)) and len(run.shards) == 1
    check_samples(runtime, samples)
    # A timeline made with S3 storage names its media by a lasting s3:// URI, not a presigned URL.
    video_id = library["videos"]["ntsc"]
    timeline = otio.adapters.read_from_string(export_timeline(runtime, video_id).data.decode(), "otio_json")
    urls = {c.media_reference.target_url for c in timeline.find_clips()}
    assert urls == {f"s3://{s3_bucket_name}/lib/masters/{video_id}/master.mkv"}


def test_a_crash_between_commit_and_rename_is_finished_by_the_next_run(library, tmp_path):
    runtime = library["runtime"]
    out = tmp_path / "dataset"
    first = export_dataset(runtime, out, shard_size=1, video_ids=[library["videos"]["bikes"]])
    last = out / first.shards[-1]
    os.replace(last, last.with_name(last.name + PARTIAL_SUFFIX))  # exactly what that crash leaves
    stray = out / (shard_name(99) + PARTIAL_SUFFIX)
    stray.write_bytes(b"half a shard nobody recorded")
    again = export_dataset(runtime, out, shard_size=1, video_ids=[library["videos"]["bikes"]])
    assert (again.clips, again.recovered, again.removed) == (0, [last.name], [stray.name])
    assert last.exists() and not stray.exists()
    assert len(read_dataset(out)) == first.clips


def test_one_export_per_dataset_at_a_time(library, tmp_path):
    runtime = library["runtime"]
    out = tmp_path / "dataset"
    with runtime.database.engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(hashtext('dataset'), hashtext(:d))"), {"d": dataset_name(out)})
        with pytest.raises(Refused, match="another export"):
            export_dataset(runtime, out)


# --- the command line, killed and restarted


def cli_env(runtime: Runtime) -> dict[str, str]:
    return {
        **os.environ,
        "HEATERS_DATA_DIR": str(runtime.settings.data_path),
        "HEATERS_DATABASE_URL": runtime.settings.database_url,
        "PYTHONFAULTHANDLER": "1",
    }


def kill_when_blocked_at(runtime: Runtime, out: Path, seq: int) -> None:
    """Run `heaters export-dataset` (one clip per shard) and SIGKILL it while it waits to record shard
    `seq`: that shard is fully written under its temporary name, the shards before it are committed.

    The wait is made, not timed: this test holds an uncommitted row with the same (dataset, seq), so the
    child's INSERT of that shard blocks on the unique index until we kill it."""
    with runtime.database.engine.connect() as conn:
        conn.execute(
            text(
                "INSERT INTO dataset_shards (dataset, seq, name, sha256, size_bytes, samples) "
                "VALUES (:d, :seq, 'placeholder', repeat('0', 64), 0, 0)"
            ),
            {"d": dataset_name(out), "seq": seq},
        )
        child = subprocess.Popen(
            [*CLI, "export-dataset", str(out), "--shard-size", "1", "--json"],
            env=cli_env(runtime),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 60
            while child.poll() is None and time.monotonic() < deadline:
                conn.execute(text("SELECT pg_stat_clear_snapshot()"))  # else a transaction sees one snapshot
                waiting = conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND datname = current_database() AND query LIKE 'INSERT INTO dataset_shards%'"
                    )
                ).scalar()
                if waiting:
                    break
                time.sleep(0.1)
            assert child.poll() is None, child.stderr.read().decode()
            if not waiting:
                activity = conn.execute(
                    text(
                        "SELECT pid, state, wait_event_type, wait_event, left(query, 120) FROM pg_stat_activity "
                        "WHERE datname = current_database()"
                    )
                ).all()
                child.send_signal(signal.SIGABRT)
                child.wait(timeout=30)
                raise AssertionError(f"the export never reached the shard: {activity} {child.stderr.read()[-3000:]}")
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=60)
        finally:
            if child.poll() is None:
                child.kill()
            child.stderr.close()
            conn.rollback()


def shipped(runtime: Runtime, out: Path) -> dict[str, list[int]]:
    with runtime.database.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT d.name, s.clip_id FROM dataset_shipments s JOIN dataset_shards d ON d.id = s.shard_id "
                "WHERE s.dataset = :d ORDER BY s.clip_id"
            ),
            {"d": dataset_name(out)},
        ).all()
    by_shard: dict[str, list[int]] = {}
    for name, clip_id in rows:
        by_shard.setdefault(name, []).append(clip_id)
    return by_shard


def test_killed_runs_restarted_ship_every_clip_exactly_once(library, tmp_path):
    runtime = library["runtime"]
    out = tmp_path / "dataset"
    kill_when_blocked_at(runtime, out, seq=2)  # shards 0 and 1 committed, shard 2 written, unrecorded
    assert sorted(p.name for p in out.iterdir()) == [shard_name(0), shard_name(1), shard_name(2) + PARTIAL_SUFFIX]
    assert sorted(shipped(runtime, out)) == [shard_name(0), shard_name(1)]

    kill_when_blocked_at(runtime, out, seq=3)  # the restart removed the orphan, re-shipped its clip, died again
    assert sorted(p.name for p in out.iterdir()) == [*map(shard_name, (0, 1, 2)), shard_name(3) + PARTIAL_SUFFIX]

    finished = subprocess.run(
        [*CLI, "export-dataset", str(out), "--shard-size", "1", "--json"],
        env=cli_env(runtime),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr
    summary = json.loads(finished.stdout)
    assert summary["removed"] == [shard_name(3) + PARTIAL_SUFFIX]

    expected = shippable(runtime)
    samples = read_dataset(out)
    keys = [s["__key__"] for s in samples]
    assert len(keys) == len(set(keys)) == len(expected)  # every clip exactly once
    assert sorted(json.loads(s["json"])["clip_id"] for s in samples) == sorted(expected)
    # The record agrees with the files: each shard holds exactly the clips recorded for it.
    recorded = shipped(runtime, out)
    in_files = {}
    for sample in samples:
        in_files.setdefault(Path(sample["__url__"]).name, []).append(json.loads(sample["json"])["clip_id"])
    assert {name: sorted(ids) for name, ids in in_files.items()} == recorded
    check_samples(runtime, samples)


def test_cli_export_timeline_and_errors(library, tmp_path):
    runtime = library["runtime"]
    video_id = library["videos"]["ntsc"]
    out = tmp_path / "cut.edl"
    result = subprocess.run(
        [*CLI, "export-timeline", str(video_id), str(out), "--format", "edl"],
        env=cli_env(runtime),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    timeline = otio.adapters.read_from_file(str(out), rate=float(NTSC))
    assert len(list(timeline.find_clips())) == len([c for c in clips_of(runtime, video_id) if c.state == "embedded"])
    missing = subprocess.run(
        [*CLI, "export-timeline", "9999", str(tmp_path / "x.otio")],
        env=cli_env(runtime),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 2 and "no video 9999" in missing.stderr and "Traceback" not in missing.stderr


def test_cli_export_dataset_reports_progress_and_what_it_shipped(library, tmp_path):
    runtime = library["runtime"]
    bikes = library["videos"]["bikes"]
    command = [*CLI, "export-dataset", str(tmp_path / "ds"), "--video", str(bikes), "--shard-size", "500kB"]
    first = subprocess.run(command, env=cli_env(runtime), capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    approved = len([c for c in clips_of(runtime, bikes) if c.state == "embedded"])
    assert f"shipped {approved} clips in" in first.stdout and "MB written" in first.stdout
    second = subprocess.run(command, env=cli_env(runtime), capture_output=True, text=True, timeout=300)
    assert second.returncode == 0 and "nothing new to ship" in second.stdout
    bad = subprocess.run([*command[:-1], "lots"], env=cli_env(runtime), capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "not a size" in bad.stderr
