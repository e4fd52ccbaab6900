"""pgvector specifics: one HNSW (cosine) index per embedding model, and nearest-neighbour queries.

Models of different dimensions share the `embeddings` table; an HNSW index needs a fixed dimension, so
each model gets a partial expression index casting to its dimension (pgvector's documented pattern).
Queries use the same expression so the planner picks that index.
"""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import text
from sqlalchemy.orm import Session

from heaters.adapters.db.connection import Database

_SAFE = re.compile(r"[^a-z0-9]+")


def index_name(model: str) -> str:
    slug = _SAFE.sub("_", model.lower()).strip("_")[:30]
    return f"embeddings_hnsw_{slug}_{hashlib.sha1(model.encode()).hexdigest()[:8]}"


def ensure_model_index(database: Database, model: str, dimension: int) -> None:
    """Create the model's HNSW index if missing (idempotent; concurrent callers are fine)."""
    name = index_name(model)
    with database.engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name})
        conn.execute(
            text(
                f"CREATE INDEX IF NOT EXISTS {name} ON embeddings "
                f"USING hnsw ((embedding::vector({int(dimension)})) vector_cosine_ops) "
                f"WHERE model = '{model.replace(chr(39), chr(39) * 2)}'"
            )
        )


def nearest(
    session: Session, *, model: str, dimension: int, vector: list[float], k: int, exclude_clip_id: int | None = None
) -> list[tuple[int, float]]:
    """(clip_id, cosine distance) of the k nearest clips for `model`, best first."""
    # ef_search 64 measured best here (bench/export_search.py: recall@10 0.999 at 100k vectors).
    session.execute(text("SELECT set_config('hnsw.ef_search', :ef, true)"), {"ef": str(max(64, 2 * k))})
    rows = session.execute(
        text(
            f"SELECT clip_id, (embedding::vector({int(dimension)})) <=> CAST(:v AS vector({int(dimension)})) AS d "
            "FROM embeddings WHERE model = :model AND (CAST(:exclude AS integer) IS NULL OR clip_id <> :exclude) "
            f"ORDER BY (embedding::vector({int(dimension)})) <=> CAST(:v AS vector({int(dimension)})) LIMIT :k"
        ),
        {"v": str(list(map(float, vector))), "model": model, "k": k, "exclude": exclude_clip_id},
    ).all()
    return [(int(clip_id), float(d)) for clip_id, d in rows]
