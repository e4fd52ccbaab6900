"""Chunk segments joined by stream copy equal one pass, on real files of other containers and codecs
(seeking in an AVI of MPEG-4 Part 2, an MP4 of H.264 with B-frames), chunks of 50 frames."""

from __future__ import annotations

import hashlib

import av
import numpy as np
import pytest

from heaters.adapters.media.chunks import assemble, cut_from_segments, preprocess_audio, preprocess_chunk
from heaters.adapters.media.preprocess import Slots, preprocess
from heaters.adapters.media.probe import probe
from heaters.adapters.sample_media import fetch
from heaters.domain.chunks import plan_chunks
from heaters.domain.framegrid import choose_output_rate


def sums(path) -> list[str]:
    with av.open(str(path)) as container:
        return [hashlib.sha256(f.to_ndarray(format="yuv420p").tobytes()).hexdigest() for f in container.decode(video=0)]


@pytest.mark.parametrize("name", ["Megamind.avi", "bikes.mp4"])
def test_segments_joined_equal_one_pass(name, tmp_path):
    source = fetch(name)
    whole = preprocess(source, tmp_path / "whole")
    info = probe(source)
    rate = choose_output_rate(info.average_rate, info.nominal_rate)
    plan = plan_chunks(info.duration_seconds, rate, 2.0)
    assert plan.count >= 4
    segments = [
        preprocess_chunk(source, info, tmp_path / f"chunk{i}", Slots(plan.first(i), plan.stop(i))) for i in plan.indexes
    ]
    joined = assemble(segments, preprocess_audio(source, info, tmp_path / "audio"), tmp_path / "joined", rate)
    assert joined.frame_count == whole.frame_count
    assert sums(joined.master_path) == sums(whole.master_path)
    assert sums(joined.proxy_path) == sums(whole.proxy_path)
    assert np.array_equal(np.load(joined.features_path), np.load(whole.features_path))
    # a clip across a chunk join, cut from the segments, is the same frames
    clip = cut_from_segments([(s.first, s.proxy_path) for s in segments], 40, 120, tmp_path / "clip.mp4", rate)
    assert sums(clip) == sums(whole.proxy_path)[40:120]


def test_the_assembly_holds_the_video_to_its_output_budget(tmp_path):
    """Each chunk is held to the budget on its own; the whole video is held to it while its segments are
    copied together: refused as bad input, nothing left under the output names."""
    from heaters.domain.errors import BadInput

    source = fetch("bikes.mp4")
    info = probe(source)
    rate = choose_output_rate(info.average_rate, info.nominal_rate)
    plan = plan_chunks(info.duration_seconds, rate, 2.0)
    segments = [
        preprocess_chunk(source, info, tmp_path / f"chunk{i}", Slots(plan.first(i), plan.stop(i))) for i in plan.indexes
    ]
    largest = max(s.master_path.stat().st_size + s.proxy_path.stat().st_size for s in segments)
    with pytest.raises(BadInput, match=r"output budget \(HEATERS_MAX_OUTPUT_BYTES\)"):
        assemble(segments, None, tmp_path / "joined", rate, max_output_bytes=2 * largest)
    assert list((tmp_path / "joined").iterdir()) == []
    whole = assemble(segments, None, tmp_path / "joined", rate, max_output_bytes=100 * largest)
    assert whole.frame_count == sum(s.frame_count for s in segments)
