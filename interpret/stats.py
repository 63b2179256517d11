"""The statistics of the package in one place: paired effects and Benjamini–Hochberg q-values.

An *effect* here is the mean of paired differences: for an insertion, ``f(background with the
motif) - f(background with a GC-matched control)`` over the same backgrounds
(:mod:`interpret.evidence.screen`); for an ablation, ``f(sequence) - f(sequence with the span
shuffled)`` over the seqlets (:mod:`interpret.evidence.effects`). :func:`paired_effects` turns the
differences into a mean, its standard error, ``z = mean / SE`` and a two-sided p-value.

**Null hypothesis and test.** H0: the mean paired difference is 0. ``z`` is the one-sample
t statistic of the differences and the p-value is two-sided from Student's t with ``n - 1``
degrees of freedom (with 100 backgrounds this is the normal p-value to two digits; with a few
seqlets it is the honest, wider one). Differences of exactly 0 everywhere (a motif nothing in
the model detects) give ``z = 0`` and ``p = 1``.

**The rule.** The model *responds* to a pattern when its effect is distinguishable from zero,
Benjamini–Hochberg q below :data:`ALPHA` (0.05) over its family of tests (:func:`bh`), **and**
at least :func:`min_effect` in absolute value: 0.2 on the logit (the odds change by a factor of
1.22), 0.05 on a probability (the same change near p = 0.5). Otherwise the report says "the
model does not respond to this pattern" and the tables say ``effect_significant`` False.

Why a floor: with 100 backgrounds a consistent change of 0.1 logit is "significant", and a model
changes its score a little for almost any inserted sequence. On the example model (CREB1,
CEBPB, CTCF planted; FOXA2 planted in both classes as a decoy) the planted motifs move the
logit by 1.2 to 3.0, while the decoy moves it by -0.06 to -0.16 depending on the seed (q about
0.01 in two seeds of three): a real but negligible response. On ``simulate.peaks_like`` the weakly used MAFK
moves it by 0.5, above the floor.

**Stopping early.** :func:`settled` is the rule of a sequential test (the known-motif screen's):
after ``n`` of ``N`` differences, the decisions that the remaining ``N - n`` cannot change but with
a stated probability, from a prediction interval of the mean of all ``N``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ALPHA", "MIN_EFFECT", "EARLY_STOP_ERROR", "Effects", "paired_effects", "t_test", "bh", "min_effect", "rule",
           "responds", "settled", "auroc", "aupr", "classification"]

#: q-value below which an effect counts as distinguishable from zero.
ALPHA = 0.05
#: Smallest absolute effect that counts, by explained output (see :func:`min_effect`).
MIN_EFFECT = {"logit": 0.2, "probability": 0.05}
#: Sequential tests (:func:`settled`): the chance, per decision, that stopping early decided what the
#: full test would not have (split over the looks by the caller).
EARLY_STOP_ERROR = 0.001


@dataclass(frozen=True)
class Effects:
    """Paired effects of ``M`` tested things.

    Attributes
    ----------
    mean : ndarray, shape (M,)
        Mean paired difference.
    se : ndarray, shape (M,)
        Its standard error, ``sd / sqrt(n)`` (sample sd, ``ddof=1``); NaN when ``n < 2``.
    z : ndarray, shape (M,)
        ``mean / se`` (the t statistic); 0 when every difference is 0.
    p : ndarray, shape (M,)
        Two-sided p-value of H0 "mean 0" (Student's t, ``n - 1`` df); 1 when ``n < 2``.
    n : ndarray, shape (M,), int
        Number of paired differences.
    """

    mean: np.ndarray
    se: np.ndarray
    z: np.ndarray
    p: np.ndarray
    n: np.ndarray


def paired_effects(deltas) -> Effects:
    """Mean, SE, z and p of paired differences, one row per tested thing.

    Parameters
    ----------
    deltas : ndarray, shape (M, n), or list of M 1-D arrays (ragged)
        ``deltas[m]`` are the paired differences of thing ``m`` (after minus before); NaNs are
        dropped (a NaN-padded ``(M, n)`` array holds rows of different lengths).

    Returns
    -------
    Effects
        Arrays of shape ``(M,)``.
    """
    if isinstance(deltas, np.ndarray) and deltas.ndim == 2 and deltas.shape[1] > 1:
        d = np.asarray(deltas, dtype=np.float64)
        whole = np.isfinite(d).all(axis=1)
        # complete rows (a screen of every output has a million) vectorised, the others one by one
        mean, se, n = np.full(len(d), np.nan), np.full(len(d), np.nan), np.full(len(d), d.shape[1], dtype=np.int64)
        if whole.any():
            mean[whole] = d[whole].mean(axis=1)
            se[whole] = d[whole].std(axis=1, ddof=1) / np.sqrt(d.shape[1])
        if not whole.all():
            part = _row_moments(d[~whole])
            mean[~whole], se[~whole], n[~whole] = part
        return t_test(mean, se, n)
    return t_test(*_row_moments(deltas))


def _row_moments(rows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, SE and count of the finite values of each row."""
    rows = [np.asarray(d, dtype=np.float64).ravel() for d in rows]
    rows = [d[np.isfinite(d)] for d in rows]
    n = np.array([len(d) for d in rows], dtype=np.int64)
    mean = np.array([d.mean() if len(d) else np.nan for d in rows])
    se = np.array([d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else np.nan for d in rows])
    return mean, se, n


def t_test(mean, se, n) -> Effects:
    """The one-sample t-test of :func:`paired_effects` from each row's mean, SE and count
    (arrays of one shape): ``z = mean / se``, two-sided p from Student's t with ``n - 1`` df."""
    from scipy import stats as st

    mean, se = np.asarray(mean, dtype=np.float64), np.asarray(se, dtype=np.float64)
    n = np.asarray(n, dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, mean / se, np.nan)
        p = np.where(se > 0, 2.0 * st.t.sf(np.abs(z), np.maximum(n - 1, 1)), 1.0)
    # the same difference every time: none at all (no evidence of an effect), or a nonzero one
    flat = (se == 0)
    z = np.where(flat, np.where(mean == 0, 0.0, np.copysign(np.inf, mean)), z)
    p = np.where(flat & (mean != 0), 0.0, p)
    return Effects(mean, se, z, p, n)


def bh(p) -> np.ndarray:
    """Benjamini–Hochberg q-values of the flat array ``p`` (NaN p-values count as 1)."""
    p = np.asarray(p, dtype=np.float64).ravel()
    n = len(p)
    if n == 0:
        return p
    p = np.where(np.isnan(p), 1.0, p)
    order = np.argsort(p, kind="stable")
    ranked = p[order] * n / np.arange(1, n + 1)
    q = np.empty(n)
    q[order] = np.minimum.accumulate(ranked[::-1])[::-1]
    return np.minimum(q, 1.0)


def min_effect(output: str = "logit") -> float:
    """Smallest absolute effect that counts: 0.2 for ``"logit"`` (also a linear output's own
    units), 0.05 for ``"probability"``."""
    return MIN_EFFECT["probability" if output == "probability" else "logit"]


def rule(output: str = "logit") -> str:
    """The rule in one sentence, as written into ``summary.json`` and the report."""
    return (f"the model responds to a pattern when its effect is distinguishable from zero (Benjamini-Hochberg "
            f"q < {ALPHA:g}; H0: mean paired difference 0, two-sided one-sample t-test) and at least "
            f"{min_effect(output):g} in absolute value; otherwise the model does not respond to the pattern")


def responds(q, mean, output: str = "logit") -> np.ndarray:
    """The rule: ``q < ALPHA`` and ``|mean| >= min_effect(output)``; NaN never responds. Boolean
    array of ``q``'s shape."""
    q = np.asarray(q, dtype=np.float64)
    mean = np.asarray(mean, dtype=np.float64)
    ok = np.isfinite(q) & np.isfinite(mean)
    return np.where(ok, (np.nan_to_num(q, nan=1.0) < ALPHA) & (np.abs(np.nan_to_num(mean)) >= min_effect(output)),
                    False)


def settled(effects: Effects, n_total: int, n_tests: int, output: str = "logit",
            error: float = EARLY_STOP_ERROR) -> np.ndarray:
    """Decisions of :func:`responds` that the differences not yet drawn cannot change, but with
    probability ``error``: the stopping rule of a sequential test.

    After ``n`` of ``N = n_total`` paired differences (``effects.n``) the mean of all ``N`` is
    ``mean_N = mean_n + (1 - n / N) (mean_rest - mean_n)``, and ``mean_rest - mean_n`` has mean 0
    and variance ``sd^2 (1 / (N - n) + 1 / n)`` *whatever the true effect*, so
    ``(mean_N - mean_n) / (SE_n sqrt(1 - n / N))`` follows Student's t with ``n - 1`` df
    (normal differences, the t-test's own assumption). Its two-sided ``1 - error`` interval
    predicts ``mean_N``: the full test's mean misses it with probability ``error``.

    * **-1, does not respond**: the interval lies inside ``(-min_effect, +min_effect)``, so the full
      test's ``|mean_N| < min_effect`` too (it cannot respond) but with probability ``error``.
    * **+1, responds**: the interval lies beyond ``+min_effect`` or beyond ``-min_effect`` (so
      ``mean_N`` passes the floor with the same sign but with probability ``error``) and
      ``p < ALPHA / n_tests``: Bonferroni over the family, so the q-value of these ``n``
      differences is below :data:`ALPHA` whatever the other tests give (BH's q never exceeds
      ``n_tests x p``).
    * **0**: open; draw more differences.

    Parameters
    ----------
    effects : Effects
        Of the differences so far, any shape.
    n_total : int
        ``N``: differences the full test draws.
    n_tests : int
        Tests in the Benjamini–Hochberg family (a screen: the database).
    output : str
        Sets the floor (:func:`min_effect`).
    error : float
        Chance per decision and look that the interval misses the full test's mean.

    Returns
    -------
    ndarray of int8, ``effects.mean``'s shape
    """
    from scipy import stats as st

    mean, se, n = (np.asarray(a) for a in (effects.mean, effects.se, effects.n))
    with np.errstate(invalid="ignore"):
        half = st.t.ppf(1 - error / 2, np.maximum(n - 1, 1)) * se * np.sqrt(np.clip(1 - n / n_total, 0.0, 1.0))
    ok = np.isfinite(half) & np.isfinite(mean)
    floor = min_effect(output)
    size = np.where(ok, np.abs(mean), np.nan)
    out = np.zeros(mean.shape, np.int8)
    out[ok & (size + half < floor)] = -1
    out[ok & (size - half >= floor) & (np.asarray(effects.p) < ALPHA / n_tests)] = 1
    return out


def _ranked(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    """Labels as bool and scores as float64, both 1-D and of one length (NaN scores are refused)."""
    y = np.asarray(labels).ravel().astype(bool)
    s = np.asarray(scores, dtype=np.float64).ravel()
    if len(y) != len(s):
        raise ValueError(f"{len(y)} labels for {len(s)} scores")
    if np.isnan(s).any():
        raise ValueError("scores contain NaN")
    return y, s


def auroc(labels, scores) -> float:
    """Area under the ROC curve of ``scores`` for the binary ``labels`` (both ``(n,)``); NaN unless
    both classes occur.

    The Mann-Whitney statistic with ties counted half (average ranks), which is the trapezoidal
    area under the ROC curve, so it equals scikit-learn's ``roc_auc_score``.
    """
    from scipy.stats import rankdata

    y, s = _ranked(labels, scores)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(s)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def aupr(labels, scores) -> float:
    """Area under the precision-recall curve by the trapezoidal rule; NaN unless both classes occur.

    The curve is scikit-learn's ``precision_recall_curve`` (one point per distinct score, from the
    highest down, and the point recall 0, precision 1), integrated as ``sklearn.metrics.auc(recall,
    precision)``: Koo & Ploenzke's (2021) ``interpretability_performance``. It is not the
    step-wise average precision (``average_precision_score``), which is lower when precision
    falls between thresholds.
    """
    y, s = _ranked(labels, scores)
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == len(y):
        return float("nan")
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]      # the last row of each distinct score
    tp = np.cumsum(y)[last].astype(np.float64)
    precision = tp / (last + 1)
    recall = tp / n_pos
    recall = np.r_[0.0, recall]
    precision = np.r_[1.0, precision]
    return float(np.sum(np.diff(recall) * (precision[1:] + precision[:-1]) / 2))


def classification(labels, scores, called) -> dict:
    """How well ``scores`` separate binary ``labels``: ``{n, n_positive, auroc, aupr, accuracy}``.

    ``called`` (bool, like ``labels``) marks the rows the model calls positive, for the accuracy;
    AUROC and AUPR (:func:`auroc`, :func:`aupr`) rank ``scores`` and are NaN when only one class occurs.
    """
    y, s = _ranked(labels, scores)
    called = np.asarray(called, dtype=bool).ravel()
    return {"n": int(len(y)), "n_positive": int(y.sum()), "auroc": auroc(y, s), "aupr": aupr(y, s),
            "accuracy": float(np.mean(called == y)) if len(y) else float("nan")}
