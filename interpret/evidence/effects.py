"""Effect sizes of a run's own findings: does the model use the motifs and filters it shows?

Two experiments, with the backgrounds, controls and statistics of the known-motif screen
(:mod:`interpret.evidence.screen`, :mod:`interpret.stats`):

* **insertion** (:func:`interpret.evidence.screen.insertion_effects`): an instance sampled from a
  motif's trimmed PPM, or from a filter's activation PPM, inserted into each of the same ``B``
  backgrounds (alternating orientations); effect = mean over backgrounds of ``f(with the
  instance) - f(with a random sequence of the same width and GC content)``. ``insertion_raw``
  is the same against the bare background; the difference is what the GC content alone does.
* **ablation** (:func:`ablation_deltas`, attribution motifs only): each seqlet of the motif in
  the real explained sequence has its bases shuffled (:func:`interpret.evidence.edits.shuffle_spans`,
  ``n_shuffles`` times); effect = mean over seqlets of ``f(sequence) - mean f(shuffled)``, the
  score *drop*. A shuffle keeps the span's base composition, so like the insertion it measures
  the arrangement of the bases, here in the sequences the motif was found in.

Both are positive when the pattern raises the explained score. The rule is
:func:`interpret.stats.rule`: Benjamini–Hochberg q over the family (all insertion *and*
ablation tests of the run's motifs together; the filters' insertion tests together) below 0.05
and an absolute effect of at least :func:`interpret.stats.min_effect`. The model responds to a
motif (``significant``) when either of its effects passes; to a filter when its insertion
effect does. A filter that never fires on the explained sequences has no activation PPM to
insert: its effect is NaN and it does not count.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .. import stats
from . import edits
from ..errors import InputError
from ..model import Model
from .screen import InsertionResult, insertion_effects

logger = logging.getLogger(__name__)

__all__ = ["MotifEffects", "FilterEffects", "ablation_deltas", "motif_effects", "filter_effects",
           "MOTIF_COLUMNS", "PART_COLUMNS", "FILTER_COLUMNS", "N_SHUFFLES", "MAX_SEQLETS"]

#: Columns added to ``motifs.tsv``.
MOTIF_COLUMNS = ["insertion_effect", "insertion_se", "insertion_q", "insertion_raw", "ablation_effect",
                 "ablation_se", "ablation_q", "ablation_n", "effect_significant"]
#: Columns added to ``parts.tsv`` (each part of a dimer or composite inserted alone).
PART_COLUMNS = ["insertion_effect", "insertion_se", "insertion_q", "effect_significant"]
#: Columns added to ``filters.tsv``.
FILTER_COLUMNS = ["insertion_effect", "insertion_se", "insertion_q", "insertion_raw", "effect_significant"]
#: Shuffles of each ablated seqlet, averaged.
N_SHUFFLES = 10
#: Seqlets ablated per motif (a seeded random subset beyond that).
MAX_SEQLETS = 1000
# Floats of shuffled sequences built at once (x 4 bytes).
_CHUNK_FLOATS = 1 << 22


@dataclass(frozen=True)
class MotifEffects:
    """Insertion and ablation effects of the run's attribution motifs.

    Attributes
    ----------
    ids : list of str
    insertion : InsertionResult
        Of the trimmed PPMs, into the shared backgrounds.
    insertion_q : ndarray, shape (M,)
    ablation : interpret.stats.Effects
        Paired over the ablated seqlets (``ablation.n`` of them per motif).
    ablation_q : ndarray, shape (M,)
    significant : ndarray, shape (M,), bool
        The model responds to the insertion or to the ablation (:func:`interpret.stats.responds`).
    parts, parts_q, parts_significant : InsertionResult, ndarray (P,), ndarray (P,) bool, or None
        Insertions of the parts given to :func:`motif_effects` alone, their q-values (in the
        motifs' family) and whether the model responds to each.
    """

    ids: list
    insertion: InsertionResult
    insertion_q: np.ndarray
    ablation: stats.Effects
    ablation_q: np.ndarray
    significant: np.ndarray
    parts: InsertionResult | None = None
    parts_q: np.ndarray | None = None
    parts_significant: np.ndarray | None = None

    def part_rows(self, ids: list) -> dict:
        """``{part id: {column: value}}`` for :data:`PART_COLUMNS`, ``ids`` in the order of the parts given."""
        if self.parts is None:
            return {}
        e = self.parts.effects
        return {pid: {"insertion_effect": float(e.mean[i]), "insertion_se": float(e.se[i]),
                      "insertion_q": float(self.parts_q[i]), "effect_significant": bool(self.parts_significant[i])}
                for i, pid in enumerate(ids)}

    def rows(self) -> dict:
        """``{motif id: {column: value}}`` for :data:`MOTIF_COLUMNS`."""
        e, a = self.insertion.effects, self.ablation
        return {mid: {"insertion_effect": float(e.mean[i]), "insertion_se": float(e.se[i]),
                      "insertion_q": float(self.insertion_q[i]), "insertion_raw": float(self.insertion.raw_delta[i]),
                      "ablation_effect": float(a.mean[i]),
                      "ablation_se": float(a.se[i]), "ablation_q": float(self.ablation_q[i]),
                      "ablation_n": int(a.n[i]), "effect_significant": bool(self.significant[i])}
                for i, mid in enumerate(self.ids)}


@dataclass(frozen=True)
class FilterEffects:
    """Insertion effects of the first-layer filters' activation PPMs.

    Attributes
    ----------
    effects : interpret.stats.Effects
        Shape ``(F,)``; NaN mean for filters that never fire.
    q : ndarray, shape (F,)
        Benjamini–Hochberg over the filters that fire (NaN for the others).
    raw : ndarray, shape (F,)
        Mean insertion effect against the bare background (no GC-matched control).
    significant : ndarray, shape (F,), bool
        The model responds to the filter's pattern (:func:`interpret.stats.responds`).
    """

    effects: stats.Effects
    q: np.ndarray
    raw: np.ndarray
    significant: np.ndarray

    def rows(self, ids: list) -> dict:
        """``{filter id: {column: value}}`` for :data:`FILTER_COLUMNS`."""
        e = self.effects
        return {fid: {"insertion_effect": float(e.mean[i]), "insertion_se": float(e.se[i]),
                      "insertion_q": float(self.q[i]), "insertion_raw": float(self.raw[i]),
                      "effect_significant": bool(self.significant[i])}
                for i, fid in enumerate(ids)}


def ablation_deltas(model: Model, x: np.ndarray, rows, starts, ends, target: int = 0, output: str = "logit",
                    n_shuffles: int = N_SHUFFLES, seed=0, batch_size: int = 1024) -> np.ndarray:
    """Score drop when each span is shuffled: ``f(x[row]) - mean_k f(x[row] with span k-th shuffled)``.

    Parameters
    ----------
    model : interpret.model.Model
    x : ndarray, shape (N, L, 4)
        The sequences the spans lie in.
    rows, starts, ends : array-like of int, shape (S,)
        Span ``s`` is ``x[rows[s], starts[s]:ends[s]]``.
    target, output : int, str
        The explained score (pre-activation logit of ``target`` by default).
    n_shuffles : int
        Shuffles per span (:func:`interpret.evidence.edits.shuffle_spans`), averaged.
    seed : int or sequence of int
    batch_size : int

    Returns
    -------
    ndarray, shape (S,), float64
        Positive where the span raises the score.
    """
    rows = np.asarray(rows, dtype=np.int64).ravel()
    starts = np.asarray(starts, dtype=np.int64).ravel()
    ends = np.asarray(ends, dtype=np.int64).ravel()
    if len(rows) == 0:
        return np.zeros(0)
    uniq, inv = np.unique(rows, return_inverse=True)
    before = model.predict(np.asarray(x[uniq], np.float32), target, output, batch_size=batch_size)[inv]
    chunk = max(1, _CHUNK_FLOATS // (int(n_shuffles) * x.shape[1] * 4))
    after = np.empty(len(rows))
    rng = np.random.default_rng(seed)
    for i in range(0, len(rows), chunk):
        sl = slice(i, i + chunk)
        shuffled = edits.shuffle_spans(x, rows[sl], starts[sl], ends[sl], n=n_shuffles,
                                       seed=rng.integers(0, 2 ** 32))
        scores = model.predict(shuffled.reshape(-1, *x.shape[1:]), target, output, batch_size=batch_size)
        after[sl] = scores.reshape(-1, int(n_shuffles)).mean(axis=1)
    return before.astype(np.float64) - after


def motif_effects(model: Model, x: np.ndarray, index: np.ndarray, patterns, backgrounds: np.ndarray,
                  target: int = 0, output: str = "logit", positions: int = 1, seed: int = 0,
                  n_shuffles: int = N_SHUFFLES, max_seqlets: int = MAX_SEQLETS, batch_size: int = 1024,
                  verbose: bool = False, parts=None) -> MotifEffects:
    """Insertion and ablation effects of attribution motifs (TF-MoDISco patterns).

    Parameters
    ----------
    model : interpret.model.Model
    x : ndarray, shape (N, L, 4)
        The explained sequences.
    index : ndarray, shape (N,), sorted
        Row of each sequence in the user's data (seqlets carry these rows).
    patterns : list of interpret.motifs.Pattern
        Anything with ``.id``, ``.ppm`` ``(W, 4)`` (trimmed) and ``.seqlets`` (``.seq_index``,
        ``.start``, ``.end``).
    backgrounds : ndarray, shape (B, L, 4)
        The screen's backgrounds.
    target, output, positions, seed, batch_size, verbose
        As in :func:`interpret.evidence.screen.insertion_effects`.
    n_shuffles : int
        Shuffles per ablated seqlet.
    max_seqlets : int
        Seqlets ablated per motif: a seeded random subset when a motif has more.
    parts : list of ndarray (w, 4), optional
        PPMs of the parts of dimers and composites (``ppm[a:b]`` of each core), each inserted alone
        into the same backgrounds; their tests join the motifs' Benjamini-Hochberg family.

    Returns
    -------
    MotifEffects
    """
    patterns = list(patterns)
    index = np.asarray(index, dtype=np.int64)
    ins = insertion_effects(model, backgrounds, [p.ppm for p in patterns], target=target, output=output,
                            positions=positions, seed=seed, consensus=False, batch_size=batch_size,
                            verbose=verbose, desc="motif effects")
    drops = []
    for k, p in enumerate(patterns):
        seqlets = list(p.seqlets)
        rng = np.random.default_rng([int(seed), k])
        if len(seqlets) > max_seqlets:
            seqlets = [seqlets[i] for i in np.sort(rng.choice(len(seqlets), max_seqlets, replace=False))]
        user_rows = np.array([s.seq_index for s in seqlets], dtype=np.int64)
        rows = np.searchsorted(index, user_rows)
        if len(rows) and (rows.max() >= len(index) or not np.array_equal(index[rows], user_rows)):
            raise InputError(f"motif {p.id} has seqlets in rows that were not explained; the motifs and the "
                             "explained sequences come from different runs.")
        drops.append(ablation_deltas(model, x, rows, [s.start for s in seqlets], [s.end for s in seqlets],
                                     target=target, output=output, n_shuffles=n_shuffles, seed=[int(seed), k],
                                     batch_size=batch_size))
    abl = stats.paired_effects(drops)
    part_ins = None
    if parts:
        part_ins = insertion_effects(model, backgrounds, list(parts), target=target, output=output,
                                     positions=positions, seed=seed, consensus=False, batch_size=batch_size,
                                     verbose=verbose, desc="part effects")
    # one family: every insertion and ablation test of the run's motifs (and of their parts)
    p_all = [ins.effects.p, abl.p] + ([part_ins.effects.p] if part_ins is not None else [])
    q = stats.bh(np.concatenate(p_all)) if patterns else np.zeros(0)
    n = len(patterns)
    q_ins, q_abl, q_parts = q[:n], q[n:2 * n], (q[2 * n:] if part_ins is not None else None)
    sig = stats.responds(q_ins, ins.effects.mean, output) | stats.responds(q_abl, abl.mean, output)
    part_sig = stats.responds(q_parts, part_ins.effects.mean, output) if part_ins is not None else None
    return MotifEffects([p.id for p in patterns], ins, q_ins, abl, q_abl, sig, part_ins, q_parts, part_sig)


def filter_effects(model: Model, backgrounds: np.ndarray, ppms: np.ndarray, n_sites: np.ndarray,
                   target: int = 0, output: str = "logit", positions: int = 1, seed: int = 0,
                   batch_size: int = 1024, verbose: bool = False) -> FilterEffects:
    """Insertion effect of every filter's activation PPM into the screen's backgrounds.

    Parameters
    ----------
    model : interpret.model.Model
    backgrounds : ndarray, shape (B, L, 4)
    ppms : ndarray, shape (F, W, 4)
        Activation PPMs (:attr:`interpret.filters.FilterResult.ppm`).
    n_sites : ndarray, shape (F,)
        Sites behind each PPM; filters with none are not tested (NaN, not significant).
    target, output, positions, seed, batch_size, verbose
        As in :func:`interpret.evidence.screen.insertion_effects`.

    Returns
    -------
    FilterEffects
    """
    ppms = np.asarray(ppms, dtype=np.float64)
    fires = np.flatnonzero(np.asarray(n_sites) > 0)
    n_f = len(ppms)
    mean, se, z, p, raw, q = (np.full(n_f, np.nan) for _ in range(6))
    n = np.zeros(n_f, dtype=np.int64)
    if len(fires):
        ins = insertion_effects(model, backgrounds, list(ppms[fires]), target=target, output=output,
                                positions=positions, seed=seed, consensus=False, batch_size=batch_size,
                                verbose=verbose, desc="filter effects")
        e = ins.effects
        mean[fires], se[fires], z[fires], p[fires], n[fires] = e.mean, e.se, e.z, e.p, e.n
        q[fires], raw[fires] = stats.bh(e.p), ins.raw_delta
    return FilterEffects(stats.Effects(mean, se, z, p, n), q, raw, stats.responds(q, mean, output))
