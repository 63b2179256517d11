"""Sequence edits for in-silico experiments: pure array surgery, no model.

The experiments of :mod:`interpret.evidence.screen` and :mod:`interpret.evidence.effects` are built from these
edits and one prediction call each. Every function takes arrays and returns **new** arrays;
its inputs are never modified. One-hot arrays are ``(N, L, 4)`` float32, A C G T; motifs and
instances are ``(W, 4)``.

=================================  ================================================================
:func:`backgrounds`                seeded dinucleotide shuffles of given sequences (where to insert)
:func:`consensus`                  the most probable base of every column of a PPM, one-hot
:func:`sample_instances`           instances drawn column by column from a PPM (seeded)
:func:`gc_matched`                 a random sequence with a given width and GC content (a control)
:func:`reverse_complement`         the other strand of one-hot sequences or instances
:func:`insertion_starts`           the centre, or ``k`` evenly spaced insertion points
:func:`insert`                     write instances over ``x[start:start + W]`` (a substitution)
:func:`pair_starts`                where two instances at a given offset go, the pair centred
:func:`insert_pair`                two instances at a fixed offset: A alone, B alone and both
:func:`shuffle_spans`              replace spans by seeded shuffles of their own bases (ablation)
=================================  ================================================================

What these do *not* do: :func:`insert` substitutes (the sequence keeps its length, the bases
under the instance are lost), like tangermeme's ``ersatz.substitute``; :func:`shuffle_spans`
keeps each span's base composition but not its dinucleotides (a span of a few bases has too few
dinucleotide-preserving orders to be worth it).
"""

from __future__ import annotations

import zlib

import numpy as np

from ..errors import InputError
from ..attribution.shuffle import dinucleotide_shuffle

__all__ = ["backgrounds", "consensus", "sample_instances", "gc_matched", "reverse_complement", "insertion_starts",
           "check_positions", "insert", "pair_starts", "insert_pair", "shuffle_spans", "motif_seed"]


def _check_onehot(x, what: str = "sequences") -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[-1] != 4:
        raise InputError(f"{what} have shape {x.shape}; one-hot sequences must be (N, L, 4), A C G T.")
    return x


def _check_ppm(ppm, what: str = "motif") -> np.ndarray:
    p = np.asarray(ppm, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 4 or len(p) == 0:
        raise InputError(f"{what} has shape {p.shape}; a PPM must be a (W, 4) array, A C G T.")
    if not np.isfinite(p).all() or (p < 0).any():
        raise InputError(f"{what} has negative or non-finite entries; a PPM holds probabilities.")
    s = p.sum(axis=1, keepdims=True)
    return np.where(s > 0, p / np.where(s > 0, s, 1.0), 0.25)


def motif_seed(seed: int, ppm: np.ndarray) -> np.random.Generator:
    """Generator for one motif: from ``seed`` and the PPM's bytes, so a motif gets the same
    instances wherever it sits in a database and however the work is chunked."""
    crc = zlib.crc32(np.ascontiguousarray(ppm, dtype=np.float64).tobytes())
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, crc])


def backgrounds(x: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """``n`` seeded dinucleotide shuffles of the sequences ``x``: backgrounds for insertions.

    Parameters
    ----------
    x : ndarray, shape (N, L, 4)
        One-hot sequences (e.g. the explained sequences of a run).
    n : int
        Number of backgrounds, at least 2 (an effect's standard error needs two).
    seed : int
        Picks the rows (a seeded permutation of ``x``, repeated when ``n > N``) and seeds the
        shuffles (:func:`interpret.attribution.shuffle.dinucleotide_shuffle`).

    Returns
    -------
    ndarray, shape (n, L, 4), float32
        Background ``b`` is a shuffle of row ``perm[b % N]``; a row used ``r`` times gives
        ``r`` different shuffles. Each keeps its row's dinucleotide counts (so its GC and CpG
        content), but no motif survives except by chance.
    """
    x = _check_onehot(x)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise InputError(f"the number of backgrounds must be an integer of at least 2, not {n!r}: "
                         "an effect's standard error needs two backgrounds.")
    if len(x) == 0:
        raise InputError("no sequences to make backgrounds from; give at least one sequence.")
    rng = np.random.default_rng(int(seed))
    rows = np.resize(rng.permutation(len(x)), int(n))
    uniq, inverse = np.unique(rows, return_inverse=True)
    occurrence = np.zeros(len(rows), np.int64)       # how many earlier picks of the same row
    seen: dict[int, int] = {}
    for b, r in enumerate(rows):
        occurrence[b] = seen.get(int(r), 0)
        seen[int(r)] = occurrence[b] + 1
    shuffled = dinucleotide_shuffle(x[uniq], n=int(occurrence.max()) + 1, seed=seed)   # (U, r, L, 4)
    return shuffled[inverse, occurrence]


def consensus(ppm: np.ndarray) -> np.ndarray:
    """One-hot consensus ``(W, 4)`` float32 of ``ppm`` ``(W, 4)``: the most probable base of every
    column (ties go to the first of A C G T)."""
    p = _check_ppm(ppm)
    return np.eye(4, dtype=np.float32)[p.argmax(axis=1)]


def sample_instances(ppm: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` instances drawn from ``ppm``, every column independently.

    Parameters
    ----------
    ppm : ndarray, shape (W, 4)
        Position probability matrix, A C G T (rows are normalised here).
    n : int
    rng : numpy.random.Generator
        E.g. :func:`motif_seed`.

    Returns
    -------
    ndarray, shape (n, W, 4), float32
        One-hot instances on the PPM's own strand.
    """
    p = _check_ppm(ppm)
    cum = np.cumsum(p, axis=1)
    cum[:, -1] = 1.0                                   # no draw may fall past T by round-off
    u = rng.random((int(n), len(p), 1))
    idx = (u > cum[None]).sum(axis=2)
    return np.eye(4, dtype=np.float32)[idx]


def gc_matched(width: int, n_gc, rng: np.random.Generator) -> np.ndarray:
    """Random one-hot sequences of ``width`` bp with exactly ``n_gc[i]`` G or C bases each.

    Parameters
    ----------
    width : int
    n_gc : array-like of int, shape (n,)
        GC count of each sequence, ``0 <= n_gc <= width``.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (n, width, 4), float32
        The G/C positions of a sequence are a uniform random subset; each holds C or G, every
        other position A or T, with equal probability. The control of an insertion: an
        instance's width and GC content, in no particular order.
    """
    n_gc = np.asarray(n_gc, dtype=np.int64).ravel()
    width = int(width)
    if len(n_gc) and (n_gc.min() < 0 or n_gc.max() > width):
        raise InputError(f"a {width}-bp sequence holds 0..{width} G or C bases, not {n_gc.min()}..{n_gc.max()}.")
    rank = rng.random((len(n_gc), width)).argsort(axis=1).argsort(axis=1)
    coin = rng.integers(0, 2, (len(n_gc), width))
    idx = np.where(rank < n_gc[:, None], 1 + coin, 3 * coin)          # C/G, or A/T
    return np.eye(4, dtype=np.float32)[idx]


def reverse_complement(x: np.ndarray) -> np.ndarray:
    """Reverse complement of one-hot ``(..., W, 4)`` (A C G T order): a new array."""
    return np.ascontiguousarray(np.asarray(x)[..., ::-1, ::-1])


def insertion_starts(length: int, width: int, k: int = 1) -> np.ndarray:
    """Start positions for an instance of ``width`` bp in ``length`` bp sequences, shape ``(k,)``.

    ``k = 1``: the centre, ``(length - width) // 2``. ``k > 1``: ``k`` points evenly spaced
    strictly inside ``[0, length - width]`` (the ends stay out, where padding would see the
    instance only in part), so ``k = 3`` gives the quarter, the middle and three quarters.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"the number of insertion positions must be a positive integer, not {k!r}.")
    if width > length:
        raise InputError(f"a {width}-bp motif does not fit in {length}-bp sequences; use motifs no wider "
                         "than the sequences.")
    if k == 1:
        return np.array([(length - width) // 2], np.int64)
    return np.round(np.linspace(0, length - width, int(k) + 2)[1:-1]).astype(np.int64)


def check_positions(k: int, length: int, width: int, flag: str = "--screen-positions") -> None:
    """Raise :class:`InputError` when :func:`insertion_starts` cannot give ``k`` distinct starts
    for a ``width``-bp motif in ``length`` bp: strictly inside, ``length - width - 1`` of them
    (more would repeat positions)."""
    room = max(length - width - 1, 1)
    if k > 1 and k > room:
        raise InputError(f"{flag} {k}: only {room} distinct insertion points fit the widest --motif-db motif "
                         f"({width} bp) inside {length}-bp sequences; give at most {room}.")


def insert(x: np.ndarray, instances: np.ndarray, starts) -> np.ndarray:
    """Sequences with ``instances`` written over ``x[i, start_i:start_i + W]``.

    Parameters
    ----------
    x : ndarray, shape (N, L, 4)
        Sequences to insert into (not modified).
    instances : ndarray, shape (W, 4) or (N, W, 4)
        One instance for every row, or the same instance for all.
    starts : int or ndarray, shape (N,)
        First position of each instance; ``0 <= start <= L - W``.

    Returns
    -------
    ndarray, shape (N, L, 4), float32
        A copy of ``x`` with the instances substituted (the sequence keeps its length).
    """
    x = _check_onehot(x)
    inst = np.asarray(instances, dtype=np.float32)
    if inst.ndim == 2:
        inst = np.broadcast_to(inst, (len(x),) + inst.shape)
    if inst.ndim != 3 or inst.shape[0] != len(x) or inst.shape[2] != 4:
        raise InputError(f"instances have shape {np.shape(instances)}; give (W, 4) or ({len(x)}, W, 4).")
    n, length, _ = x.shape
    width = inst.shape[1]
    starts = np.broadcast_to(np.asarray(starts, dtype=np.int64), (n,))
    if width > length:
        raise InputError(f"a {width}-bp instance does not fit in {length}-bp sequences; use motifs no wider "
                         "than the sequences.")
    if n and (starts.min() < 0 or starts.max() > length - width):
        raise InputError(f"insertion starts must lie in 0..{length - width} for a {width}-bp instance in "
                         f"{length}-bp sequences.")
    out = np.array(x, dtype=np.float32, copy=True)
    cols = starts[:, None] + np.arange(width)[None, :]
    out[np.arange(n)[:, None], cols] = inst
    return out


def pair_starts(length: int, width_a: int, width_b: int, offset: int) -> tuple[int, int]:
    """Starts of two instances ``A`` (``width_a`` bp) and ``B`` (``width_b`` bp), ``B`` starting
    ``offset`` bp after ``A`` (negative: before it), the pair's span centred in ``length`` bp.

    Returns ``(start_a, start_b)``; an :class:`InputError` when the pair does not fit.
    """
    lo, hi = min(0, int(offset)), max(int(width_a), int(offset) + int(width_b))
    if hi - lo > length:
        raise InputError(f"two instances spanning {hi - lo} bp do not fit in {length}-bp sequences; "
                         "test a shorter spacing.")
    first = (int(length) - (hi - lo)) // 2
    return first - lo, first - lo + int(offset)


def insert_pair(x: np.ndarray, a: np.ndarray, b: np.ndarray, offset: int, reverse=None) -> np.ndarray:
    """Copies of ``x`` with instance ``A`` alone, ``B`` alone, and both at a fixed arrangement.

    The arrangement (:func:`pair_starts`: ``B`` starts ``offset`` bp after ``A``, the pair
    centred) is written on the forward strand, or, in the rows where ``reverse`` is True, as its
    reverse complement: both instances reverse-complemented and mirrored, so ``B`` lies
    ``offset`` bp *upstream* on the forward strand. "A alone" keeps the background where ``B``
    goes and "B alone" where ``A`` goes; where the two overlap, "both" holds ``B``'s bases.

    Parameters
    ----------
    x : ndarray, shape (N, L, 4)
        Backgrounds (not modified).
    a : ndarray, shape (N, Wa, 4)
        Instance of ``A`` for every row, on ``A``'s own strand.
    b : ndarray, shape (N, Wb, 4)
        Instance of ``B`` for every row, already in its strand relative to ``A`` (the reverse
        complement of ``B``'s instance for a pair in opposite orientations).
    offset : int
        ``start_B - start_A`` on ``A``'s strand.
    reverse : ndarray, shape (N,), bool, optional
        Rows that get the arrangement's reverse complement (default: none).

    Returns
    -------
    ndarray, shape (3, N, L, 4), float32
        ``[A alone, B alone, A and B]``.
    """
    x = _check_onehot(x)
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    n, length = x.shape[:2]
    if a.shape[0] != n or b.shape[0] != n:
        raise InputError(f"give one instance of each motif per background: {a.shape[0]} and {b.shape[0]} "
                         f"instances for {n} backgrounds.")
    wa, wb = a.shape[1], b.shape[1]
    sa, sb = pair_starts(length, wa, wb, offset)
    rev = np.zeros(n, bool) if reverse is None else np.asarray(reverse, bool)
    a = np.where(rev[:, None, None], reverse_complement(a), a)
    b = np.where(rev[:, None, None], reverse_complement(b), b)
    starts_a = np.where(rev, length - sa - wa, sa)
    starts_b = np.where(rev, length - sb - wb, sb)
    only_a = insert(x, a, starts_a)
    only_b = insert(x, b, starts_b)
    return np.stack([only_a, only_b, insert(only_a, b, starts_b)])


def shuffle_spans(x: np.ndarray, rows, starts, ends, n: int = 10, seed=0) -> np.ndarray:
    """Copies of ``x[rows]`` with ``starts:ends`` replaced by seeded shuffles of their own bases.

    Parameters
    ----------
    x : ndarray, shape (N, L, 4)
        Sequences (not modified).
    rows, starts, ends : array-like of int, shape (S,)
        Span ``s`` is ``x[rows[s], starts[s]:ends[s]]``.
    n : int
        Shuffles per span.
    seed : int or sequence of int
        Seeds :func:`numpy.random.default_rng`.

    Returns
    -------
    ndarray, shape (S, n, L, 4), float32
        Copy ``k`` of span ``s`` holds the ``k``-th shuffle. A shuffle keeps the span's base
        counts (so its GC content) and destroys their order; bases outside the span are kept.
    """
    x = _check_onehot(x)
    rows, starts, ends = (np.asarray(a, dtype=np.int64).ravel() for a in (rows, starts, ends))
    if not (len(rows) == len(starts) == len(ends)):
        raise InputError("rows, starts and ends of the spans must have the same length.")
    if int(n) < 1:
        raise InputError(f"the number of shuffles per span must be at least 1, not {n}.")
    length = x.shape[1]
    if len(rows) and (rows.min() < 0 or rows.max() >= len(x) or starts.min() < 0 or ends.max() > length
                      or (ends <= starts).any()):
        raise InputError(f"spans must lie inside the {len(x)} sequences of {length} bp and be non-empty.")
    rng = np.random.default_rng(seed)
    out = np.repeat(np.asarray(x[rows], dtype=np.float32)[:, None], int(n), axis=1)   # (S, n, L, 4)
    # spans of equal width are shuffled together: random keys, argsorted, give uniform permutations
    for width in np.unique(ends - starts):
        sel = np.flatnonzero(ends - starts == width)
        perm = np.argsort(rng.random((len(sel), int(n), int(width))), axis=2)
        cols = starts[sel][:, None] + np.arange(width)[None, :]                      # (s, W)
        span = out[sel[:, None], :, cols]                                            # (s, W, n, 4)
        span = np.moveaxis(span, 2, 1)                                               # (s, n, W, 4)
        shuffled = np.take_along_axis(span, perm[..., None], axis=2)
        out[sel[:, None], :, cols] = np.moveaxis(shuffled, 1, 2)
    return out
