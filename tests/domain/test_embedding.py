import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from heaters.domain.embedding import clip_embedding
from heaters.domain.errors import BadInput


def test_mean_of_unit_vectors_is_normalised():
    result = clip_embedding(np.array([[1.0, 0.0], [0.0, 1.0]]))
    assert result.dtype == np.float32
    assert result == pytest.approx([np.sqrt(0.5), np.sqrt(0.5)])


def test_each_keyframe_counts_equally_whatever_its_norm():
    assert clip_embedding(np.array([[10.0, 0.0], [0.0, 0.1]])) == pytest.approx([np.sqrt(0.5)] * 2)


def test_single_keyframe_is_its_own_direction():
    assert clip_embedding(np.array([[3.0, 4.0]])) == pytest.approx([0.6, 0.8])


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((0, 4)),
        np.zeros((2, 0)),
        np.zeros(4),
        np.array([[0.0, 0.0]]),
        np.array([[1.0, 0.0], [-1.0, 0.0]]),
        np.array([[np.nan, 1.0]]),
    ],
)
def test_degenerate_inputs_are_refused(bad):
    with pytest.raises(BadInput):
        clip_embedding(bad)


@given(arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 16)), elements=st.floats(0.1, 10)))
def test_result_is_unit_length(vectors):
    assert np.linalg.norm(clip_embedding(vectors)) == pytest.approx(1.0, abs=1e-5)
