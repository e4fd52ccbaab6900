"""Keyframes decoded by seeking equal the frames a full decode gives at the same indices (real footage)."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest
from PIL import Image

from heaters.adapters.media.clip import cut_clip, cut_clip_bytes
from heaters.adapters.media.keyframes import extract_keyframes
from heaters.adapters.sample_media import fetch
from heaters.domain.errors import BadInput
from tests.adapters.media_helpers import make_proxy


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    return make_proxy(fetch("bikes.mp4"), tmp_path_factory.mktemp("kf") / "proxy.mp4")


def all_frames(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [np.asarray(frame.to_image()) for frame in container.decode(video=0)]


def test_keyframes_of_an_exported_clip_at_quartiles(proxy, tmp_path):
    clip = tmp_path / "clip.mp4"
    cut_clip(proxy, 30, 76, clip)  # one shot of bikes.mp4, 46 frames
    frames = all_frames(clip)
    keyframes = extract_keyframes(clip)
    assert [k.percent for k in keyframes] == [25, 50, 75]
    assert [k.frame_index for k in keyframes] == [11, 23, 34]  # floor(p * 46 / 100)
    assert [k.timestamp_seconds for k in keyframes] == pytest.approx([11 / 25, 23 / 25, 34 / 25])
    for keyframe in keyframes:
        assert np.array_equal(np.asarray(keyframe.image), frames[keyframe.frame_index])
        assert keyframe.ext == "jpg" and keyframe.content_type == "image/jpeg"
        decoded = Image.open(io.BytesIO(keyframe.data))
        assert decoded.format == "JPEG" and decoded.size == (640, 272)
        # JPEG is lossy but close to the decoded frame.
        diff = np.abs(np.asarray(decoded.convert("RGB"), dtype=int) - frames[keyframe.frame_index].astype(int))
        assert diff.mean() < 4


def test_keyframes_from_clip_bytes_and_webp(proxy):
    data = cut_clip_bytes(proxy, 137, 187)
    keyframes = extract_keyframes(data, "percent:0,100", image_format="webp")
    assert [(k.percent, k.frame_index, k.ext) for k in keyframes] == [(0, 0, "webp"), (100, 49, "webp")]
    assert Image.open(io.BytesIO(keyframes[0].data)).format == "WEBP"


def test_keyframes_of_a_long_gop_video_match_full_decode():
    # The original bikes.mp4 has P and B frames: seeking must decode forward from a keyframe.
    source = fetch("bikes.mp4")
    frames = all_frames(source)
    keyframes = extract_keyframes(source, "percent:10,33,90")
    assert [k.frame_index for k in keyframes] == [25, 82, 225]
    for keyframe in keyframes:
        assert np.array_equal(np.asarray(keyframe.image), frames[keyframe.frame_index])


def test_bad_inputs_are_refused(tmp_path):
    with pytest.raises(BadInput):
        extract_keyframes(tmp_path / "missing.mp4")
    with pytest.raises(BadInput):
        extract_keyframes(fetch("bikes.mp4"), image_format="gif")
    with pytest.raises(BadInput):
        extract_keyframes(fetch("bikes.mp4"), "middle")
