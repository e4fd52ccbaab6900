"""The media and stored files the web serves: a clip's frames cut from the proxy, a video's timeline strip,
and stored objects (exports, keyframes) as paths, streams or presigned URLs. The web reaches storage and the
media adapters only through here; caching the bytes is the web's business."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from heaters.adapters.db.uow import connection
from heaters.domain.errors import NotFound
from heaters.runtime import Runtime


@dataclass(frozen=True)
class ClipMedia:
    """Where a clip's frames come from: enough to cut it and to cache the result."""

    clip_id: int
    start_frame: int
    end_frame: int
    proxy_key: str | None
    # While a chunked video is preprocessed (no proxy yet): (first frame, proxy segment key) of its finished
    # chunks, and the grid's rate; the clip is cut from them.
    segments: tuple[tuple[int, str], ...] = ()
    fps: float | None = None

    @property
    def version(self) -> str:
        """Changes whenever the clip's frames would (a cut operation), so caching by it is safe."""
        return f"{self.start_frame}-{self.end_frame}" + ("-segments" if self.segments else "")


@dataclass(frozen=True)
class StripMedia:
    video_id: int
    proxy_key: str
    frame_count: int


def clip_media(runtime: Runtime, clip_id: int) -> ClipMedia:
    with connection(runtime.database) as uow:
        # Every clip request starts here: plain reads, each atomic on its own (under READ COMMITTED a transaction
        # would give each its own snapshot anyway), so no BEGIN/ROLLBACK round trips around them.
        uow.autocommit()
        clip = uow.clips.get(clip_id)
        video = uow.videos.get(clip.video_id) if clip is not None else None
        chunks = uow.chunks.of_video(video.id) if video is not None and not video.proxy_key else []
    if clip is None or video is None:
        raise NotFound(f"no clip {clip_id}")
    if not video.proxy_key:
        from heaters.domain import storage_keys
        from heaters.domain.chunks import ChunkState

        covering = [
            c
            for c in chunks
            if c.index >= 0
            and c.first_frame < clip.end_frame
            and (c.stop_frame is None or c.stop_frame > clip.start_frame)
        ]
        held = clip.start_frame
        for c in covering:  # in frame order; every one must be finished
            if c.state != ChunkState.DONE or c.first_frame > held:
                break
            held = max(held, c.first_frame + (c.frame_count or 0))
        if held < clip.end_frame:
            raise NotFound(f"clip {clip_id}'s video has no proxy yet")
        segments = tuple((c.first_frame, storage_keys.chunk_key(video.id, c.index, "proxy.mp4")) for c in covering)
        return ClipMedia(clip_id, clip.start_frame, clip.end_frame, None, segments, video.fps)
    return ClipMedia(clip_id, clip.start_frame, clip.end_frame, video.proxy_key)


def write_clip_file(runtime: Runtime, media: ClipMedia, path: Path) -> Path:
    """The clip as a standalone MP4 file at `path`: a stream copy of exactly its frames from the all-intra proxy
    (the web serves ranges from the file, never holding the clip in memory)."""
    from heaters.adapters.media.clip import write_clip

    if media.segments:
        from fractions import Fraction

        from heaters.adapters.media.chunks import cut_from_segments

        inputs = [(first, runtime.storage.media_input(key)) for first, key in media.segments]
        rate = Fraction(media.fps).limit_denominator(1001)
        return cut_from_segments(inputs, media.start_frame, media.end_frame, path, rate)
    return write_clip(runtime.storage.media_input(media.proxy_key), media.start_frame, media.end_frame, path)


def strip_media(runtime: Runtime, video_id: int) -> StripMedia:
    with connection(runtime.database) as uow:
        uow.autocommit()  # one read (see clip_media)
        video = uow.videos.get(video_id)
    if video is None:
        raise NotFound(f"no video {video_id}")
    if not video.proxy_key or not video.frame_count:
        raise NotFound(f"video {video_id} has no proxy yet")
    return StripMedia(video_id, video.proxy_key, video.frame_count)


def strip_frames(media: StripMedia, tiles: int) -> list[int]:
    from heaters.adapters.media.thumbnails import strip_frames as frames_of_strip

    return frames_of_strip(media.frame_count, tiles)


def strip_bytes(runtime: Runtime, media: StripMedia, frames: list[int]) -> bytes:
    """A JPEG of the given proxy frames side by side (the timeline strip)."""
    from heaters.adapters.media.thumbnails import timeline_strip

    return timeline_strip(runtime.storage.media_input(media.proxy_key), frames)


# --- stored objects


def read_bytes(runtime: Runtime, key: str) -> bytes:
    return runtime.storage.read_bytes(key)


def local_path(runtime: Runtime, key: str) -> Path | None:
    """The object's file when storage is local (served with ranges by the web server), else None."""
    return runtime.storage.local_path(key)


def presigned_url(runtime: Runtime, key: str) -> str:
    """A short-lived URL the browser can read the object from (ranges included), signed for the public
    endpoint when one is configured (HEATERS_S3_PUBLIC_ENDPOINT_URL)."""
    return runtime.storage.browser_url(key, expires=runtime.settings.presigned_url_seconds)


def stream(runtime: Runtime, key: str, block_size: int = 1024 * 1024) -> Iterator[bytes]:
    with runtime.storage.open(key) as handle:
        while block := handle.read(block_size):
            yield block
