"""Similar-clip search (by example clip, or by text with a CLIP-style model) over pgvector."""

from __future__ import annotations

from dataclasses import dataclass

from heaters.adapters.db.library import ClipCard
from heaters.adapters.db.uow import UnitOfWork, transaction
from heaters.domain.errors import BadInput, NotFound, Refused
from heaters.domain.framegrid import fps_or_default
from heaters.runtime import Runtime


@dataclass(frozen=True)
class Hit:
    distance: float
    card: ClipCard

    @property
    def clip_id(self) -> int:
        return self.card.clip_id

    @property
    def video_id(self) -> int:
        return self.card.video_id

    @property
    def export_key(self) -> str | None:
        return self.card.export_key

    def as_json(self) -> dict:
        card = self.card
        return {
            "clip_id": card.clip_id,
            "distance": round(self.distance, 6),
            "similarity": round(1.0 - self.distance, 6),
            "video_id": card.video_id,
            "video_title": card.video_title,
            "start_frame": card.start_frame,
            "end_frame": card.end_frame,
            "fps": fps_or_default(card.fps),
            "export_key": card.export_key,
        }


def similar_to_clip(runtime: Runtime, clip_id: int, k: int = 12, model: str | None = None) -> list[Hit]:
    """The k clips nearest to `clip_id` (the clip itself first, at distance 0)."""
    _check_k(k)
    with transaction(runtime.database) as uow:
        embedding = uow.embeddings.of_clip(clip_id, model)
        if embedding is None:
            if not uow.library.clip_exists(clip_id):
                raise NotFound(f"no clip {clip_id}")
            raise Refused(f"clip {clip_id} has no embedding yet (it is embedded after export and keyframes)")
        pairs = uow.embeddings.nearest(
            model=embedding.model, dimension=embedding.dimension, vector=embedding.vector, k=k
        )
        return _hits(uow, pairs)


def similar_to_phrase(runtime: Runtime, text: str, k: int = 12) -> list[Hit]:
    from heaters.adapters.embeddings import load_model

    _check_k(k)
    if not text.strip():
        raise BadInput("the text query is empty")
    model = load_model(runtime.settings.embedding_model)
    vector = model.embed_texts([text])[0]  # Refused with a clear message for image-only models
    with transaction(runtime.database) as uow:
        pairs = uow.embeddings.nearest(model=model.name, dimension=model.dimension, vector=vector.tolist(), k=k)
        return _hits(uow, pairs)


def _check_k(k: int) -> None:
    if not 1 <= k <= 1000:
        raise BadInput("k must be between 1 and 1000")


def _hits(uow: UnitOfWork, pairs: list[tuple[int, float]]) -> list[Hit]:
    cards = uow.library.cards_by_id([clip_id for clip_id, _ in pairs])
    return [Hit(distance, cards[clip_id]) for clip_id, distance in pairs if clip_id in cards]
