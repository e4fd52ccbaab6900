"""The proxy's CFR grid: rate choice and where source frames land (pure, no media)."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from heaters.domain.framegrid import GridMapper, TimestampGuesser, choose_output_rate


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
