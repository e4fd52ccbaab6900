"""The download adapter against real downloads from an HTTP server on 127.0.0.1 serving real footage."""

from __future__ import annotations

import functools
import hashlib
import shutil
import socket
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import av
import pytest

from heaters.adapters.download import (
    FetchedSource,
    SourceUnavailable,
    adopt_upload,
    fetch_source,
    ffmpeg_exe,
    sha256_file,
)
from heaters.adapters.sample_media import fetch
from heaters.config import Settings
from heaters.domain.errors import BadInput, HeatersError


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class _Handler(SimpleHTTPRequestHandler):
    """Static files, plus /redirect?to=URL answering 302 (to test redirects to forbidden addresses)."""

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/redirect?to="):
            self.send_response(302)
            self.send_header("Location", self.path.split("=", 1)[1])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("served")
    shutil.copy(fetch("bikes.mp4"), root / "bikes.mp4")
    (root / "empty.mp4").write_bytes(b"")
    (root / "one-video.html").write_text(
        '<!doctype html><html><head><title>Bike ride</title></head><body><video src="bikes.mp4"></video></body></html>'
    )
    (root / "two-videos.html").write_text(
        "<!doctype html><html><head><title>Two</title></head><body>"
        '<video src="bikes.mp4"></video><video src="dash/manifest.mpd"></video></body></html>'
    )
    (root / "page.html").write_text(
        "<!doctype html><html><head><title>Holiday</title></head><body><p>No video here.</p></body></html>"
    )
    # Separate video and audio streams in a DASH manifest: yt-dlp must download both and merge them.
    dash = root / "dash"
    dash.mkdir()
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(fetch("bikes.mp4")), "-f", "lavfi", "-i", "sine=duration=10",
         "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-shortest",
         "-f", "dash", "-adaptation_sets", "id=0,streams=v id=1,streams=a", str(dash / "manifest.mpd")],
        check=True,
    )  # fmt: skip
    return root


@pytest.fixture(scope="module")
def server(served: Path):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(served)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    allowed = tmp_path / "library"
    allowed.mkdir()
    return Settings(data_dir=tmp_path / "data", allow_private_urls=["127.0.0.1"], allowed_roots=[allowed])


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


# --- URLs


def test_direct_file_url_downloads_through_ytdlp_with_matching_checksum(server, settings, tmp_path):
    reported: list[float] = []
    dest = tmp_path / "dest"
    got = fetch_source(f"{server}/bikes.mp4", dest, settings=settings, progress=reported.append)

    assert isinstance(got, FetchedSource)
    assert got.path == dest / "source.mp4"
    assert got.content_sha256 == _sha256(fetch("bikes.mp4")) == sha256_file(got.path)
    assert got.size_bytes == fetch("bikes.mp4").stat().st_size
    assert (got.extension, got.title, got.original_filename) == (".mp4", "bikes", "bikes.mp4")
    assert got.source_url == f"{server}/bikes.mp4"
    assert reported and reported[-1] == 1.0 and reported == sorted(reported)
    assert sorted(p.name for p in dest.iterdir()) == ["source.mp4"]  # no work files left behind


def test_separate_video_and_audio_are_merged_with_the_packaged_ffmpeg(server, settings, tmp_path):
    reported: list[float] = []
    got = fetch_source(f"{server}/dash/manifest.mpd", tmp_path / "dest", settings=settings, progress=reported.append)

    with av.open(str(got.path)) as container:
        kinds = sorted(stream.type for stream in container.streams)
        frames = sum(1 for _ in container.decode(video=0))
    with av.open(str(fetch("bikes.mp4"))) as original:
        source_frames = sum(1 for _ in original.decode(video=0))
    assert kinds == ["audio", "video"]
    assert frames == source_frames
    assert got.extension in (".mp4", ".mkv")
    # Two parts (video, audio) reported as one whole: it passes through the middle, never backwards.
    assert reported == sorted(reported) and reported[-1] == 1.0
    assert any(0.4 <= f <= 0.6 for f in reported)


def test_http_404_is_a_clear_bad_input(server, settings, tmp_path):
    with pytest.raises(BadInput, match=r"not found \(HTTP 404\)"):
        fetch_source(f"{server}/missing.mp4", tmp_path / "dest", settings=settings)
    assert list((tmp_path / "dest").iterdir()) == []


def test_unreachable_host_is_a_clear_error(settings, tmp_path):
    url = f"http://127.0.0.1:{_closed_port()}/video.mp4"
    with pytest.raises(SourceUnavailable, match=r"cannot reach the server \(Connection refused\)"):
        fetch_source(url, tmp_path / "dest", settings=settings)
    assert list((tmp_path / "dest").iterdir()) == []


def test_unresolvable_host_is_a_clear_error(settings, tmp_path):
    with pytest.raises(SourceUnavailable, match=r"cannot resolve host 'no-such-host\.invalid'"):
        fetch_source("http://no-such-host.invalid/video.mp4", tmp_path / "dest", settings=settings)


def test_loopback_is_refused_unless_allowed(server, tmp_path):
    strict = Settings(data_dir=tmp_path / "data")
    with pytest.raises(BadInput, match=r"private, loopback or reserved address.*allow_private_urls"):
        fetch_source(f"{server}/bikes.mp4", tmp_path / "dest", settings=strict)
    assert list((tmp_path / "dest").iterdir()) == []


def test_loopback_can_be_allowed_by_network_or_host_name(server, tmp_path):
    port = server.rsplit(":", 1)[1]
    by_network = Settings(data_dir=tmp_path / "data", allow_private_urls=["127.0.0.0/8"])
    assert fetch_source(f"{server}/bikes.mp4", tmp_path / "a", settings=by_network).size_bytes > 0
    by_name = Settings(data_dir=tmp_path / "data", allow_private_urls=["localhost"])
    got = fetch_source(f"http://localhost:{port}/bikes.mp4", tmp_path / "b", settings=by_name)
    assert got.content_sha256 == _sha256(fetch("bikes.mp4"))


def test_private_address_is_refused_before_any_connection(settings, tmp_path):
    # 10.0.0.1 is not reachable from here: a connection attempt would time out, not be refused at once.
    with pytest.raises(BadInput, match=r"refused to download from 10\.0\.0\.1, a private"):
        fetch_source("http://10.0.0.1/x.mp4", tmp_path / "dest", settings=settings)
    with pytest.raises(BadInput, match=r"refused to download from \[?::1\]?|refused to download from ::1"):
        fetch_source("http://[::1]:9/x.mp4", tmp_path / "dest", settings=settings)


def test_redirect_to_a_private_address_is_refused(server, settings, tmp_path):
    url = f"{server}/redirect?to=http://10.0.0.1:8080/x.mp4"
    with pytest.raises(BadInput, match=r"refused to connect to 10\.0\.0\.1.*redirect"):
        fetch_source(url, tmp_path / "dest", settings=settings)
    assert list((tmp_path / "dest").iterdir()) == []


def test_non_http_schemes_are_refused(settings, tmp_path):
    for url in ("file:///etc/passwd", "ftp://example.com/x.mp4", "gopher://example.com/"):
        with pytest.raises(BadInput, match=r"only http:// and https:// URLs"):
            fetch_source(url, tmp_path / "dest", settings=settings)


def test_zero_byte_download_is_refused(server, settings, tmp_path):
    with pytest.raises(BadInput, match=r"is empty \(0 bytes\)"):
        fetch_source(f"{server}/empty.mp4", tmp_path / "dest", settings=settings)
    assert list((tmp_path / "dest").iterdir()) == []


def test_web_page_without_video_is_a_clear_error(server, settings, tmp_path):
    with pytest.raises(BadInput, match=r"no video found at this address"):
        fetch_source(f"{server}/page.html", tmp_path / "dest", settings=settings)


def test_web_page_with_one_video_downloads_that_video(server, settings, tmp_path):
    got = fetch_source(f"{server}/one-video.html", tmp_path / "dest", settings=settings)
    assert got.content_sha256 == _sha256(fetch("bikes.mp4"))


def test_web_page_with_several_videos_is_refused(server, settings, tmp_path):
    with pytest.raises(BadInput, match=r"several videos; ingest the videos one by one"):
        fetch_source(f"{server}/two-videos.html", tmp_path / "dest", settings=settings)
    assert list((tmp_path / "dest").iterdir()) == []


def test_the_connection_check_ends_with_the_download(server, settings, tmp_path):
    with pytest.raises(BadInput):
        fetch_source(f"{server}/redirect?to=http://10.0.0.1:8080/x.mp4", tmp_path / "dest", settings=settings)
    host, port = server.removeprefix("http://").split(":")
    # The same thread may again connect anywhere (here: loopback) once fetch_source has returned.
    with socket.create_connection((host, int(port)), timeout=5):
        pass


# --- local paths


def test_path_inside_allowed_roots_is_copied_with_correct_hash(settings, tmp_path):
    original = settings.allowed_roots[0] / "trip" / "Bikes Ride.MP4"
    original.parent.mkdir()
    shutil.copy(fetch("bikes.mp4"), original)
    reported: list[float] = []

    got = fetch_source(str(original), tmp_path / "dest", settings=settings, progress=reported.append)

    assert got.path == tmp_path / "dest" / "source.mp4"
    assert got.content_sha256 == _sha256(original) == _sha256(got.path)
    assert (got.original_filename, got.title, got.extension, got.source_url) == (
        "Bikes Ride.MP4",
        "Bikes Ride",
        ".mp4",
        None,
    )
    assert original.exists()  # copied, not moved
    assert reported[-1] == 1.0


def test_path_outside_allowed_roots_is_refused(settings, tmp_path):
    outside = tmp_path / "elsewhere.mp4"
    shutil.copy(fetch("bikes.mp4"), outside)
    with pytest.raises(BadInput, match=r"path .*elsewhere\.mp4.* is outside the allowed roots"):
        fetch_source(str(outside), tmp_path / "dest", settings=settings)
    # "..": still outside once resolved
    sneaky = str(settings.allowed_roots[0] / ".." / "elsewhere.mp4")
    with pytest.raises(BadInput, match=r"is outside the allowed roots"):
        fetch_source(sneaky, tmp_path / "dest", settings=settings)


def test_symlink_inside_a_root_pointing_outside_is_refused(settings, tmp_path):
    outside = tmp_path / "secret.mp4"
    shutil.copy(fetch("bikes.mp4"), outside)
    link = settings.allowed_roots[0] / "link.mp4"
    link.symlink_to(outside)
    with pytest.raises(BadInput, match=r"resolves to .*secret\.mp4.* outside the allowed roots"):
        fetch_source(str(link), tmp_path / "dest", settings=settings)


def test_no_allowed_roots_means_no_local_paths(tmp_path):
    video = tmp_path / "v.mp4"
    shutil.copy(fetch("bikes.mp4"), video)
    with pytest.raises(BadInput, match=r"outside the allowed roots \(none configured\)"):
        fetch_source(str(video), tmp_path / "dest", settings=Settings(data_dir=tmp_path / "data"))


def test_missing_and_empty_local_files_are_refused(settings, tmp_path):
    root = settings.allowed_roots[0]
    with pytest.raises(BadInput, match=r"does not exist"):
        fetch_source(str(root / "nope.mp4"), tmp_path / "dest", settings=settings)
    (root / "empty.mp4").write_bytes(b"")
    with pytest.raises(BadInput, match=r"is empty \(0 bytes\)"):
        fetch_source(str(root / "empty.mp4"), tmp_path / "dest", settings=settings)
    with pytest.raises(BadInput, match=r"not a regular file"):
        fetch_source(str(root), tmp_path / "dest", settings=settings)


# --- uploads


def _upload(tmp_path: Path, sample: str) -> Path:
    path = tmp_path / "upload.tmp"
    shutil.copy(fetch(sample), path)
    return path


def test_upload_is_adopted_with_its_hash(tmp_path):
    tmp = _upload(tmp_path, "Megamind.avi")
    expected = _sha256(tmp)
    got = adopt_upload(tmp, "../../My Clip.avi", tmp_path / "dest", max_bytes=10 * 1024**2)
    assert got.path == tmp_path / "dest" / "source.avi"
    assert (got.original_filename, got.title, got.extension) == ("My Clip.avi", "My Clip", ".avi")
    assert got.content_sha256 == expected == _sha256(got.path)
    assert not tmp.exists()  # moved into place


def test_upload_with_a_misleading_extension_is_stored_under_its_real_container(tmp_path):
    got = adopt_upload(_upload(tmp_path, "bikes.mp4"), "clip.avi", tmp_path / "dest", max_bytes=10 * 1024**2)
    assert got.extension == ".mp4"


def test_upload_over_the_size_limit_is_refused(tmp_path):
    tmp = _upload(tmp_path, "bikes.mp4")
    with pytest.raises(BadInput, match=r"upload 'big\.mp4' is .* over the limit of 100\.0 KiB"):
        adopt_upload(tmp, "big.mp4", tmp_path / "dest", max_bytes=100 * 1024)
    assert tmp.exists()  # left for the caller to clean up
    assert not (tmp_path / "dest" / "source.mp4").exists()


def test_upload_that_is_not_a_video_is_refused(tmp_path):
    tmp = tmp_path / "upload.tmp"
    tmp.write_text("<html><body>not a video</body></html>" * 20)
    with pytest.raises(BadInput, match=r"does not look like a video file"):
        adopt_upload(tmp, "holiday.mp4", tmp_path / "dest", max_bytes=10**6)


def test_empty_upload_is_refused(tmp_path):
    tmp = tmp_path / "upload.tmp"
    tmp.write_bytes(b"")
    with pytest.raises(BadInput, match=r"is empty"):
        adopt_upload(tmp, "x.mp4", tmp_path / "dest", max_bytes=10**6)


def test_all_refusals_are_heaters_errors():
    assert issubclass(SourceUnavailable, HeatersError)
