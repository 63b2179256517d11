"""Motif instances: every occurrence of every motif family, fitted jointly to the contribution scores.

TF-MoDISco's seqlets are the windows it clustered, not every place a motif occurs: they miss
instances near the sequence ends and those next to a stronger one (issue #30: 23-44% of the
planted instances of a seed-like model, none within 12 bp of an end). :func:`call_hits` calls
instances as Fi-NeMo does (kundajelab/Fi-NeMo, ``hitcaller.py``), as a CPU implementation of its
own in NumPy and numba:

* **The fit.** Each sequence's contributions at its observed bases, ``v`` ``(L,)`` (``contrib``
  summed over bases; the *projected* scores of Fi-NeMo's default mode), are reconstructed as a
  non-negative sparse sum of the families' CWMs placed at every start on both strands, each CWM
  scaled to unit L2 norm and masked to the observed bases:
  ``min_c 1/2 ||v / g - sum_j c_j s_j (C_j o x)||^2 + lambda sum_j c_j``, ``c >= 0``. All
  families compete for the same contributions, so overlapping or similar motifs are resolved
  between them (a p53 half-site does not become a hit of both the dimer and a half-site family).
* **Windows normalised.** ``s_j = 1 / sqrt(E_j + eps)``, ``E_j`` the sum of ``(v / g)^2`` over
  the window: the fit's score of a start, ``s_j C_j . v / g``, is the cosine similarity of the
  window with the CWM (damped where the window holds less than about ``eps`` of energy), not a
  magnitude, so ``lambda`` is a floor on similarity and weak and strong instances are called
  alike. ``g`` is one scale for the whole run, the root mean energy per position of the explained
  sequences (Fi-NeMo scales each region by its own): the negatives scanned with ``--hits-on all``
  are measured in the positives' units, so noise in a flat sequence is not blown up into hits.
* **Similarity floor.** A hit is a start with ``c_j > 0`` whose window has cosine similarity
  ``>= min_similarity`` with the CWM (Fi-NeMo's post-filter, 0.7 like its default ``lambda``).
* **Ends.** Starts run from ``-(W - 1)`` to ``L - 1``: a motif may run off either end. Its
  missing columns count as no contribution, so a motif that only partly fits is called when the
  part inside reaches the similarity floor against the *whole* CWM (the cosine is at most the
  share of the CWM's norm inside: about half of its weight must lie in the sequence). Its
  ``start, end`` are cut to the sequence; ``end - start`` below the family's width marks it.
  Fi-NeMo calls only starts whose untrimmed window fits inside the region.

The solver is exact and needs no step size: candidates are the starts whose score reaches
``lambda`` (one FFT correlation per batch); coordinate descent solves the lasso on them,
sequence by sequence (numba); the gradient at *every* start is then computed from the residual (a
second correlation) and any start that violates the optimality conditions joins the candidates,
until none does. Fi-NeMo runs proximal gradient descent over every start of every region on a GPU.

What this module does *not* do: choose the families (:mod:`interpret.motifs.modisco`), read
attributions (:mod:`interpret.io`), or test enrichment with a model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from numba import njit

from ..errors import InputError
from ..stats import bh

logger = logging.getLogger(__name__)

#: L1 penalty on the coefficients, in units of the similarity score (Fi-NeMo's default lambda).
LAMBDA = 0.7
#: Smallest cosine similarity of a hit's window with its CWM (Fi-NeMo's post-filter).
MIN_SIMILARITY = 0.7
#: Window energy added before normalising, in units of the run's mean energy per position.
EPS = 1.0
#: Coordinate descent stops when no coefficient moves its reconstruction by more than this.
TOL = 1e-5
MAX_SWEEPS = 2000
#: Rounds of "solve, then add the starts that violate optimality".
MAX_ROUNDS = 20
#: A seqlet is recalled by a hit of its family covering at least this share of it.
RECALL_OVERLAP = 0.5
#: Sequences fitted per batch (bounds memory: a few arrays of batch x 2 families x length floats).
BATCH = 256

#: Columns of ``hits.tsv`` (``GENOME_COLUMNS`` follow with BED input).
COLUMNS = ["seq_index", "start", "end", "strand", "motif", "name", "coefficient", "similarity", "contribution"]
#: Per-family columns added to ``families.tsv``.
FAMILY_COLUMNS = ["n_hits", "hits_per_seq", "seqlet_recall", "hit_seqs_pos", "hit_seqs_neg", "hit_enrichment",
                  "hit_p", "hit_q"]


@dataclass(frozen=True)
class Motifs:
    """The families' CWMs prepared for the fit: each unit-normalised, on both strands.

    Attributes
    ----------
    cwm : ndarray, shape (2M, W, 4)
        Oriented CWMs, zero-padded on the right to the widest ``W``: ``2m`` is family ``m`` as
        given, ``2m + 1`` its reverse complement.
    width : ndarray, shape (2M,), int
    family : ndarray, shape (2M,), int
    strand : ndarray, shape (2M,), int8
        +1 or -1.
    """

    cwm: np.ndarray
    width: np.ndarray
    family: np.ndarray
    strand: np.ndarray

    @property
    def n_families(self) -> int:
        return len(self.cwm) // 2


def prepare(cwms) -> Motifs:
    """:class:`Motifs` from a list of ``M`` CWMs ``(W_m, 4)`` (any sign, any widths).

    Raises
    ------
    InputError
        A CWM that is empty, not ``(W, 4)``, not finite or all zero.
    """
    cwms = [np.asarray(c, dtype=np.float64) for c in cwms]
    for i, c in enumerate(cwms):
        if c.ndim != 2 or c.shape[1] != 4 or len(c) == 0 or not np.isfinite(c).all() or not np.abs(c).sum():
            raise InputError(f"motif {i} is not a finite, non-zero (W, 4) CWM (shape {c.shape}); "
                             "give the families' contribution weight matrices.")
    width = max((len(c) for c in cwms), default=1)
    out = np.zeros((2 * len(cwms), width, 4))
    for m, c in enumerate(cwms):
        c = c / np.linalg.norm(c)
        out[2 * m, :len(c)] = c
        out[2 * m + 1, :len(c)] = c[::-1, ::-1]
    return Motifs(out, np.repeat([len(c) for c in cwms], 2).astype(np.int64),
                  np.repeat(np.arange(len(cwms)), 2).astype(np.int64),
                  np.tile(np.array([1, -1], np.int8), len(cwms)))


def contribution_scale(chunks) -> float:
    """The run's scale ``g``: root mean energy per position, ``sqrt(mean over rows and positions of
    (sum over bases of contrib)^2)``, from an iterable of ``(n, L, 4)`` contribution chunks (1.0
    when they are all zero)."""
    total, count = 0.0, 0
    for c in chunks:
        v = np.asarray(c, dtype=np.float64).sum(axis=2)
        total += float((v * v).sum())
        count += v.size
    return float(np.sqrt(total / count)) if count and total > 0 else 1.0


def _box(a: np.ndarray, width: int, n_starts: int) -> np.ndarray:
    """Sums of ``width`` consecutive columns of ``a`` ``(B, Lp)`` at starts ``0 .. n_starts - 1``."""
    c = np.concatenate([np.zeros((len(a), 1)), np.cumsum(a, axis=1)], axis=1)
    return c[:, width:width + n_starts] - c[:, :n_starts]


class _Batch:
    """One batch's padded tracks and the correlations of the fit (starts ``s`` at column
    ``s + W - 1`` of the padded tracks, ``P = L + W - 1`` of them)."""

    def __init__(self, x, contrib, motifs: Motifs, scale: float, eps: float):
        self.motifs = motifs
        b, length = x.shape[:2]
        width = motifs.cwm.shape[1]
        self.length, self.width, self.n_starts = length, width, length + width - 1
        pad = ((0, 0), (width - 1, width - 1), (0, 0))
        self.x = np.pad(np.asarray(x, dtype=np.float64), pad)                       # (B, Lp, 4)
        raw = np.pad((np.asarray(contrib, dtype=np.float64) * x).sum(axis=2), pad[:2])
        self.raw = raw                                                             # (B, Lp), user units
        self.v = raw / scale
        self.nfft = _fast_len(self.x.shape[1] + width)
        spec = np.fft.rfft(motifs.cwm.transpose(0, 2, 1), self.nfft, axis=2)       # (K, 4, F)
        self.cwm_spec = np.conj(spec)
        self.cwm2_spec = np.conj(np.fft.rfft((motifs.cwm ** 2).transpose(0, 2, 1), self.nfft, axis=2))
        energy = self.v ** 2
        self.inv = np.empty((b, len(motifs.cwm), self.n_starts))                    # s_j
        self.sim_den = np.empty_like(self.inv)                                      # sqrt(E_j)
        for w in np.unique(motifs.width):
            e = _box(energy, int(w), self.n_starts)
            for k in np.flatnonzero(motifs.width == w):
                self.inv[:, k] = 1.0 / np.sqrt(e + eps)
                self.sim_den[:, k] = np.sqrt(e)
        self.norm2 = self._corr(self.x, self.cwm2_spec)                             # ||C_j o x||^2
        self.score0 = self.scores(self.v)                                           # s_j C_j . v

    def _corr(self, track4: np.ndarray, spec: np.ndarray) -> np.ndarray:
        """``out[b, k, p] = sum_t sum_c track4[b, p + t, c] * C_k[t, c]`` (``spec``: conjugate spectra)."""
        f = np.fft.rfft(track4.transpose(0, 2, 1), self.nfft, axis=2)               # (B, 4, F)
        prod = np.einsum("bcf,kcf->bkf", f, spec)
        return np.fft.irfft(prod, self.nfft, axis=2)[:, :, :self.n_starts]

    def scores(self, residual: np.ndarray) -> np.ndarray:
        """The fit's score of every start, ``s_j C_j . r`` for the residual track ``(B, Lp)``."""
        return self._corr(residual[:, :, None] * self.x, self.cwm_spec) * self.inv

    def atoms(self, b, k, p) -> tuple[np.ndarray, np.ndarray]:
        """Values ``(J, W)`` of candidate atoms ``s_j (C_k o x)`` on the padded track, and their squared norms."""
        cols = p[:, None] + np.arange(self.width)
        xw = self.x[b[:, None], cols]                                               # (J, W, 4)
        alpha = (xw * self.motifs.cwm[k]).sum(axis=2) * self.inv[b, k, p][:, None]
        return alpha, (alpha ** 2).sum(axis=1)


def _fast_len(n: int) -> int:
    """Smallest 2^a 3^b 5^c >= n (fast FFT sizes)."""
    best = 1 << (int(n) - 1).bit_length()
    f5 = 1
    while f5 < best:
        f35 = f5
        while f35 < best:
            f = f35
            while f < n:
                f *= 2
            best = min(best, f)
            f35 *= 3
        f5 *= 5
    return best


def _solve(batch: _Batch, lam: float, rounds: int = MAX_ROUNDS) -> tuple:
    """The non-negative lasso of one batch: candidates ``(b, k, p)`` and coefficients ``c > 0``."""
    score = batch.score0
    nz = batch.norm2 > 1e-12
    b, k, p = np.nonzero((score > lam) & nz)
    coef = np.zeros(len(b))
    for _ in range(rounds):
        if not len(b):
            break
        order = np.lexsort((-score[b, k, p], b))
        b, k, p, coef = b[order], k[order], p[order], coef[order]
        alpha, norm2 = batch.atoms(b, k, p)
        residual = batch.v.copy()
        ptr = np.searchsorted(b, np.arange(len(batch.v) + 1))
        # warm start: the coefficients so far are already in the residual
        _subtract(residual, b, p, alpha, coef)
        _coordinate_descent(residual, ptr, p, alpha, norm2, lam, coef, TOL, MAX_SWEEPS)
        score = batch.scores(residual)
        seen = np.zeros(score.shape, bool)
        seen[b, k, p] = True
        nb, nk, np_ = np.nonzero((score > lam * (1 + 1e-6)) & nz & ~seen)
        if not len(nb):
            break
        b, k, p = np.concatenate([b, nb]), np.concatenate([k, nk]), np.concatenate([p, np_])
        coef = np.concatenate([coef, np.zeros(len(nb))])
    else:
        logger.warning("hit calling stopped after %d rounds with starts still entering the fit", rounds)
    # a coefficient whose atom moves the reconstruction by less than the solver's tolerance is 0
    # (two identical atoms, a palindrome's two strands, leave the second at round-off, ~1e-15)
    keep = coef * np.sqrt(batch.atoms(b, k, p)[1]) > TOL if len(b) else np.zeros(0, bool)
    return b[keep], k[keep], p[keep], coef[keep]


def _subtract(residual, b, p, alpha, coef) -> None:
    on = coef > 0
    if on.any():
        cols = p[on, None] + np.arange(alpha.shape[1])
        np.subtract.at(residual, (np.broadcast_to(b[on, None], cols.shape), cols), coef[on, None] * alpha[on])


@njit(cache=True, nogil=True)
def _coordinate_descent(residual, ptr, pos, alpha, norm2, lam, coef, tol, max_sweeps):
    """Coordinate descent of ``min 1/2 ||r||^2 + lam sum c``, ``c >= 0``, one sequence at a time.

    ``residual`` ``(B, Lp)`` holds ``v - sum c_j alpha_j`` and is updated in place with ``coef``;
    candidates ``ptr[b]:ptr[b + 1]`` belong to row ``b``, candidate ``j`` covers columns
    ``pos[j]:pos[j] + W`` with values ``alpha[j]``.
    """
    width = alpha.shape[1]
    for row in range(len(ptr) - 1):
        lo, hi = ptr[row], ptr[row + 1]
        for _ in range(max_sweeps):
            change = 0.0
            for j in range(lo, hi):
                g = 0.0
                a = pos[j]
                for t in range(width):
                    g += residual[row, a + t] * alpha[j, t]
                new = coef[j] + (g - lam) / norm2[j]
                if new < 0.0:
                    new = 0.0
                d = new - coef[j]
                if d != 0.0:
                    for t in range(width):
                        residual[row, a + t] -= d * alpha[j, t]
                    coef[j] = new
                    moved = abs(d) * np.sqrt(norm2[j])
                    if moved > change:
                        change = moved
            if change < tol:
                break


def warm_up() -> None:
    """Compile the coordinate-descent kernel for the argument types a run passes (into numba's cache)."""
    _coordinate_descent(np.zeros((1, 4)), np.zeros(2, np.int64), np.zeros(0, np.int64), np.zeros((0, 2)),
                        np.zeros(0), 0.7, np.zeros(0), 1e-5, 1)


def fit_batch(x: np.ndarray, contrib: np.ndarray, motifs: Motifs, scale: float = 1.0, lam: float = LAMBDA,
              min_similarity: float = MIN_SIMILARITY, eps: float = EPS) -> dict:
    """Hits in one batch of sequences.

    Parameters
    ----------
    x : ndarray, shape (B, L, 4)
        One-hot sequences.
    contrib : ndarray, shape (B, L, 4)
        Their contributions (``hypothetical * x``; only the observed bases count).
    motifs : Motifs
        From :func:`prepare`.
    scale : float
        The run's scale ``g`` (:func:`contribution_scale`).
    lam, min_similarity, eps : float

    Returns
    -------
    dict of ndarray, each shape (H,)
        ``row`` (in the batch), ``start``, ``end`` (cut to the sequence), ``strand`` (+1/-1),
        ``motif`` (family index), ``coefficient`` (``c * g``), ``similarity``, ``contribution``
        (sum of ``contrib`` over ``start:end``, the units of the explained output); by row, then start.
    """
    x = np.asarray(x, dtype=np.float64)
    contrib = np.asarray(contrib, dtype=np.float64)
    if x.ndim != 3 or x.shape[2] != 4 or contrib.shape != x.shape:
        raise InputError(f"sequences {x.shape} and contributions {contrib.shape} must both be (N, L, 4).")
    empty = {k: np.zeros(0, dt) for k, dt in (("row", np.int64), ("start", np.int64), ("end", np.int64),
                                              ("strand", np.int8), ("motif", np.int64), ("coefficient", float),
                                              ("similarity", float), ("contribution", float))}
    if not len(x) or not len(motifs.cwm):
        return empty
    batch = _Batch(x, contrib, motifs, scale, eps)
    b, k, p, coef = _solve(batch, lam)
    xcov = batch.score0[b, k, p] / batch.inv[b, k, p]
    den = batch.sim_den[b, k, p]
    sim = np.divide(xcov, den, out=np.zeros(len(b)), where=den > 0)
    keep = sim >= min_similarity
    b, k, p, coef, sim = b[keep], k[keep], p[keep], coef[keep], sim[keep]
    width = batch.width
    start = p - (width - 1)
    end = start + motifs.width[k]
    cum = np.concatenate([np.zeros((len(batch.raw), 1)), np.cumsum(batch.raw, axis=1)], axis=1)
    contribution = cum[b, end + width - 1] - cum[b, start + width - 1]
    order = np.lexsort((motifs.family[k], start, b))
    out = {"row": b, "start": np.maximum(start, 0), "end": np.minimum(end, batch.length),
           "strand": motifs.strand[k], "motif": motifs.family[k], "coefficient": coef * scale,
           "similarity": sim, "contribution": contribution}
    return {key: v[order].astype(empty[key].dtype) for key, v in out.items()}


def call_sharded(n_shards: int, read, motifs: Motifs, scale: float, store=None, lam: float = LAMBDA,
                 min_similarity: float = MIN_SIMILARITY, eps: float = EPS, batch: int = BATCH,
                 verbose: bool = False) -> dict:
    """Hits in every shard of a large input, in bounded memory, resumable.

    Parameters
    ----------
    n_shards : int
    read : callable
        ``read(k)`` -> ``(seq_index (n,), x (n, L, 4), contrib (n, L, 4))`` of shard ``k``.
    motifs : Motifs
    scale : float
        The run's scale (:func:`contribution_scale`), the same for every shard.
    store : object, optional
        Keeps finished shards (``done(k)``, ``load(k)``, ``save(k, arrays)``, e.g.
        :class:`interpret.io.ShardFiles`): shards it holds are not fitted again.
    lam, min_similarity, eps : float
    batch : int
        Sequences fitted at once.
    verbose : bool
        A progress bar (tqdm).

    Returns
    -------
    dict of ndarray
        As :func:`fit_batch`, with ``seq_index`` (the user's row) in place of ``row``.
    """
    from tqdm.auto import tqdm

    parts = []
    for k in tqdm(range(n_shards), desc="instances", unit="shard", disable=not verbose):
        if store is not None and store.done(k):
            parts.append(store.load(k))
            continue
        seq_index, x, contrib = read(k)
        found = []
        for a in range(0, len(x), batch):
            h = fit_batch(x[a:a + batch], contrib[a:a + batch], motifs, scale, lam, min_similarity, eps)
            h["seq_index"] = np.asarray(seq_index, dtype=np.int64)[a + h.pop("row")]
            found.append(h)
        shard = {key: np.concatenate([h[key] for h in found]) for key in found[0]} if found else _empty()
        if store is not None:
            store.save(k, shard)
        parts.append(shard)
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]} if parts else _empty()


def _empty() -> dict:
    out = {k: np.zeros(0, np.int64) for k in ("seq_index", "start", "end", "motif")}
    out["strand"] = np.zeros(0, np.int8)
    out.update({k: np.zeros(0) for k in ("coefficient", "similarity", "contribution")})
    return out


@dataclass(frozen=True)
class HitResult:
    """Every instance the run called: what ``hits.tsv``, the report and the grammar stage read.

    Attributes
    ----------
    seq_index, start, end : ndarray, shape (H,), int64
        The user's row and the span on the sequence as given (0-based, half-open, cut to the
        sequence for a motif that runs off an end).
    strand : ndarray, shape (H,), int8
        +1: the family's matrix reads forward there; -1: reverse-complemented.
    motif : ndarray, shape (H,), int64
        Index into ``families``.
    coefficient, similarity, contribution : ndarray, shape (H,), float64
        See :func:`fit_batch`.
    families : tuple of str
        Family ids (``families.tsv``).
    names : tuple of str
        Display names (the JASPAR name, the parts' names joined by " + ", else the family id).
    widths : tuple of int
        Width of each family's matrix (a hit narrower than its family's width runs off an end).
    parts : tuple of tuple of (int, int, str)
        Each family's cores ``(a, b, name)`` within its matrix (one core for most motifs; two or
        more for a dimer or composite; ``name`` empty when unnamed).
    methods : tuple of str
        The attribution method whose contributions each family was fitted to.
    scanned : ndarray, shape (S,), int64
        The user's rows that were scanned, sorted (the explained ones, or every row with
        ``hits_on="all"``).
    hits_on : str
        ``"explained"`` or ``"all"``.
    scale : dict
        Method -> the run's contribution scale ``g``.
    """

    seq_index: np.ndarray
    start: np.ndarray
    end: np.ndarray
    strand: np.ndarray
    motif: np.ndarray
    coefficient: np.ndarray
    similarity: np.ndarray
    contribution: np.ndarray
    families: tuple
    names: tuple
    widths: tuple
    parts: tuple
    methods: tuple
    scanned: np.ndarray
    hits_on: str
    scale: dict

    def __len__(self) -> int:
        return len(self.seq_index)

    def rows(self) -> list[dict]:
        """``hits.tsv`` rows (:data:`COLUMNS`), sorted by row, start, family."""
        fam, names = np.asarray(self.families, dtype=object), np.asarray(self.names, dtype=object)
        cols = {"seq_index": self.seq_index.tolist(), "start": self.start.tolist(), "end": self.end.tolist(),
                "strand": np.where(self.strand > 0, "+", "-").tolist(), "motif": fam[self.motif].tolist(),
                "name": names[self.motif].tolist(), "coefficient": self.coefficient.tolist(),
                "similarity": self.similarity.tolist(), "contribution": self.contribution.tolist()}
        return [dict(zip(COLUMNS, vals)) for vals in zip(*(cols[c] for c in COLUMNS))]


def merge(results: list, **fields) -> HitResult:
    """One :class:`HitResult` from the hits of several methods.

    Parameters
    ----------
    results : list of (dict, int)
        Per method, the :func:`call_sharded` arrays (``motif`` indexing that method's families) and
        its number of families, in the order of the concatenated families.
    **fields
        The other fields of :class:`HitResult`: ``families, names, widths, parts, methods`` (per
        family, concatenated), ``scanned, hits_on, scale``.
    """
    offset, arrays = 0, []
    for r, n in results:
        arrays.append({**r, "motif": r["motif"] + offset})
        offset += n
    cat = {k: np.concatenate([a[k] for a in arrays]) for k in _empty()} if arrays else _empty()
    order = np.lexsort((cat["motif"], cat["start"], cat["seq_index"]))
    return HitResult(**{k: v[order] for k, v in cat.items()}, **fields)


def family_stats(result: HitResult, seqlets, positive: np.ndarray | None = None) -> list[dict]:
    """Per family: hits, hits per scanned sequence, seqlet recall and, with both classes scanned, enrichment.

    Parameters
    ----------
    result : HitResult
    seqlets : iterable of (int, int, int, int)
        ``(family index, seq_index, start, end)`` of every seqlet of the family's patterns.
    positive : ndarray, shape (S,), bool, optional
        Label of each scanned row (``result.scanned``); enrichment needs both classes.

    Returns
    -------
    list of dict, one per family
        :data:`FAMILY_COLUMNS`: ``n_hits``; ``hits_per_seq`` (over the scanned rows);
        ``seqlet_recall``, the share of the family's seqlets that a hit of the family covers by at
        least :data:`RECALL_OVERLAP` of the seqlet (either strand; None without seqlets); with
        labels, ``hit_seqs_pos`` / ``hit_seqs_neg``, scanned positives and negatives with at least
        one hit, ``hit_enrichment`` = ``((pos + 0.5) / (n_pos + 1)) / ((neg + 0.5) / (n_neg + 1))``,
        ``hit_p`` (two-sided Fisher exact test of the 2 x 2 table) and ``hit_q`` (Benjamini-Hochberg
        over the families).
    """
    from scipy.stats import fisher_exact

    n_fam = len(result.families)
    n_scanned = max(len(result.scanned), 1)
    spans: dict = {}
    for m, s, a, b in zip(result.motif.tolist(), result.seq_index.tolist(), result.start.tolist(),
                          result.end.tolist()):
        spans.setdefault((m, s), []).append((a, b))
    found, total = np.zeros(n_fam), np.zeros(n_fam)
    for m, s, a, b in seqlets:
        total[m] += 1
        need = RECALL_OVERLAP * (b - a)
        found[m] += any(min(b, hb) - max(a, ha) >= need for ha, hb in spans.get((m, s), ()))
    n_hits = np.bincount(result.motif, minlength=n_fam)
    out = [{"n_hits": int(n_hits[m]), "hits_per_seq": float(n_hits[m] / n_scanned),
            "seqlet_recall": float(found[m] / total[m]) if total[m] else None} for m in range(n_fam)]
    if positive is None or not n_fam:
        return out
    positive = np.asarray(positive, bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if not n_pos or not n_neg:
        return out
    row_pos = dict(zip(result.scanned.tolist(), positive.tolist()))
    p = np.ones(n_fam)
    for m in range(n_fam):
        seqs = np.unique(result.seq_index[result.motif == m])
        pos = sum(row_pos.get(s, False) for s in seqs.tolist())
        neg = len(seqs) - pos
        p[m] = fisher_exact([[pos, n_pos - pos], [neg, n_neg - neg]])[1]
        out[m].update(hit_seqs_pos=int(pos), hit_seqs_neg=int(neg), hit_p=float(p[m]),
                      hit_enrichment=float(((pos + 0.5) / (n_pos + 1)) / ((neg + 0.5) / (n_neg + 1))))
    for m, q in enumerate(bh(p)):
        out[m]["hit_q"] = float(q)
    return out


def position_histogram(result: HitResult, length: int, bins: int = 20) -> np.ndarray:
    """Hits of each family by the position of their centre along the sequence: ``(M, bins)`` counts."""
    edges = np.linspace(0, length, bins + 1)
    centre = (result.start + result.end) / 2
    out = np.zeros((len(result.families), bins), np.int64)
    idx = np.clip(np.searchsorted(edges, centre, side="right") - 1, 0, bins - 1)
    np.add.at(out, (result.motif, idx), 1)
    return out
