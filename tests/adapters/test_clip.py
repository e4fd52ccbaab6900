"""Clip cutting by stream copy from an all-intra proxy made from real footage (Big Buck Bunny, with audio)."""

from __future__ import annotations

import hashlib
import re
import struct
from pathlib import Path

import av
import pytest
from typer.testing import CliRunner

from heaters.adapters.media.clip import cut_clip, cut_clip_bytes, cut_clip_with_info
from heaters.adapters.sample_media import fetch
from heaters.domain.errors import BadInput, HeatersError
from tests.adapters.media_helpers import frame_checksums, make_proxy
from tests.adapters.range_server import RangeFileServer


@pytest.fixture(scope="module")
def proxy(tmp_path_factory) -> Path:
    return make_proxy(fetch("bigbuckbunny.mp4"), tmp_path_factory.mktemp("proxy") / "proxy.mp4")


@pytest.fixture(scope="module")
def proxy_frames(proxy) -> list[str]:
    return frame_checksums(proxy)


def top_level_atoms(data: bytes) -> list[str]:
    atoms, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        atoms.append(kind.decode("latin-1"))
        if size == 0:
            break
        offset += size
    return atoms


def packets(path: Path, kind: str) -> list[av.Packet]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0] if kind == "video" else container.streams.audio[0]
        return [p for p in container.demux(stream) if p.pts is not None and p.size]


@pytest.mark.parametrize("start,end", [(0, 10), (37, 80), (100, 132), (64, 65)])
def test_clip_decodes_to_exactly_the_proxy_frames(proxy, proxy_frames, tmp_path, start, end):
    assert len(proxy_frames) == 132
    out = tmp_path / "clip.mp4"
    info = cut_clip(proxy, start, end, out)
    assert frame_checksums(out) == proxy_frames[start:end]
    assert (info.start_frame, info.end_frame, info.frame_count, info.video_packets) == (
        start,
        end,
        end - start,
        end - start,
    )


def test_clip_packets_are_all_keyframes_from_pts_zero(proxy, tmp_path):
    out = tmp_path / "clip.mp4"
    cut_clip(proxy, 37, 80, out)
    video = packets(out, "video")
    assert len(video) == 43
    assert all(p.is_keyframe for p in video)
    assert video[0].pts == 0 and video[0].dts == 0
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.start_time == 0
        assert stream.frames == 43
        assert stream.average_rate == 25
        assert float(stream.duration * stream.time_base) == pytest.approx(43 / 25)


def test_clip_keeps_the_overlapping_audio(proxy, tmp_path):
    out = tmp_path / "clip.mp4"
    info = cut_clip(proxy, 37, 80, out)
    audio = packets(out, "audio")
    assert len(audio) == info.audio_packets > 0
    tb = audio[0].time_base
    first_start = float(audio[0].pts * tb)
    last_end = float((audio[-1].pts + audio[-1].duration) * tb)
    aac_frame = float(audio[0].duration * tb)
    # Audio covers the clip's span [0, 43/25) and overhangs by less than one AAC frame at each end.
    assert -aac_frame < first_start <= 0
    assert 43 / 25 <= last_end < 43 / 25 + aac_frame
    # The audio really decodes (not just copied bytes).
    with av.open(str(out)) as container:
        rate = container.streams.audio[0].sample_rate
        samples = sum(frame.samples for frame in container.decode(audio=0))
    assert samples >= 0.95 * 43 / 25 * rate


def test_clip_is_faststart(proxy, tmp_path):
    out = tmp_path / "clip.mp4"
    cut_clip(proxy, 10, 30, out)
    atoms = top_level_atoms(out.read_bytes())
    assert "moov" in atoms and "mdat" in atoms
    assert atoms.index("moov") < atoms.index("mdat")


def test_clip_info_checksum_matches_file_and_write_is_atomic(proxy, tmp_path):
    out = tmp_path / "nested" / "clip.mp4"
    info = cut_clip(proxy, 5, 25, out)
    data = out.read_bytes()
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert info.size_bytes == len(data)
    assert info.duration_seconds == pytest.approx(20 / 25)
    assert [p.name for p in out.parent.iterdir()] == ["clip.mp4"]  # no temp file left behind


def test_clip_bytes_match_the_file_cut(proxy, tmp_path):
    out = tmp_path / "clip.mp4"
    cut_clip(proxy, 40, 60, out)
    data, info = cut_clip_with_info(proxy, 40, 60)
    assert cut_clip_bytes(proxy, 40, 60) == data
    assert top_level_atoms(data).index("moov") < top_level_atoms(data).index("mdat")
    (tmp_path / "from_bytes.mp4").write_bytes(data)
    assert frame_checksums(tmp_path / "from_bytes.mp4") == frame_checksums(out)
    assert info.sha256 == hashlib.sha256(data).hexdigest()


def test_clip_from_http_url_reads_only_byte_ranges(proxy, proxy_frames, tmp_path):
    with RangeFileServer(proxy.parent) as server:
        data = cut_clip_bytes(f"{server.base_url}/{proxy.name}?X-Amz-Signature=secret", 100, 110)
    (tmp_path / "clip.mp4").write_bytes(data)
    assert frame_checksums(tmp_path / "clip.mp4") == proxy_frames[100:110]
    # Every request asked for a bounded byte range, the clip's samples were reached by seeking (not by
    # reading on from the start), and in all less than the whole proxy went over the wire.
    ranges = [header for _, header, _ in server.served]
    assert ranges and all(re.fullmatch(r"bytes=\d+-\d+", h or "") for h in ranges), ranges
    assert any(int(h[6:].split("-")[0]) > 0 for h in ranges)
    assert sum(sent for _, _, sent in server.served) < proxy.stat().st_size


def test_clip_from_s3_presigned_url(proxy, proxy_frames, s3_storage, tmp_path):
    s3_storage.put_file("proxies/1/proxy.mp4", proxy)
    url = s3_storage.media_input("proxies/1/proxy.mp4")
    assert url.startswith("http")
    out = tmp_path / "clip.mp4"
    cut_clip(url, 50, 75, out)
    assert frame_checksums(out) == proxy_frames[50:75]


@pytest.mark.parametrize("start,end", [(10, 10), (20, 10), (-1, 5), (0, 133), (131, 500)])
def test_bad_ranges_are_refused(proxy, tmp_path, start, end):
    with pytest.raises(BadInput):
        cut_clip(proxy, start, end, tmp_path / "clip.mp4")
    assert not (tmp_path / "clip.mp4").exists()


def test_missing_proxy_is_refused(tmp_path):
    with pytest.raises(BadInput, match="not found"):
        cut_clip_bytes(tmp_path / "nope.mp4", 0, 5)


def test_a_proxy_that_is_not_all_intra_is_refused(tmp_path):
    # The original bikes.mp4 has P/B frames: copying them alone would give an undecodable clip.
    with pytest.raises(HeatersError):
        cut_clip(fetch("bikes.mp4"), 40, 60, tmp_path / "clip.mp4")


def test_last_frame_is_reachable(proxy, proxy_frames, tmp_path):
    out = tmp_path / "clip.mp4"
    cut_clip(proxy, 131, 132, out)
    assert frame_checksums(out) == proxy_frames[131:]


def test_clip_command_line(proxy, proxy_frames, tmp_path):
    from heaters.cli import app

    out = tmp_path / "cli.mp4"
    result = CliRunner().invoke(app, ["clip", str(proxy), "12", "24", str(out)])
    assert result.exit_code == 0, result.output
    assert "12 frames" in result.output
    assert frame_checksums(out) == proxy_frames[12:24]
    refused = CliRunner().invoke(app, ["clip", str(proxy), "24", "12", str(out)])
    assert refused.exit_code == 2
