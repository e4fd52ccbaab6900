"""The embedding model interface every backend implements."""

from __future__ import annotations

import abc

import numpy as np
from PIL import Image

from heaters.domain.errors import Refused


class EmbeddingModel(abc.ABC):
    """An image embedding model; CLIP-style models also embed text into the same space.

    `name` is stored beside every vector, so vectors of different models never mix in a search.
    Returned rows are L2-normalised float32, ready for cosine distance.
    """

    name: str
    dimension: int
    supports_text: bool = False

    @abc.abstractmethod
    def embed_images(self, images: list[Image.Image]) -> np.ndarray:
        """(len(images), dimension) float32, each row L2-normalised."""

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dimension) float32 in the image space; only for models with `supports_text`."""
        raise Refused(
            f"embedding model {self.name!r} cannot embed text; configure a CLIP-style model "
            "(HEATERS_EMBEDDING_MODEL=clip:/path/to/local/model) to search clips by text"
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} d={self.dimension}>"


def l2_normalise_rows(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)
