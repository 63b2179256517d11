"""Attribution motifs: TF-MoDISco (modisco-lite) on contribution scores, trimmed, with seqlets.

:func:`discover` runs modisco-lite on one-hot sequences and their hypothetical contributions and
returns a :class:`MotifResult`: the raw modisco-lite pattern objects (for
:func:`interpret.io.write_modisco_h5`, so ``modisco report`` reads our file) and one
:class:`Pattern` record per positive and negative pattern, trimmed, with its seqlets mapped back
to rows of the user's data.

:func:`trim_bounds` cuts each pattern to the informative core of its contribution profile
(relative to its own peak and baseline, with a noise floor). :func:`group_families` groups the
patterns that are one motif (offsets and reverse complements) into :class:`Family` records with
their seqlets pooled, and :func:`fold_minor` says which families the report folds away.

modisco-lite's defaults were chosen for 400-1,000 bp ChIP/ATAC windows. On short inputs
(~100 bp) they lose most motif instances before clustering starts; :func:`auto_settings` derives
settings from the number and length of the sequences instead. ``docs/motifs.md`` gives the
derivation and the measurements behind it.

This module never opens files. modisco-lite seeds its own Leiden runs (``100, 200, ...``) and
its subsampling (``RandomState(1234)``); the only draws made here are the samples taken on large
runs, seeded by ``seed``: :func:`sequence_sample` (which sequences TF-MoDISco reads, when there
are more than ``max_sequences``) and, when a sign has more than ``max_seqlets_per_metacluster``
seqlets, a random sample of them instead of modisco-lite's first ones in sequence order (which
would come from the start of the file only). The same inputs, settings and seed give the same
patterns.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, fields, replace

import numpy as np

from ..errors import InputError

logger = logging.getLogger(__name__)

#: Bases (sequences x length) TF-MoDISco reads by default: 100,000 sequences of 200 bp. Above,
#: :func:`sequence_sample` draws that many (memory of modisco-lite grows with the input).
MAX_BASES = 20_000_000

#: Trimming (:func:`trim_bounds`): the core keeps positions whose contribution rises above the
#: pattern's baseline by at least this fraction of its peak's height above that baseline.
TRIM_THRESHOLD = 0.3
#: The baseline is the lower of this percentile of the smoothed contribution profile and the
#: median of its :data:`TRIM_EDGE` outermost positions at each end (floored at zero): the level of
#: the flanks, also when a motif fills most of its window.
TRIM_BASELINE_PERCENTILE = 25
TRIM_EDGE = 3
#: Noise floor: a core position must also lie this many standard errors (over the seqlets) above
#: the baseline.
TRIM_Z = 2.0
#: Running mean (bp) over which the profile is smoothed before thresholding.
TRIM_SMOOTH = 3
#: Narrowest core (bp); narrower ones are widened symmetrically around their centre.
MIN_CORE_WIDTH = 6
#: A second core (:func:`trim_cores`) is at least this wide (bp, passing positions of the smoothed
#: profile) ...
MIN_PART_WIDTH = 4
#: ... and stands above the noise floor in more than this share of the pattern's seqlets.
PART_SUPPORT = 0.5


@dataclass(frozen=True)
class ModiscoSettings:
    """Every knob of one TF-MoDISco run; defaults are modisco-lite 2.5's own.

    ``ModiscoSettings()`` reproduces ``modiscolite.tfmodisco.TFMoDISco`` with its defaults, except
    that a sign with more than ``max_seqlets_per_metacluster`` seqlets is sampled at random (seeded)
    rather than cut to its first ones; :func:`auto_settings` gives the values ``interpret`` uses
    (adapted to short sequences).

    Attributes
    ----------
    sliding_window_size : int
        Width (bp) of the window summed to find seqlet cores (``--modisco-window``).
    flank_size : int
        Bases added on each side of a core to make a seqlet (``--modisco-flank``); >= 1.
    suppress : int or None
        After a seqlet is taken, window starts within +-``suppress`` of it are excluded.
        ``None``: modisco-lite's rule ``int(0.5 * sliding_window_size) + flank_size``.
    target_seqlet_fdr : float
        FDR of seqlet windows against modisco-lite's Laplace null (``--modisco-fdr``).
    min_passing_windows_frac, max_passing_windows_frac : float
        Bounds on the fraction of windows that pass; the FDR threshold is moved to meet them.
    weak_threshold_for_counting_sign : float
    max_seqlets_per_metacluster : int
        Cap on seqlets clustered per sign (``--modisco-max-seqlets``); above it a seeded random
        sample of this many is clustered.
    max_sequences : int or None
        Sequences TF-MoDISco reads (``--modisco-max-seqs``); above it a seeded random sample of
        this many. ``None``: ``MAX_BASES // length``. Used by :func:`sequence_sample`.
    min_metacluster_size : int
        A sign with this many seqlets or fewer is not clustered at all.
    n_leiden_runs : int
        Leiden restarts (seeds 100, 200, ...); the best partition is kept (``--modisco-leiden-runs``).
    n_leiden_iterations : int
    min_overlap_while_sliding : float
    nearest_neighbors_to_compute : int
    affmat_correlation_threshold : float
    tsne_perplexity : float
    frac_support_to_trim_to : float
    min_num_to_trim_to : int
    trim_to_window_size : int
        Pattern core (bp) kept around its highest-IC window while clustering.
    initial_flank_to_add : int
        Flank added to that core; seqlets whose core+flanks leave the sequence are dropped.
    final_flank_to_add : int
    subcluster_perplexity : int
    merging_max_seqlets_subsample : int
    final_min_cluster_size : int
        Patterns with fewer seqlets are discarded (``--modisco-min-cluster``).
    min_ic_in_window : float
    min_ic_windowsize : int
    ppm_pseudocount : float
    trim_threshold : float
        ``interpret``'s export trimming (not modisco-lite's): fraction of a pattern's peak above
        its baseline that its core reaches, see :func:`trim_bounds`.
    """

    sliding_window_size: int = 21
    flank_size: int = 10
    suppress: int | None = None
    target_seqlet_fdr: float = 0.2
    min_passing_windows_frac: float = 0.03
    max_passing_windows_frac: float = 0.2
    weak_threshold_for_counting_sign: float = 0.8
    max_seqlets_per_metacluster: int = 20000
    min_metacluster_size: int = 100
    n_leiden_runs: int = 50
    n_leiden_iterations: int = -1
    min_overlap_while_sliding: float = 0.7
    nearest_neighbors_to_compute: int = 500
    affmat_correlation_threshold: float = 0.15
    tsne_perplexity: float = 10.0
    frac_support_to_trim_to: float = 0.2
    min_num_to_trim_to: int = 30
    trim_to_window_size: int = 30
    initial_flank_to_add: int = 10
    final_flank_to_add: int = 0
    subcluster_perplexity: int = 50
    merging_max_seqlets_subsample: int = 1000
    final_min_cluster_size: int = 20
    min_ic_in_window: float = 0.6
    min_ic_windowsize: int = 6
    ppm_pseudocount: float = 0.001
    trim_threshold: float = TRIM_THRESHOLD
    max_sequences: int | None = None

    @property
    def effective_suppress(self) -> int:
        """The suppression radius actually used (resolves ``suppress=None``)."""
        if self.suppress is not None:
            return int(self.suppress)
        return int(0.5 * self.sliding_window_size) + self.flank_size

    def check_ranges(self) -> "ModiscoSettings":
        """Raise :class:`InputError`, naming the option, for a setting out of its range or of the
        wrong type, whatever the sequences."""
        for name, flag in _FLAGS.items():
            value = getattr(self, name)
            if name == "max_sequences" and value is None:
                continue
            if name == "target_seqlet_fdr":
                if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not 0 < value < 1:
                    raise InputError(f"{flag} must be a number between 0 and 1, not {value!r}.")
            elif isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise InputError(f"{flag} must be an integer of at least 1, not {value!r}.")
        if not 0 <= self.trim_threshold < 1:
            raise InputError(f"trim_threshold must be in [0, 1), not {self.trim_threshold}.")
        return self

    def check(self, length: int) -> "ModiscoSettings":
        """Raise :class:`InputError` if these settings cannot run on sequences of ``length`` bp."""
        self.check_ranges()
        w, f = self.sliding_window_size, self.flank_size
        if w + 2 * f >= length:
            raise InputError(
                f"a seqlet (--modisco-window {w} + 2 x --modisco-flank {f}) does not fit in {length}-bp "
                f"sequences; use a window + 2 x flank below {length}.")
        if self.trim_to_window_size + 2 * self.initial_flank_to_add > length:
            raise InputError(
                f"trim_to_window_size {self.trim_to_window_size} + 2 x initial_flank_to_add "
                f"{self.initial_flank_to_add} exceeds the sequence length {length}; lower them.")
        return self

    def modisco_kwargs(self) -> dict:
        """Keyword arguments of ``modiscolite.tfmodisco.seqlets_to_patterns``."""
        skip = {"sliding_window_size", "flank_size", "suppress", "target_seqlet_fdr", "min_passing_windows_frac",
                "max_passing_windows_frac", "weak_threshold_for_counting_sign", "max_seqlets_per_metacluster",
                "min_metacluster_size", "trim_threshold", "max_sequences"}
        return {k: v for k, v in asdict(self).items() if k not in skip}


#: The settings the command line sets, and their options.
_FLAGS = {"sliding_window_size": "--modisco-window", "flank_size": "--modisco-flank",
          "target_seqlet_fdr": "--modisco-fdr", "max_seqlets_per_metacluster": "--modisco-max-seqlets",
          "max_sequences": "--modisco-max-seqs", "n_leiden_runs": "--modisco-leiden-runs",
          "final_min_cluster_size": "--modisco-min-cluster"}


def check_overrides(settings) -> None:
    """Raise :class:`InputError` for an unknown setting or one out of its range in ``settings``
    (``None``, a dict of overrides, or :class:`ModiscoSettings`), before any sequence is seen;
    what depends on the sequences' length is checked by :meth:`ModiscoSettings.check`."""
    if settings is None or isinstance(settings, ModiscoSettings):
        return
    if not isinstance(settings, dict):
        raise InputError(f"modisco settings must be None, a dict or a ModiscoSettings, not {type(settings).__name__}.")
    names = {f.name for f in fields(ModiscoSettings)}
    unknown = sorted(set(settings) - names)
    if unknown:
        raise InputError(f"unknown TF-MoDISco setting(s) {unknown}; known: {sorted(names)}.")
    replace(ModiscoSettings(), **{k: v for k, v in settings.items() if v is not None}).check_ranges()


def auto_settings(n_seqs: int, length: int, max_seqlets: int | None = None) -> ModiscoSettings:
    """Settings adapted to ``n_seqs`` sequences of ``length`` bp (derivation: ``docs/motifs.md``).

    For long inputs (>= 400 bp, many sequences) this returns modisco-lite's defaults. For short
    ones it shrinks everything that is measured in base pairs so motif instances near the ends
    survive, lets enough windows through when the Laplace null is swamped by dense signal, and
    lowers the cluster-size floors to what a few hundred seqlets can support.

    Parameters
    ----------
    n_seqs : int
        Number of sequences explained.
    length : int
        Their length (bp).
    max_seqlets : int, optional
        ``max_seqlets_per_metacluster`` when it is not the default: the neighbour graph is sized
        to the seqlets that can be clustered.
    """
    if n_seqs < 1 or length < 20:
        raise InputError(f"TF-MoDISco needs at least one sequence of >= 20 bp, got {n_seqs} x {length} bp.")
    base = ModiscoSettings()
    if length >= 400 and n_seqs >= 2000:
        return base
    # Seqlets are clustered per sign up to the cap: beyond it more sequences do not grow the graph.
    clustered = min(n_seqs, max_seqlets or base.max_seqlets_per_metacluster)
    # Lengths measured in bp scale with the sequence, bounded by what motifs need.
    window = int(np.clip(round(length / 7), 9, base.sliding_window_size))
    flank = int(np.clip(round(length / 20), 3, base.flank_size))
    core = int(np.clip(round(length / 5), 12, base.trim_to_window_size))
    init_flank = int(np.clip(round(length / 20), 3, base.initial_flank_to_add))
    # Windows that overlap one ~10-bp instance in each sequence: the Laplace null is fit to the
    # data themselves, so when most windows carry signal its FDR passes nothing and the bound
    # decides. Let at least that many windows through (0.03, modisco's floor, at >= 900 bp).
    n_windows = length - window + 1
    min_frac = float(np.clip((window + 10) / n_windows, base.min_passing_windows_frac, 0.3))
    return replace(
        base,
        sliding_window_size=window,
        flank_size=flank,
        suppress=int(0.5 * window) + flank,
        min_passing_windows_frac=min_frac,
        max_passing_windows_frac=max(base.max_passing_windows_frac, min_frac),
        # Cluster-size floors a few hundred seqlets can support: ~1% of the sequences.
        min_metacluster_size=int(np.clip(n_seqs // 20, 20, base.min_metacluster_size)),
        final_min_cluster_size=int(np.clip(n_seqs // 100, 10, base.final_min_cluster_size)),
        min_num_to_trim_to=int(np.clip(n_seqs // 40, 10, base.min_num_to_trim_to)),
        trim_to_window_size=core,
        initial_flank_to_add=init_flank,
        # Neighbour graph and restarts sized to the few thousand seqlets short inputs give: about
        # 1 in 20 of the seqlets clustered per sign (roughly one per sequence, at most the cap) as
        # neighbours, at least 100 (10x the t-SNE perplexity of the density adaptation). Leiden's
        # time grows with the edges: 500 neighbours of 2,000 seqlets took 54 s, 100 took 32 s,
        # for the same three motifs (docs/motifs.md).
        nearest_neighbors_to_compute=int(np.clip(clustered // 20, 100, base.nearest_neighbors_to_compute)),
        # Best of 4 Leiden runs (two rounds on two cores) found the same motifs as best of 10 on the
        # demo, 5,000 x 101 bp, the pooled 200-bp and the peaks-like attributions, in about half the
        # time, and as best of 50 on 100,000 x 101 bp capped at 2,000 seqlets (docs/motifs.md).
        # Sized by the sequences that can hold the seqlets clustered, not by the whole input.
        n_leiden_runs=4 if clustered * length <= 5_000_000 else base.n_leiden_runs,
    )


def resolve_settings(settings, n_seqs: int, length: int) -> ModiscoSettings:
    """:class:`ModiscoSettings` from ``None`` (auto), a settings object, or a dict of overrides of auto."""
    if settings is None:
        return auto_settings(n_seqs, length)
    if isinstance(settings, ModiscoSettings):
        return settings
    check_overrides(settings)
    given = {k: v for k, v in settings.items() if v is not None}
    return replace(auto_settings(n_seqs, length, given.get("max_seqlets_per_metacluster")), **given)


def sequence_sample(n_seqs: int, length: int, max_sequences: int | None = None, seed: int = 0) -> np.ndarray | None:
    """Rows TF-MoDISco reads when there are too many sequences: a sorted, seeded random sample.

    Parameters
    ----------
    n_seqs, length : int
        Number and length of the explained sequences.
    max_sequences : int, optional
        At most this many; default ``MAX_BASES // length`` (100,000 at 200 bp).
    seed : int

    Returns
    -------
    ndarray of int, shape (max_sequences,), sorted, or None
        ``None`` when every sequence is read.
    """
    cap = int(max_sequences) if max_sequences else max(1, MAX_BASES // max(1, int(length)))
    if n_seqs <= cap:
        return None
    return np.sort(np.random.default_rng([int(seed), 0]).choice(n_seqs, size=cap, replace=False))


@dataclass(frozen=True)
class Seqlet:
    """One seqlet of a pattern, in the user's coordinates (trimmed to the exported motif).

    ``start:end`` on the forward strand of row ``seq_index`` of the user's data; ``strand`` "-"
    means the motif (as exported) reads on the reverse complement of that span.
    """

    seq_index: int
    start: int
    end: int
    strand: str
    motif: str
    contribution: float


@dataclass(frozen=True)
class Pattern:
    """A TF-MoDISco pattern, trimmed for export.

    Attributes
    ----------
    id : str
        ``<method>_pos_<k>`` or ``<method>_neg_<k>`` (``k`` is modisco-lite's pattern index).
    method : str
    sign : int
        +1 for patterns of positive contribution, -1 for negative.
    n_seqlets : int
    ppm, cwm, hcwm : ndarray, shape (W, 4)
        Trimmed position probability matrix, contribution weight matrix and hypothetical CWM.
    trim_start, trim_end : int
        The trimmed span ``trim_start:trim_end`` within modisco-lite's untrimmed pattern.
    seqlets : tuple of Seqlet
    parts : tuple of (int, int)
        The cores the pattern keeps (:func:`trim_cores`), ``(a, b)`` within the trimmed matrices
        (``cwm[a:b]``); two or more for a dimer or composite. ``()`` counts as one core spanning
        the matrix (:func:`parts_of`).
    """

    id: str
    method: str
    sign: int
    n_seqlets: int
    ppm: np.ndarray
    cwm: np.ndarray
    hcwm: np.ndarray
    trim_start: int
    trim_end: int
    seqlets: tuple = field(default=(), repr=False)
    parts: tuple = ()


def parts_of(motif) -> tuple:
    """The cores ``((a, b), ...)`` of a :class:`Pattern` or :class:`Family` within its matrices: its
    ``parts``, or one core spanning the whole matrix when it has none recorded."""
    return tuple(motif.parts) or ((0, len(motif.cwm)),)


@dataclass(frozen=True)
class MotifResult:
    """What :func:`discover` returns.

    Attributes
    ----------
    patterns : list of Pattern
        Positive patterns first, then negative, in modisco-lite's order (most seqlets first).
    pos_patterns, neg_patterns : list or None
        modisco-lite ``SeqletSet`` objects, for :func:`interpret.io.write_modisco_h5`.
    settings : ModiscoSettings
    method : str
    n_seqlets : dict
        ``{"pos": n, "neg": n}`` seqlets extracted (before clustering).
    n_clustered : dict
        ``{"pos": n, "neg": n}`` seqlets clustered: all of them, a seeded sample of
        ``max_seqlets_per_metacluster`` when there were more, 0 when too few to cluster.
    """

    patterns: list
    pos_patterns: list | None
    neg_patterns: list | None
    settings: ModiscoSettings
    method: str
    n_seqlets: dict
    n_clustered: dict

    @property
    def seqlet_rows(self) -> list[dict]:
        """Rows for ``seqlets.tsv``: ``seq_index, start, end, strand, motif, method, contribution``."""
        return [dict(asdict(s), method=self.method) for p in self.patterns for s in p.seqlets]


def _smooth(v: np.ndarray, k: int) -> np.ndarray:
    """Running mean of width ``k`` along the last axis, edges padded with the end values."""
    if k <= 1:
        return v
    pad = [(0, 0)] * (v.ndim - 1) + [(k // 2, k - 1 - k // 2)]
    c = np.cumsum(np.pad(v, pad, mode="edge"), axis=-1)
    c = np.concatenate([np.zeros(c.shape[:-1] + (1,)), c], axis=-1)
    return (c[..., k:] - c[..., :-k]) / k


def trim_bounds(cwm: np.ndarray, threshold: float = TRIM_THRESHOLD, seqlet_profiles: np.ndarray | None = None,
                sign: int | None = None, min_width: int = MIN_CORE_WIDTH) -> tuple[int, int]:
    """Informative span ``(start, end)`` of a pattern: every supported core of its contribution profile.

    The first two values of :func:`trim_cores`, which says how the span is found; a pattern with
    two or more cores keeps all of them and the weaker columns between.
    """
    start, end, _ = trim_cores(cwm, threshold, seqlet_profiles, sign, min_width)
    return start, end


def trim_cores(cwm: np.ndarray, threshold: float = TRIM_THRESHOLD, seqlet_profiles: np.ndarray | None = None,
               sign: int | None = None, min_width: int = MIN_CORE_WIDTH) -> tuple[int, int, tuple]:
    """The cores of a pattern's contribution profile that its seqlets support, and the span that keeps them all.

    The profile is the net contribution at each position in the pattern's direction,
    ``sign * cwm.sum(axis=1)``, smoothed over :data:`TRIM_SMOOTH` bp. Its baseline ``b`` is the
    lower of its :data:`TRIM_BASELINE_PERCENTILE` th percentile and the median of its
    :data:`TRIM_EDGE` outermost positions at each end (at least 0); its peak ``m`` is the maximum. A
    position passes when the profile reaches ``b + threshold * (m - b)`` and, given
    ``seqlet_profiles``, also ``b + TRIM_Z * SE`` (SE: the standard error of the mean over the
    seqlets at that position, a noise floor for weak patterns). A **core** is a run of passing
    positions, single failing positions bridged (with the smoothing, gaps of up to three weak
    columns between strong ones); the core around the peak is always kept.

    Every other core is kept when it is at least :data:`MIN_PART_WIDTH` wide and, given
    ``seqlet_profiles``, its seqlets support it: in more than :data:`PART_SUPPORT` of them its mean
    contribution over its columns lies above the noise floor, the mean of the columns outside every
    core plus ``TRIM_Z`` standard deviations of a mean of as many of them (pooled over the
    seqlets). A pattern with several kept cores (the two half-sites of a p53 dimer, GATA and E-box
    of a composite) is trimmed to the span from the first to the last, weak columns between
    included, and returns the cores as its **parts**. Without ``seqlet_profiles`` every core that
    passes is kept. The span is widened to ``min_width`` when narrower.

    ``modisco report`` keeps every position whose summed |CWM| reaches 0.3 x its maximum. On
    diffuse maps (integrated gradients, gradient x input) and weak patterns the flanks carry a
    level of their own above 0.3 x the peak, so that rule keeps whole 30-50 bp windows; measured
    against it in ``docs/motifs.md`` ("Trimming").

    Parameters
    ----------
    cwm : ndarray, shape (W, 4)
        Contribution weight matrix (mean contribution of each base at each position).
    threshold : float
        Fraction of the peak's height above the baseline that a core position reaches.
    seqlet_profiles : ndarray, shape (n, W), optional
        Contribution of each seqlet at each position summed over bases (their mean is
        ``cwm.sum(axis=1)``); gives the noise floor and the support of each core.
    sign : int, optional
        +1 or -1; default: the sign of ``cwm.sum()``.
    min_width : int
        Narrowest span returned (bp), or ``W`` if the pattern is narrower.

    Returns
    -------
    start, end : int
        ``cwm[start:end]`` is the trimmed pattern; ``(0, W)`` when the profile never rises above
        its baseline.
    parts : tuple of (int, int)
        The kept cores as ``(a, b)`` within the trimmed pattern (``cwm[start + a:start + b]``),
        in order; ``((0, end - start),)`` when there is one.
    """
    cwm = np.asarray(cwm, dtype=np.float64)
    width = len(cwm)
    sign = (1 if cwm.sum() >= 0 else -1) if sign is None else int(np.sign(sign) or 1)
    profile = _smooth(sign * cwm.sum(axis=1), TRIM_SMOOTH)
    edges = np.concatenate([profile[:TRIM_EDGE], profile[-TRIM_EDGE:]])
    base = max(min(float(np.percentile(profile, TRIM_BASELINE_PERCENTILE)), float(np.median(edges))), 0.0)
    peak = int(np.argmax(profile))
    if profile[peak] - base <= 1e-9 * max(float(np.abs(profile).max()), 1e-300):  # flat: nothing to trim to
        return 0, width, ((0, width),)
    cut = np.full(width, base + threshold * (profile[peak] - base))
    raw = None
    if seqlet_profiles is not None and len(seqlet_profiles) > 1:
        raw = sign * np.asarray(seqlet_profiles, dtype=np.float64)
        per = _smooth(raw, TRIM_SMOOTH)
        cut = np.maximum(cut, base + TRIM_Z * per.std(axis=0, ddof=1) / np.sqrt(len(per)))
    ok = profile >= cut
    ok[peak] = True
    bridged = ok.copy()
    bridged[1:-1] |= ok[:-2] & ok[2:]
    runs = _runs(bridged)
    main = next(k for k, (a, b) in enumerate(runs) if a <= peak < b)
    keep = [main] + [k for k, (a, b) in enumerate(runs) if k != main and b - a >= MIN_PART_WIDTH]
    if raw is not None and len(keep) > 1:
        keep = [k for k in keep if k == main or _supported(raw, runs, k)]
    kept = sorted(runs[k] for k in keep)
    start, end = kept[0][0], kept[-1][1]
    if end - start < min_width:
        start = int(np.clip((start + end - min_width) // 2, 0, max(width - min_width, 0)))
        end = min(width, start + min_width)
    if len(kept) == 1:
        return int(start), int(end), ((0, int(end - start)),)
    return int(start), int(end), tuple((int(a - start), int(b - start)) for a, b in kept)


def _runs(mask: np.ndarray) -> list:
    """``(start, end)`` of every run of True in ``mask``."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def _supported(raw: np.ndarray, runs: list, k: int) -> bool:
    """Whether core ``runs[k]`` stands above the noise floor in more than :data:`PART_SUPPORT` of the
    seqlets (``raw``: ``(n, W)`` per-seqlet profiles in the pattern's direction, unsmoothed)."""
    inside = np.zeros(raw.shape[1], bool)
    for a, b in runs:
        inside[a:b] = True
    a, b = runs[k]
    noise = raw[:, ~inside]
    if noise.size < 2:  # no column outside the cores: nothing to measure the noise on
        return True
    floor = noise.mean() + TRIM_Z * noise.std(ddof=1) / np.sqrt(b - a)
    return float((raw[:, a:b].mean(axis=1) > floor).mean()) > PART_SUPPORT


def _check_inputs(x, hypothetical, index):
    x = np.asarray(x)
    hypothetical = np.asarray(hypothetical)
    if x.ndim != 3 or x.shape[2] != 4:
        raise InputError(f"sequences must be one-hot (N, L, 4); got shape {x.shape}.")
    if hypothetical.shape != x.shape:
        raise InputError(f"hypothetical contributions {hypothetical.shape} must match the sequences {x.shape}.")
    if not np.all(np.isfinite(hypothetical)):
        raise InputError("hypothetical contributions contain NaN or inf; recompute the attributions.")
    index = np.arange(len(x)) if index is None else np.asarray(index)
    if index.shape != (len(x),):
        raise InputError(f"index must have one entry per sequence ({len(x)}), got shape {index.shape}.")
    return x.astype(np.float32), hypothetical.astype(np.float32), index


def extract(x: np.ndarray, hypothetical: np.ndarray, settings: ModiscoSettings):
    """modisco-lite's seqlet extraction with ``settings`` (including ``suppress``).

    Returns ``(track_set, pos_seqlets, neg_seqlets)``; the same steps as the top of
    ``modiscolite.tfmodisco.TFMoDISco``, which hard-codes ``suppress``.
    """
    from modiscolite import core, extract_seqlets

    s = settings
    contrib = x * hypothetical
    track_set = core.TrackSet(one_hot=x, contrib_scores=contrib, hypothetical_contribs=hypothetical)
    coords, threshold = extract_seqlets.extract_seqlets(
        attribution_scores=contrib.sum(axis=2), window_size=s.sliding_window_size, flank=s.flank_size,
        suppress=s.effective_suppress, target_fdr=s.target_seqlet_fdr,
        min_passing_windows_frac=s.min_passing_windows_frac, max_passing_windows_frac=s.max_passing_windows_frac,
        weak_threshold_for_counting_sign=s.weak_threshold_for_counting_sign)
    seqlets = track_set.create_seqlets(coords)
    pos, neg = [], []
    for sq in seqlets:
        f = int(0.5 * (len(sq) - s.sliding_window_size))
        attr = float(np.sum(sq.contrib_scores[f:len(sq) - f]))
        if attr > threshold:
            pos.append(sq)
        elif attr < -threshold:
            neg.append(sq)
    return track_set, pos, neg


def seqlet_sample(n: int, cap: int, sign: int, seed: int) -> np.ndarray | None:
    """Which of ``n`` seqlets of one sign are clustered when there are more than ``cap``: a sorted,
    seeded random sample (``None``: all of them)."""
    if n <= cap:
        return None
    return np.sort(np.random.default_rng([int(seed), 1 if sign > 0 else 2]).choice(n, size=cap, replace=False))


def _sample(seqlets, sign, settings, seed):
    keep = seqlet_sample(len(seqlets), settings.max_seqlets_per_metacluster, sign, seed)
    return seqlets if keep is None else [seqlets[i] for i in keep]


def _cluster(seqlets, track_set, sign, settings, beside=None):
    from modiscolite.tfmodisco import seqlets_to_patterns

    if len(seqlets) <= settings.min_metacluster_size:
        return None
    extra = {} if beside is None else {"beside_clustering": beside}
    return seqlets_to_patterns(seqlets=seqlets, track_set=track_set, track_signs=sign, **settings.modisco_kwargs(),
                               **extra)


def _cluster_both(pos, neg, track_set, settings, seed):
    """Patterns of both signs and the seqlets clustered: ``(pos_patterns, neg_patterns, n_pos, n_neg)``.

    Over ``settings.max_seqlets_per_metacluster`` seqlets of a sign, a seeded random sample of
    that many is clustered (:func:`seqlet_sample`; modisco-lite would keep the first ones, all
    from the start of the file).

    modisco-lite 3 runs each Leiden seed on one thread, in as many forked workers as it has cores
    for large graphs; whatever cores that leaves idle during the positive sign's first clustering
    cluster the negative sign in a forked child (``forked.Background``), as its own ``TFMoDISco``
    does (on 2 cores: when the positive graph is small, under 10,000 edges). When no core is left,
    or it cannot fork safely (numba's threading layer must be fork-safe, see
    :func:`use_forksafe_layer`), the negative sign is clustered here afterwards. modisco 2.5
    clusters the two signs one after the other.
    """
    pos, neg = _sample(pos, 1, settings, seed), _sample(neg, -1, settings, seed)
    n_pos, n_neg = (len(s) if len(s) > settings.min_metacluster_size else 0 for s in (pos, neg))
    try:
        from modiscolite import forked, tfmodisco
        background = forked.Background, tfmodisco._pack_patterns, tfmodisco._unpack_patterns
    except (ImportError, AttributeError):
        background = None
    if background is None or not n_neg:
        return _cluster(pos, track_set, 1, settings), _cluster(neg, track_set, -1, settings), n_pos, n_neg
    start, pack, unpack = background
    negative = start(lambda: _cluster(neg, track_set, -1, settings), pack=pack,
                     unpack=lambda packed: unpack(packed, track_set))
    pos_patterns = _cluster(pos, track_set, 1, settings, beside=negative)
    return pos_patterns, negative.result(), n_pos, n_neg  # computed here when the child never started or failed


def _record(pat, pid, method, sign, index, contrib, threshold) -> Pattern:
    cwm = np.asarray(pat.contrib_scores, dtype=np.float64)
    profiles = np.array([np.asarray(sq.contrib_scores, dtype=np.float64).sum(axis=1) for sq in pat.seqlets])
    a, b, parts = trim_cores(cwm, threshold, profiles, sign)
    seqlets = []
    for sq in pat.seqlets:
        if sq.is_revcomp:  # modisco-lite's Seqlet.trim: a reverse seqlet is trimmed from its end
            start, end, strand = sq.end - b, sq.end - a, "-"
        else:
            start, end, strand = sq.start + a, sq.start + b, "+"
        seqlets.append(Seqlet(int(index[sq.example_idx]), int(start), int(end), strand, pid,
                              float(contrib[sq.example_idx, start:end].sum())))
    ppm = np.asarray(pat.sequence[a:b], dtype=np.float64)
    ppm = ppm / np.maximum(ppm.sum(axis=1, keepdims=True), 1e-12)
    return Pattern(pid, method, sign, len(pat.seqlets), ppm, cwm[a:b].copy(),
                   np.asarray(pat.hypothetical_contribs[a:b], dtype=np.float64), a, b, tuple(seqlets), parts)


def _modisco_modules() -> list:
    import importlib

    names = ("affinitymat", "aggregator", "cluster", "core", "extract_seqlets", "gapped_kmer", "tfmodisco", "util")
    out = []
    for name in names:
        try:
            out.append(importlib.import_module(f"modiscolite.{name}"))
        except ImportError:  # modisco 2.5 has no cluster module
            pass
    return out


def _cache_numba() -> None:
    """Let modisco-lite's lazily compiled numba kernels use numba's on-disk cache.

    modisco-lite compiles them without ``cache=True`` (3.0 turns caching on only in its own
    ``precompile.start``, which this package does not call: it forks), so every new process paid
    the compile again; cached, only the first run on a machine does, and :func:`warm_up` in a
    background process can fill the cache ahead of the run (see :mod:`interpret.jit`).
    """
    from numba.core.registry import CPUDispatcher

    for mod in _modisco_modules():
        for fn in vars(mod).values():
            if isinstance(fn, CPUDispatcher) and fn._cache.__class__.__name__ == "NullCache":
                try:
                    fn.enable_caching()
                except Exception as exc:  # read-only site-packages without NUMBA_CACHE_DIR
                    logger.debug("numba cache unavailable for %s: %s", fn.__name__, exc)


def warm_up() -> int:
    """Compile modisco-lite's numba kernels into numba's on-disk cache, for the argument types a run passes.

    modisco-lite 3 lists the kernels a run calls with their signatures (``precompile._kernels``,
    the list its own forked precompile uses); each is compiled here with caching on, so a later
    :func:`discover` in any process loads it in milliseconds. modisco 2.5 has no such list and
    compiles on first use, as before. Returns the number of kernels compiled (0 with 2.5, or when
    numba has nowhere to write its cache).
    """
    try:
        from modiscolite import precompile
    except ImportError:
        return 0
    _cache_numba()
    n = 0
    for group in precompile._kernels():
        for dispatcher, sig in group:
            sig = sig or precompile._signatures.get(dispatcher)
            if sig is None or dispatcher._cache.__class__.__name__ == "NullCache":
                continue
            dispatcher.compile(sig)
            n += 1
    return n


def use_forksafe_layer() -> None:
    """Make numba pick a fork-safe threading layer (TBB, else workqueue) if it has not started one.

    modisco-lite 3 forks workers for subclustering and the negative sign only when the running
    layer is fork-safe; numba's default on Linux without TBB is GNU OpenMP, which is not, so a
    run would stay on one core. Does nothing once a layer runs or when the user chose one
    (``NUMBA_THREADING_LAYER``).
    """
    import os

    import numba

    if os.environ.get("NUMBA_THREADING_LAYER"):
        return
    try:
        numba.threading_layer()
    except ValueError:  # not started yet: the choice still counts
        numba.config.THREADING_LAYER = "forksafe"


def discover(x: np.ndarray, hypothetical: np.ndarray, index: np.ndarray | None = None, method: str = "deepshap",
             settings=None, seed: int = 0, verbose: bool = False) -> MotifResult:
    """Find motifs in attributions with TF-MoDISco (modisco-lite).

    Parameters
    ----------
    x : ndarray, shape (N, L, 4)
        One-hot sequences (A C G T).
    hypothetical : ndarray, shape (N, L, 4)
        Hypothetical contributions of the same sequences (contributions are ``x * hypothetical``).
    index : ndarray, shape (N,), optional
        Row of each sequence in the user's data; seqlets report these rows. Default ``arange(N)``.
    method : str
        Attribution method name, used in pattern ids (``deepshap_pos_0``).
    settings : None, dict or ModiscoSettings
        ``None``: :func:`auto_settings`; a dict overrides single fields of it.
    seed : int
        Seeds the sample of seqlets clustered when a sign has more than
        ``max_seqlets_per_metacluster`` (:func:`seqlet_sample`); modisco-lite's own draws use fixed
        seeds, so the result depends on the inputs, settings and seed alone.
    verbose : bool
        Log progress at INFO (never prints).

    Returns
    -------
    MotifResult
        Patterns of both signs, trimmed (:func:`trim_bounds`), with seqlets in user rows.
        It does not compare motifs with a database (see :mod:`interpret.motifs.compare`).
    """
    x, hypothetical, index = _check_inputs(x, hypothetical, index)
    n, length = x.shape[:2]
    s = resolve_settings(settings, n, length).check(length)
    log = logger.info if verbose else logger.debug
    use_forksafe_layer()
    _cache_numba()
    track_set, pos, neg = extract(x, hypothetical, s)
    log("%s: %d positive and %d negative seqlets from %d x %d bp", method, len(pos), len(neg), n, length)
    for name, seqs in (("positive", pos), ("negative", neg)):
        if len(seqs) <= s.min_metacluster_size:
            log("%s: %d %s seqlets <= min_metacluster_size %d: not clustered", method, len(seqs), name,
                s.min_metacluster_size)
    pos_patterns, neg_patterns, n_pos, n_neg = _cluster_both(pos, neg, track_set, s, seed)
    for name, found, used in (("positive", len(pos), n_pos), ("negative", len(neg), n_neg)):
        if used and used < found:
            log("%s: clustering a random sample of %d of the %d %s seqlets (seed %d)", method, used, found, name, seed)
    contrib = (x * hypothetical).sum(axis=2)
    records = []
    for tag, sign, pats in (("pos", 1, pos_patterns), ("neg", -1, neg_patterns)):
        for k, pat in enumerate(pats or []):
            records.append(_record(pat, f"{method}_{tag}_{k}", method, sign, index, contrib, s.trim_threshold))
    log("%s: %d patterns (%s)", method, len(records), ", ".join(f"{p.id}: {p.n_seqlets}" for p in records))
    return MotifResult(records, pos_patterns, neg_patterns, s, method, {"pos": len(pos), "neg": len(neg)},
                       {"pos": n_pos, "neg": n_neg})


# --------------------------------------------------------------------------------------
# Motif families: patterns that are the same motif, grouped
# --------------------------------------------------------------------------------------
#: Two cores are the same motif when, at their best offset and strand, the overlapping columns
#: of their CWMs have at least this cosine similarity ...
FAMILY_SIMILARITY = 0.85
#: ... over at least this fraction of the shorter core (and at least 5 columns) ...
FAMILY_OVERLAP = 0.75
#: ... and the PPMs of their seqlets, read over the union of the two aligned cores, correlate at
#: least this well (Pearson r): the sites of each carry the other's bases, not only a similar
#: shape of contributions.
FAMILY_PPM_R = 0.8
#: A family with fewer seqlets than this is a minor pattern: modisco-lite's own default
#: ``final_min_cluster_size``, which :func:`auto_settings` lowers (to 10) for short inputs so
#: that weak motifs reach the files at all.
MIN_FAMILY_SEQLETS = 20


@dataclass(frozen=True)
class Family:
    """Patterns of one method and sign that are the same motif, with their seqlets pooled.

    Attributes
    ----------
    id : str
        ``<method>_pos_family_<k>`` or ``<method>_neg_family_<k>``, ``k`` in order of pooled seqlets.
    method : str
    sign : int
    members : tuple of str
        Pattern ids, the representative (most seqlets) first.
    strands : tuple of str
        ``"+"``, or ``"-"`` where a member reads as the reverse complement of the representative.
    offsets : tuple of int
        Column of the family matrix where each member's core starts.
    similarity : tuple of float
        Cosine similarity of each member's core to the representative's (1.0 for itself).
    n_seqlets : int
        Seqlets pooled (distinct sites of all members that fit in the sequence).
    ppm, cwm, hcwm : ndarray, shape (W, 4)
        Means over the pooled seqlets of the one-hot bases, contributions and hypothetical
        contributions, across the union of the members' aligned cores.
    parts : tuple of (int, int)
        The members' cores (:attr:`Pattern.parts`) placed on the family matrix, overlapping ones
        merged: ``(a, b)`` with ``cwm[a:b]`` one core; two or more for a dimer or composite.
    """

    id: str
    method: str
    sign: int
    members: tuple
    strands: tuple
    offsets: tuple
    similarity: tuple
    n_seqlets: int
    ppm: np.ndarray
    cwm: np.ndarray
    hcwm: np.ndarray
    parts: tuple = ()


def align_cores(a: np.ndarray, b: np.ndarray, min_overlap: float = FAMILY_OVERLAP) -> tuple[float, int, bool]:
    """Best alignment of two CWM cores ``a`` ``(Wa, 4)`` and ``b`` ``(Wb, 4)``, both strands.

    Column ``j`` of ``b`` (reverse-complemented when ``rc``) sits on column ``j + offset`` of
    ``a``; the score is the cosine similarity of the overlapping columns, over offsets where they
    cover at least ``min_overlap`` of the shorter core and at least 5 columns.

    Returns
    -------
    (similarity, offset, rc)
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    need = min(max(5, int(np.ceil(min_overlap * min(len(a), len(b))))), len(a), len(b))
    best = (-1.0, 0, False)
    for rc in (False, True):
        bb = b[::-1, ::-1] if rc else b
        for off in range(need - len(bb), len(a) - need + 1):
            lo, hi = max(0, off), min(len(a), off + len(bb))
            u, v = a[lo:hi], bb[lo - off:hi - off]
            norm = np.linalg.norm(u) * np.linalg.norm(v)
            sim = float((u * v).sum() / norm) if norm > 0 else 0.0
            if sim > best[0] + 1e-12:
                best = (sim, off, rc)
    return best


def same_motif(a, b, x: np.ndarray, hypothetical: np.ndarray, index: np.ndarray | None = None,
               min_similarity: float = FAMILY_SIMILARITY, min_overlap: float = FAMILY_OVERLAP,
               min_ppm_r: float = FAMILY_PPM_R) -> tuple[bool, float, int, bool]:
    """Whether patterns ``a`` and ``b`` (:class:`Pattern`) are the same motif, and how they align.

    Their CWM cores are aligned with :func:`align_cores` and must reach ``min_similarity``. Then
    both patterns' seqlets are read over the union of the two aligned cores (from ``x``), and the
    two PPMs there must correlate at ``min_ppm_r`` (Pearson r over all entries). The first test
    compares what the model responds to; the second asks whether the sites of each pattern carry
    the other's bases too: a REST half-site pattern whose seqlets sit in whole REST sites passes,
    a GC box that merely resembles part of CTCF (GGGGCGGGG in CTCF's CCGCGNGGNGGCAG) does not,
    nor does a GC-rich stretch whose contributions look like a TP53 site's (cosine 0.93 on the
    ``peaks_like`` fixture).

    Parameters
    ----------
    a, b : Pattern
    x, hypothetical : ndarray, shape (N, L, 4)
        The arrays given to :func:`discover`.
    index : ndarray, shape (N,), optional
        As given to :func:`discover`.

    Returns
    -------
    (same, similarity, offset, rc)
        As :func:`align_cores`: column ``j`` of ``b`` on column ``j + offset`` of ``a``.
    """
    x, hypothetical, index = _check_inputs(x, hypothetical, index)
    return _same_motif(a, b, x, hypothetical, {int(r): i for i, r in enumerate(index)}, min_similarity,
                       min_overlap, min_ppm_r)


def _same_motif(a, b, x, hypothetical, row_of, min_similarity, min_overlap, min_ppm_r):
    sim, off, rc = align_cores(a.cwm, b.cwm, min_overlap)
    if sim < min_similarity:
        return False, sim, off, rc
    lo, hi = min(0, off), max(len(a.cwm), off + len(b.cwm))
    pa = _read_sites([(a, 0, False)], x, hypothetical, row_of, lo, hi)[0]
    pb = _read_sites([(b, off, rc)], x, hypothetical, row_of, lo, hi)[0]
    if not pa or not pb:
        return False, sim, off, rc
    u, v = np.mean(pa, axis=0).ravel(), np.mean(pb, axis=0).ravel()
    r = float(np.corrcoef(u, v)[0, 1]) if u.std() > 0 and v.std() > 0 else 0.0
    return r >= min_ppm_r, sim, off, rc


def group_families(patterns: list, x: np.ndarray, hypothetical: np.ndarray, index: np.ndarray | None = None,
                   min_similarity: float = FAMILY_SIMILARITY, min_overlap: float = FAMILY_OVERLAP,
                   min_ppm_r: float = FAMILY_PPM_R) -> list:
    """Group patterns that are the same motif into families and pool their seqlets.

    Within each method and sign, patterns are taken from most to fewest seqlets; each joins the
    family whose representative (its first, largest pattern) it is most similar to, if
    :func:`same_motif` says they are the same motif, and founds a family otherwise. Offsets
    and reverse complements of a motif (modisco-lite's split of REST into halves and shifted
    copies) join one family; comparing with the representative only, never with any member,
    keeps chains of partial similarities from joining different motifs. Every pattern is in
    exactly one family; a family of one is the pattern itself.

    Parameters
    ----------
    patterns : list of Pattern
        From :func:`discover` (one or several methods).
    x : ndarray, shape (N, L, 4)
        The one-hot sequences given to :func:`discover`.
    hypothetical : ndarray, shape (N, L, 4)
        Their hypothetical contributions (contributions are ``x * hypothetical``).
    index : ndarray, shape (N,), optional
        Row of each sequence in the user's data, as given to :func:`discover` (default ``arange(N)``).
    min_similarity, min_overlap, min_ppm_r : float
        See :func:`same_motif`.

    Returns
    -------
    list of Family
        Positive families first, then negative, each by pooled seqlets (most first).
    """
    x, hypothetical, index = _check_inputs(x, hypothetical, index)
    row_of = {int(r): i for i, r in enumerate(index)}
    groups: dict = {}
    for p in patterns:
        groups.setdefault((p.method, p.sign), []).append(p)
    out = []
    for (method, sign), pats in sorted(groups.items(), key=lambda kv: (kv[0][0], -kv[0][1])):
        fams: list = []   # [representative, [(pattern, similarity, offset, rc)]]
        for p in sorted(pats, key=lambda p: -p.n_seqlets):
            scores = [_same_motif(rep, p, x, hypothetical, row_of, min_similarity, min_overlap, min_ppm_r)
                      for rep, _ in fams]
            same = [k for k, s in enumerate(scores) if s[0]]
            if same:
                k = max(same, key=lambda k: scores[k][1])
                fams[k][1].append((p,) + scores[k][1:])
            else:
                fams.append([p, [(p, 1.0, 0, False)]])
        pooled = [_pool(members, x, hypothetical, row_of) for _, members in fams]
        tag = "pos" if sign > 0 else "neg"
        for k, (members, (n, ppm, cwm, hcwm, lo)) in enumerate(
                sorted(zip([m for _, m in fams], pooled), key=lambda t: -t[1][0])):
            out.append(Family(f"{method}_{tag}_family_{k}", method, sign, tuple(m[0].id for m in members),
                              tuple("-" if m[3] else "+" for m in members), tuple(int(m[2] - lo) for m in members),
                              tuple(round(float(m[1]), 4) for m in members), n, ppm, cwm, hcwm,
                              _family_parts(members, lo, len(cwm))))
    logger.debug("%d patterns in %d families", len(patterns), len(out))
    return out


def _family_parts(members, lo: int, width: int) -> tuple:
    """Every member's cores on the family matrix (``members``: ``(pattern, similarity, offset, rc)``,
    offsets in the representative's columns, the matrix starting at ``lo``), overlapping ones merged."""
    spans = []
    for p, _, off, rc in members:
        w = len(p.cwm)
        for a, b in parts_of(p):
            a, b = (w - b, w - a) if rc else (a, b)
            a, b = max(0, off - lo + a), min(width, off - lo + b)
            if b > a:
                spans.append((a, b))
    merged: list = []
    for a, b in sorted(spans):
        if merged and a < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return tuple((int(a), int(b)) for a, b in merged)


def _read_sites(members, x, hypothetical, row_of, lo, hi):
    """One-hot, contribution and hypothetical ``(hi - lo, 4)`` segments of the members' seqlets.

    ``members`` holds ``(pattern, offset, rc)``: the pattern's core sits at ``offset`` in a frame
    whose columns ``lo:hi`` are read, on the frame's strand (``rc``: the pattern reads as the
    reverse complement of the frame). Seqlets whose span leaves the sequence, or that repeat a
    site already read, are skipped.
    """
    length = x.shape[1]
    seen, onehot, contrib, hyp = set(), [], [], []
    for p, off, rc in members:
        for s in p.seqlets:
            forward = (s.strand == "+") != rc
            # frame column u is pattern column u - off: on the sequence start + u - off (forward)
            # or end - 1 - (u - off) (reverse complement)
            a, b = (s.start + lo - off, s.start + hi - off) if forward else (s.end - hi + off, s.end - lo + off)
            row = row_of.get(s.seq_index)
            if row is None or a < 0 or b > length or (row, a, forward) in seen:
                continue
            seen.add((row, a, forward))
            seg_x, seg_h = x[row, a:b], hypothetical[row, a:b]
            if not forward:
                seg_x, seg_h = seg_x[::-1, ::-1], seg_h[::-1, ::-1]
            onehot.append(seg_x)
            hyp.append(seg_h)
            contrib.append(seg_x * seg_h)
    return onehot, contrib, hyp


def _pool(members, x, hypothetical, row_of):
    """Mean one-hot, contribution and hypothetical matrices over the members' seqlets, aligned.

    ``members`` holds ``(pattern, similarity, offset, rc)``; the pooled matrices span the union of
    the members' aligned cores. Returns ``(n_seqlets, ppm, cwm, hcwm, lo)``, ``lo`` the frame's
    first column in the representative's coordinates.
    """
    lo = min(off for _, _, off, _ in members)
    hi = max(off + len(p.cwm) for p, _, off, _ in members)
    onehot, contrib, hyp = _read_sites([(p, off, rc) for p, _, off, rc in members], x, hypothetical, row_of, lo, hi)
    if not onehot:
        rep = members[0][0]
        return 0, rep.ppm, rep.cwm, rep.hcwm, 0
    return (len(onehot), np.mean(onehot, axis=0, dtype=np.float64), np.mean(contrib, axis=0, dtype=np.float64),
            np.mean(hyp, axis=0, dtype=np.float64), lo)


def fold_minor(families: list, min_seqlets: int = MIN_FAMILY_SEQLETS, significant: dict | None = None) -> dict:
    """Why each family is folded out of the report's main table (``""``: it is not).

    Parameters
    ----------
    families : list of Family
    min_seqlets : int
        A family with fewer pooled seqlets is minor.
    significant : dict of str -> bool, optional
        Whether each pattern id has a significant effect on the model (e.g. the
        ``effect_significant`` column of ``motifs.tsv``). A family none of whose members with a
        known value is significant is minor; members without a value are not counted.

    Returns
    -------
    dict of str -> str
        Family id -> ``"fewer than 20 seqlets"``, ``"no significant effect"``, both joined by
        ``"; "``, or ``""``.
    """
    out = {}
    for f in families:
        reasons = []
        if f.n_seqlets < min_seqlets:
            reasons.append(f"fewer than {min_seqlets} seqlets")
        known = [bool(significant[m]) for m in f.members if significant and significant.get(m) is not None]
        if known and not any(known):
            reasons.append("no significant effect")
        out[f.id] = "; ".join(reasons)
    return out
