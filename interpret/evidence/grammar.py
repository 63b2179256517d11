"""Motif grammar: which motif families occur together at a fixed spacing and orientation, and
whether the model needs them together.

Two questions, two experiments, the statistics in :mod:`interpret.stats`:

* **Spacing and orientation among the hits** (:func:`spacing_enrichment`). For every pair of
  families ``A <= B`` (a family with itself included) and every pair of their hits in one
  sequence, the arrangement is ``(orientation, spacing)``: ``spacing`` is the centre-to-centre
  distance on ``A``'s strand (positive: ``B`` lies downstream of ``A``; half-integer when the
  widths differ in parity), ``orientation`` +1 when ``B`` reads on ``A``'s strand, -1 on the
  other. Both are the same on either strand of the sequence. For a family with itself each
  unordered pair of hits counts once: same-orientation pairs by ``|spacing|`` (a direct repeat),
  opposite ones by their signed spacing (positive: facing each other, an inverted repeat;
  negative: back to back, an everted one). Hits that overlap (centres closer than half the
  sum of the widths) are not a pair: the hit caller has already chosen between them. Spacings
  are counted exactly, not binned: a hit caller that places a motif a base off spreads one
  arrangement over its neighbours (:func:`favoured` tests it once).

  **The null** is the permutation that pairs the hits of ``A`` in one sequence with the hits of
  ``B`` in *another* sequence holding both: it keeps each family's positions, strands and
  numbers of hits per sequence (so a family's preference for the centre of a peak) and breaks
  only their arrangement within a sequence. Its expectation is computed exactly, as the mean
  over all such pairings (``(sum_i h_A,i) * (sum_j h_B,j) - sum_i h_A,i * h_B,i``, divided by
  ``S - 1``; ``h`` position-and-strand histograms, ``*`` their cross-correlation, ``S`` the
  sequences holding both), not sampled. Given the ``N`` pairs observed, the count at an
  arrangement is tested against ``Binomial(N, pi)``, ``pi`` the null's share of pairs there
  (one-sided, more than expected); ``enrichment`` is observed / ``N pi``; Benjamini–Hochberg q
  over every arrangement of every pair tested. So co-occurrence itself (both families in the
  same sequences) is not what is tested, only a preferred arrangement. Pairs of families with
  fewer than :data:`MIN_PAIRS` pairs of hits are not tested.

* **Cooperativity in silico** (:func:`interactions`). For each favoured arrangement (enriched,
  q < 0.05, at least :data:`MIN_COUNT` pairs; up to :data:`PER_PAIR` per pair of families, more
  than :data:`NEIGHBOURS` bp apart; :func:`favoured`), for the same pair as far apart as the
  sequence allows (the **control**: a model's saturation or
  max pooling makes two motifs non-additive at any distance), and for every composite family's
  parts at their own spacing: instance ``b`` of ``A`` and of ``B`` is drawn from the family's PPM
  (:func:`interpret.evidence.edits.motif_seed`, as the screen draws them) and written into
  background ``b`` (the screen's dinucleotide-shuffled backgrounds) alone and together, the
  pair centred, its orientation alternating between backgrounds as in the screen
  (:func:`interpret.evidence.screen.design`). Per background the interaction is
  ``f(AB) - f(A) - f(B) + f(background)``: 0 for a model that adds up the two motifs' effects
  whatever their arrangement, positive where the two together do more than their sum. Mean,
  SE, p (:func:`interpret.stats.paired_effects`), Benjamini–Hochberg q over every arrangement
  tested, and the package's rule (:func:`interpret.stats.responds`: q < 0.05 and at least 0.2 on
  the logit).

What it cannot say: an arrangement the hits never show is never tested in silico (a model can
need a pair the data rarely hold); an interaction is about the model, measured in shuffled
backgrounds, not about binding in the cell; and a pair's spacing is read from the hits, so a
hit caller that misses one partner (a weak half-site) hides the pair.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from .. import stats
from . import edits
from ..errors import InputError
from ..model import Model
from .screen import design

logger = logging.getLogger(__name__)

__all__ = ["COLUMNS", "NULL", "MIN_PAIRS", "MIN_COUNT", "PER_PAIR", "MAX_PAIRS", "NEIGHBOURS", "Spacings",
           "Arrangement", "Interactions", "GrammarResult", "spacing_enrichment", "favoured", "far_spacing",
           "composite_arrangements", "interactions", "grammar"]

#: Columns of ``grammar.tsv``: the issue's twelve, then what kind of arrangement the row is
#: (``enriched``, ``composite``, ``control``), the expected count, and the rule's verdict.
COLUMNS = ["motif_a", "motif_b", "name_a", "name_b", "orientation", "spacing", "n_observed", "enrichment",
           "enrichment_q", "interaction", "interaction_se", "interaction_q", "kind", "n_expected",
           "interaction_significant"]
#: The spacing test's null hypothesis, as written into ``summary.json`` and the report.
NULL = ("the hits of one family in a sequence are paired with the hits of the other in another sequence that "
        "holds both (each family keeps its positions, strands and hits per sequence); expectation computed "
        "exactly over all such pairings; one-sided binomial test of each arrangement's count given the pairs "
        "observed")
#: Pairs of hits (in one sequence, not overlapping, within the spacing range) a pair of families
#: needs before its arrangements are tested.
MIN_PAIRS = 20
#: Pairs of hits an enriched arrangement needs before it is tested in silico.
MIN_COUNT = 5
#: Favoured arrangements tested in silico per pair of families (most significant first).
PER_PAIR = 3
#: Pairs of families tested in silico (by their most significant arrangement).
MAX_PAIRS = 20
#: Favoured arrangements closer than this (bp, same orientation) to a more significant one are not
#: tested apart: a hit caller's one- or two-base jitter spreads one arrangement over neighbours.
NEIGHBOURS = 2
# Floats of edited sequences built at once (x 4 bytes): about 16 MB.
_CHUNK_FLOATS = 1 << 22
# Pairs of hits counted at once.
_CHUNK_PAIRS = 1 << 22


# --------------------------------------------------------------------------------------
# Spacing and orientation among the hits
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Spacings:
    """Every arrangement of every pair of families tested for enrichment among the hits.

    Attributes
    ----------
    a, b : ndarray, shape (K,), int
        Family indices, ``a <= b``.
    orientation : ndarray, shape (K,), int
        +1: ``B`` on ``A``'s strand; -1: on the other.
    spacing2 : ndarray, shape (K,), int
        Twice the centre-to-centre spacing on ``A``'s strand (half-base resolution).
    n_observed : ndarray, shape (K,), int
        Pairs of hits in one sequence with this arrangement.
    n_expected : ndarray, shape (K,)
        The null's expectation given the pair's ``N`` pairs of hits (see the module).
    p, q : ndarray, shape (K,)
        One-sided binomial p (more than expected); Benjamini–Hochberg over all ``K``.
    pairs : list of dict
        One per pair of families tested: ``a, b, n_sequences`` (holding both), ``n_pairs`` (``N``).
    widths : ndarray, shape (F,), int
        Width of each family's hits (their most common ``end - start``).
    """

    a: np.ndarray
    b: np.ndarray
    orientation: np.ndarray
    spacing2: np.ndarray
    n_observed: np.ndarray
    n_expected: np.ndarray
    p: np.ndarray
    q: np.ndarray
    pairs: list
    widths: np.ndarray

    @property
    def spacing(self) -> np.ndarray:
        """Centre-to-centre spacing (bp) on ``A``'s strand, shape ``(K,)``."""
        return self.spacing2 / 2.0

    @property
    def enrichment(self) -> np.ndarray:
        """``n_observed / n_expected``, shape ``(K,)``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.n_observed / self.n_expected

    def lookup(self, a: int, b: int, orientation: int, spacing2: int) -> int | None:
        """Row of one arrangement, or None when it was not tested (no pair and no expectation there)."""
        k = np.flatnonzero((self.a == a) & (self.b == b) & (self.orientation == orientation)
                           & (self.spacing2 == spacing2))
        return int(k[0]) if len(k) else None


def _check_hits(seq_index, start, end, strand, motif, n_motifs: int, length: int):
    arrays = [np.asarray(v).ravel() for v in (seq_index, start, end, strand, motif)]
    if len({len(v) for v in arrays}) != 1:
        raise InputError("hits need one seq_index, start, end, strand and motif each; the arrays differ in length.")
    seq_index, start, end, strand, motif = (v.astype(np.int64) for v in arrays)
    if len(start) and (start.min() < 0 or end.max() > length or (end <= start).any()):
        raise InputError(f"hits must lie inside the {length}-bp sequences and be non-empty (0 <= start < end <= "
                         f"{length}).")
    if len(strand) and not np.isin(strand, (-1, 1)).all():
        raise InputError("hit strands must be +1 or -1.")
    if len(motif) and (motif.min() < 0 or motif.max() >= n_motifs):
        raise InputError(f"hit motifs must index the {n_motifs} families (0..{n_motifs - 1}).")
    return seq_index, start, end, strand, motif


def _same_sequence(ia, ib, seq_index, c2, strand, span) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of hits ``ia`` x ``ib`` (indices, each sorted by sequence) in one sequence.

    Returns ``(observed, same)``: the pairs of two different hits by (orientation, spacing on A's
    strand), shape ``(2, 2 span + 1)`` (:func:`_by_arrangement`), and every pair, a hit with itself
    included, by (A's strand, B's strand, ``c2_B - c2_A``), shape ``(2, 2, 2 span + 1)``: the part of
    the all-sequences cross-correlation that pairs a sequence with itself. Built a bounded number
    of pairs at a time.
    """
    sb = seq_index[ib]
    lo = np.searchsorted(sb, seq_index[ia], "left")
    cnt = np.searchsorted(sb, seq_index[ia], "right") - lo
    observed = np.zeros((2, 2 * span + 1))
    same = np.zeros((2, 2, 2 * span + 1))
    ends = np.searchsorted(np.cumsum(cnt), np.arange(_CHUNK_PAIRS, int(cnt.sum()), _CHUNK_PAIRS), "left") + 1
    for part in np.split(np.arange(len(ia)), ends):
        c, first = cnt[part], lo[part]
        i = np.repeat(ia[part], c)
        j = ib[np.arange(int(c.sum())) - np.repeat(np.cumsum(c) - c, c) + np.repeat(first, c)]
        delta = c2[j] - c2[i]
        np.add.at(same, ((strand[i] < 0).astype(int), (strand[j] < 0).astype(int), delta + span), 1.0)
        keep = i != j
        observed += _by_arrangement(np.ones(int(keep.sum())), strand[i][keep], strand[j][keep], delta[keep], span)
    return observed, same


def spacing_enrichment(seq_index, start, end, strand, motif, n_motifs: int, length: int,
                       max_spacing: float | None = None, min_pairs: int = MIN_PAIRS) -> Spacings:
    """Spacing and orientation of every pair of families among their hits, against the permutation null.

    Parameters
    ----------
    seq_index, start, end, strand, motif : array-like, shape (H,)
        The hits: sequence, span ``start:end`` on the forward strand, strand (+1/-1) of the
        family's motif, family index (``0..n_motifs - 1``).
    n_motifs : int
        Number of families.
    length : int
        Sequence length ``L``.
    max_spacing : float, optional
        Largest centre-to-centre spacing counted (bp); default ``L``.
    min_pairs : int
        Pairs of hits a pair of families needs to be tested.

    Returns
    -------
    Spacings
        Every arrangement with a pair or a nonzero expectation, of every pair of families tested;
        the null and the test are in the module's docstring.
    """
    from scipy import stats as st
    from scipy.signal import fftconvolve

    seq_index, start, end, strand, motif = _check_hits(seq_index, start, end, strand, motif, n_motifs, length)
    c2 = start + end                                                    # twice the centre, 0..2L
    limit2 = int(round(2 * (length if max_spacing is None else max_spacing)))
    span = 2 * length                                                   # c2 differences lie in -span..span
    order = np.lexsort((c2, seq_index))
    seq_index, c2, strand, motif, width = (v[order] for v in (seq_index, c2, strand, motif, end - start))
    by_motif = np.argsort(motif, kind="stable")                         # each family's hits, by sequence
    members = np.split(by_motif, np.searchsorted(motif[by_motif], np.arange(1, n_motifs)))
    widths = np.array([np.bincount(width[m]).argmax() if len(m) else 0 for m in members], dtype=np.int64)
    parts = []
    pairs = []
    for a in range(n_motifs):
        for b in range(a, n_motifs):
            ia, ib = members[a], members[b]
            if a == b:
                seqs, counts = np.unique(seq_index[ia], return_counts=True)
                both = seqs[counts >= 2]
            else:
                both = np.intersect1d(seq_index[ia], seq_index[ib])
            if len(both) < 2:
                continue
            ia, ib = ia[np.isin(seq_index[ia], both)], ib[np.isin(seq_index[ib], both)]
            obs, same = _same_sequence(ia, ib, seq_index, c2, strand, span)
            total = np.zeros_like(same)
            for sa in (0, 1):
                ha = np.bincount(c2[ia][(strand[ia] < 0) == sa], minlength=span + 1).astype(float)
                for sb in (0, 1):
                    hb = np.bincount(c2[ib][(strand[ib] < 0) == sb], minlength=span + 1).astype(float)
                    # index k: c2_B - c2_A = k - span; counts, so rounding undoes the FFT's round-off
                    total[sa, sb] = np.rint(fftconvolve(hb, ha[::-1]))
            expected = (total - same) / (len(both) - 1)
            exp = np.zeros_like(obs)
            for sa in (0, 1):
                for sb in (0, 1):
                    exp += _by_arrangement(expected[sa, sb], np.full(2 * span + 1, 1 - 2 * sa),
                                           np.full(2 * span + 1, 1 - 2 * sb), np.arange(-span, span + 1), span)
            if a == b:                          # unordered pairs: fold and halve (each was counted both ways)
                obs, exp = _fold(obs, span), _fold(exp, span)
            d2 = np.arange(-span, span + 1)
            allowed = (np.abs(d2) >= widths[a] + widths[b]) & (np.abs(d2) <= limit2)
            obs, exp = obs * allowed, exp * allowed
            n = int(round(obs.sum()))
            if n < min_pairs or exp.sum() <= 0:
                continue
            # an arrangement no cross-sequence pairing reaches counts as reached by one such pairing
            unit = (0.5 if a == b else 1.0) / (len(both) - 1)
            exp = np.where((obs > 0) & (exp <= 0), unit, exp)
            o_idx, d_idx = np.nonzero((obs > 0) | (exp > 0))
            pi = exp[o_idx, d_idx] / exp.sum()
            k_obs = np.rint(obs[o_idx, d_idx]).astype(np.int64)
            parts.append((np.full(len(o_idx), a), np.full(len(o_idx), b), 1 - 2 * o_idx, d2[d_idx], k_obs,
                          n * pi, st.binom.sf(k_obs - 1, n, pi)))
            pairs.append({"a": a, "b": b, "n_sequences": int(len(both)), "n_pairs": n})
    if parts:
        cols = [np.concatenate(c) for c in zip(*parts)]
    else:
        cols = [np.zeros(0, np.int64)] * 5 + [np.zeros(0)] * 2
    a_, b_, o_, d_, k_, e_, p_ = cols
    return Spacings(a_.astype(np.int64), b_.astype(np.int64), o_.astype(np.int64), d_.astype(np.int64),
                    k_.astype(np.int64), e_.astype(float), p_.astype(float), stats.bh(p_), pairs, widths)


def _by_arrangement(weight, strand_a, strand_b, delta, span) -> np.ndarray:
    """Sum ``weight`` by (orientation, spacing on A's strand): shape ``(2, 2 span + 1)``, row 0 the
    same orientation, column ``d2 + span``."""
    out = np.zeros((2, 2 * span + 1))
    np.add.at(out, ((strand_a != strand_b).astype(int), delta * strand_a + span), weight)
    return out


def _fold(counts: np.ndarray, span: int) -> np.ndarray:
    """A family with itself: same-orientation pairs by ``|d2|`` (both orders), every count halved."""
    out = counts / 2.0
    same = out[0]
    folded = same[span:].copy()
    folded[1:] += same[:span][::-1]
    out[0] = np.concatenate([np.zeros(span), folded])
    return out


def favoured(sp: Spacings, length: int, per_pair: int = PER_PAIR, max_pairs: int = MAX_PAIRS,
             min_count: int = MIN_COUNT, apart: float = NEIGHBOURS) -> list[int]:
    """Rows of ``sp`` to test in silico: enriched arrangements (q < :data:`interpret.stats.ALPHA`,
    more than expected, at least ``min_count`` pairs) that fit in ``length`` bp, up to ``per_pair``
    per pair of families (most significant first) for the ``max_pairs`` pairs whose best
    arrangement is most significant. An arrangement within ``apart`` bp of one already chosen
    (same pair, same orientation) is the same one seen through a hit caller's jitter and is skipped."""
    fits = np.abs(sp.spacing2) + sp.widths[sp.a] + sp.widths[sp.b] <= 2 * length
    ok = np.flatnonzero((sp.q < stats.ALPHA) & (sp.n_observed >= min_count) & (sp.enrichment > 1) & fits)
    ok = ok[np.lexsort((-sp.enrichment[ok], sp.p[ok]))]
    chosen: dict = {}
    for k in ok:
        key = (int(sp.a[k]), int(sp.b[k]))
        if key not in chosen and len(chosen) >= max_pairs:
            continue
        rows = chosen.setdefault(key, [])
        near = any(sp.orientation[j] == sp.orientation[k] and abs(sp.spacing2[j] - sp.spacing2[k]) <= 2 * apart
                   for j in rows)
        if len(rows) < per_pair and not near:
            rows.append(int(k))
    return [k for rows in chosen.values() for k in rows]


def far_spacing(length: int, width_a: int, width_b: int, downstream: bool = True) -> int:
    """Twice the centre-to-centre spacing of two motifs as far apart as ``length`` bp allow, each
    ``max(1, length // 20)`` bp from its end (where padding would see it only in part): the
    control arrangement. ``downstream``: ``B`` after ``A`` on ``A``'s strand."""
    edge = max(1, length // 20)
    if downstream:
        offset = length - 2 * edge - width_b
    else:
        offset = -(length - 2 * edge - width_a)
    return 2 * offset + width_b - width_a


# --------------------------------------------------------------------------------------
# Cooperativity in silico
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Arrangement:
    """Two motifs placed together for the in-silico test.

    Attributes
    ----------
    motif_a, motif_b : str
        Family ids (a composite's parts: the family's id for both).
    name_a, name_b : str
        Their names (JASPAR, or the id); a composite's parts' names.
    ppm_a, ppm_b : ndarray, shape (Wa, 4), (Wb, 4)
        What instances are drawn from.
    orientation : int
        +1: ``B`` on ``A``'s strand; -1: on the other.
    spacing2 : int
        Twice the centre-to-centre spacing on ``A``'s strand.
    kind : str
        ``"enriched"`` (a favoured arrangement of the hits), ``"composite"`` (a composite
        family's parts at their own spacing) or ``"control"`` (a pair as far apart as fits).
    n_observed : int
        Pairs of hits with this arrangement (composite: hits of the family).
    n_expected, enrichment, enrichment_q : float
        From :class:`Spacings` (NaN for composites, and for controls no hit pair reaches).
    """

    motif_a: str
    motif_b: str
    name_a: str
    name_b: str
    ppm_a: np.ndarray = field(repr=False)
    ppm_b: np.ndarray = field(repr=False)
    orientation: int
    spacing2: int
    kind: str
    n_observed: int = 0
    n_expected: float = float("nan")
    enrichment: float = float("nan")
    enrichment_q: float = float("nan")

    @property
    def spacing(self) -> float:
        """Centre-to-centre spacing (bp) on ``A``'s strand."""
        return self.spacing2 / 2.0

    @property
    def offset(self) -> int:
        """``start_B - start_A`` (bp) on ``A``'s strand."""
        return (int(self.spacing2) - len(self.ppm_b) + len(self.ppm_a)) // 2


def composite_arrangements(family_id: str, ppm: np.ndarray, parts, n_hits: int = 0) -> list[Arrangement]:
    """A composite family's consecutive parts as pairs at their own spacing, same orientation.

    Parameters
    ----------
    family_id : str
    ppm : ndarray, shape (W, 4)
        The family's trimmed PPM.
    parts : sequence of (int, int, str)
        Each part's span ``start:end`` within ``ppm`` and its name (``HitResult.parts``); a
        motif of one part gives no arrangement.
    n_hits : int
        Hits of the family (``n_observed`` of the rows).
    """
    parts = sorted(parts)
    return [Arrangement(family_id, family_id, str(na) or family_id, str(nb) or family_id, np.asarray(ppm)[a:b],
                        np.asarray(ppm)[c:d], 1, (c + d) - (a + b), "composite", int(n_hits))
            for (a, b, na), (c, d, nb) in zip(parts, parts[1:])]


@dataclass(frozen=True)
class Interactions:
    """The in-silico test of ``T`` arrangements in the same ``B`` backgrounds.

    Attributes
    ----------
    alone_a, alone_b, both : ndarray, shape (T, B)
        ``f(background b with A's instance)``, ``... with B's``, ``... with both``, A and B at the
        arrangement's places.
    base : ndarray, shape (B,)
        ``f(background b)``.
    reverse : ndarray, shape (B,), bool
        Backgrounds that got the arrangement's reverse complement.
    effects : interpret.stats.Effects
        Of :attr:`deltas`, paired over backgrounds.
    q : ndarray, shape (T,)
        Benjamini–Hochberg over the ``T`` arrangements.
    significant : ndarray, shape (T,), bool
        :func:`interpret.stats.responds`.
    """

    alone_a: np.ndarray
    alone_b: np.ndarray
    both: np.ndarray
    base: np.ndarray
    reverse: np.ndarray
    effects: stats.Effects
    q: np.ndarray
    significant: np.ndarray

    @property
    def deltas(self) -> np.ndarray:
        """``f(AB) - f(A) - f(B) + f(background)`` per arrangement and background, shape ``(T, B)``."""
        return self.both - self.alone_a - self.alone_b + self.base[None, :]


def _instances(arr: Arrangement, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Instances ``(n, Wa, 4)`` of A and ``(n, Wb, 4)`` of B (in B's strand relative to A): each drawn
    from its PPM's own generator, as the screen draws them; a motif paired with itself takes the
    next ``n`` draws for its second copy."""
    a = edits.sample_instances(arr.ppm_a, 2 * n, edits.motif_seed(seed, arr.ppm_a))
    same = arr.ppm_a.shape == arr.ppm_b.shape and np.array_equal(arr.ppm_a, arr.ppm_b)
    b = a[n:] if same else edits.sample_instances(arr.ppm_b, n, edits.motif_seed(seed, arr.ppm_b))
    a = a[:n]
    return a, (b if arr.orientation > 0 else edits.reverse_complement(b))


def interactions(model: Model, backgrounds: np.ndarray, arrangements: list, target: int = 0,
                 output: str = "logit", seed: int = 0, batch_size: int = 1024,
                 verbose: bool = False) -> Interactions:
    """``f(AB) - f(A) - f(B) + f(background)`` of every arrangement, in every background.

    Parameters
    ----------
    model : interpret.model.Model
    backgrounds : ndarray, shape (B, L, 4)
        The screen's backgrounds (:func:`interpret.evidence.edits.backgrounds`), ``B >= 2``.
    arrangements : list of Arrangement
        Each must fit: its two instances span at most ``L`` bp.
    target, output, seed, batch_size, verbose
        As in :func:`interpret.evidence.screen.insertion_effects`; instances of a PPM are the
        screen's (:func:`interpret.evidence.edits.motif_seed` of ``seed`` and the PPM).

    Returns
    -------
    Interactions
    """
    bg = np.asarray(backgrounds, dtype=np.float32)
    if bg.ndim != 3 or bg.shape[2] != 4 or bg.shape[1] != model.seq_len or len(bg) < 2:
        raise InputError(f"backgrounds have shape {bg.shape}; give at least 2 one-hot sequences of "
                         f"({model.seq_len}, 4).")
    target = model.check_target(target)
    n_bg, length = bg.shape[:2]
    reverse, _ = design(n_bg, 1)
    base = model.predict(bg, target, output, batch_size=batch_size).astype(np.float64)
    scores = np.zeros((len(arrangements), 3, n_bg))
    step = max(1, _CHUNK_FLOATS // (3 * n_bg * length * 4))
    plan = [list(range(i, min(i + step, len(arrangements)))) for i in range(0, len(arrangements), step)]
    if verbose:
        from tqdm.auto import tqdm

        plan = tqdm(plan, desc="grammar", unit="chunk")
    for sel in plan:
        edited = []
        for t in sel:
            a, b = _instances(arrangements[t], n_bg, seed)
            edited.append(edits.insert_pair(bg, a, b, arrangements[t].offset, reverse))
        f = model.predict(np.concatenate(edited).reshape(-1, length, 4), target, output, batch_size=batch_size)
        scores[sel] = f.reshape(len(sel), 3, n_bg)
    alone_a, alone_b, both = scores[:, 0], scores[:, 1], scores[:, 2]
    effects = stats.paired_effects(both - alone_a - alone_b + base[None, :])
    q = stats.bh(effects.p)
    return Interactions(alone_a, alone_b, both, base, reverse, effects, q, stats.responds(q, effects.mean, output))


# --------------------------------------------------------------------------------------
# Both, as one step
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GrammarResult:
    """Spacing enrichment among the hits and the in-silico test of the arrangements chosen from it.

    Attributes
    ----------
    spacings : Spacings
    arrangements : list of Arrangement
        Tested in silico, in the order of :attr:`interactions`: composites, then each pair of
        families' favoured arrangements followed by its control.
    interactions : Interactions or None
        None when nothing was tested.
    """

    spacings: Spacings
    arrangements: list
    interactions: Interactions | None

    def rows(self) -> list[dict]:
        """Rows of ``grammar.tsv`` (:data:`COLUMNS`), one per arrangement tested."""
        out = []
        for t, arr in enumerate(self.arrangements):
            e = self.interactions
            out.append({"motif_a": arr.motif_a, "motif_b": arr.motif_b, "name_a": arr.name_a, "name_b": arr.name_b,
                        "orientation": "same" if arr.orientation > 0 else "opposite", "spacing": arr.spacing,
                        "n_observed": int(arr.n_observed), "enrichment": float(arr.enrichment),
                        "enrichment_q": float(arr.enrichment_q), "interaction": float(e.effects.mean[t]),
                        "interaction_se": float(e.effects.se[t]), "interaction_q": float(e.q[t]), "kind": arr.kind,
                        "n_expected": float(arr.n_expected), "interaction_significant": bool(e.significant[t])})
        return out


def grammar(model: Model, backgrounds: np.ndarray, seq_index, start, end, strand, motif, ids: list, names: list,
            ppms: list, composites: list | None = None, target: int = 0, output: str = "logit", seed: int = 0,
            max_spacing: float | None = None, min_pairs: int = MIN_PAIRS, batch_size: int = 1024,
            verbose: bool = False) -> GrammarResult:
    """Spacing enrichment of every pair of families among the hits, then the in-silico test of the
    favoured arrangements, their controls and the composites' parts.

    Parameters
    ----------
    model : interpret.model.Model
    backgrounds : ndarray, shape (B, L, 4)
    seq_index, start, end, strand, motif : array-like, shape (H,)
        The hits (see :func:`spacing_enrichment`).
    ids, names : list of str, length F
        Each family's id and name (its JASPAR name, or the id).
    ppms : list of ndarray (W, 4)
        Each family's trimmed PPM, inserted in silico.
    composites : list of Arrangement, optional
        Composite families' parts (:func:`composite_arrangements`); each also gets a control.
    target, output, seed, batch_size, verbose
        As in :func:`interactions`.
    max_spacing, min_pairs
        As in :func:`spacing_enrichment`.

    Returns
    -------
    GrammarResult
    """
    length = np.asarray(backgrounds).shape[1]
    sp = spacing_enrichment(seq_index, start, end, strand, motif, len(ids), length, max_spacing, min_pairs)
    arrangements = []
    for arr in composites or []:
        arrangements += [arr, _control(arr, length, sp)]
    by_pair: dict = {}
    for k in favoured(sp, length):
        by_pair.setdefault((int(sp.a[k]), int(sp.b[k])), []).append(k)
    for pair, rows in by_pair.items():
        tested = [_from_spacings(sp, k, ids, names, ppms) for k in rows]
        arrangements += tested + [_control(tested[0], length, sp, pair)]      # far from the most significant
    # a family's PPM can be wider than its hits: an arrangement that does not fit is not inserted
    arrangements = [r for r in arrangements if r is not None
                    and max(len(r.ppm_a), r.offset + len(r.ppm_b)) - min(0, r.offset) <= length]
    inter = None
    if arrangements:
        inter = interactions(model, backgrounds, arrangements, target=target, output=output, seed=seed,
                             batch_size=batch_size, verbose=verbose)
    logger.info("grammar: %d pairs of families with enough co-occurring hits, %d enriched arrangements, "
                "%d tested in silico", len(sp.pairs), int(((sp.q < stats.ALPHA) & (sp.enrichment > 1)).sum()),
                len(arrangements))
    return GrammarResult(sp, arrangements, inter)


def _from_spacings(sp: Spacings, k: int, ids, names, ppms) -> Arrangement:
    a, b = int(sp.a[k]), int(sp.b[k])
    return Arrangement(ids[a], ids[b], names[a], names[b], np.asarray(ppms[a]), np.asarray(ppms[b]),
                       int(sp.orientation[k]), int(sp.spacing2[k]), "enriched", int(sp.n_observed[k]),
                       float(sp.n_expected[k]), float(sp.enrichment[k]), float(sp.q[k]))


def _control(arr: Arrangement, length: int, sp: Spacings, pair: tuple | None = None) -> Arrangement | None:
    """``arr``'s pair as far apart as fits, same orientation and side; None when that is no farther."""
    wa, wb = len(arr.ppm_a), len(arr.ppm_b)
    far = far_spacing(length, wa, wb, downstream=arr.spacing2 >= 0)
    if abs(far) <= abs(arr.spacing2):
        return None
    row = sp.lookup(pair[0], pair[1], arr.orientation, far) if pair is not None else None
    seen = {} if row is None else {"n_observed": int(sp.n_observed[row]), "n_expected": float(sp.n_expected[row]),
                                   "enrichment": float(sp.enrichment[row]), "enrichment_q": float(sp.q[row])}
    return Arrangement(arr.motif_a, arr.motif_b, arr.name_a, arr.name_b, arr.ppm_a, arr.ppm_b, arr.orientation,
                       far, "control", **seen)
