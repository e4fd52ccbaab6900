"""The pure parts of the interchange exports: exact rates, the timeline's tracks, sizes, shard planning."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heaters.domain.errors import BadInput, Refused
from heaters.domain.framegrid import STANDARD_RATES
from heaters.domain.interchange import (
    Gap,
    MediaSource,
    TimelineClip,
    TimelineVideo,
    build_timeline,
    choose_media,
    exact_rate,
    parse_size,
    plan_shards,
    sample_key,
    shard_name,
    shard_seq,
)


@pytest.mark.parametrize("rate", STANDARD_RATES)
def test_exact_rate_comes_back_from_the_stored_double(rate):
    assert exact_rate(float(rate)) == rate
    assert exact_rate(float(rate), str(rate), str(rate)) == rate


@given(st.integers(1, 240_000))
def test_any_rate_in_thousandths_comes_back_exactly(milli_fps):
    rate = Fraction(milli_fps, 1000)
    assert exact_rate(float(rate)) == rate


def test_exact_rate_prefers_the_probe_rates_preprocessing_chose_from():
    # A VFR source: nominal 30000/1001 (standard) is the grid preprocessing chose.
    assert exact_rate(30000 / 1001, "2997/100", "30000/1001") == Fraction(30000, 1001)
    with pytest.raises(BadInput):
        exact_rate(0.0)


def clip(cid, start, end, state="review_approved", group=None):
    return TimelineClip(clip_id=cid, start_frame=start, end_frame=end, state=state, group=group, reviewer="ana")


VIDEO = TimelineVideo(video_id=1, title="bikes", source_url=None, rate=Fraction(30000, 1001), frame_count=100)
MEDIA = MediaSource(key="masters/1/master.mkv", uri="file:///m.mkv", kind="master", frame_count=100)


def test_timeline_places_approved_and_archived_clips_at_their_source_positions():
    clips = [
        clip(1, 0, 10),
        clip(2, 10, 30, "review_archived"),
        clip(3, 30, 40, "embedded", group=3),
        clip(4, 40, 55, "exported", group=3),
        clip(5, 55, 70, "pending_review"),
        clip(6, 70, 100, "review_skipped"),
    ]
    spec = build_timeline(VIDEO, MEDIA, clips)
    approved, archived = spec.tracks
    assert (approved.enabled, archived.enabled) == (True, False)
    assert [c.clip_id for c in approved.clips] == [1, 3, 4]
    assert approved.items[1] == Gap(20)  # clip 3 starts at frame 30 of the track, as in the source
    assert archived.items == (Gap(10), clips[1])
    (marker,) = spec.groups
    assert (marker.group, marker.clip_ids, marker.start_frame, marker.end_frame) == (3, (3, 4), 30, 55)
    assert spec.metadata["fps"] == "30000/1001"


def test_timeline_refuses_clips_outside_the_video_and_a_video_without_media():
    with pytest.raises(BadInput, match="clip 9"):
        build_timeline(VIDEO, MEDIA, [clip(9, 90, 101)])
    with pytest.raises(Refused):
        choose_media(None, None)
    proxy = MediaSource(key="proxies/1/proxy.mp4", uri="file:///p.mp4", kind="proxy", frame_count=100)
    assert choose_media(None, proxy) is proxy and choose_media(MEDIA, proxy) is MEDIA


@pytest.mark.parametrize(
    "text, size",
    [
        ("1GB", 10**9),
        ("500MB", 500 * 10**6),
        ("2GiB", 2 * 1024**3),
        ("10k", 10_000),
        ("123", 123),
        ("1.5 GB", 15 * 10**8),
    ],
)
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "GB", "-1GB", "1XB", "0"])
def test_parse_size_refuses_nonsense(text):
    with pytest.raises(BadInput):
        parse_size(text)


@given(st.lists(st.integers(1, 1000), max_size=50), st.integers(1, 3000))
def test_shard_plan_keeps_order_and_limits(sizes, limit):
    plan = plan_shards(sizes, limit)
    assert [i for shard in plan for i in shard] == list(range(len(sizes)))
    for shard in plan:
        assert len(shard) == 1 or sum(sizes[i] for i in shard) <= limit


def test_names_have_no_dot_in_the_key_and_parse_back():
    assert "." not in sample_key(3, 12)
    assert shard_seq(shard_name(7)) == 7 and shard_seq(shard_name(7) + ".partial") == 7
    assert shard_seq("notes.txt") is None and shard_seq("heaters-7.tar") is None
