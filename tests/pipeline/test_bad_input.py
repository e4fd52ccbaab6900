"""Bad input ends in a failed state with a readable last_error, and nothing partial is recorded.

Each case goes through the real pipeline (job queue, worker, database, storage)."""

from __future__ import annotations

import shutil
import threading
from fractions import Fraction
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import av
import numpy as np
import pytest

from heaters.adapters.db.models import SourceVideo
from heaters.adapters.sample_media import fetch
from heaters.domain.errors import BadInput, Refused
from heaters.services.dashboard import list_videos
from heaters.services.ingest import submit_source
from heaters.services.retry import retry
from tests.pipeline.conftest import drain


@pytest.fixture
def web_root(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    shutil.copy(fetch("bikes.mp4"), root / "bikes.mp4")
    (root / "page.html").write_text("<html><body>No video here.</body></html>")
    return root


@pytest.fixture
def http_base(web_root):
    handler = lambda *a, **kw: SimpleHTTPRequestHandler(*a, directory=str(web_root), **kw)  # noqa: E731
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"allow_private_urls": ["127.0.0.1"], "max_duration_seconds": 60})


def audio_only(path):
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=44100)
        stream.layout = "mono"
        for i in range(40):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), dtype=np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 44100, i * 1024, Fraction(1, 44100)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def long_video(path, seconds: int):
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=1)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for i in range(seconds):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), i % 255, dtype=np.uint8), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def test_every_kind_of_bad_input_fails_clearly(runtime, tmp_path, http_base):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    not_video = tmp_path / "notes.mp4"
    not_video.write_bytes(b"this is not a video at all " * 100)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(fetch("bikes.mp4").read_bytes()[:20_000])
    closed_port = "http://127.0.0.1:9/bikes.mp4"  # discard port: nothing listens
    refused_at_submit = {
        "/etc/hostname": "outside the allowed roots",
        str(empty): "empty",
        str(not_video): "does not look like a video",
        "http://10.0.0.1/x.mp4": "HEATERS_ALLOW_PRIVATE_URLS",
    }
    for source, words in refused_at_submit.items():
        with pytest.raises(BadInput, match=words):
            submit_source(runtime, source)
    cases = {
        str(truncated): ("preprocess_failed", ""),
        str(audio_only(tmp_path / "sound.m4a")): ("preprocess_failed", "audio"),
        str(long_video(tmp_path / "long.mp4", 120)): ("preprocess_failed", "limit"),
        f"{http_base}/missing.mp4": ("download_failed", "404"),
        f"{http_base}/page.html": ("download_failed", "video"),
        closed_port: ("download_failed", ""),
    }
    ids = {source: submit_source(runtime, source).video_id for source in cases}
    drain(runtime)
    with runtime.database.sessions() as session:
        for source, (state, words) in cases.items():
            video = session.get(SourceVideo, ids[source])
            assert video.state == state, (source, video.state, video.last_error)
            assert video.last_error and words.lower() in video.last_error.lower(), (source, video.last_error)
            assert video.master_key is None and video.proxy_key is None and video.features_key is None
            if state == "download_failed":
                assert video.original_key is None
    # Retry is offered only where it can succeed: not for an input that was refused (a 404 page, a truncated
    # file, audio only, over a limit), but for a failure that may pass (nothing listened on the port).
    rows = {row.id: row for row in list_videos(runtime)}
    assert rows[ids[closed_port]].retryable and rows[ids[closed_port]].as_json()["retryable"]
    for source in (str(truncated), f"{http_base}/missing.mp4", f"{http_base}/page.html"):
        assert rows[ids[source]].failed and not rows[ids[source]].retryable, source
        with pytest.raises(Refused, match="retrying cannot help"):
            retry(runtime, "video", ids[source])
    assert retry(runtime, "video", ids[closed_port]).stage == "download"
    stored = set(runtime.storage.list(""))
    assert not [k for k in stored if not k.startswith("originals/")]  # nothing beyond downloaded originals


def test_a_good_url_download_goes_all_the_way(runtime, http_base):
    video_id = submit_source(runtime, f"{http_base}/bikes.mp4").video_id
    drain(runtime)
    with runtime.database.sessions() as session:
        video = session.get(SourceVideo, video_id)
        assert (video.state, video.frame_count, video.title) == ("scenes_detected", 250, "bikes")
