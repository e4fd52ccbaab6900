"""Similar-clip search on real footage, through the real pipeline and pgvector."""

from __future__ import annotations

import pytest

from heaters.adapters.sample_media import DEFAULT_CACHE, fetch
from heaters.domain.errors import Refused
from heaters.services import review, search
from heaters.services.ingest import submit_source
from heaters.services.users import create_user
from tests.conftest import review_queue
from tests.pipeline.conftest import drain

# Single-shot footage, each cut into pieces by a reviewer: pieces of one shot must find each other.
SHOTS = {"bigbuckbunny.mp4": (66,), "vtest.avi": (265, 530), "tree.avi": (222,)}


@pytest.fixture
def settings(settings, tmp_path):
    return settings.model_copy(update={"allowed_roots": [DEFAULT_CACHE], "export_grace_seconds": 0})


@pytest.mark.slow
def test_nearest_is_itself_then_pieces_of_the_same_shot(runtime):
    reviewer = create_user(runtime.database, "ana", "password-1")
    videos = {name: submit_source(runtime, str(fetch(name))).video_id for name in SHOTS}
    drain(runtime)
    for name, cuts in SHOTS.items():
        for cut in cuts:
            clip = review.video_timeline(runtime, videos[name])[-1]
            review.act_and_show(runtime, reviewer.id, clip.id, "split", frame=cut)
    review_queue(runtime, reviewer.id)
    drain(runtime)

    video_of = {c.id: vid for vid in videos.values() for c in review.video_timeline(runtime, vid)}
    assert len(video_of) == sum(len(c) + 1 for c in SHOTS.values())
    for clip_id, video_id in video_of.items():
        siblings = sum(1 for v in video_of.values() if v == video_id) - 1
        hits = search.similar_to_clip(runtime, clip_id, k=len(video_of))
        assert hits[0].clip_id == clip_id and hits[0].distance == pytest.approx(0, abs=1e-5)
        assert [h.video_id for h in hits[1 : 1 + siblings]] == [video_id] * siblings, (clip_id, hits)


def test_text_search_needs_a_clip_style_model(runtime):
    with pytest.raises(Refused, match="CLIP-style"):
        search.similar_to_phrase(runtime, "a rabbit in a meadow")


def test_text_search_with_a_local_clip_style_model(runtime, tmp_path):
    from heaters.adapters.embeddings import load_model
    from tests.adapters.tiny_clip import make_tiny_clip

    model_spec = f"clip:{make_tiny_clip(tmp_path / 'tiny-clip')}"
    runtime.settings = runtime.settings.model_copy(update={"embedding_model": model_spec})
    reviewer = create_user(runtime.database, "ana", "password-1")
    video = submit_source(runtime, str(fetch("carphone_pristine.mp4"))).video_id
    drain(runtime)
    review_queue(runtime, reviewer.id)
    drain(runtime)

    hits = search.similar_to_phrase(runtime, "a man in a car", k=5)
    (only,) = review.video_timeline(runtime, video)
    assert [h.clip_id for h in hits] == [only.id]
    model = load_model(model_spec)
    assert hits[0].distance == pytest.approx(
        1 - float(model.embed_texts(["a man in a car"])[0] @ _stored(runtime)), abs=1e-4
    )
    assert search.similar_to_clip(runtime, only.id)[0].clip_id == only.id


def _stored(runtime):
    import numpy as np
    from sqlalchemy import select

    from heaters.adapters.db.models import Embedding

    with runtime.database.sessions() as session:
        return np.asarray(session.scalars(select(Embedding.embedding)).one(), dtype=np.float32)
