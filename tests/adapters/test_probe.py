"""Probe: metadata of real footage and generated files, and BadInput for everything we refuse."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from heaters.adapters.media.probe import MediaLimits, clockwise_rotation, probe
from heaters.adapters.sample_media import fetch
from heaters.config import Settings
from heaters.domain.errors import BadInput
from tests.adapters.preprocess_media import write_audio_only, write_video


def test_real_footage_metadata():
    bikes = probe(fetch("bikes.mp4"))
    assert (bikes.width, bikes.height) == (640, 272)
    assert bikes.average_rate == Fraction(25) and bikes.frame_count_estimate == 250
    assert bikes.duration_seconds == pytest.approx(10.0, abs=0.05)
    assert not bikes.has_audio and bikes.rotation == 0 and not bikes.likely_vfr
    bunny = probe(fetch("bigbuckbunny.mp4"))
    assert bunny.has_audio and bunny.audio_codec == "aac" and bunny.video_codec == "h264"
    assert (bunny.width, bunny.height) == (1280, 720)


def test_rotation_from_display_matrix(tmp_path: Path):
    info = probe(write_video(tmp_path / "rot.mp4", width=96, height=64, rotation=90))
    # FFmpeg stores 90 degrees counter-clockwise; shown upright means turning 270 degrees clockwise.
    assert info.rotation == 270
    assert (info.display_width, info.display_height) == (64, 96)


def test_clockwise_rotation_conversion():
    assert [clockwise_rotation(r) for r in (0, 90, -90, 180, -180, 89.6)] == [0, 270, 90, 180, 180, 270]


def test_vfr_hint(tmp_path: Path):
    info = probe(write_video(tmp_path / "vfr.mp4", frames=6, times=[0, 0.04, 0.08, 0.4, 0.44, 0.48]))
    assert info.likely_vfr


def test_zero_bytes(tmp_path: Path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(BadInput, match="empty"):
        probe(empty)


def test_missing_file(tmp_path: Path):
    with pytest.raises(BadInput, match="cannot read"):
        probe(tmp_path / "nope.mp4")


def test_not_a_video(tmp_path: Path):
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 50)
    with pytest.raises(BadInput, match="not a readable video"):
        probe(text)


def test_audio_only(tmp_path: Path):
    with pytest.raises(BadInput, match="audio-only"):
        probe(write_audio_only(tmp_path / "tone.m4a"))


def test_truncated_file_without_index(tmp_path: Path):
    source = fetch("bikes.mp4").read_bytes()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(source[: len(source) // 2])
    with pytest.raises(BadInput):
        probe(truncated)


def test_over_dimension_limit():
    with pytest.raises(BadInput, match="640x272, over the limit of 320x240"):
        probe(fetch("bikes.mp4"), MediaLimits(max_width=320, max_height=240))


def test_over_duration_limit():
    with pytest.raises(BadInput, match="over the limit of 5 s"):
        probe(fetch("bikes.mp4"), MediaLimits(max_duration_seconds=5))


def test_limits_from_settings():
    limits = MediaLimits.from_settings(Settings(max_width=100, max_height=50, max_duration_seconds=7))
    assert limits == MediaLimits(100, 50, 7)
