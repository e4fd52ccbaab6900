"""Keyframe images of a clip: decode the frames the keyframe strategy picks and encode them as images.

Each pick is reached by seeking to its timestamp and decoding forward to it, so a long clip is not
decoded whole (on an all-intra clip the seek lands on the frame itself: one decode per keyframe).
The clip may be a file path, an http(s) URL, or the MP4 bytes of a clip just cut in memory.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image

from heaters.adapters.media.inputs import open_media
from heaters.domain.errors import BadInput
from heaters.domain.keyframes import KeyframePick, KeyframeStrategy, keyframe_picks, parse_keyframe_strategy

# Pillow format name -> (file extension, content type, save options)
IMAGE_FORMATS = {
    "jpeg": ("jpg", "image/jpeg", {"quality": 90}),
    "webp": ("webp", "image/webp", {"quality": 85}),
    "png": ("png", "image/png", {}),
}


@dataclass(frozen=True)
class Keyframe:
    percent: int
    frame_index: int  # clip-relative
    timestamp_seconds: float  # clip-relative
    image: Image.Image  # RGB, for embedding without a JPEG round trip
    data: bytes  # encoded image
    ext: str  # "jpg", "webp", "png"
    content_type: str


def extract_keyframes(
    clip: str | Path | bytes,
    strategy: KeyframeStrategy | str = "percent:25,50,75",
    image_format: str = "jpeg",
) -> list[Keyframe]:
    """Keyframes of `clip` at the strategy's positions, in strategy order."""
    if isinstance(strategy, str):
        strategy = parse_keyframe_strategy(strategy)
    fmt = image_format.lower()
    if fmt == "jpg":
        fmt = "jpeg"
    if fmt not in IMAGE_FORMATS:
        raise BadInput(f"keyframe image format must be one of {sorted(IMAGE_FORMATS)}, got {image_format!r}")
    ext, content_type, save_options = IMAGE_FORMATS[fmt]

    with _open(clip) as container:
        if not container.streams.video:
            raise BadInput("clip has no video stream")
        stream = container.streams.video[0]
        fps = Fraction(stream.average_rate or stream.guessed_rate or 0)
        if not fps:
            raise BadInput("clip has no frame rate")
        tb = Fraction(stream.time_base)
        first_pts = stream.start_time or 0
        frame_count = stream.frames or _count_packets(container, stream)
        picks = keyframe_picks(strategy, frame_count)
        images = _decode_frames(container, stream, picks, fps, tb, first_pts)

    keyframes = []
    for pick in picks:
        image = images[pick.frame_index]
        buffer = io.BytesIO()
        image.save(buffer, format=fmt.upper(), **save_options)
        keyframes.append(
            Keyframe(
                percent=pick.percent,
                frame_index=pick.frame_index,
                timestamp_seconds=float(pick.frame_index / fps),
                image=image,
                data=buffer.getvalue(),
                ext=ext,
                content_type=content_type,
            )
        )
    return keyframes


def _open(clip: str | Path | bytes) -> av.container.InputContainer:
    try:
        if isinstance(clip, bytes | bytearray):
            return av.open(io.BytesIO(clip))
        return open_media(clip, "clip", derived=True)
    except av.FFmpegError as exc:
        raise BadInput(f"cannot open clip: {exc}") from exc


def _count_packets(container, stream) -> int:
    count = sum(1 for packet in container.demux(stream) if packet.size)
    container.seek(0, stream=stream)
    return count


def _decode_frames(container, stream, picks: list[KeyframePick], fps, tb, first_pts) -> dict[int, Image.Image]:
    """Decode each distinct picked frame: seek to it (backward to a keyframe), decode forward to it."""
    wanted = sorted({pick.frame_index for pick in picks})
    images: dict[int, Image.Image] = {}
    for target in wanted:
        container.seek(first_pts + round(Fraction(target) / fps / tb), stream=stream, backward=True)
        for frame in container.decode(stream):
            if frame.pts is None:
                continue
            index = round((frame.pts - first_pts) * tb * fps)
            if index >= target:
                images[target] = frame.to_image()
                break
        if target not in images:
            raise BadInput(f"clip ended before keyframe frame {target}")
    return images
