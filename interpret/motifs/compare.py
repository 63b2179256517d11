"""Motif comparison with TOMTOM (:mod:`interpret.motifs.tomtom`): database matches with a false-match guard, and set-vs-set tables.

TOMTOM's p-value treats the aligned columns as independent draws from the target columns, and
its Euclidean column score rewards weak-against-weak alignments. Both go wrong on the matrices
a model gives: an almost uniform 24-bp filter PPM aligns column after column with the weak
flanks of the 30+ bp extended CTCF matrices (MA1929, MA1930) and gets p ~ 1e-9; a 30-bp
TF-MoDISco pattern of GC-rich background, or 10 seqlets of anything, "matches" CTCF at q ~ 1e-5
(on the untrained control model in ``tests/test_compare.py`` plain TOMTOM names most filters,
and on ``simulate.peaks_like`` it names every GC-rich pattern CTCF). :func:`match_to_db`
therefore gives a name only when all of these hold (see its docstring for the measurements):

1. **Trim** the query to its informative core (:func:`trim_ppm`): first to last column holding
   ``min(MIN_IC, REL_IC x the strongest column)`` bits. Uninformative flanks carry no evidence for
   any motif but add aligned columns to the score; the relative part keeps the core of a weak
   pattern, whose every column may be under 0.5 bits.
2. **Sharpen** the core (:func:`sharpen`): an attribution or activation PPM is the motif diluted
   by weak sites and imperfect alignment, and TOMTOM's column distance punishes dilution, not
   mismatch. The deviations from uniform are scaled by one factor until the strongest column has
   ``SHARPEN_TO`` on one base; shapes and Pearson r are unchanged, strong PPMs are left alone.
3. **q-value**: the per-query Benjamini-Hochberg q over the database below ``alpha``.
4. **Overlap**: the alignment covers at least ``MIN_OVERLAP`` of the shorter of core and target.
5. **Likeness**: the aligned columns of core and target correlate at Pearson r >= ``MIN_R``, so
   the logos a reader puts side by side look alike.
6. **Order**: the match beats every one of ``N_SHUFFLES`` column-shuffled copies of the core
   (each copy keeps an informative column at both ends, as the core does): no copy gets a
   database p-value as small. Shuffling keeps the core's composition and information and
   destroys its motif, so a query whose "match" comes from GC content, weak columns or length
   fails; for a query that is itself a random arrangement of its columns the chance to pass is
   at most 1 / (N_SHUFFLES + 1) = 3.3%, whatever the database. This replaces the earlier fixed
   information floor (6 bits) and E-value (0.005): the floor refused the diluted p53-family
   palindrome of a real model, and with the order test the controls need neither. A core too
   short for its order to single out a motif (the 6-bp SOX core CATTGT) stays unnamed; its
   filter group can name it (:func:`group_names`).

:func:`resemblance` is the looser question a link needs (does a query look like any of a set of
database motifs, e.g. the screen's responding hits?): the same trimmed, sharpened core and TOMTOM,
twice the q, no order test, not only the best match.

:func:`shuffled_control` measures the false-match rate on column-shuffled copies of the
queries, with and without the guard, so every run can show the control beside its matches;
``benchmarks/naming.py`` calibrates the guard on planted and shuffled sets (benchmarks/RESULTS.md).

TOMTOM is :func:`interpret.motifs.tomtom.tomtom`, the complete-score statistic of memelite 0.5 in
NumPy: the same scores, offsets and p-values (to float round-off; ``benchmarks/tomtom_speed.py``),
with nothing compiled at run time, so the first call of a process costs what every later one does.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..stats import bh
from .tomtom import best_p, tomtom as _tomtom

logger = logging.getLogger(__name__)

MIN_IC = 0.5          # bits per column to count as informative (trimming) ...
REL_IC = 0.5          # ... or this fraction of the strongest column, if that is less
NO_IC = 0.05          # a PPM whose strongest column holds less has no core at all
SHARPEN_TO = 0.97     # probability of the top base of the core's strongest column after sharpening
MIN_OVERLAP = 0.5     # aligned columns / min(query core width, target width)
MIN_R = 0.7           # Pearson r of the aligned columns of core and target
N_SHUFFLES = 29       # column-shuffled copies of the core the match must beat (null rate <= 1/30)
# Filter-filter grouping (group_redundant) compares only cores this strong with each other.
MIN_TOTAL_IC = 6.0    # bits in the core
MIN_DENSITY = 0.5     # fraction of the core's columns holding MIN_IC bits
# Resemblance (resemblance): twice a name's q, no order test, not only the best match.
RESEMBLANCE_Q = 0.1   # per-query BH q over the database
RESEMBLANCE_R = 0.7   # Pearson r of the aligned columns (as for a name)


@dataclass(frozen=True)
class Match:
    """Best database match of one query PPM.

    Attributes
    ----------
    query : int
        Index of the query.
    id, name : str
        Best database motif (smallest p), whether or not it is significant; ``""`` if the
        query has no informative column.
    p : float
        TOMTOM p-value of the best alignment of the trimmed, sharpened query, both strands.
    q : float
        Benjamini–Hochberg q-value of ``p`` among the query's p-values against the whole database.
    offset : int
        Column ``j`` of the query as given (untrimmed) aligns with column ``j + offset`` of the
        target, read on ``strand`` (``"-"``: the target's reverse complement).
    strand : str
        ``"+"`` or ``"-"``.
    overlap : int
        Number of aligned columns.
    trim_start, trim_end : int
        Informative core ``ppm[trim_start:trim_end]`` that was compared.
    ic : float
        Information content of the core in bits (before sharpening).
    r : float
        Pearson r of the aligned columns of core and target (NaN without a core).
    shuffles_as_good : int
        How many of the ``n_shuffles`` column-shuffled copies of the core got a database p-value
        as small as ``p``; -1 when the match failed an earlier condition and was not tested.
    significant : bool
        Whether the match passes the guard (see :mod:`interpret.motifs.compare`).
    reason : str
        Why it does not (``""`` when significant).
    """

    query: int
    id: str
    name: str
    p: float
    q: float
    offset: int
    strand: str
    overlap: int
    trim_start: int
    trim_end: int
    ic: float
    r: float
    shuffles_as_good: int
    significant: bool
    reason: str

    def as_row(self) -> dict:
        """``jaspar_id, jaspar_name, jaspar_q`` for output tables: empty unless significant."""
        if not self.significant:
            return {"jaspar_id": "", "jaspar_name": "", "jaspar_q": ""}
        return {"jaspar_id": self.id, "jaspar_name": self.name, "jaspar_q": self.q}


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------
def column_ic(ppm: np.ndarray) -> np.ndarray:
    """Information content in bits of every column of ``ppm`` ``(W, 4)``, shape ``(W,)``."""
    p = np.clip(np.asarray(ppm, dtype=np.float64), 1e-12, None)
    p = p / p.sum(axis=-1, keepdims=True)
    return 2.0 + (p * np.log2(p)).sum(axis=-1)


def trim_ppm(ppm: np.ndarray, min_ic: float = MIN_IC, rel_ic: float = REL_IC) -> tuple[int, int]:
    """Informative core of ``ppm`` ``(W, 4)``: ``(start, end)`` from the first to the last column
    holding ``min(min_ic, rel_ic x the strongest column's)`` bits. Interior weak columns are kept
    (a gapped motif stays whole). ``(0, 0)`` if no column holds ``NO_IC`` bits.

    The relative part matters only for weak PPMs (strongest column under ``min_ic / rel_ic`` bits):
    a diluted motif keeps its shape with every column under 0.5 bits.
    """
    ic = column_ic(ppm)
    if len(ic) == 0 or ic.max() < NO_IC:
        return 0, 0
    ok = np.flatnonzero(ic >= min(min_ic, rel_ic * ic.max()))
    return int(ok[0]), int(ok[-1]) + 1


def sharpen(ppm: np.ndarray, to: float = SHARPEN_TO) -> np.ndarray:
    """Undo a uniform dilution of ``ppm`` ``(W, 4)``: scale every entry's deviation from 0.25 by
    one factor so the largest entry becomes ``to``; negative entries are set to 0 and rows
    renormalised. A PPM whose largest entry already reaches ``to`` is returned unchanged.

    A PPM made of ``f`` parts motif and ``1 - f`` parts uniform background comes back as the motif
    when the motif's largest entry is ``to`` (and close to it otherwise); the column order, the
    consensus and, up to the clipping, the Pearson r with any matrix are unchanged.
    """
    p = np.asarray(ppm, dtype=np.float64)
    top = float(p.max()) if p.size else 0.0
    if top >= to or top <= 0.25:
        return p
    s = np.clip(0.25 + (p - 0.25) * (to - 0.25) / (top - 0.25), 0.0, None)
    return s / s.sum(axis=1, keepdims=True)


def _as_ppms(ppms, what: str) -> list[np.ndarray]:
    out = []
    for i, p in enumerate(ppms):
        p = np.asarray(getattr(p, "ppm", p), dtype=np.float64)
        if p.ndim != 2 or p.shape[1] != 4 or len(p) == 0:
            raise InputError(f"{what} {i} has shape {p.shape}; PPMs must be (W, 4) arrays, A C G T.")
        if not np.isfinite(p).all() or (p < 0).any():
            raise InputError(f"{what} {i} has negative or non-finite entries; PPMs hold probabilities.")
        s = p.sum(axis=1, keepdims=True)
        out.append(np.where(s > 0, p / np.where(s > 0, s, 1), 0.25))
    return out


# --------------------------------------------------------------------------------------------
# Query vs database
# --------------------------------------------------------------------------------------------
def match_to_db(ppms, db, alpha: float = 0.05, min_ic: float = MIN_IC, rel_ic: float = REL_IC,
                sharpen_to: float = SHARPEN_TO, min_overlap: float = MIN_OVERLAP, min_r: float = MIN_R,
                n_shuffles: int = N_SHUFFLES, seed: int = 0) -> list[Match]:
    """Best database match of every query PPM, with the false-match guard.

    Parameters
    ----------
    ppms : list of ndarray (W, 4) or ndarray, shape (n, W, 4)
        Query PPMs, A C G T (untrimmed; each is trimmed to its informative core here).
    db : list of interpret.io.Motif
        Motif database, e.g. :func:`interpret.io.load_motif_db` (1,019 JASPAR 2026 motifs).
    alpha : float
        Threshold on the per-query Benjamini-Hochberg q-value over the database.
    min_ic, rel_ic : float
        A column belongs to the core with ``min(min_ic, rel_ic x strongest column)`` bits (:func:`trim_ppm`).
    sharpen_to : float
        Top-base probability of the core's strongest column after :func:`sharpen`.
    min_overlap : float
        Aligned columns / min(core width, target width) a match needs.
    min_r : float
        Pearson r the aligned columns of core and target need.
    n_shuffles : int
        Column-shuffled copies of the core the match must beat (0: no order test).
    seed : int
        Seeds the shuffles, together with each core's content: a query gets the same answer
        wherever it stands in ``ppms``.

    Returns
    -------
    list of Match
        One per query, in order; ``Match.significant`` says whether it passed the guard.

    Why this guard: TOMTOM scores near-uniform columns as good matches to the weak columns of
    long matrices and its independence null does not know that such alignments are common, so
    plain TOMTOM names an untrimmed, low-information filter or a GC-rich 30-bp pattern CTCF at
    p ~ 1e-9. The order test asks the question that settles it - does the order of the core's
    columns matter for the match? - and is exact for any query that is a random arrangement of
    its columns. Trimming and sharpening decide what is compared, the overlap and likeness
    conditions that the alignment is one a reader would accept. ``benchmarks/naming.py`` measures
    the guard on planted JASPAR PPMs (filter-like, seqlet-like, diluted, untrimmed 30-bp windows)
    and on their column-shuffled copies; the rates are in benchmarks/RESULTS.md.
    """
    queries = _as_ppms(ppms, "query")
    targets = _as_ppms([m.ppm for m in db], "database motif")
    out: list[Match] = [Match(i, "", "", 1.0, 1.0, 0, "+", 0, 0, 0, 0.0, float("nan"), -1, False,
                              f"no column with {NO_IC:g} bits") for i in range(len(queries))]
    spans, active, cores, sharp, (p, score, offset, overlap, strand) = _core_alignments(
        queries, targets, min_ic, rel_ic, sharpen_to)
    if not active:
        return out
    best, pending = {}, []
    for row, i in enumerate(active):
        s, e = spans[i]
        pr = p[row]
        j = int(np.lexsort((-score[row], pr))[0])      # smallest p, then highest score
        q = float(bh(pr)[j])
        ov = int(overlap[row, j])
        target = targets[j][::-1, ::-1] if strand[row, j] else targets[j]
        r = _aligned_pearson(sharp[row], target, int(offset[row, j]))
        need = min_overlap * min(e - s, len(targets[j]))
        if q >= alpha:
            reason = f"q {q:.2g} >= {alpha:g}"
        elif ov < need:
            reason = f"overlap {ov} < {need:g} columns"
        elif not r >= min_r:
            reason = f"aligned columns correlate at r {r:.2f} < {min_r:g}"
        else:
            reason = ""
            pending.append(row)
        best[row] = dict(query=i, id=db[j].id, name=db[j].name, p=float(pr[j]), q=q,
                         offset=int(offset[row, j]) - s, strand="-" if strand[row, j] else "+", overlap=ov,
                         trim_start=s, trim_end=e, ic=float(column_ic(cores[row]).sum()), r=r,
                         shuffles_as_good=-1, reason=reason)
    if pending and n_shuffles > 0:
        copies = [c for row in pending for c in _shuffled_cores(cores[row], sharp[row], n_shuffles, seed, min_ic, rel_ic)]
        ps = best_p(copies, targets).reshape(len(pending), n_shuffles)
        for k, row in enumerate(pending):
            # A copy identical to the core must count: its p equals the core's up to round-off
            # (interpret.motifs.tomtom blocks its sums by the widest column in a batch).
            n_good = int(np.sum(ps[k] <= best[row]["p"] * (1 + 1e-9)))
            best[row]["shuffles_as_good"] = n_good
            if n_good:
                best[row]["reason"] = f"{n_good} of {n_shuffles} column-shuffled copies of the core match as well"
    for row, m in best.items():
        out[m["query"]] = Match(**m, significant=m["reason"] == "")
    return out


@dataclass(frozen=True)
class Naming:
    """The name of a motif that may have several parts (cores: a dimer, a composite).

    Attributes
    ----------
    whole : Match
        The motif's own database match (:func:`match_to_db`).
    parts : tuple of (int, int)
        Its cores within the matrix, in order.
    part_matches : tuple of Match
        One per part when there are two or more (empty for a one-core motif).
    spans_parts : bool
        Whether the whole's match is significant and its aligned columns cover at least half of
        every part: only then does the whole keep its name.
    """

    whole: Match
    parts: tuple
    part_matches: tuple
    spans_parts: bool

    @property
    def name(self) -> str:
        """What to call the motif: its database name when that spans every part, else its parts'
        names joined by ``" + "`` (``"?"`` for an unnamed part; ``""`` when none is named)."""
        if self.spans_parts:
            return self.whole.name
        names = [m.name if m.significant else "?" for m in self.part_matches]
        return " + ".join(names) if any(n != "?" for n in names) else ""

    def as_row(self) -> dict:
        """``jaspar_id, jaspar_name, jaspar_q`` (the whole's match, empty unless it spans every part),
        ``parts`` (``"a-b;a-b"``, columns of the matrix) and ``part_names`` (``;``-separated, empty
        where a part has no name)."""
        row = self.whole.as_row() if self.spans_parts else {"jaspar_id": "", "jaspar_name": "", "jaspar_q": ""}
        row["parts"] = ";".join(f"{a}-{b}" for a, b in self.parts)
        row["part_names"] = ";".join(m.name if m.significant else "" for m in self.part_matches)
        return row


def name_parts(ppms, parts, whole: list[Match], db, alpha: float = 0.05, seed: int = 0) -> list[Naming]:
    """Name every motif of several parts part by part, and keep its own name only where that spans them.

    A TOMTOM match of a composite usually covers one of its parts: the 30-bp GATA–E-box composite
    of ``simulate.composite_like`` matches TAL1::TCF3 through its E-box alone, and calling the
    whole TAL1::TCF3 hides the GATA half. Each part (``ppm[a:b]``) is matched on its own
    (:func:`match_to_db`, the same guard), and the whole keeps its match only when the aligned
    columns cover at least half of every part, as a JASPAR composite matrix (GATA1::TAL1,
    Pou5f1::Sox2) or a dimer's own matrix (TP53 over both half-sites) does.

    Parameters
    ----------
    ppms : list of ndarray (W, 4)
    parts : list of tuple of (int, int)
        Each motif's cores (``()`` or one core: named as a whole, as before).
    whole : list of Match
        :func:`match_to_db` of ``ppms``.
    db : list of interpret.io.Motif
    alpha, seed
        As in :func:`match_to_db`.

    Returns
    -------
    list of Naming
    """
    width = {m.id: len(m.ppm) for m in db}
    queries = [(i, a, b) for i, ps in enumerate(parts) if len(ps) > 1 for a, b in ps]
    found = match_to_db([np.asarray(ppms[i])[a:b] for i, a, b in queries], db, alpha=alpha, seed=seed) \
        if queries else []
    by_motif: dict = {}
    for (i, _, _), m in zip(queries, found):
        by_motif.setdefault(i, []).append(m)
    out = []
    for i, (ps, w) in enumerate(zip(parts, whole)):
        ps = tuple(ps) or ((0, len(ppms[i])),)
        spans = w.significant
        if spans and len(ps) > 1:
            lo, hi = max(w.trim_start, -w.offset), min(w.trim_end, width.get(w.id, 0) - w.offset)
            spans = all(min(b, hi) - max(a, lo) >= 0.5 * (b - a) for a, b in ps)
        out.append(Naming(w, ps, tuple(by_motif.get(i, ())), bool(spans)))
    return out


def _core_alignments(queries: list, targets: list, min_ic: float, rel_ic: float, sharpen_to: float):
    """TOMTOM of every query's trimmed, sharpened core against the whole database.

    Returns ``spans`` (``(start, end)`` per query), ``active`` (queries with a core), their
    ``cores`` and sharpened cores ``sharp``, and TOMTOM's ``(p, score, offset, overlap, strand)``,
    each ``(len(active), len(targets))`` (``None`` entries when no query has a core).
    """
    if not targets:
        raise InputError("the motif database is empty; give a MEME file with at least one motif.")
    spans = [trim_ppm(q, min_ic, rel_ic) for q in queries]
    active = [i for i, (s, e) in enumerate(spans) if e > s]
    if not active:
        return spans, active, [], [], (None,) * 5
    cores = [queries[i][spans[i][0]:spans[i][1]] for i in active]
    sharp = [sharpen(c, sharpen_to) for c in cores]
    return spans, active, cores, sharp, _tomtom(sharp, targets)


@dataclass(frozen=True)
class Resemblance:
    """One database motif a query resembles (:func:`resemblance`).

    Attributes
    ----------
    target : int
        Index of the database motif.
    q : float
        Per-query Benjamini-Hochberg q of the TOMTOM p over the whole database.
    r : float
        Pearson r of the aligned columns of the query's sharpened core and the target.
    strand : str
        ``"-"``: the query aligns with the target's reverse complement.
    """

    target: int
    q: float
    r: float
    strand: str


def resemblance(ppms, db, candidates, alpha: float = RESEMBLANCE_Q, min_r: float = RESEMBLANCE_R,
                min_overlap: float = MIN_OVERLAP, min_ic: float = MIN_IC, rel_ic: float = REL_IC,
                sharpen_to: float = SHARPEN_TO) -> list[list[Resemblance]]:
    """Which of the database motifs ``candidates`` each query PPM resembles: a looser test than naming.

    The query's informative core is trimmed and sharpened and compared by TOMTOM with the whole
    database, as :func:`match_to_db` does; a candidate is resembled when its per-query q over the
    database is below ``alpha``, the alignment covers ``min_overlap`` of the shorter of core and
    target, and the aligned columns correlate at Pearson r >= ``min_r``. Looser than a name: twice
    its q by default, no order test against column-shuffled copies, and the candidate need not be
    the best match, so "resembles" says the logos look alike, not that the query is that motif.
    Measured on the demo and the peaks-like fixture against the screen's responding hits (439 and
    124 of 1,019), column-shuffled copies of the patterns resembled one in 3% and 13% of cases
    (GC-rich patterns resemble GC-rich motifs), of the filters in 3% and 5%.

    Parameters
    ----------
    ppms : list of ndarray (W, 4)
        Query PPMs, A C G T (untrimmed).
    db : list of interpret.io.Motif
        The whole database (TOMTOM's null and the q-values use every motif).
    candidates : iterable of int
        Indices into ``db`` that may be resembled, e.g. the screen's significant hits.

    Returns
    -------
    list of list of Resemblance
        One list per query, smallest q first; empty when the query resembles no candidate.
    """
    queries = _as_ppms(ppms, "query")
    targets = _as_ppms([m.ppm for m in db], "database motif")
    candidates = np.array(sorted(set(int(c) for c in candidates)), dtype=np.int64)
    out: list[list[Resemblance]] = [[] for _ in queries]
    spans, active, _, sharp, (p, _, offset, overlap, strand) = _core_alignments(
        queries, targets, min_ic, rel_ic, sharpen_to)
    if not active or not len(candidates):
        return out
    for row, i in enumerate(active):
        q = bh(p[row])
        width = spans[i][1] - spans[i][0]
        found = []
        for j in candidates[q[candidates] < alpha]:
            if overlap[row, j] < min_overlap * min(width, len(targets[j])):
                continue
            target = targets[j][::-1, ::-1] if strand[row, j] else targets[j]
            r = _aligned_pearson(sharp[row], target, int(offset[row, j]))
            if r >= min_r:
                found.append(Resemblance(int(j), float(q[j]), r, "-" if strand[row, j] else "+"))
        out[i] = sorted(found, key=lambda x: (x.q, -x.r, x.target))
    return out


def _shuffled_cores(core: np.ndarray, sharp: np.ndarray, n: int, seed: int, min_ic: float,
                    rel_ic: float) -> list[np.ndarray]:
    """``n`` column permutations of ``sharp`` (the sharpened ``core``), each with an informative
    column of ``core`` at both ends as the core itself has: the order test's null is then every
    arrangement the trimming could have produced from these columns."""
    rng = np.random.default_rng([seed, zlib.crc32(np.ascontiguousarray(core).tobytes())])
    ic = column_ic(core)
    informative = np.flatnonzero(ic >= min(min_ic, rel_ic * ic.max()))
    w = len(core)
    out = []
    for _ in range(n):
        if w < 3 or len(informative) < 2:
            order = rng.permutation(w)
        else:
            ends = rng.choice(informative, 2, replace=False)
            order = np.concatenate([ends[:1], rng.permutation(np.setdiff1d(np.arange(w), ends)), ends[1:]])
        out.append(sharp[order])
    return out


def shuffled_control(ppms, db, seed: int = 0, n_shuffles: int = 1, **guard) -> dict:
    """False-match rate of column-shuffled copies of ``ppms``, before and after the guard.

    Shuffling the column order keeps each query's information content and column composition
    but destroys any real motif, so every match of a shuffled copy is false.

    Returns
    -------
    dict
        ``n`` (shuffled queries), ``raw`` (fraction whose best per-query BH q < alpha, no trimming,
        no floor: plain TOMTOM), ``guarded`` (fraction significant under :func:`match_to_db`).
    """
    rng = np.random.default_rng(seed)
    queries = _as_ppms(ppms, "query")
    shuffled = [q[rng.permutation(len(q))] for _ in range(n_shuffles) for q in queries]
    alpha = guard.get("alpha", 0.05)
    if not shuffled:
        return {"n": 0, "raw": 0.0, "guarded": 0.0}
    raw = raw_best_q(shuffled, db)
    matches = match_to_db(shuffled, db, **guard)
    return {"n": len(shuffled), "raw": float(np.mean(raw < alpha)),
            "guarded": float(np.mean([m.significant for m in matches]))}


def raw_best_q(ppms, db) -> np.ndarray:
    """Plain TOMTOM, no guard: per-query BH q of the best database match, shape ``(n,)``.

    What a naive pipeline reports; kept for controls and for showing what the guard removes.
    """
    queries = _as_ppms(ppms, "query")
    p = _tomtom(queries, _as_ppms([m.ppm for m in db], "database motif"))[0]
    return np.array([bh(row).min() for row in p])


# --------------------------------------------------------------------------------------------
# Set vs set
# --------------------------------------------------------------------------------------------
def compare_sets(query_ppms, target_ppms, background=None, min_ic: float = MIN_IC,
                 trim: bool = True) -> list[dict]:
    """Every query x target pair: TOMTOM p, q, offset, strand and the PPMs' Pearson r at that offset.

    Parameters
    ----------
    query_ppms, target_ppms : lists of ndarray (W, 4)
        E.g. filter PPMs and attribution-motif PPMs.
    background : list of interpret.io.Motif or ndarray (W, 4), optional
        Extra targets whose columns TOMTOM uses for its null distribution. TOMTOM builds the
        null of each query column from the target columns, so against a handful of targets its
        p-values depend on which few are given; by default the bundled JASPAR is appended to
        the targets (its rows are not returned). Pass ``[]`` to use the targets alone.
    min_ic : float
        Trimming threshold in bits (:func:`trim_ppm`) for queries and targets.
    trim : bool
        Compare informative cores (default) or the matrices as given.

    Returns
    -------
    list of dict
        One per pair, query-major: ``query, target, tomtom_p, tomtom_q, offset, strand,
        overlap, pearson_r``. ``tomtom_q`` is BH over the whole table; ``offset`` is in the
        untrimmed matrices' columns (query column ``j`` ↔ target column ``j + offset`` on
        ``strand``); ``pearson_r`` is the correlation of the aligned columns of the compared
        (trimmed) PPMs, the target reverse-complemented on ``"-"``. Pairs where either side has
        no informative column get p = q = 1 and r = NaN.
    """
    queries = _as_ppms(query_ppms, "query")
    targets = _as_ppms(target_ppms, "target")
    if background is None:
        from ..io import load_motif_db

        background = load_motif_db()
    extra = _as_ppms([getattr(b, "ppm", b) for b in background], "background motif")
    qs = [trim_ppm(q, min_ic) if trim else (0, len(q)) for q in queries]
    ts = [trim_ppm(t, min_ic) if trim else (0, len(t)) for t in targets]
    qa = [i for i, (s, e) in enumerate(qs) if e > s]
    ta = [j for j, (s, e) in enumerate(ts) if e > s]
    n_q, n_t = len(queries), len(targets)
    p = np.ones((n_q, n_t))
    off = np.zeros((n_q, n_t), np.int64)
    ovl = np.zeros((n_q, n_t), np.int64)
    strand = np.zeros((n_q, n_t), np.int64)
    r = np.full((n_q, n_t), np.nan)
    if qa and ta:
        qcores = [queries[i][qs[i][0]:qs[i][1]] for i in qa]
        tcores = [targets[j][ts[j][0]:ts[j][1]] for j in ta]
        res = _tomtom(qcores, tcores + extra)
        for a, i in enumerate(qa):
            for b, j in enumerate(ta):
                o, st = int(res[2][a, b]), int(res[4][a, b])
                p[i, j] = res[0][a, b]
                strand[i, j], ovl[i, j] = st, int(res[3][a, b])
                tc = tcores[b][::-1, ::-1] if st else tcores[b]
                r[i, j] = _aligned_pearson(qcores[a], tc, o)
                t_start = (len(targets[j]) - ts[j][1]) if st else ts[j][0]
                off[i, j] = o - qs[i][0] + t_start
    q = bh(p).reshape(n_q, n_t)
    return [{"query": i, "target": j, "tomtom_p": float(p[i, j]), "tomtom_q": float(q[i, j]),
             "offset": int(off[i, j]), "strand": "-" if strand[i, j] else "+", "overlap": int(ovl[i, j]),
             "pearson_r": float(r[i, j])} for i in range(n_q) for j in range(n_t)]


def _strong(ppm, min_ic, min_total_ic, min_density) -> bool:
    s, e = trim_ppm(ppm, min_ic)
    cic = column_ic(ppm[s:e])
    return e > s and cic.sum() >= min_total_ic and np.mean(cic >= min_ic) >= min_density


def _aligned_pearson(q: np.ndarray, t: np.ndarray, offset: int) -> float:
    """Pearson r of the aligned columns: query column ``j`` ↔ target column ``j + offset``."""
    lo, hi = max(0, -offset), min(len(q), len(t) - offset)
    if hi - lo < 1:
        return float("nan")
    a, b = q[lo:hi].ravel(), t[lo + offset:hi + offset].ravel()
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


# --------------------------------------------------------------------------------------------
# Redundancy
# --------------------------------------------------------------------------------------------
def same_family(ids, db, alpha: float = 0.05, background=None) -> set:
    """Pairs ``(a, b)`` of database ids (both orders) whose motifs match each other both ways at
    TOMTOM q < ``alpha / 10``: paralogues such as CEBPB and CEBPE or SOX2 and SOX3, not CEBPB and
    AP-1. An id is not paired with itself; ids missing from ``db`` are paired with nothing.

    Parameters
    ----------
    ids : iterable of str
        Database ids, e.g. the matches of a set of filters.
    db : list of interpret.io.Motif
        The database the ids come from.
    background : list, optional
        TOMTOM background for :func:`compare_sets` (default: the bundled JASPAR).
    """
    by_id = {m.id: m.ppm for m in db}
    known = sorted({i for i in ids if i in by_id})
    if len(known) < 2:
        return set()
    rows = compare_sets([by_id[i] for i in known], [by_id[i] for i in known], background=background)
    qv = {(known[r["query"]], known[r["target"]]): r["tomtom_q"] for r in rows}
    return {(a, b) for a in known for b in known
            if a != b and qv[(a, b)] < alpha / 10 and qv[(b, a)] < alpha / 10}


def group_redundant(ppms, matches: list[Match] | None = None, alpha: float = 0.05, min_ic: float = MIN_IC,
                    min_total_ic: float = MIN_TOTAL_IC, min_density: float = MIN_DENSITY,
                    background=None, db=None, min_r: float = 0.75) -> np.ndarray:
    """Group PPMs (e.g. filters) that represent the same motif; group label per PPM, shape ``(n,)``.

    Two PPMs are joined when they have a significant match (``matches``, from
    :func:`match_to_db`) to the same database id, or when they match each other in both
    directions at TOMTOM q < ``alpha`` (BH over the all-pairs table, JASPAR as background),
    both cores hold ``min_total_ic`` bits with ``min_density`` of their columns informative, and
    their PPMs correlate at the aligned offset (Pearson r >= ``min_r``). Groups are the
    connected components; labels are 0, 1, ... in order of each group's first member, so a PPM
    alone in its group has a label of its own.

    A group never carries two database ids unless those database motifs match each other
    (:func:`same_family`; ``db``, the list of :class:`interpret.io.Motif` the matches came from):
    without that cannot-link rule, chains of partial similarities between 24-bp filters merged
    CEBPB and CTCF filters into one group on the example model.
    """
    queries = _as_ppms(ppms, "query")
    n = len(queries)
    parent = list(range(n))
    # Cannot-link: a group carries at most one database id (or paralogues of it), so chains of
    # partial filter-filter similarities never merge, say, CEBPB filters with CTCF filters.
    label: dict[int, str | None] = {i: None for i in range(n)}
    named = [m for m in matches or [] if m.significant]
    for m in named:
        label[m.query] = m.id
    family = same_family({m.id for m in named}, db, alpha, background) if db is not None else set()

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def union(a, b):
        ra, rb = find(a), find(b)
        la, lb = label[ra], label[rb]
        if ra == rb or (la and lb and la != lb and (la, lb) not in family):
            return
        keep, drop = min(ra, rb), max(ra, rb)
        parent[drop] = keep
        label[keep] = la or lb

    first: dict[str, int] = {}
    for m in named:
        union(first.setdefault(m.id, m.query), m.query)
    strong = [i for i, q in enumerate(queries) if _strong(q, min_ic, min_total_ic, min_density)]
    if len(strong) > 1:
        rows = compare_sets([queries[i] for i in strong], [queries[i] for i in strong],
                            background=background, min_ic=min_ic)
        qv = np.ones((len(strong), len(strong)))
        for row in rows:
            # TOMTOM alone chains 24-bp filters through partial overlaps (a CREB1 half-site
            # filter "matched" CTCF ones); the aligned PPMs must also look alike.
            if row["pearson_r"] is not None and row["pearson_r"] >= min_r:
                qv[row["query"], row["target"]] = row["tomtom_q"]
        pairs = [(max(qv[a, b], qv[b, a]), a, b) for a in range(len(strong)) for b in range(a + 1, len(strong))
                 if qv[a, b] < alpha and qv[b, a] < alpha]
        for _, a, b in sorted(pairs):  # strongest similarities first
            union(strong[a], strong[b])
    roots = [find(i) for i in range(n)]
    labels, out = {}, np.empty(n, dtype=np.int64)
    for i, root in enumerate(roots):
        out[i] = labels.setdefault(root, len(labels))
    return out


def group_names(groups, matches: list[Match], db=None, alpha: float = 0.05, background=None) -> list[str]:
    """A name for each PPM's group from its members' guarded database matches: ``"SOX-like"``.

    The named members' matches (``Match.significant``) are split into families
    (:func:`same_family` with ``db``; without it each id is its own family); the family of more
    than half of them names the group, after the one name its members share ("SOX2-like"), the
    longest prefix of at least three letters they share ("SOX-like" for SOX2 and Sox3), or the two
    most frequent names ("TP53/TP73-like"). Groups with no named member, or no majority, get
    ``""``. A member's own name is never changed: a filter that the guard refuses alone stays
    unnamed in ``jaspar_name`` and is shown with its group's name beside it.

    Parameters
    ----------
    groups : array of int, shape (n,)
        Group label per PPM (:func:`group_redundant`).
    matches : list of Match
        :func:`match_to_db` of the same PPMs, in the same order.
    db : list of interpret.io.Motif, optional
        The database of the matches, for :func:`same_family`.

    Returns
    -------
    list of str, length n
    """
    groups = np.asarray(groups)
    if len(groups) != len(matches):
        raise InputError(f"{len(groups)} group labels for {len(matches)} matches; give one of each per PPM.")
    named = [m for m in matches if m.significant]
    family = same_family({m.id for m in named}, db, alpha, background) if db is not None else set()
    names: dict[int, str] = {}
    for g in np.unique(groups):
        members = [m for m in named if groups[m.query] == g]
        fams: list[list[Match]] = []
        for m in members:
            home = next((f for f in fams if f[0].id == m.id or (f[0].id, m.id) in family), None)
            if home is None:
                fams.append([m])
            else:
                home.append(m)
        big = max(fams, key=len, default=[])
        names[int(g)] = _family_name([m.name for m in big]) if 2 * len(big) > len(members) else ""
    return [names[int(g)] for g in groups]


def _family_name(names: list[str]) -> str:
    counts: dict[str, int] = {}
    for name in names:
        counts[name.upper()] = counts.get(name.upper(), 0) + 1
    ranked = sorted(counts, key=lambda k: (-counts[k], k))
    if len(ranked) == 1:
        return f"{names[0]}-like"
    prefix = ranked[0]
    for other in ranked[1:]:
        while not other.startswith(prefix):
            prefix = prefix[:-1]
    if len(prefix) >= 3:
        return f"{prefix.rstrip(':-_')}-like"
    return "/".join(ranked[:2]) + "-like"
