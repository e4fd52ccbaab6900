"""The chunk plan: pure arithmetic over the probe's duration and the grid's rate."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from heaters.domain.chunks import (
    SINGLE_JOB_MAX_CHUNKS,
    ChunkProgress,
    ChunkState,
    all_done,
    done_prefix_frames,
    plan_chunks,
)


def test_a_two_hour_film_at_ntsc_rate_in_minute_chunks():
    plan = plan_chunks(7200.0, Fraction(30000, 1001), 60)
    assert plan.chunk_frames == 1798 and plan.count == 120
    assert (plan.first(0), plan.stop(0)) == (0, 1798)
    assert (plan.first(119), plan.stop(119)) == (119 * 1798, None)  # the last chunk runs to the real end
    assert not plan.single_job


def test_short_videos_and_chunking_off_are_one_job():
    assert plan_chunks(100.0, 25, 60).count == SINGLE_JOB_MAX_CHUNKS and plan_chunks(100.0, 25, 60).single_job
    assert plan_chunks(3600.0, 25, 0).count == 1


@given(st.floats(0.1, 21600), st.sampled_from([Fraction(24000, 1001), Fraction(25), Fraction(60)]), st.floats(1, 300))
def test_chunks_tile_the_grid_without_gap_or_overlap(duration, fps, chunk_seconds):
    plan = plan_chunks(duration, fps, chunk_seconds)
    assert plan.count >= 1
    for i in range(plan.count - 1):
        assert plan.stop(i) == plan.first(i + 1) and plan.stop(i) - plan.first(i) == plan.chunk_frames
    assert plan.stop(plan.count - 1) is None
    estimated = round(duration * float(fps))
    # the open-ended last chunk holds between half a chunk and one and a half (unless the video is shorter)
    assert estimated - plan.first(plan.count - 1) <= 1.5 * plan.chunk_frames + 1


def test_the_done_prefix_stops_at_the_first_unfinished_chunk():
    chunks = [
        ChunkProgress(-1, ChunkState.PENDING, 0, None),  # the audio does not count
        ChunkProgress(0, ChunkState.DONE, 0, 50),
        ChunkProgress(1, ChunkState.DONE, 50, 50),
        ChunkProgress(2, ChunkState.RUNNING, 100, None),
        ChunkProgress(3, ChunkState.DONE, 150, 50),
    ]
    assert done_prefix_frames(chunks) == 100 and not all_done(chunks)
    assert all_done([ChunkProgress(0, ChunkState.DONE, 0, 10)])
