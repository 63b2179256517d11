"""How right the run is: the model on its labels, and its findings against planted truth.

**Model quality** (:func:`model_quality`): the model's AUROC, AUPR and accuracy on the labels it
was given, flagged under :data:`MIN_AUROC`. With planted data, three more figures of merit, each a
function of arrays (the pipeline reads the files):

* **Interpretability AUROC and AUPR** (:func:`interpretability`), as Koo & Ploenzke (2021,
  ``interpretability_performance`` in their code) define them: for each sequence, a position is
  labelled 1 where the generating PWM carries more than :data:`INFO_BITS` (0.01) bits (with an
  instance table: inside a planted instance), and its score is the attribution summed over the
  four bases, signed, as their code sums ``scores * X``. AUROC and AUPR (the trapezoidal area
  under the precision-recall curve, :func:`interpret.stats.aupr`) are computed per sequence and
  averaged over the sequences that have both labels. The sign is kept: a map that gives a planted
  motif a large negative contribution argues against the class, and counting it as found (by
  taking the absolute value) would reward that; with motifs that *lower* the score, AUROC drops
  below 0.5, which is what such a map deserves against a "raises the score" truth.
* **Recall and precision of instances** (:func:`overlap_scores`) over any instance table with
  ``seq_index, start, end[, motif]``: the seqlets now, the hits of an instance caller as well.
* **Planted motifs recovered** (:func:`recovered`): which planted motif (its database matrix)
  each set of PPMs (filters, TF-MoDISco patterns) matches by TOMTOM.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .. import stats
from ..errors import InputError
from ..motifs import compare

logger = logging.getLogger(__name__)

__all__ = ["INFO_BITS", "MIN_OVERLAP", "MIN_AUROC", "model_quality", "planted_labels", "interpretability", "Overlap",
           "overlap_scores", "recovered"]

#: A position is planted where the generating PWM carries more than this many bits (Koo & Ploenzke 2021).
INFO_BITS = 0.01
#: Two spans overlap when they share at least this fraction of the shorter one.
MIN_OVERLAP = 0.5
#: A model below this AUROC on its labelled data is flagged in the report: its attributions
#: explain a model that does not yet separate the classes.
MIN_AUROC = 0.7


def model_quality(output_activation: str, y: np.ndarray, pred: np.ndarray, target: int, index: np.ndarray) -> dict:
    """AUROC, AUPR and accuracy of output ``target`` on the explained rows ``index`` and on every row.

    Parameters
    ----------
    output_activation : str
        The model's final activation: a row is called positive at probability >= 0.5 (``"sigmoid"``),
        when ``target`` is the largest output (``"softmax"``), else at >= 0 (a linear output read as
        a logit).
    y : ndarray, shape (N,) or (N, T)
        Labels; anything but 0 and 1 gives no figures.
    pred : ndarray, shape (N, T)
        The model's outputs (probabilities for sigmoid and softmax).
    target : int
    index : ndarray of int
        The explained rows.

    Returns
    -------
    dict
        ``{available, output, called_positive, min_auroc, explained {n, n_positive, auroc, aupr,
        accuracy}, all {...}, warning}``; AUROC and AUPR are None where only one class occurs;
        ``warning``: the AUROC on every row (else on the explained ones) is under :data:`MIN_AUROC`.
    """
    col = y if y.ndim == 1 else y[:, target]
    if not np.isin(col, (0, 1)).all():
        return {"available": False, "reason": "labels are not 0/1, so the model is not scored as a classifier"}
    score = pred[:, target].astype(np.float64)
    if output_activation == "softmax":
        called, rule = pred.argmax(axis=1) == target, f"output {target} is the largest of the softmax"
    elif output_activation == "sigmoid":
        called, rule = score >= 0.5, "probability >= 0.5"
    else:
        called, rule = score >= 0.0, "output >= 0 (a linear output read as a logit)"
    labels = col > 0.5

    def figures(rows):  # NaN (one class only) is written as null
        return {k: (None if isinstance(v, float) and np.isnan(v) else v)
                for k, v in stats.classification(labels[rows], score[rows], called[rows]).items()}

    out = {"available": True, "output": int(target), "called_positive": rule, "min_auroc": MIN_AUROC,
           "explained": figures(index), "all": figures(slice(None))}
    auc = out["all"]["auroc"] if out["all"]["auroc"] is not None else out["explained"]["auroc"]
    out["warning"] = bool(auc is not None and auc < MIN_AUROC)
    return out


def planted_labels(positions: np.ndarray) -> np.ndarray:
    """``positions > INFO_BITS`` as bool, same shape: a 0/1 mask and per-base bits both work."""
    return np.asarray(positions) > INFO_BITS


def interpretability(contrib: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-sequence AUROC and AUPR of an attribution map against planted positions.

    Parameters
    ----------
    contrib : ndarray, shape (N, L, 4)
        Contributions (attribution x input: non-zero at the observed base only).
    labels : ndarray, shape (N, L), bool
        Planted positions (:func:`planted_labels`).

    Returns
    -------
    auroc, aupr : ndarray, shape (N,)
        NaN for a sequence whose positions are all planted or all not.
    """
    contrib = np.asarray(contrib)
    labels = np.asarray(labels, dtype=bool)
    if contrib.ndim != 3 or contrib.shape[2] != 4 or labels.shape != contrib.shape[:2]:
        raise InputError(f"attributions of shape {contrib.shape} and planted labels of shape {labels.shape} do not "
                         "fit; give (N, L, 4) and (N, L).")
    score = contrib.sum(axis=2, dtype=np.float64)
    roc, pr = np.full(len(score), np.nan), np.full(len(score), np.nan)
    for i in np.flatnonzero(labels.any(axis=1) & ~labels.all(axis=1)):
        roc[i], pr[i] = stats.auroc(labels[i], score[i]), stats.aupr(labels[i], score[i])
    return roc, pr


@dataclass(frozen=True)
class Overlap:
    """Recall and precision of found instances against planted ones.

    Attributes
    ----------
    truth_found : ndarray, shape (n_truth,), bool
        Planted instance overlapped by at least one found instance.
    found_true : ndarray, shape (n_found,), bool
        Found instance overlapping at least one planted instance.
    recall, precision : float
        Shares of the two (NaN when there is none).
    recall_by_motif : dict of str -> float
        Recall of the planted instances of each motif.
    """

    truth_found: np.ndarray
    found_true: np.ndarray
    recall: float
    precision: float
    recall_by_motif: dict


def _table(t, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    try:
        cols = [np.asarray(t[k], dtype=np.int64).ravel() for k in ("seq_index", "start", "end")]
    except KeyError as exc:
        raise InputError(f"the {what} table has no column {exc.args[0]}; give seq_index, start, end[, motif].") from None
    if not len(cols[0]) == len(cols[1]) == len(cols[2]):
        raise InputError(f"the {what} table's columns have different lengths.")
    return cols[0], cols[1], cols[2]


def overlap_scores(truth, found, min_overlap: float = MIN_OVERLAP) -> Overlap:
    """Which planted instances an instance table finds, and which of its instances are planted.

    Parameters
    ----------
    truth, found : mapping of str -> array-like
        Instance tables, one entry per instance: ``seq_index`` (the input row), ``start``, ``end``
        (0-based half-open), and in ``truth`` optionally ``motif``; a ``dict`` of columns or a
        list of rows turned into one. Seqlets (``seqlets.tsv``) and hits (``hits.tsv``) both fit.
    min_overlap : float
        Two spans match when they share at least ``min_overlap`` x the width of the shorter.

    Returns
    -------
    Overlap
    """
    truth, found = _columns(truth), _columns(found)
    ts, ta, tb = _table(truth, "planted")
    fs, fa, fb = _table(found, "found")
    t_hit = np.zeros(len(ts), bool)
    f_hit = np.zeros(len(fs), bool)
    order = np.argsort(fs, kind="stable")
    fs_sorted = fs[order]
    for i in range(len(ts)):
        lo, hi = np.searchsorted(fs_sorted, ts[i], "left"), np.searchsorted(fs_sorted, ts[i], "right")
        if lo == hi:
            continue
        j = order[lo:hi]
        shared = np.minimum(tb[i], fb[j]) - np.maximum(ta[i], fa[j])
        ok = shared >= min_overlap * np.minimum(tb[i] - ta[i], fb[j] - fa[j])
        if ok.any():
            t_hit[i] = True
            f_hit[j[ok]] = True
    motifs = np.asarray(truth.get("motif", np.full(len(ts), "")), dtype=object)
    by_motif = {str(m): float(t_hit[motifs == m].mean()) for m in dict.fromkeys(motifs.tolist())}
    return Overlap(t_hit, f_hit, float(t_hit.mean()) if len(t_hit) else float("nan"),
                   float(f_hit.mean()) if len(f_hit) else float("nan"), by_motif)


def _columns(t) -> dict:
    if isinstance(t, dict):
        return t
    rows = list(t)
    return {k: [r[k] for r in rows] for k in (rows[0] if rows else {"seq_index": 0, "start": 0, "end": 0})}


def recovered(planted_ppms: list, query_ppms: list, alpha: float = 0.05, min_r: float = compare.MIN_R) -> list[dict]:
    """For each planted motif, the query PPM that matches it best by TOMTOM, and whether it counts.

    Parameters
    ----------
    planted_ppms : list of ndarray (W, 4)
        The planted motifs' matrices (e.g. their JASPAR entries).
    query_ppms : list of ndarray (W, 4)
        Filters' activation PPMs or TF-MoDISco patterns.
    alpha : float
        TOMTOM q-value (Benjamini-Hochberg over the query x planted table) below which a match counts ...
    min_r : float
        ... when the aligned columns also correlate at Pearson r >= ``min_r`` (as the JASPAR guard asks).

    Returns
    -------
    list of dict
        One per planted motif: ``query`` (index of the best query: the smallest q among those that
        look alike, else the smallest q; -1 without queries), ``q``, ``r`` and ``recovered`` (bool).
    """
    out = [{"query": -1, "q": None, "r": None, "recovered": False} for _ in planted_ppms]
    if not planted_ppms or not query_ppms:
        return out
    def rank(q, r):  # alike (r >= min_r) before unlike, then by q
        return (not (r is not None and r >= min_r), q)

    for row in compare.compare_sets(query_ppms, planted_ppms):
        best = out[row["target"]]
        r = None if np.isnan(row["pearson_r"]) else row["pearson_r"]
        if best["q"] is None or rank(row["tomtom_q"], r) < rank(best["q"], best["r"]):
            best.update(query=row["query"], q=row["tomtom_q"], r=r)
    for best in out:
        best["recovered"] = bool(best["q"] is not None and best["q"] < alpha and (best["r"] or 0) >= min_r)
    return out
