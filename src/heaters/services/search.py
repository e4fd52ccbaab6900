"""Similar-clip search (by example clip, or by text with a CLIP-style model) over pgvector."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from heaters.adapters.db.models import Artifact, Clip, Embedding, SourceVideo
from heaters.adapters.db.vectors import nearest
from heaters.domain.errors import BadInput, NotFound, Refused
from heaters.runtime import Runtime


@dataclass(frozen=True)
class Hit:
    clip_id: int
    distance: float
    video_id: int
    video_title: str
    start_frame: int
    end_frame: int
    fps: float
    export_key: str | None

    def as_json(self) -> dict:
        return {
            "clip_id": self.clip_id,
            "distance": round(self.distance, 6),
            "similarity": round(1.0 - self.distance, 6),
            "video_id": self.video_id,
            "video_title": self.video_title,
            "start_frame": self.start_frame,
            "end_frame": self.end_frame,
            "fps": self.fps,
            "export_key": self.export_key,
        }


def similar_to_clip(runtime: Runtime, clip_id: int, k: int = 12, model: str | None = None) -> list[Hit]:
    """The k clips nearest to `clip_id` (the clip itself first, at distance 0)."""
    _check_k(k)
    with runtime.database.sessions() as session:
        query = select(Embedding).where(Embedding.clip_id == clip_id)
        query = query.where(Embedding.model == model) if model else query.order_by(Embedding.created_at.desc())
        embedding = session.scalars(query.limit(1)).first()
        if embedding is None:
            if session.get(Clip, clip_id) is None:
                raise NotFound(f"no clip {clip_id}")
            raise Refused(f"clip {clip_id} has no embedding yet (it is embedded after export and keyframes)")
        pairs = nearest(
            session, model=embedding.model, dimension=embedding.dimension, vector=list(embedding.embedding), k=k
        )
        return _hits(session, pairs)


def similar_to_text(runtime: Runtime, text: str, k: int = 12) -> list[Hit]:
    from heaters.adapters.embeddings import load_model

    _check_k(k)
    if not text.strip():
        raise BadInput("the text query is empty")
    model = load_model(runtime.settings.embedding_model)
    vector = model.embed_text([text])[0]  # Refused with a clear message for image-only models
    with runtime.database.sessions() as session:
        pairs = nearest(session, model=model.name, dimension=model.dimension, vector=vector.tolist(), k=k)
        return _hits(session, pairs)


def _check_k(k: int) -> None:
    if not 1 <= k <= 1000:
        raise BadInput("k must be between 1 and 1000")


def _hits(session, pairs: list[tuple[int, float]]) -> list[Hit]:
    if not pairs:
        return []
    ids = [clip_id for clip_id, _ in pairs]
    rows = {
        clip.id: (clip, video)
        for clip, video in session.execute(
            select(Clip, SourceVideo).join(SourceVideo, SourceVideo.id == Clip.video_id).where(Clip.id.in_(ids))
        )
    }
    export_keys = select(Artifact.clip_id, Artifact.key).where(Artifact.clip_id.in_(ids), Artifact.kind == "export")
    exports = {clip_id: key for clip_id, key in session.execute(export_keys)}
    return [
        Hit(
            clip_id=clip_id,
            distance=distance,
            video_id=rows[clip_id][1].id,
            video_title=rows[clip_id][1].title or rows[clip_id][1].source,
            start_frame=rows[clip_id][0].start_frame,
            end_frame=rows[clip_id][0].end_frame,
            fps=rows[clip_id][1].fps or 25.0,
            export_key=exports.get(clip_id),
        )
        for clip_id, distance in pairs
    ]
