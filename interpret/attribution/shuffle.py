"""Dinucleotide shuffles of one-hot sequences: the default DeepSHAP references.

:func:`dinucleotide_shuffle` draws uniformly random sequences with exactly the same
dinucleotide counts as the input (Altschul & Erickson 1985, via a random Eulerian path in
the graph whose vertices are bases and whose edges are the observed dinucleotides, as in
Kandel et al. 1996). It keeps the first and last base of every stretch of real bases and
leaves ``N`` positions (all-zero rows) in place; it does **not** preserve anything longer than
dinucleotides (trinucleotide counts change).

Randomness is seeded per sequence from ``(seed, the sequence's bytes)``: a row shuffled alone
gets the same references as inside any batch, so attributions do not depend on chunking. The
random stream is a splitmix64 generator per sequence, so the output depends on nothing but
``seed`` and the sequence (not on numpy's or numba's versions).

The walk is compiled with numba (``cache=True``: the first call in a fresh environment compiles
for ~1 s and stores the machine code beside this module; later processes load it).
"""

from __future__ import annotations

import zlib

import numpy as np
from numba import njit

from ..errors import InputError

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
    letters = np.ascontiguousarray(np.where(is_n, -1, x.argmax(-1)).astype(np.int8))
    seeds = np.array([_row_seed(seed, row) for row in letters], dtype=np.uint64).reshape(num)
    out = np.zeros((num, n, length, 4), np.float32)
    _shuffle_rows(letters, seeds, out)
    return out


def _row_seed(seed: int, row: np.ndarray) -> int:
    """64-bit generator seed of one sequence: (seed, CRC-32 of its letters)."""
    return ((int(seed) & 0xFFFFFFFF) << 32) | zlib.crc32(row.tobytes())


@njit(cache=True, inline="always")
def _next(state):
    """splitmix64: returns (new state, 64-bit output)."""
    state = state + np.uint64(0x9E3779B97F4A7C15)
    z = state
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return state, z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def _below(state, k):
    """Uniform integer in [0, k) (k < 2**31; 32-bit multiply-shift, bias < 2**-32 * k)."""
    state, z = _next(state)
    return state, np.int64(((z >> np.uint64(32)) * np.uint64(k)) >> np.uint64(32))


@njit(cache=True)
def _shuffle_rows(letters, seeds, out):
    """Fill ``out`` (N, n, L, 4) zeros with one-hot shuffles of every stretch of ``letters`` (N, L)."""
    num, length = letters.shape
    n = out.shape[1]
    for r in range(num):
        state = seeds[r]
        for _ in range(4):  # decorrelate neighbouring seeds
            state, _z = _next(state)
        i = 0
        while i < length:
            if letters[r, i] < 0:  # N: stays all zero
                i += 1
                continue
            j = i
            while j < length and letters[r, j] >= 0:
                j += 1
            state = _shuffle_stretch(letters[r, i:j], n, state, out[r, :, i:j])
            i = j
    return out


@njit(cache=True)
def _shuffle_stretch(s, n, state, out):
    """``n`` uniform random Eulerian walks (Kandel et al. 1996) of the stretch ``s`` (m,) -> out (n, m, 4).

    For every base but the final one, a uniformly drawn out-edge is its last exit; the last
    exits must form a tree pointing to the final base (else redraw). The other exits of each
    base are put in uniformly random order, and the walk from the first base takes them in turn.
    Conditioned on a valid tree every order of the edges is equally likely, so every sequence
    with the same dinucleotide counts and ends is equally likely.
    """
    m = s.shape[0]
    if m < 3:
        for k in range(n):
            for t in range(m):
                out[k, t, s[t]] = 1.0
        return state
    counts = np.zeros((4, 4), np.int64)
    for t in range(m - 1):
        counts[s[t], s[t + 1]] += 1
    deg = counts.sum(1)
    first = s[0]
    last = s[m - 1]
    start = np.zeros(4, np.int64)
    for a in range(1, 4):
        start[a] = start[a - 1] + deg[a - 1]
    exits = np.empty(m - 1, np.int64)  # exits of base a at exits[start[a]:start[a] + deg[a]]
    exit_to = np.empty(4, np.int64)
    used = np.empty(4, np.int64)
    for k in range(n):
        # 1. last exits: a random tree rooted at the final base
        while True:
            for a in range(4):
                exit_to[a] = a
                if a != last and deg[a] > 0:
                    state, u = _below(state, deg[a])
                    b = 0
                    while u >= counts[a, b]:
                        u -= counts[a, b]
                        b += 1
                    exit_to[a] = b
            ok = True
            for a in range(4):
                if deg[a] > 0 and a != last:
                    v = a
                    for _ in range(4):
                        v = exit_to[v]
                    if v != last:
                        ok = False
            if ok:
                break
        # 2. every base's other exits in random order (Fisher-Yates), its last exit at the end
        for a in range(4):
            p = start[a]
            for b in range(4):
                c = counts[a, b] - (1 if (a != last and b == exit_to[a]) else 0)
                for _ in range(c):
                    exits[p] = b
                    p += 1
            free = deg[a] - (0 if a == last else 1)
            for t in range(free - 1, 0, -1):
                state, u = _below(state, t + 1)
                tmp = exits[start[a] + t]
                exits[start[a] + t] = exits[start[a] + u]
                exits[start[a] + u] = tmp
            if a != last and deg[a] > 0:
                exits[start[a] + deg[a] - 1] = exit_to[a]
            used[a] = 0
        # 3. walk
        cur = first
        out[k, 0, cur] = 1.0
        for t in range(1, m):
            nxt = exits[start[cur] + used[cur]]
            used[cur] += 1
            cur = nxt
            out[k, t, cur] = 1.0
    return state
