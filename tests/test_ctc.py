"""Greedy CTC decoding and error rates (seqkit.runtime.ctc), on hand-made cases."""
import numpy as np
import pytest

from seqkit.runtime.ctc import best_path, cer, edit_distance, error_rate, greedy_decode, wer


def frames(ids, symbols=4):
    """One-hot-ish scores [time, symbols] whose argmax per frame is ``ids``."""
    out = np.full((len(ids), symbols), -5.0)
    out[np.arange(len(ids)), ids] = 0.0
    return out


@pytest.mark.parametrize("ids,want", [
    ([1, 1, 0, 1, 2, 2, 0], [1, 1, 2]),        # a blank between equal symbols keeps both
    ([1, 1, 1, 2], [1, 2]),                    # repeats merge
    ([0, 0, 0], []),                           # only blanks: nothing
    ([2, 0, 0, 2, 3, 0, 3], [2, 2, 3, 3]),
    ([3], [3]),
])
def test_best_path(ids, want):
    assert best_path(frames(ids)) == want


def test_best_path_stops_at_length_and_handles_empty():
    assert best_path(frames([1, 0, 2, 3]), length=2) == [1]
    assert best_path(np.zeros((0, 4))) == []
    with pytest.raises(ValueError, match=r"\[time, symbols\]"):
        best_path(np.zeros(4))


def test_greedy_decode_a_padded_batch_to_text():
    alphabet = [" ", "a", "b"]  # ids 1, 2, 3
    scores = np.stack([frames([2, 2, 0, 2, 1, 3, 3, 0]), frames([3, 1, 2, 0, 0, 2, 3, 3])])
    # the second item is 5 frames long: its last frames (a, b) are padding and must not be read
    assert greedy_decode(scores, [8, 5], alphabet) == ["aa b", "b a"]
    assert greedy_decode(scores, None, alphabet) == ["aa b", "b aab"]
    assert greedy_decode(frames([1, 2, 1, 1, 0, 1])[None], None, alphabet) == ["a"]  # spaces collapse
    with pytest.raises(ValueError, match="alphabet has 2"):
        greedy_decode(scores, None, ["a", "b"])


@pytest.mark.parametrize("a,b,d", [
    ("kitten", "sitting", 3), ("", "abc", 3), ("abc", "", 3), ("abc", "abc", 0), ("flaw", "lawn", 2),
    (["one", "two"], ["one", "three", "two"], 1),
])
def test_edit_distance(a, b, d):
    assert edit_distance(a, b) == d == edit_distance(b, a)


def test_error_rates():
    assert cer("one two", "one two") == 0.0
    assert cer("one two", "one tw") == pytest.approx(1 / 7)
    assert wer("one two three", "one too three") == pytest.approx(1 / 3)
    assert wer("one two", "") == 1.0 and wer("one", "one one one") == 2.0  # insertions can exceed 1
    assert error_rate("", "") == 0.0 and error_rate("", "x") == 1.0
