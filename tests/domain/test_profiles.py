"""Encoder profiles: the settings the spec requires, and the same settings on the ffmpeg command line."""

from __future__ import annotations

import pytest

from heaters.domain.profiles import export_reencode_profile, ffmpeg_output_args, master_profile, proxy_profile


def test_master_is_ffv1_level3_slicecrc_matroska_flac():
    master = master_profile()
    assert master.container == "matroska" and master.filename == "master.mkv"
    assert master.video.codec == "ffv1" and master.video.pix_fmt is None  # keeps the source format
    options = master.video.option_dict()
    assert options["level"] == "3" and options["slicecrc"] == "1"
    assert master.audio.codec == "flac"


def test_proxy_is_all_intra_h264_crf_yuv420p_faststart_aac():
    proxy = proxy_profile()
    options = proxy.video.option_dict()
    assert proxy.video.codec == "libx264" and proxy.video.pix_fmt == "yuv420p"
    assert options["crf"] == "20" and options["g"] == "1" and options["bf"] == "0"
    assert "keyint=1" in options["x264-params"] and "intra-refresh=0" in options["x264-params"]
    assert proxy.audio.codec == "aac" and proxy.container == "mp4"
    assert "+faststart" in proxy.container_option_dict()["movflags"]
    assert proxy_profile(crf=28).video.option_dict()["crf"] == "28"
    with pytest.raises(ValueError):
        proxy_profile(crf=60)


def test_export_profile_is_high_quality():
    export = export_reencode_profile()
    assert export.video.option_dict()["crf"] == "16" and export.video.option_dict()["preset"] == "slow"


def test_ffmpeg_arguments_render_the_same_settings():
    args = ffmpeg_output_args(proxy_profile(crf=22), with_audio=True)
    pairs = dict(zip(args[::1], args[1::1], strict=False))
    assert pairs["-c:v"] == "libx264" and pairs["-crf:v"] == "22" and pairs["-g:v"] == "1"
    assert pairs["-pix_fmt"] == "yuv420p" and pairs["-c:a"] == "aac" and pairs["-movflags"] == "+faststart"
    assert pairs["-f"] == "mp4"
    master_args = ffmpeg_output_args(master_profile(), with_audio=False)
    assert "-an" in master_args and master_args[master_args.index("-slicecrc:v") + 1] == "1"
