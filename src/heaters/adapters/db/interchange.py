"""Gateway for exports to other tools (OpenTimelineIO timelines, WebDataset shards): the reads they need
and the record of which clips were shipped to which dataset. Plain SQL over a SQLAlchemy Connection;
returns plain dataclasses and domain values.

Shipping protocol (see `services.interchange`): a shard's row and its clips' shipment rows are written in
one transaction, so a clip is either recorded in exactly one shard of a dataset or in none (the primary
key (dataset, clip_id) refuses a second record).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import PurePosixPath

from sqlalchemy import Connection, bindparam, text

from heaters.domain.errors import NotFound
from heaters.domain.interchange import (
    SHIPPABLE_STATES,
    DatasetClip,
    TimelineClip,
    exact_rate,
    keyframe_member,
)
from heaters.domain.manifest import ExportedClip
from heaters.domain.records import ArtifactKind
from heaters.domain.states import ClipState


@dataclass(frozen=True)
class VideoForTimeline:
    video_id: int
    title: str | None
    source_url: str | None
    state: str
    rate: Fraction | None
    frame_count: int | None
    width: int | None
    height: int | None
    master_key: str | None
    proxy_key: str | None


def video_for_timeline(conn: Connection, video_id: int) -> VideoForTimeline:
    row = (
        conn.execute(
            text(
                "SELECT id, title, source_url, state, fps, frame_count, width, height, master_key, proxy_key, "
                "probe->>'average_rate' AS average_rate, probe->>'nominal_rate' AS nominal_rate "
                "FROM source_videos WHERE id = :id"
            ),
            {"id": video_id},
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"no video {video_id}")
    rate = exact_rate(row["fps"], row["average_rate"], row["nominal_rate"]) if row["fps"] else None
    return VideoForTimeline(
        video_id=row["id"],
        title=row["title"],
        source_url=row["source_url"],
        state=row["state"],
        rate=rate,
        frame_count=row["frame_count"],
        width=row["width"],
        height=row["height"],
        master_key=row["master_key"],
        proxy_key=row["proxy_key"],
    )


# The detector's confidence in the cut that starts a clip (None for the video's first clip and for a cut a
# reviewer made).
_CONFIDENCE_OF_CLIP_START = (
    "(SELECT b.confidence FROM clip_boundaries b "
    " WHERE b.video_id = c.video_id AND b.frame = c.start_frame AND NOT b.suggested)"
)


def timeline_clips(conn: Connection, video_id: int) -> list[TimelineClip]:
    """The video's clips (superseded ones left out) with reviewer, group and exported file."""
    rows = conn.execute(
        text(
            "SELECT c.id, c.start_frame, c.end_frame, c.state, c.group_id, u.name AS reviewer, c.reviewed_at, "
            "(SELECT a.key FROM artifacts a WHERE a.clip_id = c.id AND a.kind = :export "
            " ORDER BY a.id DESC LIMIT 1) AS export_key, "
            f"{_CONFIDENCE_OF_CLIP_START} AS confidence "
            "FROM clips c LEFT JOIN users u ON u.id = c.reviewer_id "
            "WHERE c.video_id = :video AND c.state <> :superseded ORDER BY c.start_frame"
        ),
        {"video": video_id, "export": ArtifactKind.EXPORT, "superseded": ClipState.SUPERSEDED},
    ).mappings()
    return [
        TimelineClip(
            clip_id=r["id"],
            start_frame=r["start_frame"],
            end_frame=r["end_frame"],
            state=r["state"],
            group=r["group_id"],
            reviewer=r["reviewer"],
            reviewed_at=r["reviewed_at"].isoformat() if r["reviewed_at"] else None,
            confidence=r["confidence"],
            export_key=r["export_key"],
        )
        for r in rows
    ]


# --- datasets


def shippable_clips(
    conn: Connection, dataset: str, *, video_ids: Sequence[int] = (), since: datetime | None = None
) -> list[tuple[DatasetClip, int]]:
    """Clips ready to ship and not yet shipped to `dataset`, in (video, start frame) order, each with an
    estimate of its bytes in a shard (files only; the caller adds headers)."""
    filters = [
        "c.state IN :states",
        "NOT EXISTS (SELECT 1 FROM dataset_shipments s WHERE s.dataset = :dataset AND s.clip_id = c.id)",
    ]
    params: dict = {"dataset": dataset, "states": [str(s) for s in SHIPPABLE_STATES], "export": ArtifactKind.EXPORT}
    if video_ids:
        filters.append("c.video_id IN :videos")
        params["videos"] = list(video_ids)
    if since is not None:
        filters.append("a.created_at >= :since")
        params["since"] = since
    statement = text(
        "SELECT c.id AS clip_id, c.video_id, c.group_id, u.name AS reviewer, v.source_url, v.title, v.fps, "
        "a.key, a.sha256, a.size_bytes, a.details, a.created_at, "
        "e.model AS embedding_model, e.strategy AS embedding_strategy, e.dimension, "
        f"{_CONFIDENCE_OF_CLIP_START} AS confidence "
        "FROM clips c JOIN source_videos v ON v.id = c.video_id "
        "JOIN LATERAL (SELECT * FROM artifacts a WHERE a.clip_id = c.id AND a.kind = :export "
        "  ORDER BY a.id DESC LIMIT 1) a ON true "
        "LEFT JOIN users u ON u.id = c.reviewer_id "
        "LEFT JOIN LATERAL (SELECT model, strategy, dimension FROM embeddings e WHERE e.clip_id = c.id "
        "  ORDER BY e.created_at DESC, e.id DESC LIMIT 1) e ON true "
        f"WHERE {' AND '.join(filters)} ORDER BY c.video_id, c.start_frame, c.id"
    ).bindparams(bindparam("states", expanding=True))
    if video_ids:
        statement = statement.bindparams(bindparam("videos", expanding=True))
    rows = conn.execute(statement, params).mappings().all()
    keyframes = _keyframes_of(conn, [r["clip_id"] for r in rows])
    result = []
    for r in rows:
        details = r["details"] or {}
        exported = ExportedClip(
            video_id=r["video_id"],
            source_url=r["source_url"],
            source_title=r["title"],
            clip_id=r["clip_id"],
            start_frame=details["start_frame"],
            end_frame=details["end_frame"],
            fps=Fraction(details["fps"]) if details.get("fps") else Fraction(r["fps"]).limit_denominator(1001),
            storage_key=r["key"],
            sha256=r["sha256"],
            size_bytes=r["size_bytes"],
            group=r["group_id"],
            reviewer=r["reviewer"],
            exported_at=r["created_at"].isoformat() if r["created_at"] else None,
        )
        frames = keyframes.get(r["clip_id"], [])
        clip = DatasetClip(
            exported=exported,
            keyframes=tuple((name, key) for name, key, _ in frames),
            embedding_model=r["embedding_model"],
            embedding_strategy=r["embedding_strategy"],
            confidence=r["confidence"],
        )
        estimate = (r["size_bytes"] or 0) + sum(size or 0 for _, _, size in frames) + 4 * (r["dimension"] or 0)
        result.append((clip, estimate))
    return result


def _keyframes_of(conn: Connection, clip_ids: list[int]) -> dict[int, list[tuple[str, str, int | None]]]:
    if not clip_ids:
        return {}
    rows = conn.execute(
        text(
            "SELECT clip_id, key, size_bytes FROM artifacts WHERE kind = :keyframe AND clip_id IN :ids "
            "ORDER BY clip_id, key"
        ).bindparams(bindparam("ids", expanding=True)),
        {"ids": clip_ids, "keyframe": ArtifactKind.KEYFRAME},
    )
    found: dict[int, list[tuple[str, str, int | None]]] = {}
    for clip_id, key, size in rows:
        stem, _, ext = PurePosixPath(key).name.partition(".")
        found.setdefault(clip_id, []).append((keyframe_member(stem, ext), key, size))
    return found


def embedding_vectors(conn: Connection, wanted: Sequence[tuple[int, str, str]]) -> dict[int, list[float]]:
    """clip id → its vector, for each (clip id, model, strategy) wanted that has one. One query."""
    if not wanted:
        return {}
    rows = conn.execute(
        text(
            "SELECT e.clip_id, e.embedding::real[] FROM embeddings e "
            "JOIN unnest(CAST(:clips AS integer[]), CAST(:models AS text[]), CAST(:strategies AS text[])) "
            "  AS w(clip_id, model, strategy) "
            "ON e.clip_id = w.clip_id AND e.model = w.model AND e.strategy = w.strategy"
        ),
        {
            "clips": [c for c, _, _ in wanted],
            "models": [m for _, m, _ in wanted],
            "strategies": [s for _, _, s in wanted],
        },
    )
    return {clip_id: [float(x) for x in vector] for clip_id, vector in rows}


@dataclass(frozen=True)
class RecordedShard:
    seq: int
    name: str
    sha256: str
    size_bytes: int
    samples: int


def lock_dataset(conn: Connection, dataset: str) -> bool:
    """Take the dataset's session lock on `conn` (held until that connection closes or unlocks): one
    export per dataset at a time. False if another process holds it."""
    return bool(
        conn.execute(text("SELECT pg_try_advisory_lock(hashtext('dataset'), hashtext(:d))"), {"d": dataset}).scalar()
    )


def unlock_dataset(conn: Connection, dataset: str) -> None:
    conn.execute(text("SELECT pg_advisory_unlock(hashtext('dataset'), hashtext(:d))"), {"d": dataset})


def recorded_shards(conn: Connection, dataset: str) -> list[RecordedShard]:
    rows = conn.execute(
        text("SELECT seq, name, sha256, size_bytes, samples FROM dataset_shards WHERE dataset = :d ORDER BY seq"),
        {"d": dataset},
    )
    return [RecordedShard(*row) for row in rows]


def record_shard(conn: Connection, dataset: str, shard: RecordedShard, clip_ids: Iterable[int]) -> None:
    """The shard and its clips, in the caller's transaction. A clip already shipped to this dataset
    violates the primary key: the transaction fails and nothing of this shard is recorded."""
    shard_id = conn.execute(
        text(
            "INSERT INTO dataset_shards (dataset, seq, name, sha256, size_bytes, samples) "
            "VALUES (:d, :seq, :name, :sha, :size, :samples) RETURNING id"
        ),
        {
            "d": dataset,
            "seq": shard.seq,
            "name": shard.name,
            "sha": shard.sha256,
            "size": shard.size_bytes,
            "samples": shard.samples,
        },
    ).scalar_one()
    conn.execute(
        text("INSERT INTO dataset_shipments (dataset, clip_id, shard_id) VALUES (:d, :clip, :shard)"),
        [{"d": dataset, "clip": clip_id, "shard": shard_id} for clip_id in clip_ids],
    )


def shipped_clips(conn: Connection, dataset: str) -> dict[int, str]:
    """clip id → shard name, for every clip shipped to `dataset`."""
    rows = conn.execute(
        text(
            "SELECT s.clip_id, d.name FROM dataset_shipments s JOIN dataset_shards d ON d.id = s.shard_id "
            "WHERE s.dataset = :d"
        ),
        {"d": dataset},
    )
    return {clip_id: name for clip_id, name in rows}
