"""The SSRF and local-file-read defences against real servers on 127.0.0.1 and [::1] (nothing else).

The 127.0.0.1 server is the one the settings allow; the [::1] server stands for a forbidden internal
service and counts every request it gets: a request there is the attack succeeding.
"""

from __future__ import annotations

import shutil
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from heaters.adapters.download import check_url_allowed, fetch_source
from heaters.adapters.sample_media import fetch
from heaters.config import Settings
from heaters.domain.errors import BadInput, HeatersError
from heaters.domain.sources import AddressPolicy, is_public_address


class _V6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _serve(server_class, address, routes: dict[str, tuple[str, bytes]], hits: list[str]):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            hits.append(self.path)
            route = routes.get(self.path.split("?", 1)[0])
            if route is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            content_type, body = route
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = server_class(address, Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    return httpd


@pytest.fixture
def internal():
    """A forbidden service on [::1]; its `hits` must stay empty."""
    hits: list[str] = []
    segment = Path(fetch("bikes.mp4")).read_bytes()[:4096]
    routes = {"/seg0.ts": ("video/mp2t", segment), "/key": ("application/octet-stream", b"0" * 16)}
    httpd = _serve(_V6Server, ("::1", 0), routes, hits)
    httpd.hits = hits
    httpd.port = httpd.server_address[1]
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def public_routes():
    routes: dict[str, tuple[str, bytes]] = {}
    hits: list[str] = []
    httpd = _serve(ThreadingHTTPServer, ("127.0.0.1", 0), routes, hits)
    httpd.routes = routes
    httpd.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _settings(tmp_path: Path, **kw) -> Settings:
    return Settings(data_dir=tmp_path / "data", allow_private_urls=["127.0.0.1"], **kw)


def test_sample_aes_hls_is_not_handed_to_an_unguarded_ffmpeg(public_routes, internal, tmp_path):
    # yt-dlp's native HLS downloader cannot do SAMPLE-AES and hands the manifest to an ffmpeg child process,
    # which would fetch the key and segments from [::1] itself, outside the connection guard.
    manifest = (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n"
        f'#EXT-X-KEY:METHOD=SAMPLE-AES,URI="http://[::1]:{internal.port}/key",IV=0x00000000000000000000000000000001\n'
        f"#EXTINF:1.0,\nhttp://[::1]:{internal.port}/seg0.ts\n#EXT-X-ENDLIST\n"
    )
    public_routes.routes["/stream.m3u8"] = ("application/vnd.apple.mpegurl", manifest.encode())
    with pytest.raises(BadInput, match=r"child process"):
        fetch_source(f"{public_routes.base}/stream.m3u8", tmp_path / "dest", settings=_settings(tmp_path))
    assert internal.hits == []
    assert not any(p.is_file() for p in (tmp_path / "dest").rglob("*"))


def test_hls_segments_on_a_forbidden_address_are_refused(public_routes, internal, tmp_path):
    manifest = (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n"
        f"#EXTINF:1.0,\nhttp://[::1]:{internal.port}/seg0.ts\n#EXT-X-ENDLIST\n"
    )
    public_routes.routes["/plain.m3u8"] = ("application/vnd.apple.mpegurl", manifest.encode())
    with pytest.raises(BadInput, match=r"refused to connect to ::1"):
        fetch_source(f"{public_routes.base}/plain.m3u8", tmp_path / "dest", settings=_settings(tmp_path))
    assert internal.hits == []


@pytest.mark.parametrize("content_type", ["audio/x-mpegurl", "application/octet-stream", "text/plain"])
def test_a_downloaded_playlist_naming_a_local_file_is_refused(public_routes, internal, tmp_path, content_type):
    # The server answers an M3U playlist naming a video on the worker's disk; FFmpeg's HLS demuxer would read it.
    secret = tmp_path / "secret" / "server-side.mp4"
    secret.parent.mkdir()
    shutil.copy(fetch("bikes.mp4"), secret)
    playlist = f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{secret}\n#EXT-X-ENDLIST\n".encode()
    public_routes.routes["/original.m3u"] = (content_type, playlist)
    with pytest.raises(HeatersError):  # refused as "a playlist", or its local entry is not found over HTTP
        fetch_source(f"{public_routes.base}/original.m3u", tmp_path / "dest", settings=_settings(tmp_path))
    assert not any(p.is_file() for p in (tmp_path / "dest").rglob("*"))
    assert internal.hits == []


# --- one policy, every address form


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
        "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1",
        "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::127.0.0.1",  # IPv4-mapped and IPv4-compatible
        "2002:7f00:1::", "2002:7f00::1", "2002:a00:1::", "2002:c0a8:101::",  # 6to4 of loopback / private
        "64:ff9b::7f00:1", "64:ff9b::a00:1",  # NAT64 of loopback / private
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo
    ],
)  # fmt: skip
def test_forbidden_address_forms(address):
    assert not is_public_address(address)
    assert not AddressPolicy().allows(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2002:808:808::1"])
def test_public_addresses_stay_allowed(address):
    assert is_public_address(address)


@pytest.mark.parametrize(
    "host", ["2130706433", "0x7f000001", "0177.0.0.1", "0x7f.0.0.1", "127.1", "017700000001", "[::ffff:7f00:1]"]
)
def test_decimal_octal_and_short_forms_of_loopback_are_refused_before_any_connection(host, tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    with pytest.raises(BadInput, match=r"private, loopback or reserved address.*HEATERS_ALLOW_PRIVATE_URLS"):
        check_url_allowed(f"http://{host}:9/x.mp4", settings)


def test_host_port_entries_in_the_allow_list_allow_that_port_only():
    policy = AddressPolicy.from_allow_list(["127.0.0.1:8080", "[::1]:9000", "media.lan:9000"])
    assert policy.allows("127.0.0.1", port=8080)
    assert not policy.allows("127.0.0.1", port=8081)
    assert not policy.allows("127.0.0.1")
    assert policy.allows("::1", port=9000) and not policy.allows("::1", port=9001)
    assert policy.allows_host_name("media.lan", 9000) and not policy.allows_host_name("media.lan", 80)


def test_host_port_entry_lets_a_download_through_on_that_port_only(public_routes, tmp_path):
    public_routes.routes["/bikes.mp4"] = ("video/mp4", Path(fetch("bikes.mp4")).read_bytes())
    port = int(public_routes.base.rsplit(":", 1)[1])
    allowed = Settings(data_dir=tmp_path / "data", allow_private_urls=[f"127.0.0.1:{port}"])
    got = fetch_source(f"{public_routes.base}/bikes.mp4", tmp_path / "a", settings=allowed)
    assert got.size_bytes > 0
    other_port = Settings(data_dir=tmp_path / "data", allow_private_urls=[f"127.0.0.1:{port + 1}"])
    with pytest.raises(BadInput, match=r"refused to download from 127\.0\.0\.1"):
        fetch_source(f"{public_routes.base}/bikes.mp4", tmp_path / "b", settings=other_port)
    by_name = Settings(data_dir=tmp_path / "data", allow_private_urls=[f"localhost:{port}"])
    got = fetch_source(f"http://localhost:{port}/bikes.mp4", tmp_path / "c", settings=by_name)
    assert got.size_bytes > 0
