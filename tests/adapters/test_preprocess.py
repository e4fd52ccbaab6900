"""One-pass preprocessing on real footage and generated edge cases (odd sizes, rotation, VFR, bad input)."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from heaters.adapters.media.analysis import load_features
from heaters.adapters.media.preprocess import preprocess
from heaters.adapters.media.probe import MediaLimits
from heaters.adapters.sample_media import fetch
from heaters.domain.errors import BadInput
from tests.adapters.preprocess_media import (
    decoded_checksums,
    top_level_boxes,
    write_audio_only,
    write_video,
)


def video_packets(path: Path) -> list[av.Packet]:
    with av.open(str(path)) as container:
        return [p for p in container.demux(video=0) if p.size]


def stream_info(path: Path) -> dict:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = list(container.decode(video=0))
        container.seek(0)
        return {
            "codec": video.codec_context.name,
            "size": (video.codec_context.width, video.codec_context.height),
            "pix_fmt": video.codec_context.pix_fmt,
            "frames": len(frames),
            "rotation": frames[0].rotation,
            "audio": [a.codec_context.name for a in container.streams.audio],
            "frame_times": [f.time for f in frames],
        }


@pytest.fixture(scope="module")
def bikes(tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("bikes")
    progress: list[float] = []
    result = preprocess(fetch("bikes.mp4"), out, progress=progress.append)
    return out, result, progress


def test_bikes_master_is_bit_exact(bikes):
    out, result, _ = bikes
    assert decoded_checksums(out / "master.mkv") == decoded_checksums(fetch("bikes.mp4"))


def test_bikes_master_is_ffv1_level3_matroska(bikes):
    out, _, _ = bikes
    with av.open(str(out / "master.mkv")) as container:
        assert container.format.name.startswith("matroska")
        video = container.streams.video[0]
        assert video.codec_context.name == "ffv1"
        assert video.codec_context.extradata  # level 3 keeps its configuration record in extradata


def test_bikes_proxy_is_all_intra_cfr_faststart(bikes):
    out, result, _ = bikes
    proxy = out / "proxy.mp4"
    packets = video_packets(proxy)
    assert len(packets) == 250 == result.frame_count
    assert all(p.is_keyframe for p in packets)
    info = stream_info(proxy)
    assert info["codec"] == "h264" and info["pix_fmt"] == "yuv420p" and info["size"] == (640, 272)
    assert np.allclose(np.diff(info["frame_times"]), 1 / 25)
    boxes = top_level_boxes(proxy)
    assert boxes.index("moov") < boxes.index("mdat")
    assert info["audio"] == []  # the source has no audio


def test_bikes_features_and_result(bikes):
    out, result, progress = bikes
    features = load_features(out / "features.npy")
    assert features.shape[0] == 250
    assert result.fps == Fraction(25) and (result.width, result.height) == (640, 272)
    assert not result.has_audio and result.duplicated_frames == result.dropped_frames == 0
    assert sorted(p.name for p in out.iterdir()) == ["features.npy", "master.mkv", "proxy.mp4"]
    assert progress == sorted(progress) and progress[-1] == 1.0 and len(progress) > 5


def test_audio_kept_when_source_has_audio(tmp_path: Path):
    result = preprocess(fetch("bigbuckbunny.mp4"), tmp_path)
    assert result.has_audio and result.frame_count == 132
    assert stream_info(tmp_path / "master.mkv")["audio"] == ["flac"]
    assert stream_info(tmp_path / "proxy.mp4")["audio"] == ["aac"]
    with av.open(str(tmp_path / "proxy.mp4")) as container:
        audio_seconds = float(container.streams.audio[0].duration * container.streams.audio[0].time_base)
    assert audio_seconds == pytest.approx(5.28, abs=0.1)
    for name in ("proxy.mp4", "master.mkv"):  # sound and picture both start at zero
        with av.open(str(tmp_path / name)) as container:
            first_audio = next(container.decode(audio=0)).time
            container.seek(0)
            first_video = next(container.decode(video=0)).time
        assert first_video == 0 and first_audio == pytest.approx(0, abs=0.03), name


def test_odd_dimensions_cropped_to_even_master_lossless(tmp_path: Path):
    source = write_video(tmp_path / "odd.mkv", width=99, height=61, codec="ffv1", frames=8)
    out = tmp_path / "out"
    result = preprocess(source, out)
    assert (result.width, result.height) == (98, 60)
    assert (result.master_width, result.master_height) == (99, 61)
    assert stream_info(out / "proxy.mp4")["size"] == (98, 60)
    assert decoded_checksums(out / "master.mkv") == decoded_checksums(source)
    # The crop keeps the picture in place: the proxy matches the source's top-left 98x60 (lossy, close).
    with av.open(str(source)) as src, av.open(str(out / "proxy.mp4")) as proxy:
        original = next(src.decode(video=0)).to_ndarray(format="rgb24")[:60, :98].astype(int)
        encoded = next(proxy.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    assert np.abs(original - encoded).mean() < 4


def test_rotation_applied_like_ffmpeg(tmp_path: Path):
    source = write_video(tmp_path / "rot.mp4", width=96, height=64, rotation=90, frames=4)
    out = tmp_path / "out"
    result = preprocess(source, out)
    assert (result.width, result.height) == (64, 96)
    info = stream_info(out / "proxy.mp4")
    assert info["size"] == (64, 96) and info["rotation"] == 0  # upright pixels, no rotation metadata
    assert stream_info(out / "master.mkv")["size"] == (64, 96)
    # The FFmpeg CLI's autorotation is the reference for the direction of the turn.
    reference = tmp_path / "reference.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(source), "-c:v", "ffv1", str(reference)], check=True)
    with av.open(str(reference)) as ref, av.open(str(out / "master.mkv")) as ours:
        expected = next(ref.decode(video=0)).to_ndarray(format="rgb24").astype(int)
        actual = next(ours.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    assert expected.shape == actual.shape
    assert np.abs(expected - actual).mean() < 2


def test_vfr_source_becomes_cfr(tmp_path: Path):
    # 25 fps with a 0.32 s pause after the third frame: slots 3..9 repeat frame 2.
    times = [0, 0.04, 0.08, 0.40, 0.44, 0.48]
    source = write_video(tmp_path / "vfr.mp4", frames=6, times=times)
    result = preprocess(source, tmp_path / "out")
    assert result.fps == Fraction(25)
    assert result.frame_count == 13 and result.duplicated_frames == 7
    info = stream_info(tmp_path / "out" / "proxy.mp4")
    assert info["frames"] == 13
    assert np.allclose(np.diff(info["frame_times"]), 1 / 25)
    assert all(p.is_keyframe for p in video_packets(tmp_path / "out" / "proxy.mp4"))
    assert load_features(tmp_path / "out" / "features.npy").shape[0] == 13


def test_cfr_generated_source_keeps_frame_count(tmp_path: Path):
    source = write_video(tmp_path / "cfr.mp4", frames=17, rate=30, audio_seconds=0.5)
    result = preprocess(source, tmp_path / "out")
    assert result.frame_count == 17 and result.fps == Fraction(30) and result.has_audio
    assert len(video_packets(tmp_path / "out" / "proxy.mp4")) == 17


def _bad_inputs(tmp_path: Path) -> dict[str, Path]:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "text.mp4"
    text.write_text("not a video at all\n" * 100)
    whole = fetch("bigbuckbunny.mp4")
    faststart = tmp_path / "faststart.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(whole), "-c", "copy", "-movflags", "+faststart", str(faststart)],
        check=True,
    )
    data = faststart.read_bytes()
    truncated = tmp_path / "truncated.mp4"  # index intact, media data cut in half
    truncated.write_bytes(data[: len(data) // 2])
    return {
        "zero bytes": empty,
        "not a video": text,
        "truncated": truncated,
        "audio-only": write_audio_only(tmp_path / "tone.m4a"),
    }


def test_bad_inputs_raise_and_leave_nothing(tmp_path: Path):
    for label, path in _bad_inputs(tmp_path).items():
        out = tmp_path / f"out-{label.replace(' ', '-')}"
        with pytest.raises(BadInput):
            preprocess(path, out)
        assert not out.exists() or not any(out.iterdir()), label


def test_over_limits_raise(tmp_path: Path):
    with pytest.raises(BadInput, match="over the limit"):
        preprocess(fetch("bikes.mp4"), tmp_path, limits=MediaLimits(max_width=320))
    with pytest.raises(BadInput, match="over the limit"):
        preprocess(fetch("bikes.mp4"), tmp_path, limits=MediaLimits(max_duration_seconds=2))
    assert not any(tmp_path.iterdir())


def test_cli_json_summary(tmp_path: Path):
    source = write_video(tmp_path / "small.mp4", frames=5)
    completed = subprocess.run(
        [sys.executable, "-m", "heaters.cli.preprocess", str(source), "--out", str(tmp_path / "o"), "--json"],
        check=True,
        capture_output=True,
        text=True,
    )
    summary = json.loads(completed.stdout)
    assert summary["frame_count"] == 5 and summary["fps"] == 25.0
    assert Path(summary["proxy"]).exists() and Path(summary["master"]).exists()


def test_cli_bad_input_exit_code(tmp_path: Path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    completed = subprocess.run(
        [sys.executable, "-m", "heaters.cli.preprocess", str(empty), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 2 and "empty" in completed.stderr
