"""Across outputs and across runs: the comparisons a methods paper is built on.

After a run's own findings (motifs, their effects, the grammar) come the comparisons between
findings made elsewhere:

* **motif × output** (:func:`screen_matrix`): the known-motif screen of every output of a model at
  once, from the same forward passes (:func:`interpret.evidence.screen.insertion_matrix`), with
  Benjamini-Hochberg q over the database *per output*, so column ``t`` says what output ``t``'s
  own screen says;
* **families matched** (:func:`match_families`): the motif families of several outputs, or of
  several runs (other models, seeds, data), joined by TOMTOM between their pooled PPMs
  (:func:`interpret.motifs.compare.compare_sets`) into one family × source table;
* **runs side by side** (:func:`run_row`, :func:`design_key`, :func:`shared_by_design`): per run the
  share of first-layer filters named by JASPAR and the share that carry part of a motif, the
  families, the model's AUROC and the interpretability figures against planted truth; for runs
  of one design (same architecture, other seeds), the share of families every run finds.

Everything here takes tables and matrices already computed and read back (nothing runs a model);
the pipeline reads and writes the files.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import numpy as np

from .. import stats
from ..motifs import compare
from .screen import InsertionMatrix

logger = logging.getLogger(__name__)

__all__ = ["SCREEN_COLUMNS", "COMPARE_COLUMNS", "BUILDING_SHARE", "MIN_R", "ScreenMatrix", "screen_matrix",
           "FamilyRef", "FamilyMatch", "family_refs", "match_families", "run_row", "architecture", "design_key",
           "design_labels", "shared_by_design"]

#: Columns of ``screen_outputs.tsv``.
SCREEN_COLUMNS = ["id", "name", "output", "effect", "se", "n_backgrounds", "p", "q", "effect_significant"]
#: Columns of ``compare.tsv`` before the per-method truth columns (``auroc_<method>, aupr_<method>``).
COMPARE_COLUMNS = ["run", "model", "architecture", "n_filters", "filters_named", "filters_building", "n_families",
                   "model_auroc"]
#: A filter *builds* a motif when it carries at least this share of the motif's seqlet attribution
#: (``share`` in ``motif_filters.tsv``).
BUILDING_SHARE = 0.1
#: Two families are one motif when their pooled PPMs match both ways at TOMTOM q < alpha and the
#: aligned columns correlate at least this much (as :func:`interpret.motifs.compare.group_redundant`).
MIN_R = 0.75


@dataclass(frozen=True)
class ScreenMatrix:
    """The known-motif screen of ``T`` outputs: ``M`` database motifs x ``T`` outputs.

    Attributes
    ----------
    ids, names : list of str
        Database motifs, in database order.
    targets : ndarray, shape (T,), int
    insertion : InsertionMatrix
        Effects (mean, SE, z, p) and the other per-output means, each ``(M, T)``.
    q : ndarray, shape (M, T)
        Benjamini-Hochberg over the database, per output (each column alone, as its own screen).
    significant : ndarray, shape (M, T), bool
        :func:`interpret.stats.responds` of each cell.
    """

    ids: list
    names: list
    targets: np.ndarray
    insertion: InsertionMatrix
    q: np.ndarray
    significant: np.ndarray

    def rows(self) -> list[dict]:
        """Rows of ``screen_outputs.tsv`` (:data:`SCREEN_COLUMNS`): by output, then effect, largest first."""
        e = self.insertion.effects
        out = []
        for t, target in enumerate(self.targets):
            mean = np.nan_to_num(e.mean[:, t], nan=0.0)
            for i in np.lexsort((np.arange(len(mean)), -mean)):
                out.append({"id": self.ids[i], "name": self.names[i], "output": int(target),
                            "effect": float(e.mean[i, t]), "se": float(e.se[i, t]),
                            "n_backgrounds": int(e.n[i, t]), "p": float(e.p[i, t]),
                            "q": float(self.q[i, t]), "effect_significant": bool(self.significant[i, t])})
        return out


def screen_matrix(insertion: InsertionMatrix, ids: list, names: list, output: str = "logit") -> ScreenMatrix:
    """q-values (per output, over the database) and the response rule for an insertion matrix of
    database motifs (:func:`interpret.evidence.screen.insertion_matrix`)."""
    p = insertion.effects.p
    q = np.column_stack([stats.bh(p[:, t]) for t in range(p.shape[1])]) if p.size else np.zeros(p.shape)
    return ScreenMatrix(list(ids), list(names), insertion.targets, insertion, q,
                        stats.responds(q, insertion.effects.mean, output))


# --------------------------------------------------------------------------------------------
# Families matched across sources (outputs of one model, or runs)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FamilyRef:
    """One motif family of one source (an output's run, or one of several runs).

    ``effect`` is in that source's own units (its explained score); ``ppm`` and ``cwm`` are the
    pooled ``(W, 4)`` matrices.
    """

    source: int
    id: str
    sign: int
    ppm: np.ndarray
    cwm: np.ndarray | None = None
    n_seqlets: int = 0
    jaspar_id: str = ""
    jaspar_name: str = ""
    effect: float | None = None
    effect_se: float | None = None
    significant: bool = False


@dataclass
class FamilyMatch:
    """Families of several sources that are one motif.

    Attributes
    ----------
    id : str
        ``family_<k>``, by the number of sources it is found in, then pooled seqlets.
    sign : int
    representative : FamilyRef
        The family with most seqlets; every member matched it.
    members : dict of int -> FamilyRef
        Per source, its largest family of this motif.
    q : dict of int -> float
        Per source, the larger of the two TOMTOM q-values between its member and the representative.
    others : list of FamilyRef
        Further families of a source that already has a member here (another method's, say).
    """

    id: str
    sign: int
    representative: FamilyRef
    members: dict = field(default_factory=dict)
    q: dict = field(default_factory=dict)
    others: list = field(default_factory=list)

    def of(self, source: int) -> list:
        """The families of ``source`` in this match: its member first, then any others (empty if none)."""
        first = [self.members[source]] if source in self.members else []
        return first + [f for f in self.others if f.source == source]

    @property
    def name(self) -> str:
        """The JASPAR name most members carry (the representative's on a tie), ``""`` if none has one."""
        names = [m.jaspar_name for m in self.members.values() if m.jaspar_name]
        if not names:
            return ""
        best = max(names.count(n) for n in names)
        rep = self.representative.jaspar_name
        return rep if rep and names.count(rep) == best else next(n for n in names if names.count(n) == best)


def family_refs(run, source: int) -> list[FamilyRef]:
    """The main (not minor) families of a run read back (:class:`interpret.io.RunFiles`: ``families``,
    ``motifs``, ``family_ppm``, ``family_cwm``), as :class:`FamilyRef` of ``source``.

    A family's effect is its representative pattern's (first member's) insertion effect from
    ``motifs.tsv``, and it counts as significant when that pattern's ``effect_significant`` is true.
    A family folded as minor in its run is left out: it counts as not found there.
    """
    motifs = {r.get("motif"): r for r in run.motifs}
    out = []
    for f in run.families:
        fid = f.get("family")
        if f.get("minor") or fid not in run.family_ppm:
            continue
        rep = motifs.get((f.get("members") or "").split(",")[0], {})
        out.append(FamilyRef(source, fid, -1 if f.get("sign") == "-" else 1, run.family_ppm[fid],
                             run.family_cwm.get(fid), int(_float(f.get("n_seqlets")) or 0), f.get("jaspar_id") or "",
                             f.get("jaspar_name") or "", _float(rep.get("insertion_effect")),
                             _float(rep.get("insertion_se")), str(rep.get("effect_significant")) == "True"))
    return out


def match_families(families: list, alpha: float = 0.05, min_r: float = MIN_R) -> list[FamilyMatch]:
    """Join the families of several sources that are one motif.

    Families are taken from most to fewest seqlets; each joins the match whose representative it
    resembles most, when they have the same sign, match both ways at TOMTOM q < ``alpha``
    (Benjamini-Hochberg over the all-pairs table, JASPAR as TOMTOM's background) and their
    aligned columns correlate at Pearson r >= ``min_r``; otherwise it founds a match of its own.
    Comparing with the representative only, never with any member, keeps chains of partial
    similarities from joining different motifs (as :func:`interpret.motifs.group_families`).

    Parameters
    ----------
    families : list of FamilyRef
        Every family of every source.
    alpha, min_r : float

    Returns
    -------
    list of FamilyMatch
        Ordered by the number of sources they are found in, then by pooled seqlets; ids
        ``family_0``, ``family_1``, ...
    """
    families = list(families)
    if not families:
        return []
    n = len(families)
    qv, rv = np.ones((n, n)), np.full((n, n), np.nan)
    for row in compare.compare_sets([f.ppm for f in families], [f.ppm for f in families]):
        qv[row["query"], row["target"]] = row["tomtom_q"]
        rv[row["query"], row["target"]] = row["pearson_r"]
    matches: list[tuple[int, FamilyMatch]] = []
    for i in sorted(range(n), key=lambda i: (-families[i].n_seqlets, families[i].source, families[i].id)):
        f = families[i]
        best, best_q = None, None
        for rep, m in matches:
            q = max(qv[i, rep], qv[rep, i])
            alike = m.sign == f.sign and q < alpha and min(rv[i, rep], rv[rep, i]) >= min_r
            if alike and (best_q is None or q < best_q):
                best, best_q = m, q
        if best is None:
            m = FamilyMatch("", f.sign, f, {f.source: f}, {f.source: 0.0})
            matches.append((i, m))
        elif f.source in best.members:
            best.others.append(f)
        else:
            best.members[f.source] = f
            best.q[f.source] = float(best_q)
    out = sorted((m for _, m in matches),
                 key=lambda m: (-len(m.members), -sum(x.n_seqlets for x in m.members.values())))
    for k, m in enumerate(out):
        m.id = f"family_{k}"
    return out


# --------------------------------------------------------------------------------------------
# Runs side by side
# --------------------------------------------------------------------------------------------
def _float(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(f) else f


def run_row(name: str, summary: dict, filters: list, families: list, usage: list,
            building_share: float = BUILDING_SHARE) -> dict:
    """One row of ``compare.tsv`` from a run's ``summary.json`` and tables (rows as read from TSV).

    ``filters_named``: share of the first-layer filters with a guarded JASPAR name (``jaspar_id``
    in ``filters.tsv``), over all filters; ``filters_building``: share of them that carry at least
    ``building_share`` of some motif's seqlet attribution (``motif_filters.tsv``); ``n_families``:
    families in the report's main table (not minor); ``model_auroc``: on every labelled input row
    (else on the explained ones); ``auroc_<method>``, ``aupr_<method>``: interpretability against
    ``--truth``. Missing pieces are None.
    """
    model = summary.get("model") or {}
    n_filters = len(filters)
    building = {r.get("filter") for r in usage if (_float(r.get("share")) or 0.0) >= building_share}
    q = summary.get("model_quality") or {}
    auc = _float((q.get("all") or {}).get("auroc"))
    if auc is None:
        auc = _float((q.get("explained") or {}).get("auroc"))
    row = {"run": name, "model": model.get("path") or "", "architecture": architecture(summary),
           "n_filters": n_filters,
           "filters_named": sum(1 for r in filters if r.get("jaspar_id")) / n_filters if n_filters else None,
           "filters_building": len(building & {r.get("filter") for r in filters}) / n_filters if n_filters and usage
           else None,
           "n_families": sum(1 for f in families if not f.get("minor")) if families else 0,
           "model_auroc": auc}
    for method, r in ((summary.get("truth") or {}).get("methods") or {}).items():
        row[f"auroc_{method}"] = _float(r.get("auroc"))
        row[f"aupr_{method}"] = _float(r.get("aupr"))
    return row


def architecture(summary: dict) -> str:
    """A run's layers in one line: ``Conv1D(32) relu > MaxPooling1D > Dense(1) sigmoid``."""
    parts = []
    for layer in (summary.get("model") or {}).get("architecture") or []:
        t = layer.get("type", "")
        if t == "InputLayer":
            continue
        units = re.findall(r"\d+", str(layer.get("output_shape") or ""))[-1:]
        act = layer.get("activation") or ""
        label = t + (f"({units[0]})" if t.startswith(("Conv", "Dense")) and units else "")
        parts.append(label + (f" {act}" if act and act != "linear" else ""))
    return " > ".join(parts)


def design_key(summary: dict) -> tuple:
    """What makes two runs' models one design: every layer's type, output shape, activation and
    parameter count, in order (names and weights may differ: other seeds of one architecture)."""
    return tuple((layer.get("type"), str(layer.get("output_shape")), layer.get("activation"), layer.get("params"))
                 for layer in (summary.get("model") or {}).get("architecture") or [])


def shared_by_design(matches: list[FamilyMatch], designs: list) -> dict:
    """For every design with two or more runs, the share of its families found in every one of its runs.

    Parameters
    ----------
    matches : list of FamilyMatch
        Over the runs (sources ``0..n-1``).
    designs : list
        Each run's design (:func:`design_key`), by source.

    Returns
    -------
    dict
        ``{design label: {"runs": [source, ...], "n_families": families found by any of its runs,
        "in_every_run": how many of them every run finds, "share": the ratio}}``; designs of one run
        are left out. The label is ``design_<k>`` in order of first appearance.
    """
    names = design_labels(designs)
    out = {}
    for label in dict.fromkeys(names):
        runs = [i for i, x in enumerate(names) if x == label]
        if len(runs) < 2:
            continue
        seen = [m for m in matches if any(r in m.members for r in runs)]
        every = [m for m in seen if all(r in m.members for r in runs)]
        out[label] = {"runs": runs, "n_families": len(seen), "in_every_run": len(every),
                      "share": len(every) / len(seen) if seen else None}
    return out


def design_labels(designs: list) -> list[str]:
    """``design_<k>`` of each run, in order of first appearance of its design."""
    labels: dict = {}
    return [labels.setdefault(d, f"design_{len(labels)}") for d in designs]
