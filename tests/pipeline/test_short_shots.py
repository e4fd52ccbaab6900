"""Short real shots become clips in the pipeline; a flash does not; every boundary keeps its confidence."""

from __future__ import annotations

import numpy as np

from heaters.adapters.db.boundaries import video_boundaries
from heaters.domain.timeline import check_mece
from heaters.services import review
from heaters.services.ingest import submit_source
from tests.adapters.test_analysis import encode, real_frames
from tests.pipeline.conftest import drain


def test_seven_frame_shot_is_its_own_clip_and_a_two_frame_flash_is_not(runtime, tmp_path):
    first = real_frames("bikes.mp4", 80, 55)  # inside the bikes shot [76, 137)
    for k in (20, 21):  # a two-frame camera flash inside the first shot
        first[k] = np.clip(first[k].astype(np.int16) * 2 + 80, 0, 255).astype(np.uint8)
    short = real_frames("Megamind.avi", 100, 7)  # 7 frames from inside a Megamind shot
    last = real_frames("bikes.mp4", 190, 50)  # inside the bikes shot [187, 242)
    path = encode(first + short + last, tmp_path / "short_shot.mp4")

    video_id = submit_source(runtime, str(path)).video_id
    drain(runtime)

    timeline = review.video_timeline(runtime, video_id)
    check_mece([c.span for c in timeline], 112)
    assert [c.span for c in timeline] == [(0, 55), (55, 62), (62, 112)]
    with runtime.database.engine.connect() as conn:
        stored = video_boundaries(conn, video_id)
    assert [(b.frame, b.kind, b.span) for b in stored.boundaries] == [(55, "cut", (54, 55)), (62, "cut", (61, 62))]
    assert all(0.5 <= b.confidence <= 1 for b in stored.boundaries)
    assert all(b.confidence < 0.5 and b.frame not in (55, 62) for b in stored.suggested)
    assert stored.by_confidence()[0].confidence == min(b.confidence for b in (*stored.boundaries, *stored.suggested))
