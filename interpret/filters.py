"""Kernel logos of the first convolution: activation PPMs, weight logos and filter influence.

:func:`kernel_logos` finds the model's first convolution and the nonlinearity that follows it
(``activation=`` on the layer, or an ``Activation``/``ReLU``-like layer after it, possibly
behind ``BatchNormalization``), then streams the sequences through the model twice:

1. the maximum and the mean of every filter's (post-nonlinearity) activation over the data
   (top-k mode instead keeps the ``k`` highest-activating sites per filter);
2. the site counts: the one-hot window under the exact receptive field of every position
   whose activation exceeds ``threshold`` x the filter's maximum is added to the filter's
   ``(W, 4)`` count matrix (positions in the padding count as background, 0.25 per base),
   and the influence: the mean drop of the target logit when the filter's output is
   replaced by its mean over the data (Basset, Kelley et al. 2016).

Only running sums are kept, never the activations of the whole data set, so memory does not
grow with the number of sequences. The model is reached only through
:meth:`interpret.model.Model.forward` and its graph hook: nothing is rebuilt or modified.

What this module does *not* do: trim the PPMs or match them to a database (see
:mod:`interpret.motifs.compare`), or write files (see :mod:`interpret.io`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .model import Model, activation_name

logger = logging.getLogger(__name__)

# Layers that do not change which positions a filter fires on, between a conv and its nonlinearity.
_AFFINE = ("BatchNormalization", "Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianDropout",
           "GaussianNoise", "ActivityRegularization", "Identity")
_NONLINEAR = ("Activation", "ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax")
# Channel-wise layers that map a per-channel constant to a per-channel constant: the filter
# ablation can be applied after them (on far fewer positions) with the same result.
_CHANNELWISE = _AFFINE + ("Activation", "ReLU", "LeakyReLU", "ELU", "MaxPooling1D", "MaxPooling2D",
                          "AveragePooling1D", "AveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
                          "GlobalAveragePooling1D", "GlobalAveragePooling2D")
# Budget of floats for one ablation call: copies x positions x filters of the captured output.
_ABLATION_BUDGET = 1 << 23


@dataclass(frozen=True)
class FilterResult:
    """Kernel logos of the first-layer filters.

    Attributes
    ----------
    ppm : ndarray, shape (F, W, 4), float64
        Activation PPM of each filter (A C G T; rows sum to 1). Uniform where ``n_sites`` is 0.
    weights : ndarray, shape (F, W, 4), float32
        The raw kernel, A C G T, the same for Conv1D and Conv2D ``(1, W)`` layers.
    n_sites : ndarray, shape (F,), int64
        Number of sites counted into each PPM.
    ic : ndarray, shape (F,), float64
        Information content of each PPM in bits (sum over positions).
    max_activation : ndarray, shape (F,), float64
        Maximum post-nonlinearity activation over the data.
    influence : ndarray, shape (F,), float64
        Mean drop of the target logit when the filter's output is replaced by its mean over
        the data; positive = the filter raises the logit. NaN if not computed.
    mean_activation : ndarray, shape (F,), float64
        Mean post-nonlinearity activation over all sequences and positions (the ablation value).
    influence_outputs : ndarray, shape (F, T), or None
        The influence on each output asked for (``kernel_logos(..., outputs=...)``), from the same
        ablation passes; column ``t`` is output ``outputs[t]``.
    layer : str
        Name of the convolution layer.
    activation_layer : str
        Name of the layer whose output was recorded (the conv itself if it has ``activation=``).
    width : int
        Kernel width ``W``.
    threshold : float
        Site threshold as a fraction of each filter's maximum (NaN in top-k mode).
    top_k : int or None
        Sites per filter in top-k mode.
    """

    ppm: np.ndarray
    weights: np.ndarray
    n_sites: np.ndarray
    ic: np.ndarray
    max_activation: np.ndarray
    influence: np.ndarray
    mean_activation: np.ndarray
    layer: str
    activation_layer: str
    width: int
    threshold: float
    top_k: int | None = None
    influence_outputs: np.ndarray | None = None

    @property
    def n_filters(self) -> int:
        return int(self.ppm.shape[0])

    def weight_logo(self) -> np.ndarray:
        """Mean-centred kernel, shape ``(F, W, 4)``: each position minus its mean over the 4 bases.

        A convolution only sees one base per position, so adding a constant to a position's four
        weights shifts every score by the same amount; centring removes that arbitrary constant.
        """
        w = np.asarray(self.weights, dtype=np.float64)
        return w - w.mean(axis=2, keepdims=True)

    def influence_rank(self) -> np.ndarray:
        """Rank of each filter by ``|influence|``, shape ``(F,)``: 1 = most influential."""
        order = np.argsort(-np.nan_to_num(np.abs(self.influence), nan=-1.0), kind="stable")
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(1, len(order) + 1)
        return rank


def information_content(ppm: np.ndarray) -> np.ndarray:
    """Information content in bits of ``ppm`` ``(..., W, 4)`` per position, shape ``(..., W)``."""
    p = np.clip(np.asarray(ppm, dtype=np.float64), 1e-12, None)
    p = p / p.sum(axis=-1, keepdims=True)
    return 2.0 + (p * np.log2(p)).sum(axis=-1)


# --------------------------------------------------------------------------------------------
# Finding the first convolution
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Conv:
    layer: object          # the keras conv layer
    post: object           # the layer whose output is the post-nonlinearity activation
    weights: np.ndarray    # (F, W, 4)
    bias: np.ndarray       # (F,)
    width: int
    stride: int
    dilation: int
    pad_left: int
    out_len: int
    channel_axis: int      # channel axis of the captured output, in its own layout
    position_axis: int     # position axis of the captured output
    site: object = None    # layer after whose output the ablation is applied (post or later)
    site_chain: tuple = ()  # channel-wise layers from post (excluded) to site (included)
    site_axis: int = -1    # channel axis of the site's output


def find_first_conv(model: Model) -> _Conv:
    """Locate the first convolution on the one-hot input and the layer after its nonlinearity.

    The graph is run once on one sequence of zeros with a hook that records every layer call
    with its input and output tensors, so the chain conv → [BatchNorm/Dropout] → Activation is
    followed by tensor identity, not by layer order.
    """
    import keras

    calls = []

    def record(layer, default, *args, **kwargs):
        out = default(*args, **kwargs)
        calls.append((layer, args[0] if args else None, out, _flat_tensors(args)))
        return out

    model.forward(np.zeros((1, model.seq_len, 4), np.float32), call_fn=record)
    conv_types = (keras.layers.Conv1D, keras.layers.Conv2D)
    first = next((i for i, (layer, *_) in enumerate(calls) if isinstance(layer, conv_types)), None)
    if first is None:
        raise InputError("the model has no Conv1D/Conv2D layer; kernel logos need a convolutional first layer "
                         "(run with --no-filters to skip them).")
    conv, conv_in, conv_out, _ = calls[first]
    kernel = np.asarray(conv.kernel.numpy() if hasattr(conv.kernel, "numpy") else conv.kernel, np.float32)
    fmt = getattr(conv, "data_format", "channels_last")
    in_shape = tuple(conv_in.shape[1:])
    if isinstance(conv, keras.layers.Conv1D):
        if kernel.shape[1] != 4:
            raise InputError(f"the first convolution {conv.name!r} takes {kernel.shape[1]} channels, not the 4 "
                             "bases; kernel logos need the first layer to read the one-hot input.")
        w = kernel  # (W, 4, F)
        stride, dil = int(conv.strides[0]), int(conv.dilation_rate[0])
        length = in_shape[1] if fmt == "channels_first" else in_shape[0]
        chan_axis, pos_axis = (1, 2) if fmt == "channels_first" else (2, 1)
    else:
        if fmt != "channels_last":
            raise InputError(f"the first convolution {conv.name!r} is a channels-first Conv2D, which kernel logos "
                             "do not support; use Conv1D or Conv2D on (1, L, 4).")
        if kernel.shape[0] == 1 and kernel.shape[2] == 4:      # (1, W, 4, F) on (1, L, 4)
            w = kernel[0]
            stride, dil = int(conv.strides[1]), int(conv.dilation_rate[1])
            length = in_shape[1]
            chan_axis, pos_axis = 3, 2
        elif kernel.shape[1] == 4 and kernel.shape[2] == 1:    # (W, 4, 1, F) on (L, 4, 1)
            w = kernel[:, :, 0]
            stride, dil = int(conv.strides[0]), int(conv.dilation_rate[0])
            length = in_shape[0]
            chan_axis, pos_axis = 3, 1
        else:
            raise InputError(f"the first convolution {conv.name!r} has kernel shape {kernel.shape}; kernel logos "
                             "support Conv1D, Conv2D (1, W) on (1, L, 4) and Conv2D (W, 4) on (L, 4, 1).")
    if length != model.seq_len:
        raise InputError(f"the first convolution {conv.name!r} sees {length} positions, not the model's {model.seq_len}; "
                         "kernel logos need the first layer to read the one-hot input directly.")
    width = int(w.shape[0])
    eff = (width - 1) * dil + 1
    padding = conv.padding.lower()
    if padding == "valid":
        out_len, pad_left = (length - eff) // stride + 1, 0
    elif padding == "same":
        out_len = -(-length // stride)
        pad_left = max((out_len - 1) * stride + eff - length, 0) // 2
    elif padding == "causal":
        out_len, pad_left = (length - 1) // stride + 1, eff - 1
    else:
        raise InputError(f"the first convolution {conv.name!r} has padding {conv.padding!r}; "
                         "kernel logos support 'valid', 'same' and 'causal'.")
    bias = np.asarray(conv.bias.numpy(), np.float64) if getattr(conv, "use_bias", False) else np.zeros(w.shape[2])

    post, tensor = conv, conv_out
    if activation_name(conv.activation) == "linear":
        found = False
        for layer, inp, out, _ in calls[first + 1:]:
            if inp is not tensor:
                continue
            name = type(layer).__name__
            if name in _AFFINE:
                post, tensor = layer, out
                continue
            if name in _NONLINEAR:
                post, found = layer, True
            break
        if not found:
            logger.warning("no nonlinearity found after %s; using its linear output for kernel logos", conv.name)
    site, site_axis, chain = _ablation_site(calls, post, chan_axis)
    return _Conv(conv, post, np.ascontiguousarray(np.transpose(w, (2, 0, 1))), bias, width, stride, dil,
                 pad_left, out_len, chan_axis, pos_axis, site, tuple(chain), site_axis)


def _flat_tensors(args) -> list:
    out = []
    for a in args:
        if isinstance(a, (list, tuple)):
            out.extend(_flat_tensors(a))
        elif a is not None and hasattr(a, "shape"):
            out.append(a)
    return out


def _ablation_site(calls, post, chan_axis):
    """Follow the post-nonlinearity output through channel-wise layers (pooling, BN, dropout) that
    are its only consumer: replacing a channel by a constant before them equals replacing it by
    the constant they turn it into after them, on fewer positions."""
    idx = next(i for i, c in enumerate(calls) if c[0] is post)
    tensor, site, axis, chain = calls[idx][2], post, chan_axis, []
    for _ in range(len(calls)):
        consumers = [c for c in calls if any(t is tensor for t in c[3])]
        if len(consumers) != 1:
            break
        layer, _, out, _ = consumers[0]
        if type(layer).__name__ not in _CHANNELWISE or len(consumers[0][3]) != 1:
            break
        rank = len(out.shape)
        if rank == 2:
            axis = 1
        elif hasattr(layer, "data_format"):
            axis = 1 if layer.data_format == "channels_first" else rank - 1
        chain.append(layer)
        tensor, site = out, layer
    return site, axis, chain


# --------------------------------------------------------------------------------------------
# Kernel logos
# --------------------------------------------------------------------------------------------
def kernel_logos(model: Model, x: np.ndarray, target: int = 0, threshold: float = 0.5,
                 top_k: int | None = None, batch_size: int = 256, pseudocount: float = 1.0,
                 influence: bool = True, outputs=None, verbose: bool = False) -> FilterResult:
    """Activation PPMs, raw kernels and influence of every first-layer filter.

    Parameters
    ----------
    model : interpret.model.Model
        The wrapped model; its first convolution must read the one-hot input.
    x : ndarray, shape (N, L, 4)
        One-hot sequences, A C G T, ``L = model.seq_len``.
    target : int
        Output whose logit the influence is measured on.
    threshold : float in (0, 1]
        A position is a site of filter ``f`` when its activation exceeds ``threshold`` x the
        filter's maximum over ``x`` (and is positive). Ignored when ``top_k`` is given.
    top_k : int, optional
        Instead of a threshold, count the ``top_k`` highest-activating (positive) sites of each
        filter over ``x``.
    batch_size : int
        Sequences per forward pass (the ablation pass splits further to bound memory).
    pseudocount : float
        Total pseudocount per position, spread evenly over the 4 bases, added to the counts.
    influence : bool
        Compute the influence (one extra batched ablation pass); NaN when False.
    outputs : sequence of int, optional
        Also the influence on each of these outputs (``FilterResult.influence_outputs``), from the
        same ablation passes: a model's every output costs what one does.
    verbose : bool
        Show progress bars.

    Returns
    -------
    FilterResult
        Filters that never fire get ``n_sites`` 0 and a uniform PPM.
    """
    import tensorflow as tf

    x = _check_x(model, x)
    target = model.check_target(target)
    cols = [target] + [model.check_target(t) for t in (outputs if outputs is not None else [])]
    if top_k is None and not (0 < float(threshold) <= 1):
        raise InputError(f"threshold {threshold} must be in (0, 1]: the fraction of each filter's maximum activation.")
    if top_k is not None and (not isinstance(top_k, (int, np.integer)) or top_k < 1):
        raise InputError(f"top_k {top_k} must be a positive integer (sites per filter).")
    conv = find_first_conv(model)
    n_f, width = conv.weights.shape[0], conv.width
    capture = _capture_fn(model, conv)
    batches = [(i, min(i + batch_size, len(x))) for i in range(0, len(x), batch_size)]

    # Pass 1: max and mean of every filter (and the top-k sites), baseline logits.
    vmax = np.full(n_f, -np.inf)
    vsum = np.zeros(n_f)
    base = np.zeros((len(x), len(cols)))
    tops = None
    for i, j in _progress(batches, verbose, "filters: activations"):
        act, logits = capture(tf.constant(x[i:j]))
        act = act.numpy()                          # (B, P, F) float32
        base[i:j] = logits.numpy()[:, cols]
        vmax = np.maximum(vmax, act.max(axis=(0, 1)).astype(np.float64))
        vsum += act.sum(axis=(0, 1), dtype=np.float64)
        if top_k is not None:
            tops = _merge_top_k(tops, act, i, int(top_k))
    mean = vsum / (len(x) * conv.out_len)

    # Pass 2: site counts (threshold mode) and influence.
    counts = np.zeros((n_f, width, 4))
    n_sites = np.zeros(n_f, dtype=np.int64)
    infl = np.full((n_f, len(cols)), np.nan)
    if top_k is not None:
        counts, n_sites = _count_top_k(x, conv, tops)
    cut = _cutoffs(vmax, threshold)
    ablate = _ablation_fn(model, conv, cols) if influence else None
    if influence:
        drop = np.zeros((n_f, len(cols)))
        fill, site_size = _site_fill(model, conv, mean)
    if top_k is None or influence:
        means = tf.constant(fill.astype(np.float32)) if influence else None
        for i, j in _progress(batches, verbose, "filters: sites" + (" and influence" if influence else "")):
            xb = x[i:j]
            if top_k is None:
                act, _ = capture(tf.constant(xb))
                c, n = _count_threshold(xb, conv, act.numpy(), cut)
                counts += c
                n_sites += n
            if influence:
                per_call = max(1, _ABLATION_BUDGET // max(1, (j - i) * site_size))
                for f0 in range(0, n_f, per_call):
                    idx = tf.range(f0, min(f0 + per_call, n_f), dtype=tf.int32)
                    ablated = ablate(tf.constant(xb), means, idx).numpy()   # (n_idx, B, outputs)
                    drop[f0:f0 + len(ablated)] += (base[i:j][None] - ablated).sum(axis=1)
        if influence:
            infl = drop / len(x)

    denom = n_sites[:, None, None] + float(pseudocount)
    ppm = np.divide(counts + pseudocount / 4.0, denom, out=np.full(counts.shape, 0.25), where=denom > 0)
    ppm[n_sites == 0] = 0.25
    return FilterResult(
        ppm=ppm, weights=conv.weights, n_sites=n_sites, ic=information_content(ppm).sum(axis=1),
        max_activation=vmax, influence=infl[:, 0], mean_activation=mean, layer=conv.layer.name,
        activation_layer=conv.post.name, width=width, threshold=float("nan") if top_k is not None else float(threshold),
        top_k=None if top_k is None else int(top_k), influence_outputs=infl[:, 1:] if outputs is not None else None)


def _check_x(model: Model, x) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[2] != 4:
        raise InputError(f"sequences have shape {x.shape}; kernel logos need one-hot (N, L, 4) arrays.")
    if x.shape[1] != model.seq_len:
        raise InputError(f"sequences are {x.shape[1]} bp but the model takes {model.seq_len} bp; "
                         "trim or pad them to the model's length.")
    if len(x) == 0:
        raise InputError("no sequences given; kernel logos need at least one sequence.")
    return x.astype(np.float32, copy=False)


def _progress(items, verbose, desc):
    if not verbose:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc)


def _cutoffs(vmax: np.ndarray, threshold: float) -> np.ndarray:
    """Per-filter site cutoff: ``threshold`` x max, never below 0 (a filter that never fires has none)."""
    cut = threshold * vmax
    cut = np.where(np.isfinite(cut), cut, np.where(np.isposinf(vmax), np.inf, 0.0))
    return np.maximum(cut, 0.0)


def _capture_fn(model: Model, conv: _Conv):
    """tf.function: ``x (B, L, 4)`` → (activations ``(B, P, F)``, logits ``(B, T)``)."""
    import tensorflow as tf

    post = conv.post

    def fn(x):
        store = {}

        def hook(layer, default, *args, **kwargs):
            out = default(*args, **kwargs)
            if layer is post:
                store["act"] = out
            return out

        logits = model.forward(x, call_fn=hook)
        return _canonical(store["act"], conv), logits

    return tf.function(fn, input_signature=[tf.TensorSpec((None, model.seq_len, 4), tf.float32)], autograph=False)


def _canonical(act, conv: _Conv):
    """Captured output in its own layout → ``(B, P, F)``."""
    import tensorflow as tf

    if act.shape.rank == 4:
        squeeze = ({1, 2, 3} - {conv.channel_axis, conv.position_axis}).pop()
        act = tf.squeeze(act, axis=squeeze)
        if conv.channel_axis == 1:
            act = tf.transpose(act, (0, 2, 1))
        return act
    if conv.channel_axis == 1:
        return tf.transpose(act, (0, 2, 1))
    return act


def _ablation_fn(model: Model, conv: _Conv, cols: list):
    """tf.function: ``(x (B, L, 4), fill (F,), idx (K,))`` → logits of the outputs ``cols``,
    ``(K, B, len(cols))``, with filter ``idx[k]``'s output replaced by its mean in copy ``k``.

    The first layer runs once on the ``B`` sequences; the output of the ablation site (the
    post-nonlinearity layer, or the last channel-wise pooling layer after it) is tiled ``K``
    times inside the graph hook, with channel ``idx[k]`` set to ``fill[idx[k]]`` (the mean,
    carried through the channel-wise layers), so only the layers after it run on ``K x B`` rows.
    """
    import tensorflow as tf

    site = conv.site
    n_f = conv.weights.shape[0]

    def fn(x, means, idx):
        def hook(layer, default, *args, **kwargs):
            out = default(*args, **kwargs)
            if layer is not site:
                return out
            rank = out.shape.rank
            axis = conv.site_axis % rank
            mask = tf.one_hot(idx, n_f, dtype=out.dtype)                     # (K, F)
            shape = [-1] + [1] * rank
            shape[axis + 1] = n_f
            mask = tf.reshape(mask, shape)                                     # (K, 1, .., F, ..)
            mshape = [1] * rank
            mshape[axis] = n_f
            fill = tf.reshape(means, mshape)
            rep = out[None] * (1.0 - mask) + mask * fill[None]                 # (K, B, ...)
            return tf.reshape(rep, tf.concat([[-1], tf.shape(out)[1:]], 0))
        logits = tf.gather(model.forward(x, call_fn=hook), cols, axis=1)
        return tf.reshape(logits, (tf.shape(idx)[0], tf.shape(x)[0], len(cols)))

    spec = [tf.TensorSpec((None, model.seq_len, 4), tf.float32), tf.TensorSpec((n_f,), tf.float32),
            tf.TensorSpec((None,), tf.int32)]
    return tf.function(fn, input_signature=spec, autograph=False)


def _site_fill(model: Model, conv: _Conv, mean: np.ndarray):
    """Per-channel value at the ablation site when every filter outputs its mean, ``(F,)``, and
    the number of values per sequence at the site."""
    import tensorflow as tf

    store = {}

    def hook(layer, default, *args, **kwargs):
        out = default(*args, **kwargs)
        if layer is conv.post:
            store["post"] = out
        if layer is conv.site:
            store["site"] = out
        return out

    model.forward(np.zeros((1, model.seq_len, 4), np.float32), call_fn=hook)
    post_shape = [1] * store["post"].shape.rank
    post_shape[conv.channel_axis] = len(mean)
    h = tf.ones_like(store["post"]) * tf.reshape(tf.constant(mean, store["post"].dtype), post_shape)
    for layer in conv.site_chain:
        h = layer(h, training=False) if getattr(layer, "_call_has_training_arg", False) else layer(h)
    h = np.moveaxis(h.numpy(), conv.site_axis, -1).reshape(-1, len(mean))
    return h.mean(axis=0).astype(np.float64), int(np.prod(store["site"].shape[1:]))


def _windows(x: np.ndarray, conv: _Conv) -> np.ndarray:
    """One-hot window under every output position's receptive field, ``(B, P, W, 4)`` (a view-based gather).

    Positions outside the sequence (padding) are 0.25 for every base.
    """
    eff = (conv.width - 1) * conv.dilation + 1
    span = (conv.out_len - 1) * conv.stride + eff
    right = max(span - conv.pad_left - x.shape[1], 0)
    xp = np.pad(x, ((0, 0), (conv.pad_left, right), (0, 0)), constant_values=0.25)
    starts = np.arange(conv.out_len) * conv.stride
    offs = np.arange(conv.width) * conv.dilation
    return xp[:, starts[:, None] + offs[None, :], :]


def _count_threshold(x: np.ndarray, conv: _Conv, act: np.ndarray, cut: np.ndarray):
    """Counts ``(F, W, 4)`` and site numbers ``(F,)`` for sites with ``act > cut``."""
    mask = act > cut.astype(act.dtype)                   # (B, P, F)
    win = _windows(x, conv)                              # (B, P, W, 4)
    b, p, w, _ = win.shape
    m = mask.reshape(b * p, -1).astype(np.float32)
    counts = m.T @ win.reshape(b * p, w * 4)
    return counts.reshape(-1, w, 4).astype(np.float64), mask.sum(axis=(0, 1)).astype(np.int64)


def _merge_top_k(tops, act: np.ndarray, offset: int, k: int):
    """Keep the ``k`` highest positive activations per filter: (values (F, k), seq (F, k), pos (F, k))."""
    b, p, n_f = act.shape
    flat = act.reshape(b * p, n_f).T                     # (F, B*P)
    kk = min(k, flat.shape[1])
    idx = np.argpartition(-flat, kk - 1, axis=1)[:, :kk]
    vals = np.take_along_axis(flat, idx, axis=1)
    seq, pos = idx // p + offset, idx % p
    if tops is not None:
        vals = np.concatenate([tops[0], vals], axis=1)
        seq = np.concatenate([tops[1], seq], axis=1)
        pos = np.concatenate([tops[2], pos], axis=1)
        if vals.shape[1] > k:
            keep = np.argpartition(-vals, k - 1, axis=1)[:, :k]
            vals, seq, pos = (np.take_along_axis(a, keep, axis=1) for a in (vals, seq, pos))
    return vals, seq, pos


def _count_top_k(x: np.ndarray, conv: _Conv, tops):
    vals, seq, pos = tops
    n_f = vals.shape[0]
    counts = np.zeros((n_f, conv.width, 4))
    n_sites = np.zeros(n_f, dtype=np.int64)
    eff = (conv.width - 1) * conv.dilation + 1
    span = (conv.out_len - 1) * conv.stride + eff
    right = max(span - conv.pad_left - x.shape[1], 0)
    offs = np.arange(conv.width) * conv.dilation
    for f in range(n_f):
        ok = vals[f] > 0
        if not ok.any():
            continue
        s, p = seq[f, ok], pos[f, ok]
        xp = np.pad(x[np.unique(s)], ((0, 0), (conv.pad_left, right), (0, 0)), constant_values=0.25)
        rows = np.searchsorted(np.unique(s), s)
        win = xp[rows[:, None], (p * conv.stride)[:, None] + offs[None, :]]   # (k, W, 4)
        counts[f] = win.sum(axis=0)
        n_sites[f] = int(ok.sum())
    return counts, n_sites
