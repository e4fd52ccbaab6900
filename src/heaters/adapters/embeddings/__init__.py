"""Image (and, for CLIP-style models, text) embedding models behind one interface.

    model = load_model(settings.embedding_model)   # "efficientnet-lite0" (default) or "clip:/local/dir"
    vectors = model.embed_images([pil_image, ...])  # (n, model.dimension) float32, rows L2-normalised
    if model.supports_text:
        query = model.embed_texts(["a dog on a beach"])

Nothing here touches the network: weights come from an installed package or a local directory.
"""

from heaters.adapters.embeddings.base import EmbeddingModel
from heaters.adapters.embeddings.registry import BUILTIN_MODELS, DEFAULT_MODEL, load_model

__all__ = ["BUILTIN_MODELS", "DEFAULT_MODEL", "EmbeddingModel", "load_model"]
