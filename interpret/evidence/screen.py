"""Known-motif response screen: which database motifs move the model's output when inserted.

For every motif of a database (the bundled JASPAR, or ``--motif-db``), an instance is inserted
into each of the same ``B`` backgrounds (seeded dinucleotide shuffles of the explained
sequences, :func:`interpret.evidence.edits.backgrounds`), and the explained score (the pre-activation
logit of the target by default) is compared, paired per background, with the same background
holding a **control** at the same place: a random sequence of the same width and GC content
(:func:`interpret.evidence.edits.gc_matched`):

``delta[m, b] = f(background b with instance b of motif m) - f(background b with its control)``

Why a control, and not ``f(background)`` itself: an insertion also removes the background's
bases and brings its own base composition. A model that learned GC-rich motifs scores any
AT-rich insertion a little lower, and a model that learned GC content scores every GC-rich
database motif higher (SP1, ZNF131, ...); measured on the example model, the FOXA2 decoy moved
the logit by -0.19 (p < 0.001) against the background and -0.06 (p = 0.15) against its control,
and on ``simulate.peaks_like`` SP1 by +1.6 against the background and 0.0 against the control.
The control removes both, so the screen answers "does the model respond to this motif beyond
its GC content". The uncontrolled difference is kept as ``raw_delta``; ``raw_delta -
mean_delta`` is what the motif's GC content alone does.

Instance ``b`` is drawn column by column from the PPM (seeded by the motif,
:func:`interpret.evidence.edits.motif_seed`) and substituted at the centre (or at one of ``K`` evenly
spaced points), reverse-complemented in every other background (:func:`design`): both
orientations, one forward pass per motif and background. ``delta_forward`` and
``delta_reverse`` average the two halves; the consensus inserted into the first tenth of the
backgrounds is a second figure (``consensus_delta``). Controls depend only on the background,
the width and the GC count, so one control serves every motif of that width and GC count: the
whole JASPAR needs about 16,000 of them at ``B = 100``. The differences become a mean, SE, z and
p-value (:func:`interpret.stats.paired_effects`) and a Benjamini–Hochberg q over the database.

Cost of the full screen: forward passes only, about ``1.25 B`` per motif (1,019 JASPAR motifs x 100 backgrounds:
128,000 sequences), batched many motifs at a time through one compiled forward call
(:meth:`interpret.model.Model.predict`); on the demo less than the attribution stage
(``benchmarks/e2e.py``, ``screen s`` column).

**Sequential screen** (the default; ``sequential=False``, ``--no-screen-sequential``: every motif
on all ``B``). Every motif starts with the first 10 backgrounds; after 10, 20, ..., 100 (every
tenth of ``B``, :func:`stages`) the motifs whose decision is settled stop, and only the others
get the next backgrounds, the same ones in the same order, so a motif that runs to the end gets
the full screen's numbers. With ``n`` of ``B`` differences, the full screen's mean is
``mean_B = mean_n + (1 - n/B) (mean_rest - mean_n)``, and ``(mean_B - mean_n) / (SE_n sqrt(1 -
n/B))`` follows Student's t with ``n - 1`` df whatever the true effect (normal differences, the
t-test's own assumption): a prediction interval for ``mean_B`` (:func:`interpret.stats.settled`,
at error ``EARLY_STOP_ERROR = 0.001`` per motif, split evenly over the looks: nine at ``B = 100``).
A motif stops

* as **not responding** when the interval lies inside ``(-min_effect, +min_effect)``: the full
  screen's ``|mean_B|`` is under the floor too, so it cannot respond, but with probability 0.001.
  Unless the consensus (in the motif's first ``max(2, n // 10)`` backgrounds) moves the score by
  ``min_effect`` or more *and* by more than its noise allows beside the sampled instances (more
  than :data:`CONSENSUS_Z` = 2 SDs of the difference of the two means): a guard for differences
  the t-interval does not describe, as when a model answers only near-consensus instances and
  gives mostly zeros and a rare large one (ten zeros have SE 0);
* as **responding** when the interval lies beyond ``+min_effect`` (or beyond ``-min_effect``) and
  ``p < 0.05 / M`` (``M`` the database): the full screen's mean passes the floor with the same
  sign but with probability 0.001, and BH's q of the reported p is below 0.05 whatever the other
  motifs give (q never exceeds ``M p``), so the reported row says "responds". The full screen's
  q, from all ``B`` backgrounds, is not bounded by the rule; ``benchmarks/screen.py`` (c)
  reports the largest one among the motifs stopped as responding.

So a motif stopped as not responding is one the full screen would call with probability at most
0.001, whatever its true effect, and the sequential screen misses a motif whose true effect
passes the floor at most 0.001 more often than the full screen does. The other way the two can
differ is the q of a motif that runs to the end: Benjamini–Hochberg over p-values of which some
come from fewer backgrounds. With ``--target all`` (:func:`insertion_matrix`) a motif stops
when every output's decision is settled at the same look, and every output reports the same
backgrounds. A stopped motif's effect, SE, p and q are those of the backgrounds it got
(``n_backgrounds``), its SE wider than the full screen's; and since a motif stops early as
responding when its first backgrounds were clear, those effects lean a little away from zero
(the usual bias of an estimate taken at a sequential test's stop).

What it saves depends on how much one insertion moves the score beside the floor. On 101- and
200-bp sequences, where a 10-20 bp insertion replaces a tenth of the sequence, paired
differences have SD about 1 logit against a floor of 0.2, and most decisions are open until the
last backgrounds; on 1,000-bp sequences most motifs are settled after 10
(``benchmarks/RESULTS.md``, "Known-motif screen: cost, control and stopping early").

What the screen can say: how this model's output responds to each known motif placed in
sequences like the explained ones. What it cannot say: whether the motif occurs in, or matters
for, the genome; a motif the model never saw in training can still score (by resembling what
it did learn), and a motif that matters in vivo can score 0 (the model never learned it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .. import stats
from . import edits
from ..errors import InputError
from ..model import Model

logger = logging.getLogger(__name__)

__all__ = ["COLUMNS", "FIRST_LOOK", "LOOKS", "CONSENSUS_Z", "InsertionResult", "InsertionMatrix", "ScreenResult",
           "design", "stages", "n_consensus", "insertion_effects", "insertion_matrix", "screen", "check_motifs"]

#: Columns of ``screen.tsv``.
COLUMNS = ["id", "name", "width", "mean_delta", "se", "n_backgrounds", "z", "p", "q", "effect_significant",
           "delta_forward", "delta_reverse", "consensus_delta", "raw_delta"]
#: Sequential screen: the first look, after this many backgrounds (with fewer, the t quantile of the
#: stopping rule at its error level is too wide to settle anything).
FIRST_LOOK = 10
#: ... then a look at every ``1 / LOOKS`` of the backgrounds (:func:`stages`).
LOOKS = 10
#: A motif does not stop as not responding while its consensus moves the score by ``min_effect`` or
#: more and lies this many SDs from the mean of its sampled instances (the SD of the difference of the
#: two means, from the instances' spread): a response the instances drawn so far have not shown.
CONSENSUS_Z = 2.0
# Floats of inserted sequences built at once (x 4 bytes): about 16 MB per chunk.
_CHUNK_FLOATS = 1 << 22


def stages(n_backgrounds: int, sequential: bool = True) -> np.ndarray:
    """How many backgrounds every motif still open has after each stage of a screen.

    ``max(FIRST_LOOK, k B // LOOKS)`` for ``k = 1 .. LOOKS`` (10, 20, ..., 100 at ``B = 100``),
    ending at ``B``; one stage, ``[B]``, for a full screen or when ``B <= FIRST_LOOK``. The stages
    take the backgrounds in order, so a motif that runs to the end gets the full screen's.
    """
    b = int(n_backgrounds)
    if not sequential or b <= FIRST_LOOK:
        return np.array([b])
    return np.unique(np.clip(np.arange(1, LOOKS + 1) * b // LOOKS, FIRST_LOOK, b))


def n_consensus(n_backgrounds: int) -> int:
    """Backgrounds that also get the consensus: the first ``max(2, n // 10)`` of ``n``."""
    return max(2, int(n_backgrounds) // 10)


@dataclass(frozen=True)
class InsertionResult:
    """Insertions of ``M`` PPMs into the same ``B`` backgrounds: every forward pass, and the effects.

    A motif stopped early by a sequential screen has its first ``n < B`` backgrounds only
    (``effects.n``); its later columns are NaN.

    Attributes
    ----------
    with_instance : ndarray, shape (M, B)
        ``f(background b with instance b of motif m)``; instance ``b`` is sampled from the PPM
        and inserted in the orientation and at the position of :func:`design`.
    with_control : ndarray, shape (M, B)
        ``f(background b with its control)``: a random sequence of the instance's width and GC
        count at the same place.
    base : ndarray, shape (B,)
        ``f(background b)``.
    consensus, consensus_control : ndarray, shape (M, C), or None
        The same two with the consensus, in the first ``C = max(2, B // 10)`` backgrounds
        (``max(2, n // 10)`` of a motif with ``n`` backgrounds).
    effects : interpret.stats.Effects
        Mean, SE, z, p and n of :attr:`deltas` (paired over backgrounds).
    reverse : ndarray, shape (B,), bool
        Backgrounds that got the reverse complement.
    position : ndarray, shape (B,), int
        Which of the ``K`` starts each background got.
    starts : dict of int -> ndarray
        The ``K`` insertion starts of each motif width.
    forward_passes, forward_passes_full : int
        Sequences run through the model, and what the full experiment (every motif on every
        background) runs: equal without sequential stopping.
    """

    with_instance: np.ndarray
    with_control: np.ndarray
    base: np.ndarray
    consensus: np.ndarray | None
    consensus_control: np.ndarray | None
    effects: stats.Effects
    reverse: np.ndarray
    position: np.ndarray
    starts: dict
    forward_passes: int = 0
    forward_passes_full: int = 0

    @property
    def deltas(self) -> np.ndarray:
        """Paired differences ``with_instance - with_control``, shape ``(M, B)`` (NaN where not run)."""
        return self.with_instance - self.with_control

    @property
    def delta_forward(self) -> np.ndarray:
        """Mean difference over the backgrounds that got the PPM's own strand, shape ``(M,)``."""
        return np.nanmean(self.deltas[:, ~self.reverse], axis=1)

    @property
    def delta_reverse(self) -> np.ndarray:
        """Mean difference over the backgrounds that got the reverse complement, shape ``(M,)``."""
        return np.nanmean(self.deltas[:, self.reverse], axis=1)

    @property
    def consensus_delta(self) -> np.ndarray:
        """Mean of ``consensus - consensus_control``, shape ``(M,)`` (NaN if not computed)."""
        if self.consensus is None:
            return np.full(len(self.with_instance), np.nan)
        return np.nanmean(self.consensus - self.consensus_control, axis=1)

    @property
    def raw_delta(self) -> np.ndarray:
        """Mean of ``with_instance - base``: the insertion against the bare background, shape ``(M,)``."""
        return np.nanmean(self.with_instance - self.base, axis=1)


@dataclass(frozen=True)
class ScreenResult:
    """The known-motif response screen of one model output.

    Attributes
    ----------
    ids, names : list of str
        Database motifs, in database order.
    widths : ndarray, shape (M,), int
    insertion : InsertionResult
        Per-background differences and their statistics.
    q : ndarray, shape (M,)
        Benjamini–Hochberg q-values over the database.
    significant : ndarray, shape (M,), bool
        The model responds to this motif (:func:`interpret.stats.responds`).
    n_backgrounds, positions : int
        ``B`` and ``K``; a motif's own backgrounds are ``insertion.effects.n`` (fewer than ``B``
        when a sequential screen stopped it early).
    sequential : bool
        Whether motifs stopped early once their decision was settled (:func:`screen`).
    """

    ids: list
    names: list
    widths: np.ndarray
    insertion: InsertionResult
    q: np.ndarray
    significant: np.ndarray
    n_backgrounds: int
    positions: int
    sequential: bool = False

    def order(self) -> np.ndarray:
        """Motif indices by effect, largest mean difference first (ties by database order)."""
        mean = np.nan_to_num(self.insertion.effects.mean, nan=0.0)
        return np.lexsort((np.arange(len(mean)), -mean))

    def rows(self) -> list[dict]:
        """Rows of ``screen.tsv`` (:data:`COLUMNS`), sorted by effect."""
        ins = self.insertion
        e = ins.effects
        fwd, rev, cons, raw = ins.delta_forward, ins.delta_reverse, ins.consensus_delta, ins.raw_delta
        return [{"id": self.ids[i], "name": self.names[i], "width": int(self.widths[i]),
                 "mean_delta": float(e.mean[i]), "se": float(e.se[i]), "n_backgrounds": int(e.n[i]),
                 "z": float(e.z[i]), "p": float(e.p[i]),
                 "q": float(self.q[i]), "effect_significant": bool(self.significant[i]),
                 "delta_forward": float(fwd[i]), "delta_reverse": float(rev[i]),
                 "consensus_delta": float(cons[i]), "raw_delta": float(raw[i])} for i in self.order()]

    def top(self, sign: int, n: int = 10) -> list[dict]:
        """The ``n`` significant hits of one sign (+1 raise, -1 lower the score), strongest first."""
        rows = [r for r in self.rows() if r["effect_significant"] and np.sign(r["mean_delta"]) == sign]
        return rows[:n] if sign > 0 else rows[::-1][:n]


def check_motifs(motifs, length: int) -> None:
    """Raise :class:`InputError` unless every motif (``.id``, ``.ppm`` ``(W, 4)``) fits in ``length`` bp."""
    for m in motifs:
        width = len(m.ppm)
        if width > length:
            raise InputError(f"motif {m.id} is {width} bp, wider than the {length}-bp sequences, so the screen "
                             "cannot insert it; give a --motif-db without it or pass --no-screen.")


def _check_backgrounds(model: Model, backgrounds) -> np.ndarray:
    bg = np.asarray(backgrounds, dtype=np.float32)
    if bg.ndim != 3 or bg.shape[2] != 4 or bg.shape[1] != model.seq_len:
        raise InputError(f"backgrounds have shape {bg.shape}; give (B, {model.seq_len}, 4) one-hot sequences.")
    if len(bg) < 2:
        raise InputError(f"{len(bg)} background(s) given; an effect's standard error needs at least 2.")
    return bg


def design(n_backgrounds: int, positions: int) -> tuple[np.ndarray, np.ndarray]:
    """Orientation and position of the instance inserted into each background.

    Background ``b`` gets one instance: reverse-complemented when ``b`` is odd, at position
    ``(b // 2) % K``, so orientations alternate and every (orientation, position) pair gets the
    same number of backgrounds when ``B`` is a multiple of ``2K``. One forward pass per motif and
    background is what lets the screen of a whole database cost no more than the attributions.

    Returns
    -------
    reverse : ndarray, shape (B,), bool
    position : ndarray, shape (B,), int
        Index into the ``K`` starts of :func:`interpret.evidence.edits.insertion_starts`.
    """
    b = np.arange(int(n_backgrounds))
    return b % 2 == 1, (b // 2) % int(positions)


def insertion_effects(model: Model, backgrounds: np.ndarray, ppms, target: int = 0, output: str = "logit",
                      positions: int = 1, seed: int = 0, consensus: bool = True, batch_size: int = 1024,
                      verbose: bool = False, desc: str = "insertions", sequential: bool = False) -> InsertionResult:
    """Insert an instance of every PPM into each background; paired differences against GC-matched controls.

    Parameters
    ----------
    model : interpret.model.Model
    backgrounds : ndarray, shape (B, L, 4)
        One-hot backgrounds, ``L = model.seq_len``, ``B >= 2`` (:func:`interpret.evidence.edits.backgrounds`).
    ppms : list of ndarray (W, 4)
        Motifs as position probability matrices, A C G T, each ``W <= L``.
    target : int
        Output whose score is compared (:func:`insertion_matrix` compares every output at once).
    output : str
        ``"logit"`` (pre-activation, default) or ``"probability"``.
    positions : int
        ``K``: 1 inserts at the centre, more at ``K`` evenly spaced points
        (:func:`interpret.evidence.edits.insertion_starts`), one per background (:func:`design`).
    seed : int
        Instances of a PPM are drawn from :func:`interpret.evidence.edits.motif_seed` (``seed``, the PPM);
        the controls of width ``W`` from ``(seed, W)``.
    consensus : bool
        Also insert each PPM's consensus into the first ``max(2, B // 10)`` backgrounds, with the
        same orientations, positions and controls (``InsertionResult.consensus``).
    batch_size : int
        Sequences per forward call.
    verbose : bool
        Progress bar.
    desc : str
        Label of the progress bar.
    sequential : bool
        Stop each PPM once its decision is settled (the module's "Sequential screen"), treating
        the PPMs as one Benjamini–Hochberg family; off: every PPM on all ``B`` backgrounds.

    Returns
    -------
    InsertionResult
    """
    target = model.check_target(target)
    ins = _Insertions(model, backgrounds, ppms, [target], output, positions, seed, consensus, batch_size)
    rows = _Rows(len(ins.ppms), ins.n_bg, n_consensus(ins.n_bg) if consensus else 0)
    _run(ins, rows, sequential, verbose, desc)
    return InsertionResult(rows.with_instance, rows.with_control, ins.base[:, 0],
                           rows.consensus if consensus else None, rows.consensus_control if consensus else None,
                           stats.paired_effects(rows.with_instance - rows.with_control), ins.reverse, ins.position,
                           ins.starts, ins.n_passes, ins.full_passes())


@dataclass(frozen=True)
class InsertionMatrix:
    """Insertions of ``M`` PPMs into the same ``B`` backgrounds, scored on ``T`` outputs at once.

    The forward passes of :func:`insertion_effects` yield every output; this keeps their
    statistics only, so memory grows with ``M x T``, not with ``M x B x T`` (a screen of the
    1,019 JASPAR motifs on DeepSEA's 919 outputs). Column ``t`` holds what
    :func:`insertion_effects` with ``target=targets[t]`` gives.

    Attributes
    ----------
    targets : ndarray, shape (T,), int
        The outputs, in column order.
    effects : interpret.stats.Effects
        Mean, SE, z, p and n of the paired differences, each of shape ``(M, T)``; ``n`` is the
        motif's backgrounds, the same on every output.
    delta_forward, delta_reverse : ndarray, shape (M, T)
        Means over the backgrounds that got the PPM's own strand / its reverse complement.
    consensus_delta : ndarray, shape (M, T)
        Mean of consensus minus control in the first ``max(2, n // 10)`` backgrounds (NaN if not computed).
    raw_delta : ndarray, shape (M, T)
        Mean of ``f(with the instance) - f(background)``: against the bare background.
    n_backgrounds, positions : int
        ``B`` and ``K``.
    forward_passes, forward_passes_full : int
        As in :class:`InsertionResult`.
    """

    targets: np.ndarray
    effects: stats.Effects
    delta_forward: np.ndarray
    delta_reverse: np.ndarray
    consensus_delta: np.ndarray
    raw_delta: np.ndarray
    n_backgrounds: int
    positions: int
    forward_passes: int = 0
    forward_passes_full: int = 0


def insertion_matrix(model: Model, backgrounds: np.ndarray, ppms, targets=None, output: str = "logit",
                     positions: int = 1, seed: int = 0, consensus: bool = True, batch_size: int = 1024,
                     verbose: bool = False, desc: str = "insertions", sequential: bool = False) -> InsertionMatrix:
    """:func:`insertion_effects` on every output of the model at once, from the same forward passes.

    Parameters
    ----------
    targets : sequence of int, optional
        Outputs scored (default: all ``model.n_outputs``).
    sequential : bool
        Stop each PPM once its decision is settled on *every* output (q per output over the PPMs).
    model, backgrounds, ppms, output, positions, seed, consensus, batch_size, verbose, desc
        As in :func:`insertion_effects`.

    Returns
    -------
    InsertionMatrix
        Arrays of shape ``(M, T)``.
    """
    targets = np.arange(model.n_outputs) if targets is None else np.array([model.check_target(t) for t in targets])
    ins = _Insertions(model, backgrounds, ppms, targets, output, positions, seed, consensus, batch_size)
    mom = _Moments(len(ins.ppms), len(targets), ins.reverse, ins.base)
    _run(ins, mom, sequential, verbose, desc)
    with np.errstate(invalid="ignore", divide="ignore"):
        cons = mom.cons_sum / mom.n_cons[:, None] if consensus else np.full(mom.mean.shape, np.nan)
        return InsertionMatrix(targets, mom.effects(), mom.fwd_sum / mom.n_fwd[:, None],
                               mom.rev_sum / mom.n_rev[:, None], cons, mom.raw_sum / mom.n[:, None], ins.n_bg,
                               int(positions), ins.n_passes, ins.full_passes())


def _run(ins: "_Insertions", sink, sequential: bool, verbose: bool, desc: str) -> None:
    """Every stage of an insertion experiment (:func:`stages`) into ``sink``; after each stage but
    the last, the PPMs whose decision is settled on every output stop (:func:`interpret.stats.settled`,
    the error split evenly over the looks; a PPM whose consensus moves an output by ``min_effect``
    or more, and by more than :data:`CONSENSUS_Z` SDs of its difference from the instances' mean,
    does not stop as not responding there)."""
    plan = stages(ins.n_bg, sequential)
    error = stats.EARLY_STOP_ERROR / max(1, len(plan) - 1)
    floor = stats.min_effect(ins.output)
    todo = np.arange(len(ins.ppms))
    have, have_cons = 0, 0
    for k, n in enumerate(plan):
        n_cons = n_consensus(n) if ins.consensus else 0
        label = desc if len(plan) == 1 else f"{desc}, {n} backgrounds"
        for sel, sc, ctrl in ins.passes(todo, np.arange(have, n), np.arange(have_cons, n_cons), verbose, label):
            sink.add(sel, have, n, have_cons, n_cons, sc, ctrl)
        have, have_cons = n, n_cons
        if k == len(plan) - 1:
            break
        e = sink.effects(todo)
        decided = stats.settled(e, ins.n_bg, len(ins.ppms), ins.output, error)
        if ins.consensus:       # the consensus does what the instances so far do not: no "no response"
            cons = sink.consensus_delta(todo)
            noise = e.se * np.sqrt(e.n) * np.sqrt(1 / n_cons + 1 / e.n)
            odd = (np.abs(cons) >= floor) & (np.abs(cons - e.mean) > CONSENSUS_Z * noise)
            decided = np.where((decided < 0) & odd, 0, decided)
        todo = todo[~(decided != 0).all(axis=1)]
        logger.debug("%s: %d of %d still open after %d backgrounds", desc, len(todo), len(ins.ppms), n)
        if not len(todo):
            break


class _Rows:
    """Every forward pass of a one-output experiment, ``(M, B)`` with NaN where not run."""

    def __init__(self, m: int, n_bg: int, n_cons: int):
        self.with_instance, self.with_control = np.full((m, n_bg), np.nan), np.full((m, n_bg), np.nan)
        self.consensus, self.consensus_control = np.full((m, n_cons), np.nan), np.full((m, n_cons), np.nan)
        self.have, self.have_cons = 0, 0            # rows the PPMs still open have

    def add(self, sel, b0, b1, c0, c1, scores, control) -> None:
        k = b1 - b0
        self.with_instance[sel, b0:b1], self.with_control[sel, b0:b1] = scores[:, :k, 0], control[:, :k, 0]
        self.consensus[sel, c0:c1], self.consensus_control[sel, c0:c1] = scores[:, k:, 0], control[:, k:, 0]
        self.have, self.have_cons = b1, c1

    def effects(self, idx) -> stats.Effects:
        """Of the open PPMs ``idx``, each ``(len(idx), 1)``."""
        b = self.have
        e = stats.paired_effects(self.with_instance[idx, :b] - self.with_control[idx, :b])
        return stats.Effects(*(a[:, None] for a in (e.mean, e.se, e.z, e.p, e.n)))

    def consensus_delta(self, idx) -> np.ndarray:
        c = self.have_cons
        return (self.consensus[idx, :c] - self.consensus_control[idx, :c]).mean(axis=1)[:, None]


class _Moments:
    """The statistics of a many-output experiment, ``(M, T)``, merged stage by stage (Chan et al.'s
    pairwise update of the mean and the sum of squared deviations); one stage gives exactly what
    :func:`interpret.stats.paired_effects` gives on all the differences at once."""

    def __init__(self, m: int, n_t: int, reverse: np.ndarray, base: np.ndarray):
        self.reverse, self.base = reverse, base
        self.n, self.n_fwd, self.n_rev, self.n_cons = (np.zeros(m, np.int64) for _ in range(4))
        self.mean, self.m2, self.fwd_sum, self.rev_sum, self.raw_sum, self.cons_sum = (np.zeros((m, n_t))
                                                                                       for _ in range(6))

    def add(self, sel, b0, b1, c0, c1, scores, control) -> None:
        k, n_t = b1 - b0, scores.shape[2]
        d = scores[:, :k] - control[:, :k]                                          # (s, k, T)
        flat = np.moveaxis(d, 1, 2).reshape(-1, k)                                  # rows of k, as paired_effects
        mean = flat.mean(axis=1)
        m2 = ((flat - mean[:, None]) ** 2).sum(axis=1)
        mean, m2 = mean.reshape(len(sel), n_t), m2.reshape(len(sel), n_t)
        had = self.n[sel][:, None]
        if (had == 0).all():
            self.mean[sel], self.m2[sel] = mean, m2
        else:
            step, total = mean - self.mean[sel], had + k
            self.mean[sel] = self.mean[sel] + step * (k / total)
            self.m2[sel] = self.m2[sel] + m2 + step ** 2 * (had * k / total)
        rev = self.reverse[b0:b1]
        self.fwd_sum[sel] += d[:, ~rev].sum(axis=1)
        self.rev_sum[sel] += d[:, rev].sum(axis=1)
        self.raw_sum[sel] += (scores[:, :k] - self.base[b0:b1][None]).sum(axis=1)
        self.cons_sum[sel] += (scores[:, k:] - control[:, k:]).sum(axis=1)
        self.n[sel] += k
        self.n_fwd[sel] += int((~rev).sum())
        self.n_rev[sel] += int(rev.sum())
        self.n_cons[sel] += c1 - c0

    def effects(self, idx=slice(None)) -> stats.Effects:
        """Of the PPMs ``idx`` (default all), each ``(len(idx), T)``."""
        n = self.n[idx][:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            se = np.where(n > 1, np.sqrt(self.m2[idx] / (n - 1)) / np.sqrt(n), np.nan)
        return stats.t_test(self.mean[idx], se, np.broadcast_to(n, se.shape))

    def consensus_delta(self, idx) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.cons_sum[idx] / self.n_cons[idx][:, None]


class _Insertions:
    """Every forward pass of an insertion experiment, scored on the outputs ``targets``.

    :meth:`passes` yields ``(sel, scores, control)`` for one chunk of motifs of one width at a
    time: ``scores`` and ``control`` of shape ``(len(sel), R, T)`` over the rows asked for (some
    of the ``B`` backgrounds, then some of the first ``C`` again for the consensus). The control
    of (background ``b``, width ``W``, GC count ``g``) is entry ``(b, g)`` of a table drawn from
    ``(seed, W)`` alone, so it does not depend on which other motifs are tested or which stage
    asks for it, and it is run once per call and width whatever the number of motifs (the whole
    JASPAR needs about 16,000 of them at ``B = 100``); those of the first ``C`` backgrounds, which
    the consensus rows of later stages ask for again, are kept. A PPM's ``B`` instances and a
    width's table are drawn once (as base indices) and each stage takes its rows.
    :attr:`n_passes` counts the sequences run.
    """

    def __init__(self, model, backgrounds, ppms, targets, output, positions, seed, consensus, batch_size):
        self.bg = bg = _check_backgrounds(model, backgrounds)
        self.ppms = [np.asarray(p, dtype=np.float64) for p in ppms]
        self.n_bg, self.length = bg.shape[:2]
        for i, p in enumerate(self.ppms):
            if p.ndim != 2 or p.shape[1] != 4 or len(p) == 0:
                raise InputError(f"motif {i} has shape {p.shape}; a PPM must be a (W, 4) array, A C G T.")
            if len(p) > self.length:
                raise InputError(f"motif {i} is {len(p)} bp, wider than the {self.length}-bp sequences; "
                                 "it cannot be inserted.")
        self.model, self.targets, self.output = model, np.asarray(targets, dtype=np.int64), output
        self.seed, self.batch_size, self.consensus = seed, batch_size, consensus
        self.widths = np.array([len(p) for p in self.ppms], dtype=np.int64)
        self.starts = {int(w): edits.insertion_starts(self.length, int(w), positions) for w in np.unique(self.widths)}
        self.reverse, self.position = design(self.n_bg, positions)
        self.n_cons = n_consensus(self.n_bg) if consensus else 0
        self.n_passes = 0
        self._instances: dict = {}          # PPM -> (B, W) base indices of its instances
        self._consensus: dict = {}          # PPM -> its consensus
        self._tables: dict = {}             # width -> (B, W + 1, W) base indices of its controls
        self._kept: dict = {}               # width -> controls run for the first C backgrounds: (done, scores)
        self.base = self._predict(bg)       # (B, T)

    def _predict(self, x) -> np.ndarray:
        self.n_passes += len(x)
        out = self.model.predict(x, None, self.output, batch_size=self.batch_size)
        return out[:, self.targets].astype(np.float64)

    def instances(self, j: int) -> np.ndarray:
        """Base indices ``(B, W)`` of PPM ``j``'s instances, on its own strand (drawn on first use)."""
        if j not in self._instances:
            inst = edits.sample_instances(self.ppms[j], self.n_bg, edits.motif_seed(self.seed, self.ppms[j]))
            self._instances[j] = inst.argmax(axis=2).astype(np.uint8)
        return self._instances[j]

    def consensus_of(self, j: int) -> np.ndarray:
        """PPM ``j``'s consensus, ``(W, 4)`` one-hot."""
        if j not in self._consensus:
            self._consensus[j] = edits.consensus(self.ppms[j])
        return self._consensus[j]

    def table(self, width: int) -> np.ndarray:
        """Base indices ``(B, W + 1, W)``: entry ``(b, g)`` is the control of background ``b`` for an
        instance of ``g`` G or C bases."""
        if width not in self._tables:
            rng = np.random.default_rng([int(self.seed) & 0xFFFFFFFF, width])
            table = edits.gc_matched(width, np.tile(np.arange(width + 1), self.n_bg), rng)
            self._tables[width] = table.argmax(axis=2).astype(np.uint8).reshape(self.n_bg, width + 1, width)
        return self._tables[width]

    def full_passes(self) -> int:
        """Sequences the full experiment runs: the backgrounds, every PPM on every row, and one control
        per (background, width, GC count) any of them needs."""
        total = self.n_bg + len(self.ppms) * (self.n_bg + self.n_cons)
        for w in np.unique(self.widths):
            need = np.zeros((self.n_bg, w + 1), bool)
            for j in np.flatnonzero(self.widths == w):
                gc = np.isin(self.instances(j), (1, 2)).sum(axis=1)
                need[np.arange(self.n_bg), gc] = True
                need[np.arange(self.n_cons), int(self.consensus_of(j)[:, 1:3].sum())] = True
            total += int(need.sum())
        return total

    def passes(self, motifs, bg_rows, cons_rows, verbose: bool, desc: str):
        rows = np.concatenate([bg_rows, cons_rows]).astype(np.int64)     # the background of each row
        k, bg, n_t, c = len(bg_rows), self.bg, len(self.targets), self.n_cons
        flip = self.reverse[rows]
        chunk = max(1, _CHUNK_FLOATS // (len(rows) * self.length * 4))
        widths = self.widths[motifs]
        plan = [sel[i:i + chunk] for w in np.unique(widths) for sel in [motifs[widths == w]]
                for i in range(0, len(sel), chunk)]
        if verbose:
            from tqdm.auto import tqdm

            plan = tqdm(plan, desc=desc, unit="chunk")
        one_hot = np.eye(4, dtype=np.float32)
        table_width, done, ctrl = None, None, None
        for sel in plan:
            width = int(self.widths[sel[0]])
            if width != table_width:                     # controls of this width: (background, GC count)
                self._keep(table_width, done, ctrl)
                table_width, table = width, self.table(width)
                done = np.zeros((self.n_bg, width + 1), bool)
                ctrl = np.zeros((self.n_bg, width + 1, n_t))
                if width in self._kept:
                    done[:c], ctrl[:c] = self._kept[width]
            at = self.starts[width][self.position[rows]]
            inst = np.empty((len(sel), len(rows), width, 4), np.float32)
            for i, j in enumerate(sel):
                inst[i, :k] = one_hot[self.instances(j)[bg_rows]]
                inst[i, k:] = self.consensus_of(j)
            inst[:, flip] = edits.reverse_complement(inst[:, flip])
            n_gc = inst[..., 1:3].sum(axis=(2, 3)).round().astype(np.int64)          # (k, R)
            x_ins = edits.insert(bg[np.tile(rows, len(sel))], inst.reshape(-1, width, 4), np.tile(at, len(sel)))
            scores = self._predict(x_ins).reshape(len(sel), len(rows), n_t)
            b = np.broadcast_to(rows, n_gc.shape)
            todo = np.unique(np.stack([b.ravel(), n_gc.ravel()], axis=1)[~done[b, n_gc].ravel()], axis=0)
            step = max(1, _CHUNK_FLOATS // (self.length * 4))
            for part in (todo[i:i + step] for i in range(0, len(todo), step)):
                at_b = self.starts[width][self.position[part[:, 0]]]
                x = edits.insert(bg[part[:, 0]], one_hot[table[part[:, 0], part[:, 1]]], at_b)
                ctrl[part[:, 0], part[:, 1]] = self._predict(x)
                done[part[:, 0], part[:, 1]] = True
            yield sel, scores, ctrl[b, n_gc]
        self._keep(table_width, done, ctrl)

    def _keep(self, width, done, ctrl) -> None:
        """Keep the controls of the first ``C`` backgrounds run for ``width`` (the consensus rows of
        later stages need them again)."""
        if width is not None and self.n_cons:
            self._kept[width] = (done[:self.n_cons].copy(), ctrl[:self.n_cons].copy())


def screen(model: Model, backgrounds: np.ndarray, motifs, target: int = 0, output: str = "logit",
           positions: int = 1, seed: int = 0, batch_size: int = 1024, verbose: bool = False,
           sequential: bool = True) -> ScreenResult:
    """The known-motif response screen: every database motif inserted into the same backgrounds.

    Parameters
    ----------
    model : interpret.model.Model
    backgrounds : ndarray, shape (B, L, 4)
        E.g. ``edits.backgrounds(x_explained, 100, seed)``; ``B >= 2``.
    motifs : list of interpret.io.Motif
        Anything with ``.id``, ``.name`` and ``.ppm`` ``(W, 4)``; every ``W <= L``.
    target, output, positions, seed, batch_size, verbose
        As in :func:`insertion_effects`.
    sequential : bool
        Stop each motif once its decision is settled (the module's "Sequential screen"; default);
        ``False``: every motif on all ``B`` backgrounds.

    Returns
    -------
    ScreenResult
        Effects in database order, q over the database; ``rows()`` sorted by effect.
    """
    motifs = list(motifs)
    if not motifs:
        raise InputError("the motif database is empty; give a MEME file with at least one motif.")
    bg = _check_backgrounds(model, backgrounds)
    check_motifs(motifs, bg.shape[1])
    ins = insertion_effects(model, bg, [m.ppm for m in motifs], target=target, output=output, positions=positions,
                            seed=seed, consensus=True, batch_size=batch_size, verbose=verbose, desc="screen",
                            sequential=sequential)
    q = stats.bh(ins.effects.p)
    sig = stats.responds(q, ins.effects.mean, output)
    logger.info("screen: %d motifs x %d backgrounds (%d forward passes of the full screen's %d); %d raise and %d "
                "lower the score (%s)", len(motifs), len(bg), ins.forward_passes, ins.forward_passes_full,
                int((sig & (ins.effects.mean > 0)).sum()), int((sig & (ins.effects.mean < 0)).sum()),
                stats.rule(output))
    return ScreenResult([m.id for m in motifs], [m.name for m in motifs],
                        np.array([len(m.ppm) for m in motifs], dtype=np.int64), ins, q, sig, len(bg), int(positions),
                        bool(sequential))
