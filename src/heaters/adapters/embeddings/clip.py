"""CLIP-style models (image + text in one space) from a local `transformers` CLIPModel directory.

The directory holds what `CLIPModel.save_pretrained` and `CLIPProcessor.save_pretrained` write (a
downloaded model snapshot has the same layout). Loading never touches the network: local_files_only,
and the Hugging Face hub is put in offline mode.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from heaters.adapters.embeddings.base import EmbeddingModel, l2_normalise_rows
from heaters.config import forbid_model_hub_downloads
from heaters.domain.errors import BadInput

BATCH_SIZE = 32


class ClipModel(EmbeddingModel):
    supports_text = True

    def __init__(self, directory: str | Path) -> None:
        path = Path(directory).expanduser().resolve()
        if not (path / "config.json").is_file():
            raise BadInput(f"no CLIP model at {path}: expected a directory with config.json (save_pretrained)")
        forbid_model_hub_downloads()
        from transformers import CLIPModel, CLIPProcessor
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # no progress bars in CLI output and worker logs

        try:
            self._model = CLIPModel.from_pretrained(str(path), local_files_only=True).eval()
            self._processor = CLIPProcessor.from_pretrained(str(path), local_files_only=True)
        except (OSError, ValueError) as exc:
            raise BadInput(f"cannot load the CLIP model at {path}: {exc}") from exc
        self.name = f"clip:{path}"
        self.dimension = int(self._model.config.projection_dim)

    def embed_images(self, images: list[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, self.dimension), dtype=np.float32)
        rows = []
        with torch.inference_mode():
            for start in range(0, len(images), BATCH_SIZE):
                batch = [image.convert("RGB") for image in images[start : start + BATCH_SIZE]]
                inputs = self._processor(images=batch, return_tensors="pt")
                rows.append(_as_array(self._model.get_image_features(pixel_values=inputs["pixel_values"])))
        return l2_normalise_rows(np.concatenate(rows))

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with torch.inference_mode():
            inputs = self._processor(text=list(texts), return_tensors="pt", padding=True, truncation=True)
            features = self._model.get_text_features(
                input_ids=inputs["input_ids"], attention_mask=inputs.get("attention_mask")
            )
        return l2_normalise_rows(_as_array(features))


def _as_array(features) -> np.ndarray:
    # transformers 5 may wrap the projected features in an output object.
    if not isinstance(features, torch.Tensor):
        features = features.pooler_output
    return features.float().numpy()
