"""High-quality export re-encoded from the lossless master, on masters written by the real preprocess
(Big Buck Bunny with 5.1 audio, and a generated odd-sized source)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import av
import numpy as np
import pytest

from heaters.adapters.media.preprocess import PreprocessResult, preprocess
from heaters.adapters.media.reencode import reencode_clip
from heaters.adapters.sample_media import fetch
from heaters.domain.errors import BadInput
from tests.adapters.media_helpers import frame_checksums
from tests.adapters.preprocess_media import top_level_boxes, write_video
from tests.adapters.range_server import RangeFileServer


@pytest.fixture(scope="module")
def bbb(tmp_path_factory) -> PreprocessResult:
    return preprocess(fetch("bigbuckbunny.mp4"), tmp_path_factory.mktemp("bbb"))


@pytest.fixture(scope="module")
def odd(tmp_path_factory) -> PreprocessResult:
    folder = tmp_path_factory.mktemp("odd")
    source = write_video(folder / "odd.mkv", width=99, height=61, codec="ffv1", frames=40, audio_seconds=1.6)
    return preprocess(source, folder / "out")


def yuv420_planes(frame, width: int, height: int) -> np.ndarray:
    """The frame's Y, U, V samples cropped to width x height (even), flattened into one array.
    Reads the planes directly so odd-sized yuv420p frames (chroma rounded up) work too."""
    assert frame.format.name == "yuv420p", frame.format.name
    parts = []
    for plane, (w, h) in zip(
        frame.planes, [(width, height), (width // 2, height // 2), (width // 2, height // 2)], strict=True
    ):
        rows = np.frombuffer(plane, dtype=np.uint8).reshape(-1, plane.line_size)
        parts.append(rows[:h, :w].ravel())
    return np.concatenate(parts)


def decoded_planes(path: Path, width: int, height: int, first: int = 0, stop: int | None = None) -> list[np.ndarray]:
    """Samples of decoded frames [first, stop) (uint8, see yuv420_planes)."""
    with av.open(str(path)) as container:
        return [
            yuv420_planes(frame, width, height)
            for index, frame in enumerate(container.decode(video=0))
            if index >= first and (stop is None or index < stop)
        ]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    diff = a.astype(np.int16) - b.astype(np.int16)
    mse = float(np.mean(diff.astype(np.float32) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def check_clip(result: PreprocessResult, clip: Path, start: int, end: int) -> None:
    n = end - start
    with av.open(str(clip)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.name, video.codec_context.pix_fmt) == ("h264", "yuv420p")
        # Even dimensions, the proxy's geometry (an odd master is cropped like the proxy).
        assert (video.width, video.height) == (result.width, result.height)
        assert video.width % 2 == 0 and video.height % 2 == 0
        frames = list(container.decode(video=0))
        assert len(frames) == n
        assert frames[0].pts == 0 and frames[0].time == 0
        assert frames[-1].time == pytest.approx((n - 1) / float(result.fps))
        assert video.duration * video.time_base == pytest.approx(n / float(result.fps))
    with av.open(str(clip)) as container:
        assert len(container.streams.audio) == 1
        audio = container.streams.audio[0]
        assert audio.codec_context.name == "aac"
        # The edit list trims encoder padding: the audio track lasts the clip's time span to the sample...
        assert audio.duration * audio.time_base == pytest.approx(n / float(result.fps), abs=1e-3)
        # ...and the raw decoded samples (AAC frames of 1024, plus priming) are within two frames of it.
        samples = sum(frame.samples for frame in container.decode(audio=0))
        assert abs(samples / audio.codec_context.sample_rate - n / float(result.fps)) <= 2048 / 44100
    assert top_level_boxes(clip).index("moov") < top_level_boxes(clip).index("mdat")
    # High fidelity: every frame is close to the master's same frame (cropped, same format).
    # Master frames start-1 .. end (the neighbours too); master[i + 1] is master frame start + i.
    first = max(start - 1, 0)
    master = dict(enumerate(decoded_planes(result.master_path, result.width, result.height, first, end + 1), first))
    ours = decoded_planes(clip, result.width, result.height)
    scores = [psnr(master[start + i], frame) for i, frame in enumerate(ours)]
    assert min(scores) >= 40, scores
    # Frame-exact, not merely similar (neighbouring frames of real footage can be near-identical too):
    # each clip frame matches its own master frame at least as well as the master's neighbours.
    for offset, frame in enumerate(ours):
        index = start + offset
        for neighbour in (index - 1, index + 1):
            if neighbour in master:
                assert scores[offset] >= psnr(master[neighbour], frame) - 0.01, (index, neighbour)


@pytest.mark.parametrize("start,end", [(0, 8), (61, 75), (124, 132)])
def test_real_footage_reencoded_from_master(bbb, tmp_path, start, end):
    assert bbb.has_audio and bbb.frame_count == 132
    out = tmp_path / "clips" / "clip.mp4"
    info = reencode_clip(bbb.master_path, start, end, out)
    check_clip(bbb, out, start, end)
    data = out.read_bytes()
    assert (info.start_frame, info.end_frame, info.frame_count, info.video_packets) == (
        start,
        end,
        end - start,
        end - start,
    )
    assert info.audio_packets > 0
    assert (info.size_bytes, info.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert [p.name for p in out.parent.iterdir()] == ["clip.mp4"]  # no temp file left


def test_odd_sized_master_cropped_like_the_proxy(odd, tmp_path):
    assert (odd.master_width, odd.master_height, odd.width, odd.height) == (99, 61, 98, 60)
    out = tmp_path / "clip.mp4"
    reencode_clip(odd.master_path, 7, 31, out)
    check_clip(odd, out, 7, 31)
    # The re-encoded frames line up with the stream-copy source: proxy frame i vs export frame i - start.
    proxy = decoded_planes(odd.proxy_path, odd.width, odd.height)[7:31]
    ours = decoded_planes(out, odd.width, odd.height)
    assert min(psnr(p, o) for p, o in zip(proxy, ours, strict=True)) >= 35
    assert reencode_clip(odd.master_path, 0, odd.frame_count, tmp_path / "all.mp4").frame_count == 40


def test_master_over_http_url(bbb, tmp_path):
    local = reencode_clip(bbb.master_path, 90, 100, tmp_path / "local.mp4")
    with RangeFileServer(bbb.master_path.parent) as server:
        remote = reencode_clip(f"{server.base_url}/master.mkv?X-Amz-Signature=secret", 90, 100, tmp_path / "url.mp4")
    assert frame_checksums(tmp_path / "url.mp4") == frame_checksums(tmp_path / "local.mp4")
    assert remote.frame_count == local.frame_count == 10


@pytest.mark.parametrize("start,end", [(5, 5), (9, 3), (-1, 4), (130, 133), (200, 210)])
def test_bad_ranges_refused_and_nothing_written(bbb, tmp_path, start, end):
    out = tmp_path / "clip.mp4"
    with pytest.raises(BadInput):
        reencode_clip(bbb.master_path, start, end, out)
    assert list(tmp_path.iterdir()) == []


def test_missing_master_refused(tmp_path):
    with pytest.raises(BadInput, match="not found"):
        reencode_clip(tmp_path / "nope.mkv", 0, 1, tmp_path / "clip.mp4")
