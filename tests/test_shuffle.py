"""Dinucleotide shuffle: exact counts, ends kept, N kept in place, seeded, uniform."""

from collections import Counter

import numpy as np
import pytest

from interpret.errors import InputError
from interpret.attribution.shuffle import dinucleotide_counts, dinucleotide_shuffle


def _random_onehot(n, length, seed=0):
    rng = np.random.default_rng(seed)
    return np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, length))]


def test_shuffle_preserves_dinucleotide_counts_exactly():
    x = _random_onehot(300, 101)
    s = dinucleotide_shuffle(x, 20, seed=0)
    assert s.shape == (300, 20, 101, 4) and s.dtype == np.float32
    np.testing.assert_array_equal(dinucleotide_counts(s), np.broadcast_to(dinucleotide_counts(x)[:, None], (300, 20, 4, 4)))
    np.testing.assert_array_equal(s.sum(-1), 1.0)  # still one-hot
    np.testing.assert_array_equal(s[:, :, 0], np.broadcast_to(x[:, None, 0], (300, 20, 4)))  # first base kept
    np.testing.assert_array_equal(s[:, :, -1], np.broadcast_to(x[:, None, -1], (300, 20, 4)))  # last base kept
    changed = (s != x[:, None]).any((2, 3)).mean()
    assert changed > 0.99


def test_shuffle_same_seed_same_result_different_seed_different():
    x = _random_onehot(20, 60)
    a = dinucleotide_shuffle(x, 5, seed=3)
    np.testing.assert_array_equal(a, dinucleotide_shuffle(x, 5, seed=3))
    b = dinucleotide_shuffle(x, 5, seed=4)
    assert (a != b).any((1, 2, 3)).mean() > 0.9


def test_shuffle_of_a_row_alone_equals_the_row_in_a_batch():
    x = _random_onehot(10, 50)
    batch = dinucleotide_shuffle(x, 4, seed=1)
    alone = dinucleotide_shuffle(x[7:8], 4, seed=1)
    np.testing.assert_array_equal(alone[0], batch[7])


def test_shuffle_keeps_n_positions_in_place_and_counts():
    x = _random_onehot(30, 80, seed=2)
    x[0, 10:14] = 0
    x[1, :5] = 0
    x[2, -3:] = 0
    x[3, 40] = 0
    s = dinucleotide_shuffle(x, 8, seed=0)
    np.testing.assert_array_equal(s.sum(-1), np.broadcast_to(x.sum(-1)[:, None], (30, 8, 80)))
    np.testing.assert_array_equal(dinucleotide_counts(s), np.broadcast_to(dinucleotide_counts(x)[:, None], (30, 8, 4, 4)))


def test_shuffle_is_uniform_over_eulerian_paths():
    # ACAGACTA: its dinucleotide class has exactly 6 sequences; each should get ~1/6 of draws.
    x = np.eye(4, dtype=np.float32)[[0, 1, 0, 2, 0, 1, 3, 0]][None]
    draws = dinucleotide_shuffle(x, 6000, seed=0)[0].argmax(-1)
    counts = Counter(map(tuple, draws))
    assert len(counts) == 6
    freqs = np.array(list(counts.values())) / 6000
    assert np.abs(freqs - 1 / 6).max() < 0.025


def test_shuffle_short_sequences_unchanged_and_bad_shape_rejected():
    x = _random_onehot(3, 2)
    np.testing.assert_array_equal(dinucleotide_shuffle(x, 2, 0), np.repeat(x[:, None], 2, 1))
    with pytest.raises(InputError, match="shape"):
        dinucleotide_shuffle(np.zeros((5, 4)), 2, 0)
