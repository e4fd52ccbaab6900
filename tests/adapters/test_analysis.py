"""Analysis features and shot detection on real footage, decoded by the real PyAV/FFmpeg."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from typer.testing import CliRunner

from heaters.adapters.media.analysis import FeatureCollector, decode_features, load_features, save_features
from heaters.adapters.sample_media import KNOWN_CUTS, fetch
from heaters.cli import app
from heaters.domain.errors import BadInput
from heaters.domain.shots import FEATURE_SIZE, detect_cuts


def cuts_of(path: Path) -> list[int]:
    features, fps, _ = decode_features(path)
    return detect_cuts(features, fps)


@pytest.mark.parametrize("name", ["bikes.mp4", "Megamind.avi", "bigbuckbunny.mp4", "carphone_pristine.mp4"])
def test_known_cuts_found_exactly_with_no_false_cut(name: str):
    found = cuts_of(fetch(name))
    expected = KNOWN_CUTS[name]
    assert len(found) == len(expected), found
    assert all(abs(f - e) <= 1 for f, e in zip(found, expected, strict=True)), found


def test_decode_features_counts_every_frame():
    features, fps, frames = decode_features(fetch("bikes.mp4"))
    assert (frames, fps) == (250, 25.0)
    assert features.shape == (250, FEATURE_SIZE) and features.dtype == np.uint8


def test_non_yuv_source_is_converted(tmp_path):
    features, _, frames = decode_features(fetch("tree.avi"))  # Cinepak decodes to rgb24
    assert features.shape == (frames, FEATURE_SIZE) and frames >= 60  # 68 coded frames (444 index slots)
    assert features[:, :576].std() > 5  # a real picture, not a constant


def test_collector_contract_and_round_trip(tmp_path):
    collector = FeatureCollector()
    assert collector.result().shape == (0, FEATURE_SIZE)
    with av.open(str(fetch("carphone_pristine.mp4"))) as container:
        for frame in container.decode(video=0):
            collector.add(frame)
    features = collector.result()
    save_features(tmp_path / "features.npy", features)
    assert np.array_equal(load_features(tmp_path / "features.npy"), features)
    assert np.array_equal(features, decode_features(fetch("carphone_pristine.mp4"))[0])


def encode(frames: list[np.ndarray], path: Path, fps: int = 25) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        stream.options = {"crf": "23", "preset": "veryfast"}
        for rgb in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        out.mux(stream.encode())
    return path


def real_frames(name: str, start: int, count: int, size=(320, 240)) -> list[np.ndarray]:
    with av.open(str(fetch(name))) as container:
        frames = [f.to_ndarray(width=size[0], height=size[1], format="rgb24") for f in container.decode(video=0)]
    return frames[start : start + count]


def test_flash_inside_a_real_shot_is_not_a_cut(tmp_path):
    frames = real_frames("carphone_pristine.mp4", 0, 100)
    for k in range(50, 53):  # a three-frame camera flash
        frames[k] = np.clip(frames[k].astype(np.int16) * 2 + 80, 0, 255).astype(np.uint8)
    assert cuts_of(encode(frames, tmp_path / "flash.mp4")) == []


def test_dissolve_between_real_shots_is_one_cut_inside_it(tmp_path):
    a = real_frames("bikes.mp4", 80, 50)
    b = real_frames("Megamind.avi", 100, 50)
    for k in range(12):
        alpha = (k + 1) / 13
        a[38 + k] = (a[38 + k] * (1 - alpha) + b[k] * alpha).astype(np.uint8)
    cuts = cuts_of(encode(a + b[12:], tmp_path / "dissolve.mp4"))
    assert len(cuts) == 1 and 36 <= cuts[0] <= 51


def test_unreadable_file_is_bad_input(tmp_path):
    (tmp_path / "x.mp4").write_bytes(b"not a video")
    with pytest.raises(BadInput):
        decode_features(tmp_path / "x.mp4")


def test_detect_command_json():
    result = CliRunner().invoke(app, ["detect", str(fetch("bikes.mp4")), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert (out["frames"], out["fps"], out["cuts"]) == (250, 25.0, [30, 76, 137, 187, 242])
    assert [b["frame"] for b in out["boundaries"]] == out["cuts"]
    for b in out["boundaries"]:
        assert b["kind"] == "cut" and b["span"] == [b["frame"] - 1, b["frame"]] and 0.5 <= b["confidence"] <= 1
    assert all(0 < s["confidence"] < 0.5 and s["frame"] not in out["cuts"] for s in out["suggested"])
    human = CliRunner().invoke(app, ["detect", str(fetch("Megamind.avi"))])
    assert human.exit_code == 0 and "98, 154, 200" in human.output


def test_detect_command_refuses_a_non_video(tmp_path):
    (tmp_path / "x.mp4").write_bytes(b"not a video")
    result = CliRunner().invoke(app, ["detect", str(tmp_path / "x.mp4")])
    assert result.exit_code == 2


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_feature_rows_read_windows_without_holding_the_file(tmp_path):
    """Detection reads a long video's features window by window; unlike a memory map, the rows read do not
    stay in the process's memory (a 6-hour video's features are ~1.3 GB)."""
    from heaters.adapters.media.analysis import FeatureRows

    rows = (256 * 1024 * 1024) // FEATURE_SIZE
    path = tmp_path / "features.npy"
    block = np.arange(1000 * FEATURE_SIZE, dtype=np.uint64).astype(np.uint8).reshape(1000, FEATURE_SIZE)
    with open(path, "wb") as out:
        np.lib.format.write_array_header_1_0(
            out, {"descr": "|u1", "fortran_order": False, "shape": (rows, FEATURE_SIZE)}
        )
        for first in range(0, rows, 1000):
            out.write(block[: min(1000, rows - first)].tobytes())
    before = _rss_bytes()
    with FeatureRows(path) as features:
        assert len(features) == rows
        for first in range(0, rows, 4000):
            window = features.read(first, first + 4000)
            assert window.shape == (min(4000, rows - first), FEATURE_SIZE)
        assert np.array_equal(features.read(1500, 2500), np.concatenate([block[500:], block[:500]]))
        assert features.read(rows - 3, rows + 10).shape == (3, FEATURE_SIZE)
    assert _rss_bytes() - before < 64 * 1024 * 1024
    mapped = np.load(path, mmap_mode="r")
    total = sum(int(mapped[first : first + 4000, 0].sum()) for first in range(0, rows, 4000))
    assert total >= 0 and _rss_bytes() - before > 128 * 1024 * 1024  # what a memory map would have kept


def test_feature_rows_refuse_a_file_that_is_not_features(tmp_path):
    from heaters.adapters.media.analysis import FeatureRows

    path = tmp_path / "other.npy"
    np.save(path, np.zeros((4, 3), dtype=np.float32))
    with pytest.raises(BadInput, match="not features"):
        FeatureRows(path)
    (tmp_path / "junk.npy").write_bytes(b"not numpy at all")
    with pytest.raises(BadInput, match="not a features file"):
        FeatureRows(tmp_path / "junk.npy")
