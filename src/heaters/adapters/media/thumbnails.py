"""Thumbnails for the review page's timeline strip: a few frames of the proxy, side by side in one JPEG.

One image (a sprite) instead of one request per tile: the strip of a video is fetched once and cached.
On the all-intra proxy every seek lands on the wanted frame itself, so N tiles cost N single-frame
decodes, not a pass over the video.
"""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image

from heaters.adapters.media.inputs import open_media
from heaters.domain.errors import BadInput


def strip_frames(frame_count: int, tiles: int) -> list[int]:
    """The frame shown by each tile: the middle of each of `tiles` equal slices of the video."""
    tiles = max(1, min(tiles, frame_count))
    return [min(frame_count - 1, int((i + 0.5) * frame_count / tiles)) for i in range(tiles)]


def timeline_strip(source: str | Path, frames: list[int], tile_height: int = 72, quality: int = 80) -> bytes:
    """A JPEG with the given proxy frames side by side, each `tile_height` pixels high."""
    if not frames:
        raise BadInput("a timeline strip needs at least one frame")
    try:
        container = open_media(source, "proxy", derived=True)
    except av.FFmpegError as exc:
        raise BadInput(f"cannot open proxy: {str(source).split('?', 1)[0]}: {exc}") from exc
    with container:
        if not container.streams.video:
            raise BadInput("proxy has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        fps = Fraction(stream.average_rate or stream.guessed_rate or 25)
        tb = Fraction(stream.time_base)
        first_pts = stream.start_time or 0
        width = max(2, round(stream.codec_context.width * tile_height / max(1, stream.codec_context.height)))
        width -= width % 2
        sprite = Image.new("RGB", (width * len(frames), tile_height))
        last: Image.Image | None = None
        for slot, target in enumerate(frames):
            image = _frame_at(container, stream, target, fps, tb, first_pts, width, tile_height) or last
            if image is not None:
                sprite.paste(image, (slot * width, 0))
                last = image
    buffer = io.BytesIO()
    sprite.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _frame_at(container, stream, target: int, fps, tb, first_pts, width: int, height: int) -> Image.Image | None:
    container.seek(first_pts + round(Fraction(target) / fps / tb), stream=stream, backward=True)
    for frame in container.decode(stream):
        if frame.pts is None:
            continue
        if round((frame.pts - first_pts) * tb * fps) >= target:
            return frame.reformat(width=width, height=height, format="rgb24").to_image()
    return None
