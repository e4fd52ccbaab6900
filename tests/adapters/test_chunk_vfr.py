"""Chunks of a variable-frame-rate source resume the constant-rate grid exactly: segments joined equal one
pass, frame for frame (master and proxy), with the same features.

The sources are written with PyAV with irregular timestamps (millisecond time base) and a keyframe every 10
frames, so a chunk's seek lands close to its start, in the middle of the irregular stretches:
- "alternating": steps of 1/30 s and 1/20 s in turn, with a 0.7 s pause (FFmpeg's nominal rate 60: grid 60);
- "mixed": a phone-like recording on a 30 grid: a little faster than 30 fps (frames drift onto occupied
  slots), a 15 fps low-light stretch, alternating steps, a pause, then a little slower than 30 fps.
"""

from __future__ import annotations

import hashlib
from fractions import Fraction

import av
import numpy as np
import pytest

from heaters.adapters.media.chunks import assemble, preprocess_chunk
from heaters.adapters.media.preprocess import Slots, preprocess
from heaters.adapters.media.probe import probe
from heaters.domain.chunks import plan_chunks
from heaters.domain.framegrid import choose_output_rate
from tests.adapters.preprocess_media import write_video


def alternating() -> list[float]:
    times, t = [], 0.0
    for i in range(240):
        times.append(t)
        t += 1 / 30 if i % 2 == 0 else 1 / 20
        if i == 150:
            t += 0.7
    return times


def mixed() -> list[float]:
    times, t = [], 0.0
    for step, count in [(1 / 30.3, 200), (1 / 15, 60), (None, 120), (1 / 29.8, 200)]:
        for i in range(count):
            times.append(t)
            t += step if step else (1 / 30 if i % 2 == 0 else 1 / 20)
        if step is None:
            t += 0.7
    return times


def sums(path) -> list[str]:
    with av.open(str(path)) as container:
        return [hashlib.sha256(f.to_ndarray(format="yuv420p").tobytes()).hexdigest() for f in container.decode(video=0)]


@pytest.mark.parametrize(("name", "times", "grid"), [("alternating", alternating(), 60), ("mixed", mixed(), 30)])
def test_chunks_of_a_vfr_source_resume_the_grid_exactly(name, times, grid, tmp_path):
    source = write_video(tmp_path / f"{name}.mp4", frames=len(times), times=times, gop=10)
    info = probe(source)
    rate = choose_output_rate(info.average_rate, info.nominal_rate)
    assert info.likely_vfr and rate == grid
    whole = preprocess(source, tmp_path / "whole")
    assert whole.duplicated_frames > 0 and whole.frame_count != len(times)  # the grid is not the source's
    if name == "mixed":
        assert whole.dropped_frames > 0  # frames faster than the grid
    plan = plan_chunks(info.duration_seconds, rate, 1.0)
    assert plan.count >= 8
    segments = [
        preprocess_chunk(source, info, tmp_path / f"chunk{i}", Slots(plan.first(i), plan.stop(i))) for i in plan.indexes
    ]
    joined = assemble(segments, None, tmp_path / "joined", Fraction(rate))
    assert joined.frame_count == whole.frame_count
    master = sums(joined.master_path)
    assert len(master) == whole.frame_count
    assert master == sums(whole.master_path)  # frame for frame
    assert sums(joined.proxy_path) == sums(whole.proxy_path)
    assert np.array_equal(np.load(joined.features_path), np.load(whole.features_path))
