"""The embeddings gateway (pgvector): storing a clip's vector, one HNSW (cosine) index per model, and
nearest-neighbour queries.

Models of different dimensions share the `embeddings` table; an HNSW index needs a fixed dimension, so each
model gets a partial expression index casting to its dimension (pgvector's documented pattern). Queries use
the same expression so the planner picks that index. The index is DDL: it is created when a model is
registered (`ensure_model_index`, called by the embedding stage's model loader once per process and model),
not inside a stage's transaction.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from sqlalchemy import text

from heaters.adapters.db.gateway import Gateway

_SAFE = re.compile(r"[^a-z0-9]+")
_UPSERT = text("""
    INSERT INTO embeddings (clip_id, model, strategy, dimension, embedding)
    VALUES (:clip_id, :model, :strategy, :dimension, CAST(:vector AS vector))
    ON CONFLICT ON CONSTRAINT embedding_per_clip_model
    DO UPDATE SET embedding = excluded.embedding, dimension = excluded.dimension
""")
_OF_CLIP = text("""
    SELECT model, dimension, CAST(embedding AS text) FROM embeddings
    WHERE clip_id = :clip_id AND (CAST(:model AS text) IS NULL OR model = :model)
    ORDER BY created_at DESC LIMIT 1
""")
_SET_EF_SEARCH = text("SELECT set_config('hnsw.ef_search', :ef, true)")
_LOCK_INDEX_NAME = text("SELECT pg_advisory_xact_lock(hashtext(:name))")


@dataclass(frozen=True)
class StoredEmbedding:
    model: str
    dimension: int
    vector: list[float]


def index_name(model: str) -> str:
    slug = _SAFE.sub("_", model.lower()).strip("_")[:30]
    return f"embeddings_hnsw_{slug}_{hashlib.sha1(model.encode()).hexdigest()[:8]}"


def _vector_literal(vector: list[float]) -> str:
    return str(list(map(float, vector)))


class Embeddings(Gateway):
    def ensure_model_index(self, model: str, dimension: int) -> None:
        """Create the model's HNSW index if missing (idempotent; concurrent callers are fine)."""
        name = index_name(model)
        self.conn.execute(_LOCK_INDEX_NAME, {"name": name})
        self.conn.execute(
            text(
                f"CREATE INDEX IF NOT EXISTS {name} ON embeddings "
                f"USING hnsw ((embedding::vector({int(dimension)})) vector_cosine_ops) "
                f"WHERE model = '{model.replace(chr(39), chr(39) * 2)}'"
            )
        )

    def store(self, clip_id: int, model: str, strategy: str, vector: list[float]) -> None:
        params = {
            "clip_id": clip_id,
            "model": model,
            "strategy": strategy,
            "dimension": len(vector),
            "vector": _vector_literal(vector),
        }
        self.conn.execute(_UPSERT, params)

    def of_clip(self, clip_id: int, model: str | None = None) -> StoredEmbedding | None:
        """The clip's vector for `model` (or its most recent one)."""
        row = self.conn.execute(_OF_CLIP, {"clip_id": clip_id, "model": model}).first()
        if row is None:
            return None
        return StoredEmbedding(row[0], row[1], [float(x) for x in row[2].strip("[]").split(",")])

    def nearest(
        self, *, model: str, dimension: int, vector: list[float], k: int, exclude_clip_id: int | None = None
    ) -> list[tuple[int, float]]:
        """(clip_id, cosine distance) of the k nearest clips for `model`, best first. Call inside a transaction
        (the search width is set for it alone)."""
        # ef_search 64 measured best here (bench/export_search.py: recall@10 0.999 at 100k vectors).
        self.conn.execute(_SET_EF_SEARCH, {"ef": str(max(64, 2 * k))})
        d = int(dimension)
        rows = self.conn.execute(
            text(
                f"SELECT clip_id, (embedding::vector({d})) <=> CAST(:v AS vector({d})) AS d "
                "FROM embeddings WHERE model = :model AND (CAST(:exclude AS integer) IS NULL OR clip_id <> :exclude) "
                f"ORDER BY (embedding::vector({d})) <=> CAST(:v AS vector({d})) LIMIT :k"
            ),
            {"v": _vector_literal(vector), "model": model, "k": k, "exclude": exclude_clip_id},
        ).all()
        return [(int(clip_id), float(distance)) for clip_id, distance in rows]
