"""Small generated sources for the preprocessing and probe tests (written with PyAV into tmp_path).

Pictures carry a gradient plus a bright block in the top-left corner, so orientation is checkable, and
a frame-number-dependent shade, so every frame differs from its neighbours.
"""

from __future__ import annotations

import hashlib
import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def picture(width: int, height: int, index: int) -> np.ndarray:
    """An RGB picture: horizontal gradient, a white block top-left, a per-frame shade in blue."""
    x = np.linspace(0, 200, width, dtype=np.float32)[None, :].repeat(height, axis=0)
    rgb = np.zeros((height, width, 3), dtype=np.uint8)
    rgb[..., 0] = x.astype(np.uint8)
    rgb[..., 1] = 60
    rgb[..., 2] = (index * 7) % 256
    rgb[: max(height // 4, 2), : max(width // 4, 2)] = 255
    return rgb


def write_video(
    path: Path,
    *,
    width: int = 96,
    height: int = 64,
    frames: int = 12,
    rate: int = 25,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    container: str | None = None,
    rotation: int = 0,
    times: list[float] | None = None,
    audio_seconds: float | None = None,
    gop: int | None = None,
) -> Path:
    """Write a small video. `times` (seconds) gives explicit, possibly irregular frame timestamps (VFR);
    `rotation` stores a display matrix (counter-clockwise degrees, FFmpeg's convention);
    `audio_seconds` adds a 440 Hz stereo tone; `gop` sets libx264's keyframe interval."""
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        time_base = Fraction(1, 1000) if times is not None else Fraction(1, rate)
        stream.codec_context.time_base = time_base
        if codec == "libx264":
            stream.options = {"preset": "ultrafast", "crf": "10", "bf": "0"} | ({"g": str(gop)} if gop else {})
        if rotation:
            stream.set_display_rotation(rotation)
        audio = None
        if audio_seconds:
            audio = out.add_stream("aac", rate=48000)
            audio.layout = "stereo"
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(picture(width, height, index), format="rgb24").reformat(format=pix_fmt)
            frame.pts = round(times[index] * 1000) if times is not None else index
            frame.time_base = time_base
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
        if audio is not None:
            samples = int(48000 * audio_seconds)
            tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(samples) / 48000)).astype(np.float32)
            for start in range(0, samples, 1024):
                chunk = np.stack([tone[start : start + 1024]] * 2)
                frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
                frame.sample_rate, frame.pts, frame.time_base = 48000, start, Fraction(1, 48000)
                out.mux(audio.encode(frame))
            out.mux(audio.encode(None))
    return path


def write_audio_only(path: Path, seconds: float = 1.0) -> Path:
    with av.open(str(path), "w", format="ipod") as out:
        audio = out.add_stream("aac", rate=48000)
        audio.layout = "mono"
        samples = int(48000 * seconds)
        tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(samples) / 48000)).astype(np.float32)
        for start in range(0, samples, 1024):
            frame = av.AudioFrame.from_ndarray(tone[None, start : start + 1024], format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 48000, start, Fraction(1, 48000)
            out.mux(audio.encode(frame))
        out.mux(audio.encode(None))
    return path


def decoded_checksums(path: Path) -> list[str]:
    """md5 of every decoded video frame's visible pixels, plane by plane (bit-exact comparison).
    For 8-bit planar formats (one byte per sample), which is what the tests generate."""
    sums = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            assert frame.format.name in {"yuv420p", "yuv422p", "yuv444p", "gray"}, frame.format.name
            digest = hashlib.md5(frame.format.name.encode())
            for plane in frame.planes:
                rows = np.frombuffer(plane, dtype=np.uint8).reshape(-1, plane.line_size)
                digest.update(np.ascontiguousarray(rows[: plane.height, : plane.width]).tobytes())
            sums.append(digest.hexdigest())
    return sums


def top_level_boxes(path: Path) -> list[str]:
    """The top-level MP4 box types in file order."""
    boxes = []
    with open(path, "rb") as handle:
        while header := handle.read(8):
            size, kind = struct.unpack(">I4s", header)
            boxes.append(kind.decode("latin-1"))
            if size == 1:
                size = struct.unpack(">Q", handle.read(8))[0]
                handle.seek(size - 16, 1)
            elif size == 0:
                break
            else:
                handle.seek(size - 8, 1)
    return boxes
