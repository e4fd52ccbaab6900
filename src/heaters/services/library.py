"""The clip library: exported clips with their keyframes, filters and pages, the files behind them, and
similar-clip lists. The web layer turns these values into JSON with the URLs of each clip's media.

Search itself (pgvector) lives in `heaters.services.search`; this module lists, looks up and decorates.
"""

from __future__ import annotations

from dataclasses import dataclass

from heaters.adapters.db.library import ClipCard
from heaters.adapters.db.uow import connection
from heaters.domain.errors import BadInput, NotFound
from heaters.domain.framegrid import DEFAULT_FPS
from heaters.domain.states import EXPORTED_STATES, ClipState
from heaters.runtime import Runtime
from heaters.services import search

C = ClipState
# States a clip passes through once its exported file exists, in pipeline order (the filter's order).
LIBRARY_STATES: tuple[ClipState, ...] = (
    C.EXPORTED,
    C.KEYFRAMING,
    C.KEYFRAMED,
    C.KEYFRAME_FAILED,
    C.EMBEDDING,
    C.EMBEDDED,
    C.EMBEDDING_FAILED,
)
assert set(LIBRARY_STATES) == EXPORTED_STATES
MAX_PAGE = 200


@dataclass(frozen=True)
class LibraryPage:
    cards: tuple[ClipCard, ...]
    total: int
    offset: int
    limit: int

    @property
    def next_offset(self) -> int | None:
        end = self.offset + len(self.cards)
        return end if end < self.total else None


def list_clips(
    runtime: Runtime, *, video_id: int | None = None, state: str | None = None, offset: int = 0, limit: int = 48
) -> LibraryPage:
    """Exported clips, by video then time, optionally of one video and/or in one state."""
    if state and state not in LIBRARY_STATES:
        raise BadInput(f"state must be one of {', '.join(LIBRARY_STATES)}")
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise BadInput(f"limit must be 1..{MAX_PAGE} and offset not negative")
    with connection(runtime.database) as uow:
        cards, total = uow.library.cards(
            [state] if state else LIBRARY_STATES, video_id=video_id, offset=offset, limit=limit
        )
    return LibraryPage(tuple(cards), total, offset, limit)


def library_videos(runtime: Runtime) -> list[dict]:
    """Videos that have exported clips, with their count (for the filter)."""
    with connection(runtime.database) as uow:
        return [{"id": i, "title": title, "clips": n} for i, title, n in uow.library.videos(LIBRARY_STATES)]


def state_counts(runtime: Runtime, video_id: int | None = None) -> dict[str, int]:
    with connection(runtime.database) as uow:
        counts = uow.library.state_counts(LIBRARY_STATES, video_id)
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
    with connection(runtime.database) as uow:
        exported = uow.artifacts.exported_file(clip_id)
    if exported is None:
        raise NotFound(f"clip {clip_id} has no exported file")
    etag = f'"{exported.sha256}"' if exported.sha256 else f'"e{clip_id}-{exported.size_bytes}"'
    name = _download_name(exported.video_title, clip_id)
    return StoredFile(exported.key, "video/mp4", etag, exported.size_bytes, name)


def keyframe_file(runtime: Runtime, artifact_id: int) -> StoredFile:
    with connection(runtime.database) as uow:
        keyframe = uow.artifacts.keyframe(artifact_id)
    if keyframe is None:
        raise NotFound(f"no keyframe {artifact_id}")
    # Keyframes carry no checksum; key, size and the extraction's frame change whenever the image would.
    etag = f'"k{keyframe.id}-{keyframe.size_bytes}-{keyframe.frame_index}"'
    return StoredFile(keyframe.key, keyframe.content_type or "image/jpeg", etag, keyframe.size_bytes, "")


def _download_name(title: str, clip_id: int) -> str:
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in title.rsplit("/", 1)[-1])
    stem = stem.strip("_")[:60] or "clip"
    return f"{stem}-clip{clip_id}.mp4"


# --- similar clips


def similar(runtime: Runtime, clip_id: int, k: int = 12) -> list[search.Hit]:
    return search.similar_to_clip(runtime, clip_id, k=k)


def text_search(runtime: Runtime, text: str, k: int = 12) -> list[search.Hit]:
    return search.similar_to_phrase(runtime, text, k=k)


@dataclass(frozen=True)
class ReviewAnchor:
    """The embedded clip that stands in for a clip under review in the similar-clips panel."""

    clip_id: int
    offset_seconds: float
    same_clip: bool

    def as_json(self) -> dict:
        return {"clip_id": self.clip_id, "offset_seconds": self.offset_seconds, "same_clip": self.same_clip}


def review_neighbour(runtime: Runtime, clip_id: int) -> ReviewAnchor | None:
    """The embedded clip that stands in for `clip_id` in the review page's similar-clips panel, or None.

    A clip under review has no embedding of its own (only exported clips are embedded), and embedding its
    frames on the fly would cost a model run per key press on CPU. Instead we take the embedded clip of the
    same video whose frames are nearest to this clip's (the clip itself once it is embedded): neighbouring
    shots of one video usually share place, light and people, so its neighbours are a fair, nearly free
    (one indexed query) guess. None when the video has no embedded clip yet: the panel stays hidden.
    """
    with connection(runtime.database) as uow:
        if not uow.library.clip_exists(clip_id):
            raise NotFound(f"no clip {clip_id}")
        neighbour = uow.library.nearest_embedded(clip_id, DEFAULT_FPS)
    if neighbour is None:
        return None
    return ReviewAnchor(neighbour.clip_id, neighbour.offset_frames / neighbour.fps, neighbour.clip_id == clip_id)


def similar_for_review(runtime: Runtime, clip_id: int, k: int = 6) -> tuple[ReviewAnchor | None, list[search.Hit]]:
    """Clips like this one's nearest embedded neighbour, without either of them."""
    anchor = review_neighbour(runtime, clip_id)
    if anchor is None:
        return None, []
    hits = [h for h in similar(runtime, anchor.clip_id, k=k + 1) if h.clip_id not in (anchor.clip_id, clip_id)]
    return anchor, hits[:k]
