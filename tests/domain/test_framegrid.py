"""The proxy's CFR grid: rate choice and where source frames land (pure, no media)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heaters.domain.framegrid import (
    MAX_DISPLACED_RUN,
    RESUME_SETTLE_FRAMES,
    GridMapper,
    GridNotSettled,
    ResumedGrid,
    TimestampGuesser,
    choose_output_rate,
)


def test_cfr_keeps_nominal_rate():
    assert choose_output_rate(Fraction(25), Fraction(25)) == 25
    assert choose_output_rate(Fraction(2997, 125), Fraction(2997, 125)) == Fraction(2997, 125)


def test_vfr_prefers_standard_nominal_then_snapped_average():
    assert choose_output_rate(Fraction(2950, 100), Fraction(30)) == 30
    assert choose_output_rate(Fraction(2996, 100), Fraction(90000)) == Fraction(30000, 1001)
    assert choose_output_rate(Fraction(17), Fraction(90000)) == 17
    assert choose_output_rate(None, None) == 25


def place_all(mapper: GridMapper, times: list[float]) -> list[tuple[int, int]]:
    return [mapper.place(t) for t in times]


@given(st.integers(1, 300), st.sampled_from([Fraction(25), Fraction(30000, 1001), Fraction(60)]))
def test_cfr_maps_one_to_one_even_with_jitter(count, rate):
    times = [i / float(rate) + (0.3 if i % 3 == 1 else -0.3) / float(rate) * (i > 0) for i in range(count)]
    mapper = GridMapper(rate)
    assert place_all(mapper, times) == [(0, 1)] * count
    assert mapper.next_slot == count and mapper.duplicated == mapper.dropped == 0


def test_gap_repeats_previous_frame():
    mapper = GridMapper(Fraction(25))
    assert place_all(mapper, [0, 0.04, 0.08, 0.40, 0.44]) == [(0, 1), (0, 1), (0, 1), (7, 1), (0, 1)]
    assert mapper.duplicated == 7 and mapper.next_slot == 12


def test_burst_drops_frames():
    mapper = GridMapper(Fraction(10))
    # 100 fps burst on a 10 fps grid: only frames near free slots survive.
    placed = place_all(mapper, [i / 100 for i in range(50)])
    assert sum(emit for _, emit in placed) + mapper.dropped == 50
    assert mapper.dropped > 30 and mapper.next_slot <= 7


def test_missing_timestamps_use_decode_order():
    mapper = GridMapper(Fraction(25))
    assert place_all(mapper, [None, None, None]) == [(0, 1)] * 3


def test_timestamp_guesser_switches_to_dts_when_pts_go_backwards():
    guesser = TimestampGuesser()
    pairs = [(1, 1), (2, 2), (3, 3), (5, 4), (4, 5), (6, 6), (8, 7), (7, 8)]
    best = [guesser.best(pts, dts) for pts, dts in pairs]
    assert best[:4] == [1, 2, 3, 5] and best[4:] == [5, 6, 7, 8]
    ordinary = TimestampGuesser()
    assert [ordinary.best(p, None) for p in (0, 3, 1, 2)] == [0, 3, 1, 2]


# --- resuming the grid mid-video (chunked preprocessing)


def slots_of(mapper, times: list[float], first_frame: int = 0, first_slot: int = 0) -> dict[int, int]:
    """Grid slot -> index of the source frame shown there."""
    shown, slot, previous = {}, first_slot, None
    for index in range(first_frame, len(times)):
        repeats, emit = mapper.place(times[index])
        for _ in range(repeats):
            shown[slot], slot = previous, slot + 1
        if emit:
            shown[slot], slot, previous = index, slot + 1, index
    return shown


def resumed_slots(times: list[float], rate: Fraction, frame: int, settle_by: int) -> dict[int, int]:
    grid = ResumedGrid(rate, times[0], times[frame], settle_by)
    return slots_of(grid, times, frame, grid.first_slot)


def drifting(rate: float, count: int) -> list[float]:
    return [i / rate for i in range(count)]


def test_a_frame_is_off_its_slot_for_a_bounded_run():
    # 30.05 fps on a 30 grid: every ~600 frames a frame lands on an occupied slot; it is dropped at the latest
    # MAX_DISPLACED_RUN frames later (before the bound, the offset lasted until the next collision)
    mapper = GridMapper(Fraction(30))
    times = drifting(30.05, 1300)
    shown = slots_of(mapper, times)
    assert mapper.dropped == 2 and mapper.duplicated == 0
    own = {index: round(t * 30) for index, t in enumerate(times)}
    assert max(sum(1 for _ in run) for run in _runs([slot != own[i] for slot, i in sorted(shown.items())])) <= (
        MAX_DISPLACED_RUN
    )


def _runs(flags):
    run = []
    for flag in flags:
        if flag:
            run.append(flag)
        elif run:
            yield run
            run = []
    if run:
        yield run


# frame steps of a VFR recording: bursts, on time, a little fast or slow, late, paused
STEPS = [0, 1 / 60, 1 / 30, 1 / 30, 1 / 30, 1 / 30.3, 1 / 29.7, 1 / 24, 1 / 20, 0.3]


@given(
    st.lists(st.sampled_from(STEPS), min_size=80),
    st.sampled_from([Fraction(25), Fraction(30), Fraction(30000, 1001)]),
    st.integers(1, 60),
    st.integers(0, 40),
)
@settings(max_examples=300, deadline=None)
def test_a_resumed_grid_places_frames_as_the_whole_pass_or_says_it_cannot(steps, rate, frame, lead):
    times = [sum(steps[:i]) for i in range(len(steps))]
    frame = min(frame, len(times) - 1)
    whole = slots_of(GridMapper(rate), times)
    settle_by = round(times[frame] * rate) + lead
    try:
        resumed = resumed_slots(times, rate, frame, settle_by)
    except GridNotSettled:
        return
    assert {s: i for s, i in resumed.items() if s >= settle_by} == {s: i for s, i in whole.items() if s >= settle_by}


@pytest.mark.parametrize(
    ("times", "rate"),
    [
        (drifting(30, 400), Fraction(30)),  # CFR
        ([round(i * 1001 / 30000, 3) for i in range(400)], Fraction(30000, 1001)),  # CFR, millisecond stamps
        (drifting(30.05, 1300), Fraction(30)),  # faster than the grid
        (drifting(29.9, 1300), Fraction(30)),  # slower
        ([i / 25 + (0.3 if i % 3 == 1 else -0.3) / 25 * (i > 0) for i in range(400)], Fraction(25)),  # jitter
    ],
)
def test_a_resumed_grid_settles_within_the_seek_margin(times, rate):
    whole = slots_of(GridMapper(rate), times)
    for frame in range(1, len(times) - RESUME_SETTLE_FRAMES - 2):
        settle_by = round(times[frame] * rate) + RESUME_SETTLE_FRAMES
        resumed = resumed_slots(times, rate, frame, settle_by)
        assert all(whole[s] == i for s, i in resumed.items() if s >= settle_by)


def test_a_resumed_grid_cannot_settle_in_a_steady_half_rate_stretch():
    # 15 fps on a 30 grid: the whole pass alternates between two placements, and which one it is in depends
    # on frames before the seek (the chunk then seeks further back)
    times = drifting(15, 200)
    with pytest.raises(GridNotSettled):
        resumed_slots(times, Fraction(30), 100, round(times[100] * 30) + 100)
