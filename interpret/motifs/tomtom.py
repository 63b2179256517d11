"""TOMTOM motif comparison (Gupta et al. 2007, "complete score") in vectorised NumPy.

The statistic is the one memelite 0.5 implements, step by step, so the two give the same
integer scores, offsets and overlaps and p-values equal to float round-off
(``benchmarks/tomtom_speed.py`` measures it); nothing here is compiled at run time, so the first
call of a process costs what every later call costs.

For one query of ``nq`` columns against a database of target columns (both strands):

1. **Target columns** are hashed (``n_target_bins`` levels per letter, range per letter over the
   whole database): columns that agree in every letter's level are merged into one, counted with
   their multiplicity. Every target column is then represented by the first column of its class.
2. **Column score**: ``-sqrt(|x - y|^2)`` between a query column ``x`` and a target column ``y``.
3. **Null per query column**: its scores against every (merged, counted) target column. Each
   row is centred on its median (a binned approximation over ``n_median_bins`` bins: the mean of
   the bin holding the middle count), so an unaligned column scores 0 ("complete score").
4. **Binning**: one scale per query maps all its centred scores onto ``0 .. n_score_bins``
   integers; ``f[i]`` is the histogram of column ``i``'s binned scores over the target columns.
5. **Alignment score** of an offset: the sum of the aligned columns' binned scores (unaligned
   columns add their median, 0). The best offset of each target is the one with the highest sum.
6. **p-value**: the aligned spans of the query are independent sums of their columns' null
   (convolutions of ``f``); the best of the ``nq + nt - 1`` alignments with a target of length
   ``nt`` is the maximum of independent span scores, and p = P(that maximum >= observed best).
   Both strands: the smaller p of the two, corrected as ``1 - (1 - p)^2``.

What this module does differently from memelite, with the same result: the span distributions
are built by blocked matrix products (all values are non-negative, so the tails keep their
relative precision), and the maximum over spans is taken through the survival functions,
``P(max >= s) = -expm1(sum log1p(-P(span >= s)))``, evaluated only at the observed scores,
instead of building the distribution of the maximum bin by bin.

What it does not do: the "incomplete score" variant, E-values, or q-values (``stats.bh``).
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..errors import InputError

logger = logging.getLogger(__name__)

N_SCORE_BINS = 100     # integer score levels per query (TOMTOM's t)
N_MEDIAN_BINS = 1000   # bins of the approximate median of a query column's scores
N_TARGET_BINS = 100    # levels per letter when merging near-identical target columns
ROWS = 192             # query columns per batch (memory: a few ROWS x target classes x 8 B arrays)


def tomtom(queries, targets, n_score_bins: int = N_SCORE_BINS, n_median_bins: int = N_MEDIAN_BINS,
           n_target_bins: int | None = N_TARGET_BINS, reverse_complement: bool = True):
    """TOMTOM p-value, score, offset, overlap and strand of every query against every target.

    Parameters
    ----------
    queries, targets : list of ndarray, each (W, A)
        Motifs as position x letter matrices (A = 4 for A C G T); widths may differ. The null
        distribution of every query column is built from all target columns, so give a whole
        database (with fewer than ~25 targets the p-values depend on which are given).
    n_score_bins : int
        Integer score levels of one query's columns.
    n_median_bins : int
        Bins of the approximate median of a query column's scores against the target columns.
    n_target_bins : int or None
        Levels per letter for merging near-identical target columns (``None``: no merging).
    reverse_complement : bool
        Also align every query to each target's reverse complement (``t[::-1, ::-1]``) and keep
        the better strand.

    Returns
    -------
    p : ndarray, shape (n_queries, n_targets), float64
        p-value of the best alignment (both strands: ``1 - (1 - min p)^2``).
    score : ndarray, shape (n_queries, n_targets), int64
        Best alignment's integer score, on the scale of step 4 shifted by ``nq x`` the query's
        zero level (comparable within one query only).
    offset : ndarray, shape (n_queries, n_targets), int64
        Query column ``j`` aligns with target column ``j + offset`` (of the reverse complement
        when ``strand`` is 1).
    overlap : ndarray, shape (n_queries, n_targets), int64
        Number of aligned columns.
    strand : ndarray, shape (n_queries, n_targets), int64
        1 when the best alignment is with the reverse complement (ties go to it).
    """
    qs = [_as_matrix(q, "query", i) for i, q in enumerate(queries)]
    ts = [_as_matrix(t, "target", i) for i, t in enumerate(targets)]
    n_q, n_t = len(qs), len(ts)
    out = (np.ones((n_q, n_t)), *(np.zeros((n_q, n_t), np.int64) for _ in range(4)))
    if n_q == 0 or n_t == 0:
        return out
    if len({m.shape[1] for m in qs + ts}) != 1:
        raise InputError("queries and targets must have the same number of letters (columns).")
    if reverse_complement:
        ts = ts + [t[::-1, ::-1] for t in ts]
    db = _Targets(ts, n_target_bins)
    logger.debug("TOMTOM: %d queries x %d targets, %d target columns in %d classes", n_q, n_t, len(db.inv),
                 len(db.cols))
    p2, s2, o2, v2 = (np.empty((n_q, len(ts)), dt) for dt in (np.float64, np.int64, np.int64, np.int64))

    def run(rows):
        p2[rows], s2[rows], o2[rows], v2[rows] = _batch(np.stack([qs[i] for i in rows]), db, n_score_bins,
                                                        n_median_bins)

    _map_batches(run, [len(q) for q in qs])
    if not reverse_complement:
        return p2, s2, o2, v2, np.zeros((n_q, n_t), np.int64)
    pf, pr = p2[:, :n_t], p2[:, n_t:]
    p = np.minimum(pf, pr)
    rc = s2[:, n_t:] >= s2[:, :n_t]
    pick = lambda a: np.where(rc, a[:, n_t:], a[:, :n_t])  # noqa: E731
    return p * (2 - p), pick(s2), pick(o2), pick(v2), rc.astype(np.int64)


def best_p(queries, targets, n_score_bins: int = N_SCORE_BINS, n_median_bins: int = N_MEDIAN_BINS,
           n_target_bins: int | None = N_TARGET_BINS) -> np.ndarray:
    """p-value of each query's best match over all targets, both strands: ``tomtom(...)[0].min(axis=1)``.

    The same number, for a fraction of the cost: within one target length a query's p-value
    falls as its best alignment score rises (the span table is the same), so only the best score
    of each target length needs a p-value, not every target's. What the false-match guard's
    order test asks of each column-shuffled copy of a core (:func:`interpret.motifs.compare.match_to_db`).

    Parameters
    ----------
    queries, targets : list of ndarray, each (W, A)
        As in :func:`tomtom`.

    Returns
    -------
    ndarray, shape (n_queries,), float64
    """
    qs = [_as_matrix(q, "query", i) for i, q in enumerate(queries)]
    ts = [_as_matrix(t, "target", i) for i, t in enumerate(targets)]
    out = np.ones(len(qs))
    if not qs or not ts:
        return out
    if len({m.shape[1] for m in qs + ts}) != 1:
        raise InputError("queries and targets must have the same number of letters (columns).")
    db = _Targets(ts + [t[::-1, ::-1] for t in ts], n_target_bins)

    def run(rows):
        out[rows] = _batch(np.stack([qs[i] for i in rows]), db, n_score_bins, n_median_bins, best_only=True)

    _map_batches(run, [len(q) for q in qs])
    return out * (2 - out)


def _map_batches(run, widths) -> None:
    """Call ``run(rows)`` on batches of queries of one width (at most :data:`ROWS` columns a
    batch), one thread per core: the batches are independent and most of their time is NumPy
    outside the GIL."""
    widths = np.asarray(widths)
    batches = []
    for nq in np.unique(widths):
        idx = np.flatnonzero(widths == nq)
        step = max(1, ROWS // int(nq))
        batches += [idx[c:c + step] for c in range(0, len(idx), step)]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    workers = min(len(batches), cores)
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(run, batches))
    else:
        for rows in batches:
            run(rows)


def _as_matrix(m, what: str, i: int) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] == 0 or m.shape[1] == 0:
        raise InputError(f"{what} {i} has shape {m.shape}; motifs must be (W, A) matrices, position x letter.")
    if not np.isfinite(m).all() or not (m ** 2).sum() > 0:
        raise InputError(f"{what} {i} is all zero or not finite; give a probability matrix.")
    return m


def _sq_norm(x: np.ndarray) -> np.ndarray:
    """Squared norm of every row of ``x`` (n, A), the letters added in order."""
    s = x[:, 0] ** 2
    for k in range(1, x.shape[1]):
        s = s + x[:, k] ** 2
    return s


class _Targets:
    """The target columns of a call: merged classes, their counts and the score layout.

    ``cols`` (U, A) holds one column per class (its first member), ``norm`` their squared norms,
    ``counts`` (U,) the class sizes, ``inv`` (N,) the class of every target column in order.
    """

    def __init__(self, ts: list[np.ndarray], n_target_bins: int | None):
        T = np.concatenate(ts)
        norm = _sq_norm(T)
        self.lens = np.array([len(t) for t in ts])
        if n_target_bins is None:
            self.cols, self.norm = T, norm
            self.inv, self.counts = np.arange(len(T)), np.ones(len(T), np.int64)
        else:
            lo, hi = T.min(axis=0), T.max(axis=0)
            hi = np.where(hi == lo, lo + 1, hi)
            levels = np.round((T - lo) / (hi - lo) * (n_target_bins - 1)).astype(np.int64)
            key = levels @ (np.int64(n_target_bins) ** np.arange(T.shape[1], dtype=np.int64))
            _, first, inv, counts = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
            self.cols, self.norm, self.inv, self.counts = T[first], norm[first], inv.ravel(), counts
        self.halfway = self.counts.sum() / 2
        self.weights = self.counts / self.counts.sum()
        self._layouts: dict[int, tuple] = {}

    def layout(self, nq: int):
        """Column classes laid out for ``nq``-column queries: ``nq - 1`` gap columns (class U, a
        zero score) before every target and after the last, so alignment ``k`` of target ``t``
        (query column ``i`` on target column ``k - nq + 1 + i``) sums the query rows at
        ``start[t] + k + i``. Returns (layout (Lz,), start (n,), block lengths (n,))."""
        if nq not in self._layouts:
            gap = nq - 1
            U = len(self.cols)
            blocks = self.lens + gap
            lay = np.full(int(blocks.sum()) + gap, U, np.int64)
            start = np.concatenate([[0], np.cumsum(blocks)[:-1]])
            pos = np.repeat(start + gap, self.lens) + _ragged_arange(self.lens)
            lay[pos] = self.inv
            self._layouts[nq] = (lay, start, blocks)
        return self._layouts[nq]


def _ragged_arange(lens: np.ndarray) -> np.ndarray:
    """``concatenate([arange(n) for n in lens])``."""
    ends = np.cumsum(lens)
    return np.arange(int(ends[-1])) - np.repeat(ends - lens, lens)


def _distances(X: np.ndarray, db: _Targets) -> np.ndarray:
    """Column scores ``-sqrt(|x - y|^2)`` (R, U) of query columns ``X`` (R, A) against the target
    classes, the squared distance expanded as ``|x|^2 + |y|^2 - 2 x.y`` and summed term by term
    in memelite's order (so the values, and the bins they fall in, are the same)."""
    z = np.add.outer(_sq_norm(X), db.norm)
    tmp = np.empty_like(z)
    for k in range(X.shape[1]):
        np.multiply.outer(2 * X[:, k], db.cols[:, k], out=tmp)
        z -= tmp
    np.maximum(z, 0.0, out=z)
    np.sqrt(z, out=z)
    return np.negative(z, out=z)


def _binned_median(D: np.ndarray, db: _Targets, n_bins: int):
    """Min, max and approximate median of every row of ``D`` (R, U), target classes weighted by
    their counts: rows are binned into ``n_bins`` equal bins over their range, the median is the
    (count-weighted) mean of the bin where the running count first reaches half the total."""
    R = len(D)
    mn, mx = D.min(axis=1), D.max(axis=1)
    rng = mx - mn
    flat = rng == 0
    z = D - mn[:, None]
    z /= np.where(flat, 1.0, rng)[:, None]
    z *= n_bins - 1
    z = z.astype(np.intp)
    z[flat] = 0
    z += (np.arange(R) * n_bins)[:, None]
    cnt = np.bincount(z.ravel(), np.tile(db.counts.astype(np.float64), R), R * n_bins).reshape(R, n_bins)
    b = np.argmax(np.cumsum(cnt, axis=1) >= db.halfway, axis=1)
    # The bin's sum in target order, from 0.0 (bincount adds its weights in order).
    row, j = np.nonzero(z == (b + np.arange(R) * n_bins)[:, None])
    s = np.bincount(row, D[row, j] * db.counts[j], R)
    med = s / cnt[np.arange(R), b]
    return mn, mx, np.where(flat, mn, med)


def _batch(Q: np.ndarray, db: _Targets, n_bins: int, n_median_bins: int, best_only: bool = False):
    """p, score, offset and overlap (B, n_targets) of B queries of one width, Q (B, nq, A); with
    ``best_only``, each query's smallest p over the targets (B,) (see :func:`best_p`)."""
    B, nq, A = Q.shape
    cols, col_of = np.unique(Q.reshape(B * nq, A), axis=0, return_inverse=True)
    col_of = col_of.reshape(B, nq)
    D = _distances(cols, db)
    mn, mx, med = _binned_median(D, db, n_median_bins)

    # One integer scale per query over all its columns' centred scores.
    z_min = (mn - med)[col_of].min(axis=1)
    z_max = (mx - med)[col_of].max(axis=1)
    i_min = np.floor(z_min).astype(np.int64)
    scale = np.floor(n_bins / np.maximum(z_max - i_min, 1.0)).astype(np.int64)
    zero = -i_min * scale

    # Binned rows depend on (column, i_min, scale) only: shuffled copies of a query share them.
    key = np.stack([col_of, np.broadcast_to(i_min[:, None], col_of.shape),
                    np.broadcast_to(scale[:, None], col_of.shape)], axis=-1).reshape(-1, 3)
    ukey, row_of = np.unique(key, axis=0, return_inverse=True)
    row_of = row_of.reshape(B, nq)
    gam, f = _binned_rows(D, med, ukey, db, n_bins, nq)
    lay, start, blocks = db.layout(nq)
    S = _alignment_sums(gam, row_of, lay)
    if best_only:
        M = np.maximum.reduceat(S, start, axis=1).astype(np.int64) + nq * zero[:, None]   # (B, n_targets)
        t_len, t_cls = np.unique(db.lens, return_inverse=True)
        score = np.full((len(S), len(t_len)), np.iinfo(np.int64).min)
        np.maximum.at(score.T, t_cls, M.T)                 # best score of each target length
        p = _p_values(score, zero, f[row_of], t_len, nq)
        return np.where(score > 0, p, 1.0).min(axis=1)
    return _best(S, start, blocks, zero, f[row_of], db.lens, nq)


def _binned_rows(D, med, ukey, db: _Targets, n_bins: int, nq: int):
    """Integer scores (R, U + 1) and their histograms ``f`` (R, n_bins + 1) of the query columns
    ``ukey[:, 0]`` (rows of ``D``) on the integer scale ``(i_min, scale) = ukey[:, 1:]``.

    The scores are shifted so that a column's median is 0; the extra last class (the gaps of
    the layout) scores 0. ``f`` counts the levels 0 .. n_bins (before the shift), target classes
    weighted by their share of the target columns.
    """
    c, im, sc = ukey.T
    n_r = len(ukey)
    x = D[c]
    x -= (med[c] + im)[:, None]
    x *= sc[:, None]
    x += 0.5
    np.floor(x, out=x)                                    # levels 0 .. n_bins
    gam = np.zeros((n_r, x.shape[1] + 1), np.int16 if nq * n_bins < 2 ** 15 else np.int32)
    gam[:, :-1] = x
    gam[:, :-1] -= (-im * sc)[:, None].astype(gam.dtype)
    x += (np.arange(n_r) * (n_bins + 1))[:, None]
    f = np.bincount(x.astype(np.intp).ravel(), np.tile(db.weights, n_r),
                    n_r * (n_bins + 1)).reshape(n_r, n_bins + 1)
    return gam, f


def _alignment_sums(gam, row_of, lay):
    """Sum of the aligned columns' scores at every layout position: (B, Lz - nq + 1), query
    column i of alignment k of target t at layout position ``start[t] + k + i``."""
    B, nq = row_of.shape
    G = np.take(gam, lay, axis=1)
    Ls = G.shape[1] - (nq - 1)
    S = np.zeros((B, Ls), gam.dtype)
    for b in range(B):
        for i in range(nq):
            S[b] += G[row_of[b, i], i:i + Ls]
    return S


def _best(S, start, blocks, zero, f_q, lens, nq):
    """Best alignment per target from the alignment sums S (B, Ls), then its p-value."""
    B = len(S)
    n_t = len(start)
    M = np.maximum.reduceat(S, start, axis=1)             # (B, n_t)
    bb, x = np.nonzero(S == np.take(M, np.repeat(np.arange(n_t), blocks), axis=1))
    t = np.searchsorted(start, x, side="right") - 1
    first = np.ones(len(x), bool)
    first[1:] = (bb[1:] != bb[:-1]) | (t[1:] != t[:-1])
    k = np.empty((B, n_t), np.int64)
    k[bb[first], t[first]] = x[first] - start[t[first]]
    nt = lens[None, :]
    # Ties (equal sums at several offsets) follow memelite's rule so offsets agree: scanning
    # left to right, a later tie replaces the kept one unless the kept offset >= its overlap.
    for j in np.flatnonzero(~first):
        b_, t_, kk = bb[j], t[j], x[j] - start[t[j]]
        if not k[b_, t_] - nq + 1 >= min(kk + 1, nq) - max(0, kk - lens[t_] + 1):
            k[b_, t_] = kk
    offset = k - nq + 1
    overlap = np.minimum(k + 1, nq) - np.maximum(0, k - nt + 1)
    score = M.astype(np.int64) + nq * zero[:, None]
    p = _p_values(score, zero, f_q, lens, nq)
    return np.where(score > 0, p, 1.0), score, offset, overlap


def _span_survivals(f_q: np.ndarray):
    """Survival functions of the sums of every span of query columns.

    ``f_q`` (B, nq, K) holds the columns' score distributions on levels ``0 .. K - 1``. Each
    column's distribution is cut to its support ``lo .. lo + k - 1`` (k the widest support in
    the batch), so span ``[i, i + m - 1]`` has a sum ``lo_i + ... + lo_{i+m-1} + x`` with ``x`` in
    ``0 .. m k - 1``: its survival ``P(sum >= that)`` is ``flat[b, base[m] + i * (m k + 1) + x]``,
    with one trailing 0 (above the range). Returns (flat (B, total), base (nq + 1,), k,
    lo_sum (B, nq + 1, nq): ``lo_sum[b, m, i]`` the lowest sum of span ``[i, i + m - 1]``).

    The convolution of a span with its next column is a product of ``k``-wide blocks of the span
    with the column's two Toeplitz halves, for all spans and queries in one BLAS call per span
    length; sums of non-negative products, so small tail probabilities keep their relative
    precision.
    """
    B, nq, K = f_q.shape
    nz = f_q > 0
    lo = np.argmax(nz, axis=2)
    k = int((K - np.argmax(nz[..., ::-1], axis=2) - lo).max())
    kern = np.take_along_axis(np.concatenate([f_q, np.zeros((B, nq, k))], axis=2),
                              lo[..., None] + np.arange(k), axis=2)
    lo_cum = np.concatenate([np.zeros((B, 1), np.int64), np.cumsum(lo, axis=1)], axis=1)
    lo_sum = np.zeros((B, nq + 1, nq), np.int64)
    for m in range(1, nq + 1):
        lo_sum[:, m, :nq - m + 1] = lo_cum[:, m:] - lo_cum[:, :nq - m + 1]
    # T[u, r] = kern[r - u] (0 where r - u is outside 0 .. k - 1): the left half (r < k) maps a
    # block onto the same output block, the right half onto the next one. (B, nq, k, 2k).
    ext = np.concatenate([np.zeros((B, nq, k - 1)), kern, np.zeros((B, nq, k))], axis=2)
    T = np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(ext, 2 * k, axis=2)[:, :, ::-1])
    # Span [i, i + m - 1] lives in row i of `pdf` as m blocks of k levels; block m is still 0.
    pdf = np.zeros((B, nq, (nq + 1) * k))
    pdf[:, :, :k] = kern
    width = np.arange(nq + 1) * k + 1                     # survival row of a span of m columns
    base = np.concatenate([[0, 0], np.cumsum((nq - np.arange(1, nq + 1) + 1) * width[1:])])
    flat = np.zeros((B, int(base[-1])))
    for m in range(1, nq + 1):
        R = nq - m + 1
        if m > 1:
            P = pdf[:, :R, :m * k].reshape(B, R, m, k) @ T[:, m - 1:]   # (B, R, m, 2k)
            out = pdf[:, :R, :m * k].reshape(B, R, m, k)
            out[...] = P[..., :k]
            out[:, :, 1:] += P[:, :, :-1, k:]
        dest = flat[:, base[m]:base[m + 1]].reshape(B, R, width[m])[..., :-1]
        np.cumsum(pdf[:, :R, m * k - 1::-1], axis=-1, out=dest[..., ::-1])
        np.minimum(dest, 1.0, out=dest)
    return flat, base[:-1], k, lo_sum


def _span_table(nq: int, t_lens: np.ndarray, k: int, base: np.ndarray):
    """For each target length, the spans its alignments cover and how often.

    An ``nq``-column query against a length-``t`` target has ``nq + t - 1`` alignments: overhangs
    covering the query's prefixes and suffixes of 1 .. min(t, nq) - 1 columns, and either every
    span of ``t`` columns once (``t < nq``) or the whole query ``t - nq + 1`` times.
    Returns (position of each span's survival row in ``_span_survivals``' flat array, span
    length, first column, row width, multiplicity), each (n_lengths, 2 nq - 1), padded with the
    trailing 0 of span [0, 0] at multiplicity 0.
    """
    width = lambda m: m * k + 1  # noqa: E731
    P = 2 * nq - 1
    pad = (base[1] + width(1) - 1, 1, 0, 1, 0)
    rows = []
    for t in t_lens:
        spans = []
        for m in range(1, min(t, nq)):
            spans += [(m, 0, 1), (m, nq - m, 1)]
        if t < nq:
            spans += [(t, i, 1) for i in range(nq - t + 1)]
        else:
            spans.append((nq, 0, t - nq + 1))
        rows.append([(base[m] + i * width(m), m, i, width(m), c) for m, i, c in spans] + [pad] * (P - len(spans)))
    tab = np.array(rows, np.int64)
    return tuple(tab[..., j] for j in range(5))


def _p_values(score, zero, f_q, lens, nq):
    """P(best of the alignments with each target >= its best score), shape (B, n_targets)."""
    B = len(score)
    flat, base, k, lo_sum = _span_survivals(f_q)
    t_len, t_cls = np.unique(lens, return_inverse=True)
    pos, m, first, width, mult = (a[t_cls] for a in _span_table(nq, t_len, k, base))
    # A span of m columns sums to score - zero * (nq - m) when the alignment scores `score`.
    y = score[:, :, None] - zero[:, None, None] * (nq - m)[None] - lo_sum[:, m, first]
    idx = pos[None] + np.clip(y, 0, width[None] - 1)
    S = np.take_along_axis(flat, idx.reshape(B, -1), axis=1).reshape(idx.shape)
    with np.errstate(divide="ignore"):
        log_below = np.log1p(-S) * mult[None]
    return -np.expm1(log_below.sum(axis=2))
