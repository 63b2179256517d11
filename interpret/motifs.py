"""Attribution motifs: TF-MoDISco (modisco-lite) on contribution scores, trimmed, with seqlets.

:func:`discover` runs modisco-lite on one-hot sequences and their hypothetical contributions and
returns a :class:`MotifResult`: the raw modisco-lite pattern objects (for
:func:`interpret.io.write_modisco_h5`, so ``modisco report`` reads our file) and one
:class:`Pattern` record per positive and negative pattern, trimmed, with its seqlets mapped back
to rows of the user's data.

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

from .errors import InputError

logger = logging.getLogger(__name__)

#: Bases (sequences x length) TF-MoDISco reads by default: 100,000 sequences of 200 bp. Above,
#: :func:`sequence_sample` draws that many (memory of modisco-lite grows with the input).
MAX_BASES = 20_000_000

#: Positions whose summed |CWM| is below this fraction of the pattern's maximum are trimmed
#: from both ends (the same rule and default as ``modisco report``'s ``trim_threshold``).
TRIM_THRESHOLD = 0.3


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
        ``interpret``'s export trimming (not modisco-lite's): see :func:`trim_bounds`.
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

    def check(self, length: int) -> "ModiscoSettings":
        """Raise :class:`InputError` if these settings cannot run on sequences of ``length`` bp."""
        w, f = self.sliding_window_size, self.flank_size
        if w < 1 or f < 1:
            raise InputError(f"--modisco-window ({w}) and --modisco-flank ({f}) must be >= 1.")
        if w + 2 * f >= length:
            raise InputError(
                f"a seqlet (--modisco-window {w} + 2 x --modisco-flank {f}) does not fit in {length}-bp "
                f"sequences; use a window + 2 x flank below {length}.")
        if self.trim_to_window_size + 2 * self.initial_flank_to_add > length:
            raise InputError(
                f"trim_to_window_size {self.trim_to_window_size} + 2 x initial_flank_to_add "
                f"{self.initial_flank_to_add} exceeds the sequence length {length}; lower them.")
        if not 0 < self.target_seqlet_fdr < 1:
            raise InputError(f"--modisco-fdr must be between 0 and 1, not {self.target_seqlet_fdr}.")
        if not 0 <= self.trim_threshold < 1:
            raise InputError(f"trim_threshold must be in [0, 1), not {self.trim_threshold}.")
        if self.max_sequences is not None and self.max_sequences < 1:
            raise InputError(f"--modisco-max-seqs must be at least 1, not {self.max_sequences}.")
        if self.max_seqlets_per_metacluster < 1:
            raise InputError(f"--modisco-max-seqlets must be at least 1, not {self.max_seqlets_per_metacluster}.")
        return self

    def modisco_kwargs(self) -> dict:
        """Keyword arguments of ``modiscolite.tfmodisco.seqlets_to_patterns``."""
        skip = {"sliding_window_size", "flank_size", "suppress", "target_seqlet_fdr", "min_passing_windows_frac",
                "max_passing_windows_frac", "weak_threshold_for_counting_sign", "max_seqlets_per_metacluster",
                "min_metacluster_size", "trim_threshold", "max_sequences"}
        return {k: v for k, v in asdict(self).items() if k not in skip}


def auto_settings(n_seqs: int, length: int) -> ModiscoSettings:
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
    """
    if n_seqs < 1 or length < 20:
        raise InputError(f"TF-MoDISco needs at least one sequence of >= 20 bp, got {n_seqs} x {length} bp.")
    base = ModiscoSettings()
    if length >= 400 and n_seqs >= 2000:
        return base
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
        # Neighbour graph and restarts sized to the few thousand seqlets short inputs give.
        nearest_neighbors_to_compute=int(np.clip(n_seqs // 10, 100, base.nearest_neighbors_to_compute)),
        n_leiden_runs=10 if n_seqs * length <= 5_000_000 else base.n_leiden_runs,
    )


def resolve_settings(settings, n_seqs: int, length: int) -> ModiscoSettings:
    """:class:`ModiscoSettings` from ``None`` (auto), a settings object, or a dict of overrides of auto."""
    if settings is None:
        return auto_settings(n_seqs, length)
    if isinstance(settings, ModiscoSettings):
        return settings
    if isinstance(settings, dict):
        names = {f.name for f in fields(ModiscoSettings)}
        unknown = sorted(set(settings) - names)
        if unknown:
            raise InputError(f"unknown TF-MoDISco setting(s) {unknown}; known: {sorted(names)}.")
        return replace(auto_settings(n_seqs, length), **{k: v for k, v in settings.items() if v is not None})
    raise InputError(f"settings must be None, a dict or a ModiscoSettings, not {type(settings).__name__}.")


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


def trim_bounds(cwm: np.ndarray, threshold: float = TRIM_THRESHOLD) -> tuple[int, int]:
    """Span ``(start, end)`` of ``cwm`` ``(W, 4)`` from the first to the last position whose
    summed |CWM| reaches ``threshold`` x its maximum (``modisco report``'s rule)."""
    score = np.abs(np.asarray(cwm)).sum(axis=1)
    if score.max() <= 0:
        return 0, len(score)
    keep = np.flatnonzero(score >= threshold * score.max())
    return int(keep[0]), int(keep[-1]) + 1


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


def _cluster(seqlets, track_set, sign, settings, seed):
    from modiscolite.tfmodisco import seqlets_to_patterns

    if len(seqlets) <= settings.min_metacluster_size:
        return None, 0
    keep = seqlet_sample(len(seqlets), settings.max_seqlets_per_metacluster, sign, seed)
    if keep is not None:
        seqlets = [seqlets[i] for i in keep]
    patterns = seqlets_to_patterns(seqlets=seqlets, track_set=track_set, track_signs=sign, **settings.modisco_kwargs())
    return patterns, len(seqlets)


def _record(pat, pid, method, sign, index, contrib, threshold) -> Pattern:
    cwm = np.asarray(pat.contrib_scores, dtype=np.float64)
    a, b = trim_bounds(cwm, threshold)
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
                   np.asarray(pat.hypothetical_contribs[a:b], dtype=np.float64), a, b, tuple(seqlets))


def _cache_numba() -> None:
    """Let modisco-lite's lazily compiled numba kernels use numba's on-disk cache.

    modisco-lite compiles them without ``cache=True``, so every new process paid the compile
    again; cached, only the first run on a machine does (see benchmarks/RESULTS.md).
    """
    from numba.core.registry import CPUDispatcher
    from modiscolite import affinitymat, gapped_kmer, util

    for mod in (affinitymat, gapped_kmer, util):
        for fn in vars(mod).values():
            if isinstance(fn, CPUDispatcher) and not fn.signatures and fn._cache.__class__.__name__ == "NullCache":
                try:
                    fn.enable_caching()
                except Exception as exc:  # read-only site-packages without NUMBA_CACHE_DIR
                    logger.debug("numba cache unavailable for %s: %s", fn.__name__, exc)


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
        It does not compare motifs with a database (see :mod:`interpret.compare`).
    """
    x, hypothetical, index = _check_inputs(x, hypothetical, index)
    n, length = x.shape[:2]
    s = resolve_settings(settings, n, length).check(length)
    log = logger.info if verbose else logger.debug
    _cache_numba()
    track_set, pos, neg = extract(x, hypothetical, s)
    log("%s: %d positive and %d negative seqlets from %d x %d bp", method, len(pos), len(neg), n, length)
    for name, seqs in (("positive", pos), ("negative", neg)):
        if len(seqs) <= s.min_metacluster_size:
            log("%s: %d %s seqlets <= min_metacluster_size %d: not clustered", method, len(seqs), name,
                s.min_metacluster_size)
    pos_patterns, n_pos = _cluster(pos, track_set, 1, s, seed)
    neg_patterns, n_neg = _cluster(neg, track_set, -1, s, seed)
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
