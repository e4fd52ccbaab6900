"""Media is opened with a demuxer allow-list and local files only; limits hold on every decoded frame.

Real files built with FFmpeg, some patched byte by byte to lie: a playlist naming a file elsewhere on disk, a
picture whose header says 160x160 but decodes to 16000x16000, a stream that changes size, a Matroska file
whose header under-states its duration.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from heaters.adapters.download import ffmpeg_exe
from heaters.adapters.media.inputs import open_media
from heaters.adapters.media.preprocess import preprocess
from heaters.adapters.media.probe import MediaLimits, probe
from heaters.adapters.sample_media import fetch
from heaters.domain.errors import BadInput


def _ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-y", *args], check=True)


def _testsrc(path: Path, size: str = "160x120", seconds: float = 1, codec: str = "libx264", *extra: str) -> Path:
    _ffmpeg("-f", "lavfi", "-i", f"testsrc=size={size}:rate=10:duration={seconds}", "-c:v", codec, *extra, str(path))
    return path


# --- finding 2: playlists and lists naming other files


@pytest.fixture
def secret(tmp_path) -> Path:
    """A video outside every allowed root: what a playlist would smuggle in."""
    path = tmp_path / "elsewhere" / "server-side.mp4"
    path.parent.mkdir()
    shutil.copy(fetch("bikes.mp4"), path)
    return path


@pytest.mark.parametrize("name", ["original.m3u", "original.m3u8", "original.mp4"])
def test_a_playlist_naming_a_local_file_is_refused_not_followed(tmp_path, secret, name):
    playlist = tmp_path / "root" / name
    playlist.parent.mkdir()
    playlist.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{secret}\n#EXT-X-ENDLIST\n")
    with pytest.raises(BadInput, match=r"playlist"):
        probe(playlist)
    with pytest.raises(BadInput, match=r"playlist"):
        preprocess(playlist, tmp_path / "out")
    assert not (tmp_path / "out" / "proxy.mp4").exists()


def test_a_playlist_disguised_by_leading_bytes_is_still_not_read_by_the_hls_demuxer(tmp_path, secret):
    # Not recognisable from its first bytes by our sniffer, but FFmpeg's HLS demuxer would still take it:
    # the allow-list stops it.
    playlist = tmp_path / "original.m3u8"
    playlist.write_text(f"\n\n#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{secret}\n#EXT-X-ENDLIST\n".lstrip("\n"))
    playlist.write_bytes(b"#EXTM3U" + playlist.read_bytes()[7:])
    with pytest.raises(BadInput):
        probe(playlist)


@pytest.mark.parametrize(
    "text", ["ffconcat version 1.0\nfile '{secret}'\n", "file '{secret}'\n"], ids=["ffconcat", "concat"]
)
def test_concat_lists_are_refused(tmp_path, secret, text):
    listing = tmp_path / "list.ffconcat"
    listing.write_text(text.format(secret=secret))
    with pytest.raises(BadInput, match=r"concat list|not a readable video"):
        probe(listing)


def test_derived_files_may_not_be_remote_for_sources_but_our_demuxers_still_hold(tmp_path):
    with pytest.raises(BadInput, match=r"only local files"):
        open_media("http://127.0.0.1:9/x.mp4", "source")
    avi = _testsrc(tmp_path / "a.avi", codec="mpeg4")
    with open_media(avi) as container:  # a user's AVI is fine as a source…
        assert "avi" in container.format.name
    with pytest.raises(BadInput, match=r"not a readable video|not allowed"):
        open_media(avi, "proxy", derived=True)  # …but never what we read as a proxy


# --- still images and image sequences


@pytest.mark.parametrize("ext,codec", [("png", "png"), ("jpg", "mjpeg")])
def test_a_still_image_is_refused_with_a_clear_message(tmp_path, ext, codec):
    still = tmp_path / f"still.{ext}"
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240", "-frames:v", "1", "-c:v", codec, str(still))
    with pytest.raises(BadInput, match=r"still image"):
        probe(still)
    # also disguised with a video name
    disguised = tmp_path / "holiday.mp4"
    shutil.copy(still, disguised)
    with pytest.raises(BadInput, match=r"still image"):
        preprocess(disguised, tmp_path / "out")


def test_an_image_sequence_pattern_is_not_opened(tmp_path):
    for i in range(3):
        _ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48", "-frames:v", "1", str(tmp_path / f"img{i:03d}.png"))
    with pytest.raises(BadInput):
        probe(tmp_path / "img%03d.png")


def test_heaters_preprocess_refuses_a_still_image(tmp_path):
    still = tmp_path / "still.png"
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240", "-frames:v", "1", str(still))
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from heaters.cli import main; main()",
            "preprocess",
            str(still),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        env={"HEATERS_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin", **_pythonpath()},
    )
    assert result.returncode == 2, result.stderr
    assert "still image (PNG), not a video" in result.stderr


def _pythonpath() -> dict[str, str]:
    import os

    return {"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}


# --- finding 10: limits on every frame, before any decode


@pytest.fixture(scope="module")
def huge_pictures(tmp_path_factory) -> dict[str, Path]:
    """3 MB files holding a 16000x16000 picture (256 MB decoded): one honest, one whose AVI headers say 160x160."""
    from PIL import Image

    root = tmp_path_factory.mktemp("huge")
    Image.new("L", (16000, 16000), 128).save(root / "big.jpg", quality=5)
    _ffmpeg("-i", str(root / "big.jpg"), "-c:v", "copy", "-r", "10", str(root / "header16k.avi"))
    lying = bytearray((root / "header16k.avi").read_bytes())
    for marker, offset in ((b"avih", 8 + 32), (b"strf", 8 + 4)):
        at = lying.find(marker)
        lying[at + offset : at + offset + 8] = struct.pack("<ii", 160, 160)
    (root / "lying16k.avi").write_bytes(lying)
    _testsrc(root / "small.avi", "160x160", 1, "mjpeg")
    return {"header": root / "header16k.avi", "lying": root / "lying16k.avi", "small": root / "small.avi"}


_PEAK_SCRIPT = """
import json, sys
from heaters.adapters.media.probe import probe
from heaters.domain.errors import BadInput
try:
    probe(sys.argv[1])
    outcome = "accepted"
except BadInput as error:
    outcome = str(error)
# VmHWM: this process's own peak (ru_maxrss would include the parent's, inherited across fork and exec)
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"outcome": outcome, "peak_mb": peak_kb / 1024}))
"""


def _probe_in_child(path: Path) -> dict:
    result = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, str(path)], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


@pytest.mark.parametrize("kind", ["header", "lying"])
def test_a_16k_picture_is_refused_before_it_is_decoded(huge_pictures, kind):
    baseline = _probe_in_child(huge_pictures["small"])
    assert baseline["outcome"] == "accepted"
    report = _probe_in_child(huge_pictures[kind])
    assert "16000x16000, over the limit of 7680x4320" in report["outcome"]
    # One decoded 16000x16000 grey picture is 256 MB: refused before decoding, the peak stays at the baseline's.
    assert report["peak_mb"] - baseline["peak_mb"] < 100, (report, baseline)


def test_a_stream_that_changes_size_midway_is_refused(tmp_path):
    first = _testsrc(tmp_path / "a.ts", "160x120", 1, "libx264", "-bsf:v", "h264_mp4toannexb")
    second = _testsrc(tmp_path / "b.ts", "1280x720", 1, "libx264", "-bsf:v", "h264_mp4toannexb")
    switching = tmp_path / "switch.ts"
    switching.write_bytes(first.read_bytes() + second.read_bytes())
    with pytest.raises(BadInput, match=r"changes picture size mid-stream \(from 160x120 to 1280x720\)"):
        preprocess(switching, tmp_path / "out")
    assert not (tmp_path / "out" / "proxy.mp4").exists()


def test_a_duration_lie_is_caught_while_decoding(tmp_path):
    honest = bytearray(_testsrc(tmp_path / "long.mkv", "64x48", 12, "libx264").read_bytes())
    at = honest.find(b"\x44\x89")  # Segment Info / Duration (float, in ms at the default timecode scale)
    size = honest[at + 2] & 0x7F
    honest[at + 3 : at + 3 + size] = struct.pack(">d" if size == 8 else ">f", 1000.0)
    lying = tmp_path / "lying.mkv"
    lying.write_bytes(honest)
    limits = MediaLimits(max_duration_seconds=5)
    assert probe(lying, limits).duration_seconds < 2  # the header passes the check…
    with pytest.raises(BadInput, match=r"runs past 5 s, the duration limit"):
        preprocess(lying, tmp_path / "out", limits=limits)  # …the frames do not


def test_output_byte_budget(tmp_path):
    source = _testsrc(tmp_path / "noise.mkv", "320x240", 10, "libx264")
    with pytest.raises(BadInput, match=r"output budget \(HEATERS_MAX_OUTPUT_BYTES\)"):
        preprocess(source, tmp_path / "out", limits=MediaLimits(max_output_bytes=200_000))
    assert not any((tmp_path / "out").iterdir())


def test_free_space_is_checked_before_preprocessing(tmp_path):
    """A header announcing ~30 years of video would need terabytes of scratch: refused before any output is
    written, as a retryable error (space may be freed), naming what is needed and what is free."""
    from heaters.adapters.media.preprocess import NotEnoughSpace

    data = bytearray(_testsrc(tmp_path / "short.mkv", "64x48", 2, "libx264").read_bytes())
    at = data.find(b"\x44\x89")
    size = data[at + 2] & 0x7F
    data[at + 3 : at + 3 + size] = struct.pack(">d" if size == 8 else ">f", 1e12)  # 1e9 s, in ms
    huge = tmp_path / "huge.mkv"
    huge.write_bytes(data)
    with pytest.raises(NotEnoughSpace, match=r"needs about [\d.]+ GB of scratch space .* only [\d.]+ GB are free"):
        preprocess(huge, tmp_path / "out", limits=MediaLimits(max_duration_seconds=1e10))
    assert not any((tmp_path / "out").iterdir())


def test_a_chunk_checks_free_space_for_its_own_share(tmp_path):
    """A chunk needs scratch for its frames only: a minute of the ~30-year header above fits, the rest of
    the video (a last chunk running to the end) does not and is refused before anything is written."""
    from heaters.adapters.media.chunks import preprocess_chunk
    from heaters.adapters.media.preprocess import NotEnoughSpace, Slots
    from heaters.adapters.media.probe import probe

    data = bytearray(_testsrc(tmp_path / "short.mkv", "64x48", 2, "libx264").read_bytes())
    at = data.find(b"\x44\x89")
    size = data[at + 2] & 0x7F
    data[at + 3 : at + 3 + size] = struct.pack(">d" if size == 8 else ">f", 1e12)
    huge = tmp_path / "huge.mkv"
    huge.write_bytes(data)
    limits = MediaLimits(max_duration_seconds=1e10)
    info = probe(huge, limits)
    with pytest.raises(NotEnoughSpace, match="needs about"):
        preprocess_chunk(huge, info, tmp_path / "rest", Slots(25, None), limits=limits)
    assert not any((tmp_path / "rest").iterdir())
    segment = preprocess_chunk(huge, info, tmp_path / "minute", Slots(0, 25 * 60), limits=limits)
    assert segment.frame_count > 0
