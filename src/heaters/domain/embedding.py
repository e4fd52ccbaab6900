"""How a clip's embedding is made from its keyframes' embeddings. Pure numpy."""

from __future__ import annotations

import numpy as np

from heaters.domain.errors import BadInput


def clip_embedding(keyframe_vectors: np.ndarray) -> np.ndarray:
    """The L2-normalised mean of a clip's keyframe vectors (rows), as float32.

    Normalising each row first makes every keyframe count equally whatever its norm; normalising the
    mean makes cosine distance the only thing a search compares.
    """
    vectors = np.asarray(keyframe_vectors, dtype=np.float64)
    if vectors.ndim != 2 or vectors.shape[0] == 0 or vectors.shape[1] == 0:
        raise BadInput(f"need a non-empty (keyframes, dimension) matrix, got shape {vectors.shape}")
    if not np.all(np.isfinite(vectors)):
        raise BadInput("keyframe vectors contain NaN or infinity")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise BadInput("a keyframe vector is all zeros")
    mean = (vectors / norms).mean(axis=0)
    length = np.linalg.norm(mean)
    if length < 1e-12:
        raise BadInput("keyframe vectors cancel out; the clip has no meaningful direction")
    return (mean / length).astype(np.float32)
