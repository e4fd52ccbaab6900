"""The clip library: exported clips with their keyframes, filters and pages, the files behind them, and
similar-clip lists shaped for the web (thumbnail and video URLs attached to each hit).

Search itself (pgvector) lives in `heaters.services.search`; this module only lists, looks up and decorates.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from heaters.adapters.db.models import Artifact, Clip, Embedding, SourceVideo
from heaters.domain.errors import BadInput, NotFound
from heaters.domain.states import ClipState
from heaters.runtime import Runtime
from heaters.services import search

C = ClipState
# States a clip passes through once its exported file exists (failed keyframe/embedding runs keep it).
LIBRARY_STATES: tuple[ClipState, ...] = (
    C.EXPORTED,
    C.KEYFRAMING,
    C.KEYFRAMED,
    C.KEYFRAME_FAILED,
    C.EMBEDDING,
    C.EMBEDDED,
    C.EMBEDDING_FAILED,
)
MAX_PAGE = 200


def export_url(clip_id: int) -> str:
    return f"/clips/{clip_id}/export.mp4"


def keyframe_url(artifact_id: int) -> str:
    return f"/keyframes/{artifact_id}"


@dataclass(frozen=True)
class LibraryClip:
    clip_id: int
    video_id: int
    video_title: str
    start_frame: int
    end_frame: int
    fps: float
    state: str
    export_size: int | None
    keyframe_ids: tuple[int, ...]  # in clip order (by percent)

    @property
    def thumbnail_id(self) -> int | None:
        """The middle keyframe: the most representative of the clip, and never a fade in or out."""
        return self.keyframe_ids[len(self.keyframe_ids) // 2] if self.keyframe_ids else None

    def as_json(self) -> dict:
        frames = self.end_frame - self.start_frame
        return {
            "clip_id": self.clip_id,
            "video_id": self.video_id,
            "video_title": self.video_title,
            "start_frame": self.start_frame,
            "end_frame": self.end_frame,
            "frames": frames,
            "fps": self.fps,
            "start_seconds": self.start_frame / self.fps,
            "end_seconds": self.end_frame / self.fps,
            "duration_seconds": frames / self.fps,
            "state": self.state,
            "export_size": self.export_size,
            "export_url": export_url(self.clip_id),
            "download_url": export_url(self.clip_id) + "?download=1",
            "thumbnail_url": keyframe_url(self.thumbnail_id) if self.thumbnail_id else None,
            "keyframe_urls": [keyframe_url(k) for k in self.keyframe_ids],
            "searchable": self.state == C.EMBEDDED,
        }


@dataclass(frozen=True)
class LibraryPage:
    clips: tuple[LibraryClip, ...]
    total: int
    offset: int
    limit: int

    @property
    def next_offset(self) -> int | None:
        end = self.offset + len(self.clips)
        return end if end < self.total else None

    def as_json(self) -> dict:
        return {
            "clips": [c.as_json() for c in self.clips],
            "total": self.total,
            "offset": self.offset,
            "next_offset": self.next_offset,
        }


def _check_state(state: str | None) -> None:
    if state and state not in LIBRARY_STATES:
        raise BadInput(f"state must be one of {', '.join(LIBRARY_STATES)}")


def list_clips(
    runtime: Runtime, *, video_id: int | None = None, state: str | None = None, offset: int = 0, limit: int = 48
) -> LibraryPage:
    """Exported clips, by video then time, optionally of one video and/or in one state."""
    _check_state(state)
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise BadInput(f"limit must be 1..{MAX_PAGE} and offset not negative")
    where = [Clip.state.in_([state] if state else LIBRARY_STATES)]
    if video_id is not None:
        where.append(Clip.video_id == video_id)
    with runtime.database.sessions() as session:
        total = session.scalar(select(func.count()).select_from(Clip).where(*where))
        rows = session.execute(
            select(Clip, SourceVideo)
            .join(SourceVideo, SourceVideo.id == Clip.video_id)
            .where(*where)
            .order_by(Clip.video_id, Clip.start_frame, Clip.id)
            .offset(offset)
            .limit(limit)
        ).all()
        clips = _library_clips(session, rows)
    return LibraryPage(clips, total or 0, offset, limit)


def library_clips(runtime: Runtime, clip_ids: list[int]) -> dict[int, LibraryClip]:
    """The library view of the given clips (any state), by id."""
    if not clip_ids:
        return {}
    with runtime.database.sessions() as session:
        rows = session.execute(
            select(Clip, SourceVideo).join(SourceVideo, SourceVideo.id == Clip.video_id).where(Clip.id.in_(clip_ids))
        ).all()
        return {c.clip_id: c for c in _library_clips(session, rows)}


def _library_clips(session, rows) -> tuple[LibraryClip, ...]:
    ids = [clip.id for clip, _ in rows]
    artifacts = session.execute(
        select(Artifact.clip_id, Artifact.id, Artifact.kind, Artifact.size_bytes, Artifact.details).where(
            Artifact.clip_id.in_(ids), Artifact.kind.in_(("export", "keyframe"))
        )
    ).all()
    sizes = {a.clip_id: a.size_bytes for a in artifacts if a.kind == "export"}
    keyframes: dict[int, list[tuple[float, int]]] = {}
    for a in artifacts:
        if a.kind == "keyframe":
            keyframes.setdefault(a.clip_id, []).append((float((a.details or {}).get("percent", 0)), a.id))
    return tuple(
        LibraryClip(
            clip_id=clip.id,
            video_id=video.id,
            video_title=video.title or video.source,
            start_frame=clip.start_frame,
            end_frame=clip.end_frame,
            fps=video.fps or 25.0,
            state=clip.state,
            export_size=sizes.get(clip.id),
            keyframe_ids=tuple(i for _, i in sorted(keyframes.get(clip.id, []))),
        )
        for clip, video in rows
    )


def library_videos(runtime: Runtime) -> list[dict]:
    """Videos that have exported clips, with their count (for the filter)."""
    with runtime.database.sessions() as session:
        rows = session.execute(
            select(SourceVideo.id, SourceVideo.title, SourceVideo.source, func.count(Clip.id))
            .join(Clip, Clip.video_id == SourceVideo.id)
            .where(Clip.state.in_(LIBRARY_STATES))
            .group_by(SourceVideo.id)
            .order_by(SourceVideo.id)
        ).all()
    return [{"id": r[0], "title": r[1] or r[2], "clips": r[3]} for r in rows]


def state_counts(runtime: Runtime, video_id: int | None = None) -> dict[str, int]:
    query = select(Clip.state, func.count()).where(Clip.state.in_(LIBRARY_STATES)).group_by(Clip.state)
    if video_id is not None:
        query = query.where(Clip.video_id == video_id)
    with runtime.database.sessions() as session:
        counts = dict(session.execute(query).all())
    return {s.value: counts.get(s, 0) for s in LIBRARY_STATES}


# --- files


@dataclass(frozen=True)
class StoredFile:
    key: str
    content_type: str
    etag: str
    size: int | None
    filename: str


def export_file(runtime: Runtime, clip_id: int) -> StoredFile:
    with runtime.database.sessions() as session:
        row = session.execute(
            select(Artifact.key, Artifact.sha256, Artifact.size_bytes, SourceVideo.title, SourceVideo.source)
            .join(SourceVideo, SourceVideo.id == Artifact.video_id)
            .where(Artifact.clip_id == clip_id, Artifact.kind == "export")
            .order_by(Artifact.id.desc())
            .limit(1)
        ).first()
    if row is None:
        raise NotFound(f"clip {clip_id} has no exported file")
    etag = f'"{row.sha256}"' if row.sha256 else f'"e{clip_id}-{row.size_bytes}"'
    return StoredFile(row.key, "video/mp4", etag, row.size_bytes, _download_name(row.title or row.source, clip_id))


def keyframe_file(runtime: Runtime, artifact_id: int) -> StoredFile:
    with runtime.database.sessions() as session:
        artifact = session.get(Artifact, artifact_id)
    if artifact is None or artifact.kind != "keyframe":
        raise NotFound(f"no keyframe {artifact_id}")
    # Keyframes carry no checksum; key, size and the extraction's timestamp change whenever the image would.
    version = f"{artifact.size_bytes}-{(artifact.details or {}).get('frame_index')}"
    return StoredFile(
        artifact.key, artifact.content_type or "image/jpeg", f'"k{artifact.id}-{version}"', artifact.size_bytes, ""
    )


def _download_name(title: str, clip_id: int) -> str:
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in title.rsplit("/", 1)[-1])
    stem = stem.strip("_")[:60] or "clip"
    return f"{stem}-clip{clip_id}.mp4"


# --- similar clips, decorated for the web


def decorate(runtime: Runtime, hits: list[search.Hit]) -> list[dict]:
    """Each hit's JSON plus what a card shows: thumbnail, export URL, state and times."""
    views = library_clips(runtime, [h.clip_id for h in hits])
    decorated = []
    for hit in hits:
        view = views.get(hit.clip_id)
        decorated.append((view.as_json() if view else {}) | hit.as_json())
    return decorated


def similar(runtime: Runtime, clip_id: int, k: int = 12) -> list[dict]:
    return decorate(runtime, search.similar_to_clip(runtime, clip_id, k=k))


def text_search(runtime: Runtime, text: str, k: int = 12) -> list[dict]:
    return decorate(runtime, search.similar_to_text(runtime, text, k=k))


def review_neighbour(runtime: Runtime, clip_id: int) -> dict | None:
    """The embedded clip that stands in for `clip_id` in the review page's similar-clips panel, or None.

    A clip under review has no embedding of its own (only exported clips are embedded), and embedding its
    frames on the fly would cost a model run per key press on CPU. Instead we take the embedded clip of the
    same video whose frames are nearest to this clip's (the clip itself once it is embedded): neighbouring
    shots of one video usually share place, light and people, so its neighbours are a fair, nearly free
    (one indexed query) guess. None when the video has no embedded clip yet: the panel stays hidden.
    """
    with runtime.database.sessions() as session:
        clip = session.get(Clip, clip_id)
        if clip is None:
            raise NotFound(f"no clip {clip_id}")
        # Frames between the two ranges (0 when they overlap), then the nearer start as a tie-break.
        gap = func.greatest(Clip.start_frame - clip.end_frame, clip.start_frame - Clip.end_frame, 0)
        row = session.execute(
            select(Clip.id, Clip.start_frame, Clip.end_frame)
            .where(Clip.video_id == clip.video_id, Clip.id.in_(select(Embedding.clip_id)))
            .order_by(gap, func.abs(Clip.start_frame - clip.start_frame), Clip.id)
            .limit(1)
        ).first()
        if row is None:
            return None
        fps = session.scalar(select(SourceVideo.fps).where(SourceVideo.id == clip.video_id)) or 25.0
        offset_frames = row.start_frame - clip.start_frame
    return {"clip_id": row.id, "offset_seconds": offset_frames / fps, "same_clip": row.id == clip_id}


def similar_for_review(runtime: Runtime, clip_id: int, k: int = 6) -> dict:
    """{"anchor": {...} | None, "hits": [...]}: clips like this one's nearest embedded neighbour, without it."""
    anchor = review_neighbour(runtime, clip_id)
    if anchor is None:
        return {"anchor": None, "hits": []}
    hits = [h for h in similar(runtime, anchor["clip_id"], k=k + 1) if h["clip_id"] not in (anchor["clip_id"], clip_id)]
    return {"anchor": anchor, "hits": hits[:k]}
