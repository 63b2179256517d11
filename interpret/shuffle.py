"""Dinucleotide shuffles of one-hot sequences: the default DeepSHAP references.

:func:`dinucleotide_shuffle` draws uniformly random sequences with exactly the same
dinucleotide counts as the input (Altschul & Erickson 1985, via a random Eulerian path in
the graph whose vertices are bases and whose edges are the observed dinucleotides, as in
Kandel et al. 1996). It keeps the first and last base of every stretch of real bases and
leaves ``N`` positions (all-zero rows) in place; it does **not** preserve anything longer than
dinucleotides (trinucleotide counts change).

Randomness is seeded per sequence from ``(seed, the sequence's bytes)``: a row shuffled alone
gets the same references as inside any batch, so attributions do not depend on chunking.
"""

from __future__ import annotations

import zlib

import numpy as np

from .errors import InputError

__all__ = ["dinucleotide_shuffle", "dinucleotide_counts"]


def dinucleotide_counts(x: np.ndarray) -> np.ndarray:
    """Counts of the 16 dinucleotides of each sequence.

    Parameters
    ----------
    x : ndarray, shape (..., L, 4)
        One-hot sequences; pairs involving an ``N`` (all-zero) row count nothing.

    Returns
    -------
    ndarray, shape (..., 4, 4), int64
        ``counts[..., a, b]`` = number of positions ``i`` with base ``a`` at ``i`` and ``b`` at ``i + 1``.
    """
    x = np.asarray(x)
    return np.einsum("...ia,...ib->...ab", x[..., :-1, :], x[..., 1:, :]).round().astype(np.int64)


def dinucleotide_shuffle(x: np.ndarray, n: int = 20, seed: int = 0) -> np.ndarray:
    """``n`` seeded dinucleotide-preserving shuffles of every sequence.

    Parameters
    ----------
    x : ndarray, shape (N, L, 4)
        One-hot sequences, A C G T; all-zero rows are ``N`` and stay where they are.
    n : int
        Shuffles per sequence.
    seed : int
        Same seed and same sequence give the same shuffles, whatever the rest of the batch.

    Returns
    -------
    ndarray, shape (N, n, L, 4), float32
        Exact dinucleotide counts and the same first and last base as each input (per stretch
        between ``N`` runs). Stretches shorter than 3 bases are returned unchanged.
    """
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[-1] != 4:
        raise InputError(f"sequences to shuffle must have shape (N, L, 4), not {x.shape}.")
    if int(n) < 1:
        raise InputError(f"the number of shuffles must be at least 1, not {n}.")
    n = int(n)
    num, length, _ = x.shape
    is_n = x.sum(-1) < 0.5
    letters = np.where(is_n, -1, x.argmax(-1)).astype(np.int8)
    rngs = [np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(row.tobytes())]) for row in letters]
    out = np.repeat(letters[:, None, :], n, axis=1)  # (N, n, L)

    clean = ~is_n.any(1)
    if clean.any():
        rows = np.flatnonzero(clean)
        out[rows] = _shuffle_batch(letters[rows], n, [rngs[i] for i in rows])
    for i in np.flatnonzero(~clean):  # rows with N: shuffle each stretch of real bases
        for start, stop in _stretches(~is_n[i]):
            out[i, :, start:stop] = _shuffle_batch(letters[i:i + 1, start:stop], n, [rngs[i]])[0]

    onehot = np.zeros((num, n, length, 4), np.float32)
    real = out >= 0
    idx = np.nonzero(real)
    onehot[idx + (out[real].astype(np.intp),)] = 1.0
    return onehot


def _stretches(mask: np.ndarray):
    """(start, stop) of each run of True in a 1-D boolean mask."""
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return list(zip(edges[::2], edges[1::2]))


def _shuffle_batch(seqs: np.ndarray, n: int, rngs: list) -> np.ndarray:
    """Eulerian-path shuffles of equal-length sequences without ``N``.

    Parameters
    ----------
    seqs : ndarray, shape (B, m), int in 0..3
    n : int
    rngs : list of B numpy Generators, one per sequence

    Returns
    -------
    ndarray, shape (B, n, m), int8
    """
    b, m = seqs.shape
    if m < 3:
        return np.repeat(seqs[:, None, :], n, axis=1).astype(np.int8)
    src = seqs[:, :-1].astype(np.int64)  # (B, m-1) edge sources
    dst = seqs[:, 1:].astype(np.int64)
    last = seqs[:, -1].astype(np.int64)
    present = np.zeros((b, 4), bool)
    np.put_along_axis(present, src, True, axis=1)

    # Random order of the out-edges of every vertex: sort edges by (source, random key). The
    # edge with the largest key of each vertex is its last exit; the exits of all vertices but
    # the final base must form a tree pointing to the final base (else redraw). Conditioned on
    # that, the orders are uniform, so the walk is a uniform random Eulerian path.
    keys = np.stack([r.random((n, m - 1)) for r in rngs])  # (B, n, m-1)
    pending = np.ones((b, n), bool)
    order = np.empty((b, n, m - 1), np.int64)
    for _ in range(10000):
        rows, reps = np.nonzero(pending)
        if len(rows) == 0:
            break
        k = keys[rows, reps]  # (P, m-1)
        o = np.argsort(src[rows] + k, axis=1, kind="stable")
        order[rows, reps] = o
        s_sorted = np.take_along_axis(src[rows], o, 1)
        d_sorted = np.take_along_axis(dst[rows], o, 1)
        # last exit of each vertex: the last edge of its group in the sorted order
        is_last = np.ones_like(s_sorted, bool)
        is_last[:, :-1] = s_sorted[:, 1:] != s_sorted[:, :-1]
        exit_to = np.tile(np.arange(4), (len(rows), 1))
        pr, pc = np.nonzero(is_last)
        exit_to[pr, s_sorted[pr, pc]] = d_sorted[pr, pc]
        root = last[rows]
        exit_to[np.arange(len(rows)), root] = root
        node = np.tile(np.arange(4), (len(rows), 1))
        for _ in range(4):
            node = np.take_along_axis(exit_to, node, 1)
        ok = ((node == root[:, None]) | ~present[rows]).all(1)
        pending[rows[ok], reps[ok]] = False
        bad_r, bad_p = rows[~ok], reps[~ok]  # grouped by row (np.nonzero order)
        uniq, first = np.unique(bad_r, return_index=True)
        for r, reps_r in zip(uniq, np.split(bad_p, first[1:])):
            # redraw from the sequence's own generator, in a fixed order
            keys[r, reps_r] = rngs[r].random((len(reps_r), m - 1))
    else:  # pragma: no cover - probability ~0
        raise RuntimeError("dinucleotide shuffle did not find a valid Eulerian path")

    # Walk: from the first base, always take the next unused exit of the current base.
    flat_src = np.take_along_axis(np.repeat(src[:, None], n, 1), order, 2).reshape(b * n, m - 1)
    flat_dst = np.take_along_axis(np.repeat(dst[:, None], n, 1), order, 2).reshape(b * n, m - 1)
    counts = np.stack([(flat_src == a).sum(1) for a in range(4)], 1)
    starts = np.concatenate([np.zeros((b * n, 1), np.int64), np.cumsum(counts, 1)[:, :-1]], 1)
    used = np.zeros((b * n, 4), np.int64)
    rows = np.arange(b * n)
    out = np.empty((b * n, m), np.int8)
    cur = np.repeat(seqs[:, 0], n).astype(np.int64)
    out[:, 0] = cur
    for t in range(1, m):
        pos = starts[rows, cur] + used[rows, cur]
        used[rows, cur] += 1
        cur = flat_dst[rows, pos]
        out[:, t] = cur
    return out.reshape(b, n, m)
