"""Which first-layer filters build each motif: DeepLIFT's chain rule through the first convolution.

The first convolution is linear before its nonlinearity, so a contribution at the input splits
exactly over its filters. Let ``M_k(p, f)`` be the DeepLIFT multiplier of the explained output
with respect to filter ``f``'s pre-activation at position ``p`` (the sequence against its
reference ``k``; the rescale of the filter's nonlinearity and the rules of every layer after it
included), and ``dx_k = x - s * r_k`` the difference from the reference at the observed bases
(``s(i) = sum_c x(i, c)``: 1 at a base, 0 at an ``N``). The contribution of a window ``W`` of a
sequence then splits as

    C(W) = sum_f C_f(W),    C_f(W) = mean_k sum_p M_k(p, f) * conv_f(dx_k * 1_W)(p),

``conv_f`` being filter ``f``'s convolution without its bias (the bias cancels in a difference
from reference). ``C(W)`` is the sum over ``W`` of :class:`~interpret.attribution.DeepShap`'s
``contrib`` with the same references, exactly (to float round-off), whenever the input reaches the
output only through the first convolution. Gradient x input (mean-centred gradients, the
package's default) decomposes the same way with ``M`` the plain gradient at the pre-activation and
one reference of 0.25 at every base (``sum_c (x - 0.25) g = `` its contribution).

Only ``(pairs, P, F)`` tensors of one batch exist at a time (``P`` positions of the first layer's
output, ``F`` filters), never ``(N, L, 4, F)``; the references are regenerated for the rows that
hold a window (the shuffles are seeded per sequence, so they are the run's own).

:class:`FilterSplit` (or :func:`filter_contributions` for one call) returns the per-window,
per-filter contributions; :func:`motif_usage` turns those of TF-MoDISco seqlets into per-motif
shares. Neither opens a file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .methods import DeepShap, GradientXInput, _bucket, _padded, _resolve_references
from ..errors import InputError
from ..filters import _canonical, find_first_conv
from ..model import Model

logger = logging.getLogger(__name__)

#: Attribution methods with a per-filter decomposition.
METHODS = ("deepshap", "gradxinput")
#: Fraction of a motif's seqlet attribution that its "building" filters carry together.
COVER = 0.8


@dataclass(frozen=True)
class FilterContributions:
    """Contribution of every window carried by every first-layer filter.

    Attributes
    ----------
    contrib : ndarray, shape (S, F), float64
        ``contrib[s, f]``: the part of window ``s``'s contribution that flows through filter ``f``.
    method : str
        ``"deepshap"`` or ``"gradxinput"``.
    explained : str
        What is explained, e.g. ``"logit (pre-sigmoid) of output 0"``.
    layer : str
        Name of the first convolution.
    n_references : int
        References per sequence (1 for gradient x input: the uniform 0.25 background).
    """

    contrib: np.ndarray
    method: str
    explained: str
    layer: str
    n_references: int

    @property
    def total(self) -> np.ndarray:
        """Each window's contribution, shape (S,): the sum over filters."""
        return self.contrib.sum(axis=1)


def _tf():
    import tensorflow as tf

    return tf


def _windows_array(windows, n_rows: int, length: int) -> np.ndarray:
    w = np.asarray(windows)
    if w.ndim != 2 or w.shape[1] != 3:
        raise InputError(f"windows must have shape (S, 3): row, start, end; got {w.shape}.")
    w = w.astype(np.int64)
    bad = (w[:, 0] < 0) | (w[:, 0] >= n_rows) | (w[:, 1] < 0) | (w[:, 2] > length) | (w[:, 1] >= w[:, 2])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"window {i} ({tuple(int(v) for v in w[i])}) is not a span start < end of a row of the "
                         f"{n_rows} x {length}-bp sequences; give rows 0..{n_rows - 1} and "
                         f"0 <= start < end <= {length}.")
    return w


class FilterSplit:
    """Splits the contributions of windows over the first convolution's filters, for one method.

    Like the attribution classes, one object per model and method: its compiled pass is traced
    once and reused by every :meth:`contributions` call. :func:`filter_contributions` is the
    one-call form.

    Parameters
    ----------
    model : interpret.Model or keras.Model
        Its first convolution must read the one-hot input (see
        :func:`interpret.filters.find_first_conv`).
    method : {"deepshap", "gradxinput"}
        Whose contributions are split: DeepSHAP's or gradient x input's (mean-centred gradients).
    target, output
        What is explained, as for the attribution methods (the pre-activation logit by default).
    batch_size : int
        (sequence, reference) pairs per compiled call.
    verbose : bool
        Progress bar over batches.
    """

    def __init__(self, model, method: str = "deepshap", target: int = 0, output: str = "logit",
                 batch_size: int = 1024, verbose: bool = False):
        if method not in METHODS:
            raise InputError(f"no per-filter decomposition for method {method!r}; use one of {', '.join(METHODS)}.")
        self.model = model if isinstance(model, Model) else Model.from_keras(model)
        self.method = method
        self.batch_size = int(batch_size)
        self.verbose = verbose
        self.conv = find_first_conv(self.model)
        cls = DeepShap if method == "deepshap" else GradientXInput
        self.explainer = cls(self.model, target=target, output=output, batch_size=batch_size)
        self._fn = _contrib_fn(self.explainer, self.conv)

    def contributions(self, x: np.ndarray, windows, references=None, n_references: int = 20,
                      seed: int = 0) -> FilterContributions:
        """Each window's contribution, split over the filters.

        Parameters
        ----------
        x : ndarray, shape (N, L, 4)
            One-hot sequences, A C G T.
        windows : array-like of int, shape (S, 3)
            ``(row, start, end)``: the span ``start:end`` of ``x[row]`` (e.g. a TF-MoDISco seqlet).
            Windows may overlap and a row may hold several.
        references : None, str or ndarray (N, K, L, 4)
            DeepSHAP only, as in :meth:`interpret.attribution.DeepShap.attribute` (so the same
            references); default: ``n_references`` dinucleotide shuffles of each sequence.
        n_references, seed : int
            DeepSHAP only.

        Returns
        -------
        FilterContributions
            ``contrib`` (S, F): summed over filters, each row equals the window's summed
            contribution of the method (``contrib[row, start:end].sum()`` of its
            :class:`~interpret.attribution.AttributionResult`).
        """
        tf = _tf()
        x = np.asarray(x, np.float32)
        if x.ndim != 3 or x.shape[1:] != (self.model.seq_len, 4):
            raise InputError(f"sequences must have shape (N, {self.model.seq_len}, 4), not {x.shape}.")
        win = _windows_array(windows, len(x), x.shape[1])
        rows = np.unique(win[:, 0])  # only the rows that hold a window are explained again
        if self.method == "deepshap":
            if isinstance(references, np.ndarray) and references.ndim == 4:
                references = references[rows]
            refs = _resolve_references(x[rows], references, n_references, seed, default="shuffle")
        else:  # gradient x input: sum_c (x - 0.25) g at the observed bases
            refs = np.full((len(rows), 1) + x.shape[1:], 0.25, np.float32)
        k = refs.shape[1]
        (logger.info if self.verbose else logger.debug)(
            "filter usage (%s): %d windows in %d sequences x %d references", self.method, len(win), len(rows), k)
        out = np.zeros((len(win), self.conv.weights.shape[0]), np.float64)
        per = max(1, self.batch_size // k)
        row_pos = np.searchsorted(rows, win[:, 0])  # each window's place among the rows
        starts = range(0, len(rows), per)
        if self.verbose:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc=f"filter usage ({self.method})", unit="batch")
        for i in starts:
            b = min(per, len(rows) - i)
            pad = _bucket(b, per)  # the batch shapes DeepShap compiles for
            sel = np.flatnonzero((row_pos >= i) & (row_pos < i + b))
            wb = np.stack([row_pos[sel] - i, win[sel, 1], win[sel, 2]], axis=1).astype(np.int32)
            xb = _padded(x[rows[i:i + b]], pad)
            rb = _padded(refs[i:i + b], pad).reshape((pad * k,) + x.shape[1:])
            out[sel] = self._fn(*(tf.constant(a) for a in (xb, rb, wb) + _crop(wb, self.conv))).numpy()
        return FilterContributions(out, self.method, self.explainer.explained, self.conv.layer.name, k)


def filter_contributions(model, x: np.ndarray, windows, method: str = "deepshap", target: int = 0,
                         output: str = "logit", references=None, n_references: int = 20, seed: int = 0,
                         batch_size: int = 1024, verbose: bool = False) -> FilterContributions:
    """Split the contribution of windows of ``x`` (N, L, 4) over the first convolution's filters:
    ``FilterSplit(model, method, ...).contributions(x, windows, ...)``; see :class:`FilterSplit`
    for every parameter. ``windows`` is (S, 3) ``(row, start, end)``; returns
    :class:`FilterContributions` with ``contrib`` (S, F)."""
    return FilterSplit(model, method, target, output, batch_size, verbose).contributions(
        x, windows, references, n_references, seed)


def _crop(win: np.ndarray, conv) -> tuple[np.ndarray, np.ndarray]:
    """Output positions ``(S, C)`` whose receptive field overlaps each window, and the input
    positions ``(S, (C - 1) * stride + eff)`` they read (unclipped: some fall outside the sequence).

    Only these positions of ``conv_f(dx * 1_W)`` can be non-zero, so the window's convolution is
    computed on them alone (about ``width + kernel`` positions instead of ``L``).
    """
    s, eff = conv.stride, (conv.width - 1) * conv.dilation + 1
    lo = -((eff - 1 - conv.pad_left - win[:, 1]) // s)  # first output position reading the window
    hi = (win[:, 2] - 1 + conv.pad_left) // s          # last one
    c = int((hi - lo).max()) + 1 if len(win) else 1
    p = lo[:, None] + np.arange(c)[None]
    q = (lo * s - conv.pad_left)[:, None] + np.arange((c - 1) * s + eff)[None]
    return p.astype(np.int32), q.astype(np.int32)


def _contrib_fn(explainer, conv):
    """Compiled ``(x (b, L, 4), refs (b * k, L, 4), windows (S, 3), out positions (S, C), in positions
    (S, Q)) -> (S, F)`` for one batch (see :func:`_crop`)."""
    tf = _tf()
    length = explainer.model.seq_len
    kernel = tf.constant(np.transpose(conv.weights, (1, 2, 0)))  # (W, 4, F)
    deeplift = isinstance(explainer, DeepShap)
    spec = tf.TensorSpec((None, length, 4), tf.float32)
    ispec = tf.TensorSpec((None, None), tf.int32)

    @tf.function(input_signature=[spec, spec, tf.TensorSpec((None, 3), tf.int32), ispec, ispec], autograph=False)
    def contrib(x, refs, win, p, q):
        k = tf.shape(refs)[0] // tf.shape(x)[0]
        if deeplift:
            m = explainer.layer_multipliers_graph(x, refs, conv.layer)
        else:
            m = explainer.layer_gradients_graph(x, conv.layer)
        m = _canonical(m, conv)  # (b * k, P, F)
        pair = tf.reshape(win[:, :1] * k + tf.range(k)[None], [-1])  # (S * k,): window s against reference j

        def rows_at(rows, pos, limit):  # (S * k,), (S, n) -> gather_nd indices (S * k, n, 2), clipped
            pos = tf.clip_by_value(tf.repeat(pos, k, axis=0), 0, limit - 1)
            return tf.stack([tf.broadcast_to(rows[:, None], tf.shape(pos)), pos], axis=-1)

        xs = tf.gather_nd(x, rows_at(tf.repeat(win[:, 0], k), q, length))  # (S * k, Q, 4)
        rs = tf.gather_nd(refs, rows_at(pair, q, length))
        inside = tf.repeat(tf.cast((q >= win[:, 1:2]) & (q < win[:, 2:3]), tf.float32), k, axis=0)
        d = (xs - tf.reduce_sum(xs, -1, keepdims=True) * rs) * inside[..., None]
        z = tf.nn.conv1d(d, kernel, stride=conv.stride, padding="VALID", dilations=conv.dilation)  # (S * k, C, F)
        valid = tf.repeat(tf.cast((p >= 0) & (p < conv.out_len), tf.float32), k, axis=0)
        c = tf.reduce_sum(tf.gather_nd(m, rows_at(pair, p, conv.out_len)) * z * valid[..., None], axis=1)
        return tf.reduce_mean(tf.reshape(c, [-1, k, tf.shape(c)[-1]]), axis=1)

    return contrib


@dataclass(frozen=True)
class MotifUsage:
    """How much of each motif's seqlet attribution each filter carries.

    For motif ``m`` with seqlets ``s`` (window contributions ``T_s = sum_f c[s, f]``):

    Attributes
    ----------
    motifs : tuple of str, length M
    signs : ndarray, shape (M,), int
        +1 for a motif of positive contribution, -1 for a negative one.
    n_seqlets : ndarray, shape (M,), int
    share : ndarray, shape (M, F)
        Pooled share ``sum_s c[s, f] / sum_s T_s``; sums to 1 over filters.
    share_mean : ndarray, shape (M, F)
        Mean over seqlets of ``c[s, f] / T_s`` (seqlets with ``T_s = 0`` left out).
    mean_contribution : ndarray, shape (M, F)
        ``mean_s c[s, f]``, in units of the explained output.
    n_top3 : ndarray, shape (M, F), int
        Seqlets in which the filter is among the 3 that carry most in the motif's direction.
    reverse : ndarray, shape (M, F), bool
        The filter carries more of the motif on seqlets read on the reverse strand: it reads the
        motif's reverse complement (draw it reverse-complemented to show it in the motif's orientation).
    main_motif : ndarray, shape (F,), int
        Index of the motif into which the filter puts most attribution (in each motif's direction,
        ``sign * sum_s c[s, f]``); -1 if it carries none.
    filter_share : ndarray, shape (F,)
        The filter's share of all seqlet attribution: ``sum_m sign_m sum_s c[s, f] / sum_m sign_m sum_s T_s``.
    """

    motifs: tuple
    signs: np.ndarray
    n_seqlets: np.ndarray
    share: np.ndarray
    share_mean: np.ndarray
    mean_contribution: np.ndarray
    n_top3: np.ndarray
    reverse: np.ndarray
    main_motif: np.ndarray
    filter_share: np.ndarray

    def building(self, m: int, cover: float = COVER) -> np.ndarray:
        """Filters (indices, largest share first) that together carry ``cover`` of motif ``m``."""
        order = np.argsort(-self.share[m], kind="stable")
        s = self.share[m, order]
        keep = s > 0
        order, s = order[keep], s[keep]
        n = int(np.searchsorted(np.cumsum(s), cover - 1e-12)) + 1
        return order[:min(n, len(order))]


def motif_usage(contrib: np.ndarray, motif: np.ndarray, motifs, signs, reverse: np.ndarray) -> MotifUsage:
    """Per-motif filter shares from per-seqlet filter contributions.

    Parameters
    ----------
    contrib : ndarray, shape (S, F)
        :attr:`FilterContributions.contrib` of the seqlets.
    motif : ndarray, shape (S,), int
        Index into ``motifs`` of each seqlet's motif.
    motifs : sequence of str, length M
    signs : sequence of int, length M
        Each motif's sign (+1 or -1).
    reverse : ndarray, shape (S,), bool
        Seqlet read on the reverse strand (TF-MoDISco strand "-").

    Returns
    -------
    MotifUsage
    """
    c = np.asarray(contrib, np.float64)
    motif = np.asarray(motif, np.int64)
    reverse = np.asarray(reverse, bool)
    signs = np.asarray(signs, np.int64)
    n_m, n_f = len(motifs), c.shape[1]
    if motif.shape != (len(c),) or reverse.shape != (len(c),):
        raise InputError(f"motif and reverse must have one entry per seqlet ({len(c)}).")
    if len(signs) != n_m or (len(motif) and (motif.min() < 0 or motif.max() >= n_m)):
        raise InputError(f"motif indices must lie in 0..{n_m - 1}, with one sign per motif.")
    total = c.sum(axis=1)
    share = np.zeros((n_m, n_f))
    share_mean = np.zeros((n_m, n_f))
    mean_c = np.zeros((n_m, n_f))
    top3 = np.zeros((n_m, n_f), np.int64)
    rev = np.zeros((n_m, n_f), bool)
    n_seq = np.bincount(motif, minlength=n_m)
    carried = np.zeros((n_m, n_f))  # sign_m * sum_s c[s, f]
    for m in range(n_m):
        sel = motif == m
        if not sel.any():
            continue
        cm, tm = c[sel], total[sel]
        csum = cm.sum(axis=0)
        share[m] = csum / tm.sum() if tm.sum() != 0 else 0.0
        ok = tm != 0
        if ok.any():
            share_mean[m] = (cm[ok] / tm[ok, None]).mean(axis=0)
        mean_c[m] = csum / len(cm)
        aligned = cm * signs[m]
        kk = min(3, n_f)
        top = np.argpartition(-aligned, kk - 1, axis=1)[:, :kk]
        top3[m] = np.bincount(top.ravel(), minlength=n_f)
        rev[m] = aligned[reverse[sel]].sum(axis=0) > aligned[~reverse[sel]].sum(axis=0)
        carried[m] = signs[m] * csum
    main = np.where(carried.max(axis=0) > 0, carried.argmax(axis=0), -1) if n_m else np.full(n_f, -1)
    whole = float((signs[motif] * total).sum()) if len(c) else 0.0
    fshare = carried.sum(axis=0) / whole if whole != 0 else np.zeros(n_f)
    return MotifUsage(tuple(motifs), signs, n_seq, share, share_mean, mean_c, top3, rev, np.asarray(main, np.int64),
                      fshare)
