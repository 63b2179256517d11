"""Motif comparison with TOMTOM (memelite): database matches with a false-match guard, and set-vs-set tables.

TOMTOM's p-value treats the aligned columns as independent draws from the target columns.
Matrices with long runs of weak columns break that assumption: a 24-bp filter PPM that is
almost uniform aligns column after column with the weak flanks of the 30+ bp extended CTCF
matrices (MA1929, MA1930) and gets p ~ 1e-9 by chance. On the untrained control model in
``tests/test_compare.py`` *every* filter gets a "match" at per-query q < 0.05, nearly all to
those two matrices. :func:`match_to_db` therefore reports a match only when all of these hold
(the guard, see its docstring for why each part is there):

1. **Trim** the query to its informative core: the span from the first to the last column with
   at least ``min_ic`` bits (:func:`trim_ppm`). Uninformative flanks carry no evidence for
   any motif but add aligned columns to the score; trimming removes the CTCF-flank artefact at
   its source.
2. **Information floor and density**: the core must hold at least ``min_total_ic`` bits
   (default 6) and at least ``min_density`` (default half) of its columns must be informative.
   Below 6 bits a PPM cannot single out one database motif (99% of JASPAR CORE vertebrate
   motifs hold more than 6.9 bits). A core that is mostly weak columns between a few strong
   ones (a padded motif with its columns shuffled, a noisy filter) gets its TOMTOM p-value from
   weak-against-weak alignments again; 99.9% of JASPAR cores and every planted-motif PPM in the
   tests are at least half informative.
3. **E-value against the database**: ``E = p x n_targets`` (p is TOMTOM's two-strand p-value
   of the best alignment) must be at most ``max_e`` (default 0.005), besides the per-query BH
   q < ``alpha``. q < 0.05 alone lets 8% of column-shuffled JASPAR motifs through. The bound
   is per query on purpose: what a reader of the report needs is a low false-match *rate* per
   filter (at most 5% in every control), not a family-wise guarantee over all filters. A
   comparison-wide E-value (also times the number of queries) held the controls at 0-1% but
   refused the true CREB1 filters of the example model (p ~ 1e-6, best hit CREB1, q ~ 1e-3), the
   most influential filters of that model. Measured on the controls (``scripts`` in
   tests/test_compare.py): column-shuffled JASPAR 4%, column-shuffled trained filters 3%,
   untrained filters 0%.
4. **Overlap**: the alignment must cover at least ``min_overlap`` of the shorter of the trimmed
   query and the target, so a hit on two or three edge columns is not called a match.

:func:`shuffled_control` measures the false-match rate on column-shuffled copies of the
queries, with and without the guard, so every run can show the control beside its matches.

memelite's TOMTOM is compiled by numba on the first call of a process (about a minute cold,
about a second when numba's on-disk cache is warm); :func:`warm_up` triggers that on a tiny
input so callers can time it separately.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np

from .errors import InputError

logger = logging.getLogger(__name__)

MIN_IC = 0.5          # bits per column to count as informative (trimming)
MIN_TOTAL_IC = 6.0    # bits in the trimmed core to be matched at all
MIN_DENSITY = 0.5     # fraction of the core's columns that must be informative
MIN_OVERLAP = 0.5     # aligned columns / min(query core width, target width)


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
        TOMTOM p-value of the best alignment of the trimmed query, both strands.
    q : float
        Benjamini–Hochberg q-value of ``p`` among the query's p-values against the whole database.
    e_value : float
        ``p x n_targets x n_queries`` (``n_queries`` is 1 by default): expected number of chance
        matches this good against the database.
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
        Information content of the core in bits.
    significant : bool
        Whether the match passes the guard (see :mod:`interpret.compare`).
    reason : str
        Why it does not (``""`` when significant).
    """

    query: int
    id: str
    name: str
    p: float
    q: float
    e_value: float
    offset: int
    strand: str
    overlap: int
    trim_start: int
    trim_end: int
    ic: float
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


def trim_ppm(ppm: np.ndarray, min_ic: float = MIN_IC) -> tuple[int, int]:
    """Informative core of ``ppm`` ``(W, 4)``: ``(start, end)`` from the first to the last column
    with at least ``min_ic`` bits. Interior weak columns are kept (a gapped motif stays whole).
    ``(0, 0)`` if no column reaches ``min_ic``.
    """
    ok = np.flatnonzero(column_ic(ppm) >= min_ic)
    if len(ok) == 0:
        return 0, 0
    return int(ok[0]), int(ok[-1]) + 1


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


def _bh(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg q-values of the flat array ``p``."""
    p = np.asarray(p, dtype=np.float64).ravel()
    n = len(p)
    if n == 0:
        return p
    order = np.argsort(p, kind="stable")
    ranked = p[order] * n / np.arange(1, n + 1)
    q = np.empty(n)
    q[order] = np.minimum.accumulate(ranked[::-1])[::-1]
    return np.minimum(q, 1.0)


def _tomtom(queries: list[np.ndarray], targets: list[np.ndarray]):
    """memelite TOMTOM on ``(W, 4)`` lists; returns (p, score, offset, overlap, strand) ``(nq, nt)``."""
    from memelite import tomtom

    qs = [np.asarray(q.T, dtype=np.float64, order="C") for q in queries]
    ts = [np.asarray(t.T, dtype=np.float64, order="C") for t in targets]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="tomtom was given")
        p, score, offset, overlap, strand = tomtom(qs, ts)
    return p, score, offset.astype(np.int64), overlap.astype(np.int64), strand.astype(np.int64)


def warm_up() -> None:
    """Compile memelite's TOMTOM (numba) once in this process with a small call.

    The call has the argument types of :func:`match_to_db` and :func:`compare_sets` against the
    bundled JASPAR, so the kernel compiled (and cached) is the one a run uses.
    """
    from .io import load_motif_db

    rng = np.random.default_rng(0)
    match_to_db([rng.dirichlet(np.full(4, 0.2), size=12) for _ in range(2)], load_motif_db())


# --------------------------------------------------------------------------------------------
# Query vs database
# --------------------------------------------------------------------------------------------
def match_to_db(ppms, db, alpha: float = 0.05, min_ic: float = MIN_IC, min_total_ic: float = MIN_TOTAL_IC,
                min_density: float = MIN_DENSITY, min_overlap: float = MIN_OVERLAP,
                n_queries: int = 1, max_e: float = 0.005) -> list[Match]:
    """Best database match of every query PPM, with the false-match guard.

    Parameters
    ----------
    ppms : list of ndarray (W, 4) or ndarray, shape (n, W, 4)
        Query PPMs, A C G T (untrimmed; each is trimmed to its informative core here).
    db : list of interpret.io.Motif
        Motif database, e.g. :func:`interpret.io.load_motif_db` (1,019 JASPAR 2026 motifs).
    alpha : float
        Threshold on the per-query Benjamini-Hochberg q-value over the database.
    min_ic : float
        Bits a column needs to belong to the core (:func:`trim_ppm`).
    min_total_ic : float
        Bits the core needs to be matched at all.
    min_density : float
        Fraction of the core's columns that must hold ``min_ic`` bits.
    min_overlap : float
        Aligned columns / min(core width, target width) a match needs.
    n_queries : int
        Number of queries the E-value counts (default 1: per-query E-value). ``len(ppms)`` gives
        the stricter comparison-wide E-value.
    max_e : float
        Threshold on the E-value.

    Returns
    -------
    list of Match
        One per query, in order; ``Match.significant`` says whether it passed the guard.

    Why this guard: TOMTOM scores near-uniform columns as good matches to the weak columns of
    long matrices, and its independence null does not know that such alignments are common, so
    an untrimmed, low-information filter PPM "matches" the 30+ bp CTCF matrices at p ~ 1e-9.
    The evidence for a match can only come from informative columns: trimming removes the
    uninformative flanks, the information floor and density refuse queries too weak (or too
    sparse) to single out a database motif, and the E-value accounts for the number of comparisons (queries x
    targets), which a per-query q-value does not. The controls in ``tests/test_compare.py``
    (untrained filters, column-shuffled JASPAR motifs) stay under 5% false matches with this
    guard while planted motifs still find their own JASPAR id.
    """
    queries = _as_ppms(ppms, "query")
    targets = _as_ppms([m.ppm for m in db], "database motif")
    if not targets:
        raise InputError("the motif database is empty; give a MEME file with at least one motif.")
    n_t = len(targets)
    n_q = int(n_queries)
    spans = [trim_ppm(q, min_ic) for q in queries]
    active = [i for i, (s, e) in enumerate(spans) if e > s]
    out: list[Match] = [Match(i, "", "", 1.0, 1.0, float(n_t * n_q), 0, "+", 0, 0, 0, 0.0, False,
                              f"no column with {min_ic:g} bits") for i in range(len(queries))]
    if not active:
        return out
    cores = [queries[i][spans[i][0]:spans[i][1]] for i in active]
    p, score, offset, overlap, strand = _tomtom(cores, targets)
    for row, i in enumerate(active):
        s, e = spans[i]
        pr = p[row]
        j = int(np.lexsort((-score[row], pr))[0])      # smallest p, then highest score
        q = float(_bh(pr)[j])
        ev = float(pr[j]) * n_t * n_q
        cic = column_ic(cores[row])
        ic, density = float(cic.sum()), float(np.mean(cic >= min_ic))
        ov = int(overlap[row, j])
        need = min_overlap * min(e - s, len(targets[j]))
        if ic < min_total_ic:
            reason = f"core holds {ic:.1f} bits < {min_total_ic:g}"
        elif density < min_density:
            reason = f"only {density:.0%} of the core's columns are informative"
        elif q >= alpha:
            reason = f"q {q:.2g} >= {alpha:g}"
        elif ev > max_e:
            reason = f"E-value {ev:.2g} > {max_e:g}"
        elif ov < need:
            reason = f"overlap {ov} < {need:g} columns"
        else:
            reason = ""
        out[i] = Match(i, db[j].id, db[j].name, float(pr[j]), q, ev, int(offset[row, j]) - s,
                       "-" if strand[row, j] else "+", ov, s, e, ic, reason == "", reason)
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
    return np.array([_bh(row).min() for row in p])


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
        from .io import load_motif_db

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
    q = _bh(p).reshape(n_q, n_t)
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
def group_redundant(ppms, matches: list[Match] | None = None, alpha: float = 0.05, min_ic: float = MIN_IC,
                    min_total_ic: float = MIN_TOTAL_IC, min_density: float = MIN_DENSITY,
                    background=None, db=None, min_r: float = 0.75) -> np.ndarray:
    """Group PPMs (e.g. filters) that represent the same motif; group label per PPM, shape ``(n,)``.

    Two PPMs are joined when they have a significant match (``matches``, from
    :func:`match_to_db`) to the same database id, or when they match each other in both
    directions at TOMTOM q < ``alpha`` (BH over the all-pairs table, JASPAR as background) and
    both cores pass the information floor and density of :func:`match_to_db`, and their PPMs
    correlate at the aligned offset (Pearson r >= ``min_r``). Groups are the
    connected components; labels are 0, 1, ... in order of each group's first member, so a PPM
    alone in its group has a label of its own.

    A group never carries two database ids unless those database motifs match each other
    (``db``, the list of :class:`interpret.io.Motif` the matches came from): without that
    cannot-link rule, chains of partial similarities between 24-bp filters merged CEBPB and
    CTCF filters into one group on the example model.
    """
    queries = _as_ppms(ppms, "query")
    n = len(queries)
    parent = list(range(n))

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    # Cannot-link: a group carries at most one database id, so chains of partial
    # filter-filter similarities never merge, say, CEBPB filters with CTCF filters.
    label: dict[int, str | None] = {i: None for i in range(n)}

    def union(a, b):
        ra, rb = find(a), find(b)
        if ra == rb or not compatible(label[ra], label[rb]):
            return
        keep, drop = min(ra, rb), max(ra, rb)
        parent[drop] = keep
        label[keep] = label[keep] or label[drop]

    if matches is not None:
        by_id: dict[str, int] = {}
        for m in matches:
            if m.significant:
                label[m.query] = m.id
    ids = sorted({v for v in label.values() if v})
    # Two database ids name the same group only when the database motifs themselves match strongly
    # both ways, q < alpha/10 (paralogues such as CEBPB and CEBPE, not CEBPB and AP-1); without
    # ``db`` only equal ids do.
    same_family = set()
    if db is not None and len(ids) > 1:
        by_id = {m.id: m.ppm for m in db}
        known = [i for i in ids if i in by_id]
        rows = compare_sets([by_id[i] for i in known], [by_id[i] for i in known], background=background)
        qv = {(known[r["query"]], known[r["target"]]): r["tomtom_q"] for r in rows}
        same_family = {(a, b) for a in known for b in known
                       if qv.get((a, b), 1) < alpha / 10 and qv.get((b, a), 1) < alpha / 10}

    def compatible(a, b):
        return not a or not b or a == b or (a, b) in same_family
        for m in matches:
            if m.significant:
                if m.id in by_id:
                    union(by_id[m.id], m.query)
                else:
                    by_id[m.id] = m.query
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
