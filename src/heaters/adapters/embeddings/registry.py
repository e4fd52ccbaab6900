"""`load_model(spec)`: the one way to get an embedding model from `Settings.embedding_model`."""

from __future__ import annotations

import threading

from heaters.adapters.embeddings.base import EmbeddingModel
from heaters.domain.errors import BadInput

DEFAULT_MODEL = "efficientnet-lite0"
BUILTIN_MODELS = (DEFAULT_MODEL,)

_loaded: dict[str, EmbeddingModel] = {}
_lock = threading.Lock()


def load_model(spec: str = DEFAULT_MODEL) -> EmbeddingModel:
    """A built-in model name, or "clip:/path/to/local/model". Loaded once per process, then reused."""
    spec = (spec or "").strip()
    with _lock:
        if spec not in _loaded:
            _loaded[spec] = _load(spec)
        return _loaded[spec]


def _load(spec: str) -> EmbeddingModel:
    if spec == "efficientnet-lite0":
        from heaters.adapters.embeddings.efficientnet import EfficientNetLite0

        return EfficientNetLite0()
    if spec.startswith("clip:") and spec[5:].strip():
        from heaters.adapters.embeddings.clip import ClipModel

        return ClipModel(spec[5:].strip())
    raise BadInput(
        f"unknown embedding model {spec!r}: use one of {list(BUILTIN_MODELS)} or 'clip:/path/to/local/model'"
    )
