import pytest
from hypothesis import given
from hypothesis import strategies as st

from heaters.domain.errors import BadInput
from heaters.domain.keyframes import (
    DEFAULT_STRATEGY,
    KeyframePick,
    KeyframeStrategy,
    keyframe_picks,
    parse_keyframe_strategy,
)


def test_default_strategy_parses_to_quartiles():
    strategy = parse_keyframe_strategy(DEFAULT_STRATEGY)
    assert strategy == KeyframeStrategy((25, 50, 75))
    assert strategy.name == "percent:25,50,75"


def test_parsing_is_lenient_about_spaces_and_order_but_canonical():
    assert parse_keyframe_strategy(" Percent: 75, 0 ,100 ").name == "percent:0,75,100"


@pytest.mark.parametrize(
    "text", ["", "percent:", "percent:25,,50", "percent:101", "percent:-5", "frames:1,2", "25,50", "percent:50,50"]
)
def test_bad_strategies_are_refused(text):
    with pytest.raises(BadInput):
        parse_keyframe_strategy(text)


def test_picks_for_a_100_frame_clip():
    picks = keyframe_picks(parse_keyframe_strategy("percent:0,25,50,75,100"), 100)
    assert picks == [
        KeyframePick(0, 0),
        KeyframePick(25, 25),
        KeyframePick(50, 50),
        KeyframePick(75, 75),
        KeyframePick(100, 99),
    ]


def test_picks_for_a_one_frame_clip_all_land_on_it():
    assert [p.frame_index for p in keyframe_picks(parse_keyframe_strategy(DEFAULT_STRATEGY), 1)] == [0, 0, 0]


@pytest.mark.parametrize("count", [0, -3, True])
def test_empty_clip_refused(count):
    with pytest.raises(BadInput):
        keyframe_picks(parse_keyframe_strategy(DEFAULT_STRATEGY), count)


@given(st.lists(st.integers(0, 100), min_size=1, max_size=10, unique=True), st.integers(1, 100_000))
def test_picks_are_inside_the_clip_and_ordered(percents, count):
    strategy = parse_keyframe_strategy("percent:" + ",".join(map(str, percents)))
    indices = [p.frame_index for p in keyframe_picks(strategy, count)]
    assert all(0 <= i < count for i in indices)
    assert indices == sorted(indices)
