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

Cost: forward passes only, about ``1.25 B`` per motif (1,019 JASPAR motifs x 100 backgrounds:
128,000 sequences), batched many motifs at a time through one compiled forward call
(:meth:`interpret.model.Model.predict`); on the demo less than the attribution stage
(``benchmarks/e2e.py``, ``screen s`` column).

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

__all__ = ["COLUMNS", "InsertionResult", "InsertionMatrix", "ScreenResult", "design", "insertion_effects",
           "insertion_matrix", "screen", "check_motifs"]

#: Columns of ``screen.tsv``.
COLUMNS = ["id", "name", "width", "mean_delta", "se", "z", "p", "q", "effect_significant", "delta_forward",
           "delta_reverse", "consensus_delta", "raw_delta"]
# Floats of inserted sequences built at once (x 4 bytes): about 16 MB per chunk.
_CHUNK_FLOATS = 1 << 22


@dataclass(frozen=True)
class InsertionResult:
    """Insertions of ``M`` PPMs into the same ``B`` backgrounds: every forward pass, and the effects.

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
        The same two with the consensus, in the first ``C = max(2, B // 10)`` backgrounds.
    effects : interpret.stats.Effects
        Mean, SE, z, p and n of :attr:`deltas` (paired over backgrounds).
    reverse : ndarray, shape (B,), bool
        Backgrounds that got the reverse complement.
    position : ndarray, shape (B,), int
        Which of the ``K`` starts each background got.
    starts : dict of int -> ndarray
        The ``K`` insertion starts of each motif width.
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

    @property
    def deltas(self) -> np.ndarray:
        """Paired differences ``with_instance - with_control``, shape ``(M, B)``."""
        return self.with_instance - self.with_control

    @property
    def delta_forward(self) -> np.ndarray:
        """Mean difference over the backgrounds that got the PPM's own strand, shape ``(M,)``."""
        return self.deltas[:, ~self.reverse].mean(axis=1)

    @property
    def delta_reverse(self) -> np.ndarray:
        """Mean difference over the backgrounds that got the reverse complement, shape ``(M,)``."""
        return self.deltas[:, self.reverse].mean(axis=1)

    @property
    def consensus_delta(self) -> np.ndarray:
        """Mean of ``consensus - consensus_control``, shape ``(M,)`` (NaN if not computed)."""
        if self.consensus is None:
            return np.full(len(self.with_instance), np.nan)
        return (self.consensus - self.consensus_control).mean(axis=1)

    @property
    def raw_delta(self) -> np.ndarray:
        """Mean of ``with_instance - base``: the insertion against the bare background, shape ``(M,)``."""
        return (self.with_instance - self.base).mean(axis=1)


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
        ``B`` and ``K``.
    """

    ids: list
    names: list
    widths: np.ndarray
    insertion: InsertionResult
    q: np.ndarray
    significant: np.ndarray
    n_backgrounds: int
    positions: int

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
                 "mean_delta": float(e.mean[i]), "se": float(e.se[i]), "z": float(e.z[i]), "p": float(e.p[i]),
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
                      verbose: bool = False, desc: str = "insertions") -> InsertionResult:
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

    Returns
    -------
    InsertionResult
    """
    target = model.check_target(target)
    ins = _Insertions(model, backgrounds, ppms, [target], output, positions, seed, consensus, batch_size)
    m, n_bg = len(ins.ppms), ins.n_bg
    scores = np.zeros((m, len(ins.rows)))                              # f(background with the instance)
    control = np.zeros((m, len(ins.rows)))
    for sel, sc, ctrl in ins.passes(verbose, desc):
        scores[sel], control[sel] = sc[..., 0], ctrl[..., 0]
    cons, cons_ctrl = (scores[:, n_bg:], control[:, n_bg:]) if consensus else (None, None)
    return InsertionResult(scores[:, :n_bg], control[:, :n_bg], ins.base[:, 0], cons, cons_ctrl,
                           stats.paired_effects(scores[:, :n_bg] - control[:, :n_bg]), ins.reverse, ins.position,
                           ins.starts)


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
        Mean, SE, z, p and n of the paired differences, each of shape ``(M, T)``.
    delta_forward, delta_reverse : ndarray, shape (M, T)
        Means over the backgrounds that got the PPM's own strand / its reverse complement.
    consensus_delta : ndarray, shape (M, T)
        Mean of consensus minus control in the first ``max(2, B // 10)`` backgrounds (NaN if not computed).
    raw_delta : ndarray, shape (M, T)
        Mean of ``f(with the instance) - f(background)``: against the bare background.
    n_backgrounds, positions : int
        ``B`` and ``K``.
    """

    targets: np.ndarray
    effects: stats.Effects
    delta_forward: np.ndarray
    delta_reverse: np.ndarray
    consensus_delta: np.ndarray
    raw_delta: np.ndarray
    n_backgrounds: int
    positions: int


def insertion_matrix(model: Model, backgrounds: np.ndarray, ppms, targets=None, output: str = "logit",
                     positions: int = 1, seed: int = 0, consensus: bool = True, batch_size: int = 1024,
                     verbose: bool = False, desc: str = "insertions") -> InsertionMatrix:
    """:func:`insertion_effects` on every output of the model at once, from the same forward passes.

    Parameters
    ----------
    targets : sequence of int, optional
        Outputs scored (default: all ``model.n_outputs``).
    model, backgrounds, ppms, output, positions, seed, consensus, batch_size, verbose, desc
        As in :func:`insertion_effects`.

    Returns
    -------
    InsertionMatrix
        Arrays of shape ``(M, T)``.
    """
    targets = np.arange(model.n_outputs) if targets is None else np.array([model.check_target(t) for t in targets])
    ins = _Insertions(model, backgrounds, ppms, targets, output, positions, seed, consensus, batch_size)
    m, n_t, n_bg = len(ins.ppms), len(targets), ins.n_bg
    parts = {k: np.full((m, n_t), np.nan) for k in ("mean", "se", "z", "p", "forward", "reverse", "consensus", "raw")}
    n = np.zeros((m, n_t), np.int64)
    for sel, sc, ctrl in ins.passes(verbose, desc):
        d = sc[:, :n_bg] - ctrl[:, :n_bg]                                    # (k, B, T)
        e = stats.paired_effects(np.moveaxis(d, 1, 2).reshape(-1, n_bg))
        for key in ("mean", "se", "z", "p"):
            parts[key][sel] = getattr(e, key).reshape(len(sel), n_t)
        n[sel] = e.n.reshape(len(sel), n_t)
        parts["forward"][sel] = d[:, ~ins.reverse].mean(axis=1)
        parts["reverse"][sel] = d[:, ins.reverse].mean(axis=1)
        parts["raw"][sel] = (sc[:, :n_bg] - ins.base[None]).mean(axis=1)
        if consensus:
            parts["consensus"][sel] = (sc[:, n_bg:] - ctrl[:, n_bg:]).mean(axis=1)
    return InsertionMatrix(targets, stats.Effects(parts["mean"], parts["se"], parts["z"], parts["p"], n),
                           parts["forward"], parts["reverse"], parts["consensus"], parts["raw"], n_bg, int(positions))


class _Insertions:
    """Every forward pass of an insertion experiment, scored on the outputs ``targets``.

    :meth:`passes` yields ``(sel, scores, control)`` for one chunk of motifs of one width at a
    time: ``scores`` and ``control`` of shape ``(len(sel), R, T)`` over the rows :attr:`rows` (the
    ``B`` backgrounds, then the first ``C`` again for the consensus). The control of (background
    ``b``, width ``W``, GC count ``g``) is entry ``(b, g)`` of a table drawn from ``(seed, W)``
    alone, so it does not depend on which other motifs are tested, and it is run once per width
    whatever the number of motifs (the whole JASPAR needs about 16,000 of them at ``B = 100``).
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
        self.seed, self.batch_size = seed, batch_size
        self.widths = np.array([len(p) for p in self.ppms], dtype=np.int64)
        self.starts = {int(w): edits.insertion_starts(self.length, int(w), positions) for w in np.unique(self.widths)}
        self.reverse, self.position = design(self.n_bg, positions)
        n_cons = max(2, self.n_bg // 10) if consensus else 0
        self.rows = np.concatenate([np.arange(self.n_bg), np.arange(n_cons)])   # sampled instances, then the consensus
        self.base = self._predict(bg)                                           # (B, T)

    def _predict(self, x) -> np.ndarray:
        out = self.model.predict(x, None, self.output, batch_size=self.batch_size)
        return out[:, self.targets].astype(np.float64)

    def passes(self, verbose: bool, desc: str):
        rows, bg, n_t = self.rows, self.bg, len(self.targets)
        flip = self.reverse[rows]
        chunk = max(1, _CHUNK_FLOATS // (len(rows) * self.length * 4))
        plan = [sel[i:i + chunk] for w in np.unique(self.widths) for sel in [np.flatnonzero(self.widths == w)]
                for i in range(0, len(sel), chunk)]
        if verbose:
            from tqdm.auto import tqdm

            plan = tqdm(plan, desc=desc, unit="chunk")
        table_width, done, ctrl = None, None, None
        for sel in plan:
            width = int(self.widths[sel[0]])
            if width != table_width:                     # controls of this width: (background, GC count)
                table_width = width
                rng = np.random.default_rng([int(self.seed) & 0xFFFFFFFF, width])
                table = edits.gc_matched(width, np.tile(np.arange(width + 1), self.n_bg), rng).reshape(
                    self.n_bg, width + 1, width, 4)
                done = np.zeros((self.n_bg, width + 1), bool)
                ctrl = np.zeros((self.n_bg, width + 1, n_t))
            at = self.starts[width][self.position[rows]]
            inst = np.empty((len(sel), len(rows), width, 4), np.float32)
            for k, j in enumerate(sel):
                inst[k, :self.n_bg] = edits.sample_instances(self.ppms[j], self.n_bg,
                                                             edits.motif_seed(self.seed, self.ppms[j]))
                inst[k, self.n_bg:] = edits.consensus(self.ppms[j])
            inst[:, flip] = edits.reverse_complement(inst[:, flip])
            n_gc = inst[..., 1:3].sum(axis=(2, 3)).round().astype(np.int64)          # (k, R)
            x_ins = edits.insert(bg[np.tile(rows, len(sel))], inst.reshape(-1, width, 4), np.tile(at, len(sel)))
            scores = self._predict(x_ins).reshape(len(sel), len(rows), n_t)
            b = np.broadcast_to(rows, n_gc.shape)
            todo = np.unique(np.stack([b.ravel(), n_gc.ravel()], axis=1)[~done[b, n_gc].ravel()], axis=0)
            step = max(1, _CHUNK_FLOATS // (self.length * 4))
            for part in (todo[i:i + step] for i in range(0, len(todo), step)):
                at_b = self.starts[width][self.position[part[:, 0]]]
                x = edits.insert(bg[part[:, 0]], table[part[:, 0], part[:, 1]], at_b)
                ctrl[part[:, 0], part[:, 1]] = self._predict(x)
                done[part[:, 0], part[:, 1]] = True
            yield sel, scores, ctrl[b, n_gc]


def screen(model: Model, backgrounds: np.ndarray, motifs, target: int = 0, output: str = "logit",
           positions: int = 1, seed: int = 0, batch_size: int = 1024, verbose: bool = False) -> ScreenResult:
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
                            seed=seed, consensus=True, batch_size=batch_size, verbose=verbose, desc="screen")
    q = stats.bh(ins.effects.p)
    sig = stats.responds(q, ins.effects.mean, output)
    logger.info("screen: %d motifs x %d backgrounds; %d raise and %d lower the score (%s)", len(motifs),
                len(bg), int((sig & (ins.effects.mean > 0)).sum()), int((sig & (ins.effects.mean < 0)).sum()),
                stats.rule(output))
    return ScreenResult([m.id for m in motifs], [m.name for m in motifs],
                        np.array([len(m.ppm) for m in motifs], dtype=np.int64), ins, q, sig, len(bg), int(positions))
