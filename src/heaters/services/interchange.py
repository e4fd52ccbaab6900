"""Exports for the tools users already have: a video's review as an OpenTimelineIO timeline (or EDL), and
the library as WebDataset shards.

Dataset export protocol (incremental, resumable, every clip shipped exactly once per dataset):
1. Clips ready and not yet recorded as shipped to this dataset (its output directory) are planned into
   shards by size.
2. Each shard is written to `NAME.partial`, MP4s streamed from storage, then flushed to disk.
3. One transaction records the shard (name, checksum, size) and its clips; then the file is renamed to
   NAME. A run killed before 3 leaves an unrecorded `.partial`, removed by the next run, whose clips are
   still unshipped and go into a new shard. A run killed between the commit and the rename leaves a
   recorded `.partial`; the next run checks its checksum and renames it. So a clip is in exactly one
   finished shard, and in the record of exactly that shard.
One run per dataset at a time (a PostgreSQL session lock).
"""

from __future__ import annotations

import io
import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from heaters.adapters.db import interchange as gateway
from heaters.domain.errors import Refused
from heaters.domain.interchange import (
    PARTIAL_SUFFIX,
    DatasetClip,
    MediaSource,
    TimelineVideo,
    build_timeline,
    choose_media,
    plan_shards,
    sample_record,
    shard_name,
    shard_seq,
)
from heaters.runtime import Runtime

log = logging.getLogger(__name__)
TAR_BLOCK = 512
JSON_ESTIMATE = 2048  # bytes of a sample's JSON member, for shard planning only
# Keyframes (small objects) of the next few clips are fetched ahead by a few threads while the current
# clip's MP4 streams into the shard: on S3 each object is a round trip, and they would otherwise add up.
PREFETCH_CLIPS = 8
PREFETCH_THREADS = 4


# --- timeline


@dataclass(frozen=True)
class TimelineFile:
    data: bytes
    filename: str
    format: str
    clips: int


def export_timeline(runtime: Runtime, video_id: int, format_name: str = "otio") -> TimelineFile:
    """The video's reviewed clips as a timeline file in `format_name` (otio, edl, or any installed
    OpenTimelineIO adapter that writes)."""
    from heaters.adapters.interchange import otio as otio_adapter

    otio_adapter.adapter_name(format_name)  # refuse an unknown format before touching the database
    with runtime.database.engine.connect() as conn:
        video = gateway.video_for_timeline(conn, video_id)
        clips = gateway.timeline_clips(conn, video_id)
    if video.rate is None or not video.frame_count:
        raise Refused(f"video {video_id} is not preprocessed yet (state {video.state}): it has no frames to place")
    media = choose_media(
        _media(runtime, video.master_key, "master", video.frame_count),
        _media(runtime, video.proxy_key, "proxy", video.frame_count),
    )
    spec = build_timeline(
        TimelineVideo(
            video_id=video.video_id,
            title=video.title,
            source_url=video.source_url,
            rate=video.rate,
            frame_count=video.frame_count,
            width=video.width,
            height=video.height,
        ),
        media,
        clips,
    )
    data = otio_adapter.write_timeline(spec, format_name)
    suffix = otio_adapter.suffix_for(format_name)
    placed = sum(len(track.clips) for track in spec.tracks)
    return TimelineFile(data=data, filename=f"heaters-video-{video_id}.{suffix}", format=format_name, clips=placed)


def _media(runtime: Runtime, key: str | None, kind: str, frame_count: int) -> MediaSource | None:
    if not key:
        return None
    return MediaSource(key=key, uri=runtime.storage.object_uri(key), kind=kind, frame_count=frame_count)


# --- dataset


@dataclass
class DatasetRun:
    dataset: str
    shards: list[str] = field(default_factory=list)  # written by this run
    clips: int = 0  # shipped by this run
    bytes: int = 0  # shard bytes written by this run
    recovered: list[str] = field(default_factory=list)  # recorded shards whose rename a killed run missed
    removed: list[str] = field(default_factory=list)  # unrecorded temp shards of a killed run

    def as_json(self) -> dict:
        return {
            "dataset": self.dataset,
            "shards": self.shards,
            "clips": self.clips,
            "bytes": self.bytes,
            "recovered": self.recovered,
            "removed": self.removed,
        }


# (clips done, clips planned, shard bytes written so far)
Progress = Callable[[int, int, int], None]


def _tar_bytes(size: int) -> int:
    return TAR_BLOCK + -(-size // TAR_BLOCK) * TAR_BLOCK


def dataset_name(out_dir: Path | str) -> str:
    """A dataset is its output directory (absolute): incremental runs into it ship only what is new."""
    return str(Path(out_dir).expanduser().resolve())


def export_dataset(
    runtime: Runtime,
    out_dir: Path | str,
    *,
    shard_size: int = 10**9,
    video_ids: Sequence[int] = (),
    since: datetime | None = None,
    embeddings: bool = True,
    progress: Progress | None = None,
    on_shard: Callable[[str, int], None] | None = None,
) -> DatasetRun:
    """Ship every ready clip not yet shipped to `out_dir` as WebDataset shards (see module docstring)."""
    from heaters.adapters.interchange import webdataset_shards as shards

    directory = Path(dataset_name(out_dir))
    directory.mkdir(parents=True, exist_ok=True)
    run = DatasetRun(dataset=str(directory))
    engine = runtime.database.engine
    with engine.connect() as lock, ExitStack() as stack:
        if not gateway.lock_dataset(lock, run.dataset):
            raise Refused(f"another export into {run.dataset} is running; wait for it to finish")
        lock.commit()
        try:
            with engine.connect() as conn:
                recorded = {s.name: s for s in gateway.recorded_shards(conn, run.dataset)}
            _recover(directory, recorded, run)
            with engine.connect() as conn:
                candidates = gateway.shippable_clips(conn, run.dataset, video_ids=video_ids, since=since)
            estimates = [
                _tar_bytes(size) + _tar_bytes(JSON_ESTIMATE) + TAR_BLOCK * (2 + len(clip.keyframes))
                for clip, size in candidates
            ]
            plan = plan_shards(estimates, shard_size)
            on_disk = [shard_seq(p.name) for p in shards.shard_files(directory)]
            seq = max([s.seq for s in recorded.values()] + [s for s in on_disk if s is not None], default=-1) + 1
            done = 0
            pool = ThreadPoolExecutor(PREFETCH_THREADS, thread_name_prefix="dataset-prefetch")
            stack.callback(pool.shutdown)
            for indexes in plan:
                batch = [candidates[i][0] for i in indexes]
                name = shard_name(seq)
                vectors = _vectors(runtime, batch) if embeddings else {}
                writer = shards.ShardWriter(directory, name)
                try:
                    for clip, keyframes in _ahead(pool, batch, lambda c: _keyframes(runtime, c)):
                        _add_sample(runtime, writer, clip, keyframes, vectors.get(int(clip.exported.clip_id)))
                        done += 1
                        if progress:
                            progress(done, len(candidates), run.bytes + writer.bytes_written)
                    sha256, size = writer.finish()
                except BaseException:
                    writer.abort()
                    raise
                # If this commit fails, the `.partial` stays: the next run asks the record whether it
                # was committed after all (finish it) or not (remove it, ship its clips again).
                with engine.begin() as conn:
                    gateway.record_shard(
                        conn,
                        run.dataset,
                        gateway.RecordedShard(seq=seq, name=name, sha256=sha256, size_bytes=size, samples=len(batch)),
                        [int(c.exported.clip_id) for c in batch],
                    )
                shards.finalize(directory, name)
                run.shards.append(name)
                run.clips += len(batch)
                run.bytes += size
                seq += 1
                if on_shard:
                    on_shard(name, len(batch))
        finally:
            gateway.unlock_dataset(lock, run.dataset)
            lock.commit()
    return run


def _recover(directory: Path, recorded: dict, run: DatasetRun) -> None:
    """Finish what a killed run left: rename recorded temp shards, remove unrecorded ones."""
    from heaters.adapters.interchange import webdataset_shards as shards

    for path in shards.shard_files(directory):
        if not path.name.endswith(PARTIAL_SUFFIX):
            continue
        name = path.name[: -len(PARTIAL_SUFFIX)]
        record = recorded.get(name)
        if record is not None and not (directory / name).exists():
            if shards.file_sha256(path) != record.sha256:  # never delete what the record says was shipped
                log.error("%s does not match the checksum recorded for %s; left in place", path, name)
                continue
            shards.finalize(directory, name)
            run.recovered.append(name)
            log.info("finished shard %s left by an interrupted run", name)
        else:
            path.unlink()
            run.removed.append(path.name)
            log.info("removed %s left by an interrupted run (its clips were not recorded)", path.name)


def _vectors(runtime: Runtime, batch: list[DatasetClip]) -> dict[int, list[float]]:
    wanted = [(int(c.exported.clip_id), c.embedding_model, c.embedding_strategy) for c in batch if c.embedding_model]
    with runtime.database.engine.connect() as conn:
        return gateway.embedding_vectors(conn, wanted)


def _ahead(pool: ThreadPoolExecutor, items: Iterable, fetch: Callable, window: int = PREFETCH_CLIPS) -> Iterator:
    """(item, fetch(item)) in order, with fetches running up to `window` items ahead."""
    items = iter(items)
    pending: deque = deque()
    for item in items:
        pending.append((item, pool.submit(fetch, item)))
        if len(pending) >= window:
            break
    while pending:
        item, future = pending.popleft()
        following = next(items, None)
        if following is not None:
            pending.append((following, pool.submit(fetch, following)))
        yield item, future.result()


def _keyframes(runtime: Runtime, clip: DatasetClip) -> dict[str, bytes]:
    return {member: runtime.storage.read_bytes(key) for member, key in clip.keyframes}


def _add_sample(
    runtime: Runtime, writer, clip: DatasetClip, keyframes: dict[str, bytes], vector: list[float] | None
) -> None:
    members: dict = dict(keyframes)
    if vector is not None:
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(vector, dtype=np.float32), allow_pickle=False)
        members["npy"] = buffer.getvalue()
    members["json"] = sample_record(clip, with_embedding=vector is not None)
    exported = clip.exported
    with runtime.storage.open(exported.storage_key) as stream:
        writer.add(clip.key, stream, exported.size_bytes, exported.sha256, members)
