"""DeepLIFT rules on a Keras graph, as TensorFlow custom gradients.

The engine under :class:`interpret.attribution.DeepShap`: which layers have which rule
(:data:`LINEAR_LAYERS`, :data:`ELEMENTWISE_LAYERS`, :data:`MAXPOOL_LAYERS`,
:data:`ELEMENTWISE_ACTIVATIONS`), the two-pass recorder (:class:`Recorder`: pass 1 records the
inputs and outputs of every nonlinear operation on ``[x; refs]``, pass 2 replays the graph on
``N * K`` rows with the DeepLIFT multipliers as gradients), the rescale and cross-max rules
(fused and compiled with XLA where that is measured faster), and the GEMM input gradient of
stride-1 first-layer convolutions that the gradient methods share. Recurrent layers
(:data:`interpret.attribution.recurrent.RECURRENT_LAYERS`) are recomputed by :mod:`interpret.attribution.recurrent`: pass 1
records every gate activation and every product of two input-dependent tensors; pass 2 replays the
recurrence as a linear one whose coefficients are their multipliers (rescale rule for the gates, the
product's exact split for the products), so its gradient carries DeepLIFT's multipliers through.

Three loops run as numba kernels inside the graph (``tf.numpy_function``), where XLA measured
3-6x slower: the maximum and first argmax of global max pooling of a ReLU (or of no
activation); the input gradient of a first-layer convolution below a global max pool,
which has at most two non-zeros per channel (a scatter of kernels instead of a GEMM over every
position); and, below a max pool over windows, DeepSHAP's hypothetical contributions straight
from the pool's sparse gradient (:func:`_window_hyp`: the (pairs, L, 4) input gradient is never
built; on the speed benchmark's deep model that step took a third of DeepSHAP's time as
densify, GEMM and overlap-add). All return small arrays; a kernel that returned arrays the size
of a layer's output would pay for fresh memory pages on every batch (measured: 20% of the time in
page faults).

Nothing here knows about sequences, references or batches; :mod:`interpret.attribution` does.
"""

from __future__ import annotations

import functools
import os
import threading
from typing import NamedTuple

import numpy as np
from numba import njit

from ..errors import InputError
from ..model import Model, activation_name, linear_activation
from .recurrent import RECURRENT_LAYERS, activations, map_entries, unsupported
from .recurrent import forward as recurrent_forward, replay as recurrent_replay


def _tf():
    import tensorflow as tf

    return tf


def _no_autograph(fn):
    # The recurrent scans have no tensor-dependent Python control flow: converting them is wasted time.
    return _tf().autograph.experimental.do_not_convert(fn)


#: Layers whose DeepLIFT multiplier is their ordinary gradient (linear at inference).
LINEAR_LAYERS = (
    "InputLayer", "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "DepthwiseConv1D",
    "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D", "Dense", "EinsumDense", "Flatten", "Reshape",
    "Permute", "ZeroPadding1D", "ZeroPadding2D", "Cropping1D", "Cropping2D", "UpSampling1D", "BatchNormalization",
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianDropout", "GaussianNoise", "AlphaDropout",
    "ActivityRegularization", "Add", "Subtract", "Average", "Concatenate", "AveragePooling1D",
    "AveragePooling2D", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "Identity", "Rescaling",
)
#: Elementwise nonlinear layers (rescale rule).
ELEMENTWISE_LAYERS = ("ReLU", "LeakyReLU", "ELU", "PReLU", "Activation")
#: Max pooling layers (cross-max rule).
MAXPOOL_LAYERS = ("MaxPooling1D", "MaxPooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D")
_GLOBAL_MAXPOOL = ("GlobalMaxPooling1D", "GlobalMaxPooling2D")
#: Activation functions handled by the rescale rule (built into a layer or an ``Activation``).
ELEMENTWISE_ACTIVATIONS = (
    "relu", "sigmoid", "tanh", "softplus", "softsign", "elu", "selu", "gelu", "exponential", "leaky_relu",
    "relu6", "silu", "swish", "hard_sigmoid", "hard_silu", "hard_swish", "mish", "log_sigmoid", "celu",
    "sparse_plus", "squareplus", "hard_tanh", "tanh_shrink", "soft_shrink", "hard_shrink",
)
_RESCALE_EPS = 1e-6   # |z(x) - z(r)| below this: plain gradient (rescale rule)
_MAXPOOL_EPS = 1e-10  # input change treated as 0 by the cross-max rule
_SELECT_WINDOW = 8  # max-pool windows up to this size: values at the argmaxes selected, not gathered


# --------------------------------------------------------------------------------------
# Which rule each layer gets
# --------------------------------------------------------------------------------------
def _kind(layer) -> str:
    """How DeepLIFT treats ``layer``: 'linear', 'act' (built-in activation), 'elementwise', 'maxpool',
    'recurrent' (unrolled by :mod:`interpret.attribution.recurrent`: rescale rule on gates, product rule on products)."""
    cls = type(layer).__name__
    if cls in MAXPOOL_LAYERS:
        return "maxpool"
    if cls in RECURRENT_LAYERS:
        why = unsupported(layer)
        if why:
            _unsupported(layer, f"{cls} with {why}")
        for act in activations(layer):
            if activation_name(act) not in ELEMENTWISE_ACTIVATIONS + ("linear",):
                _unsupported(layer, f"{cls} with activation '{activation_name(act)}' (not elementwise)")
        return "recurrent"
    if cls in ELEMENTWISE_LAYERS:
        if cls == "Activation" and activation_name(layer.activation) not in ELEMENTWISE_ACTIVATIONS + ("linear",):
            _unsupported(layer, f"activation '{activation_name(layer.activation)}' (not elementwise)")
        return "elementwise"
    if cls in LINEAR_LAYERS:
        act = getattr(layer, "activation", None)
        if act is None or activation_name(act) == "linear":
            return "linear"
        if activation_name(act) not in ELEMENTWISE_ACTIVATIONS:
            _unsupported(layer, f"activation '{activation_name(act)}' (not elementwise)")
        return "act"
    _unsupported(layer, type(layer).__name__)


class Unsupported(InputError):
    """DeepSHAP has no rule for part of the model; ``what`` names it (e.g. "layer 'lstm' (LSTM)")."""

    def __init__(self, what: str, message: str):
        super().__init__(message)
        self.what = what


def _unsupported(layer, what):
    name = f"layer '{getattr(layer, 'name', layer)}' ({what})"
    raise Unsupported(name, f"DeepSHAP has no rule for {name}; explain this model with integrated gradients "
                            "(--methods ig, or IntegratedGradients) instead.")


def unsupported_part(model, output: str = "logit") -> str | None:
    """What DeepSHAP has no rule for in ``model`` (e.g. "layer 'lstm' (LSTM)"), or ``None`` if it covers it all."""
    try:
        check_deepshap_support(model, output)
    except Unsupported as exc:
        return exc.what
    return None


def check_deepshap_support(model, output: str = "logit") -> None:
    """Raise :class:`InputError` naming the first layer DeepSHAP cannot handle, if any."""
    import keras

    model = model if isinstance(model, Model) else Model.from_keras(model)
    final = model._final_layer
    stripped = output == "logit" and model.output_activation in ("sigmoid", "softmax")
    if output == "probability" and model.output_activation == "softmax":
        raise Unsupported("the final softmax of the probability",
                          "DeepSHAP has no rule for the final softmax; explain the logits (output='logit', "
                          "the default) or use integrated gradients for probabilities.")

    def walk(m):
        for layer in m.layers:
            if isinstance(layer, keras.Model):
                walk(layer)
            elif layer is final and stripped:
                if type(layer).__name__ not in ("Softmax", "Activation"):
                    with linear_activation(layer):
                        _kind(layer)
            else:
                _kind(layer)

    walk(model.keras_model)


class Recorder:
    """``call_fn`` hooks for the two DeepSHAP passes (see the module docstring)."""

    def __init__(self, tap=None):
        self.records = []
        # (n, k): sequences and references per sequence, needed by the replay; set to ints before
        # pass 1, global max pooling also records there the values the replay would otherwise read back
        self.replay = None
        self.i = 0
        self.rescaled = {}  # id(rescale op output) -> (output, its input, record)
        # (layer, fn): in the replay, the layer's linear output z (before any built-in activation)
        # becomes fn(z); a watched ``z + 0`` there gives the multipliers of that layer's output
        self.tap = tap
        self.activated = {}  # id(output of a recorded elementwise operation) -> its record index (pass 1)
        self.pools = {}  # record index of a max pool over whole windows -> _Pool (pass 1)
        self.sparse = {}  # id(gradient of a whole-window max pool's input) -> (gradient, its non-zeros, w) (pass 2)
        self.compiled = {}  # (helper, activation) -> helper compiled for that activation
        # pass 2: ids of the tensors the replay's layers returned, and the layers that read anything
        # else (the model's input); with ``hyp_refs`` ((n, k, L, C_in) references) set, the
        # hypothetical contributions (n, L, C_in) when :meth:`first_layer_grad` could take them
        self.produced = set()
        self.input_layers = []
        self.hyp_refs = None
        self.hyp = None

    # pass 1: plain forward on [x; refs], remembering inputs/outputs of nonlinear operations
    def record(self, layer, default, *args, **kwargs):
        kind = _kind(layer)
        if kind == "linear":
            return default(*args, **kwargs)
        if kind == "recurrent":
            y, trace = _no_autograph(recurrent_forward)(layer, args[0])
            self.records.append(("recurrent", trace))
            return y
        if kind == "act":
            act = layer.activation
            with linear_activation(layer):
                z = default(*args, **kwargs)
            h = act(z)
            self.activated[id(h)] = len(self.records)
            self.records.append(("elementwise", z, h, act, False))
            return h
        z = args[0]
        windows = _pool_windows(layer, z.shape) if kind == "maxpool" and not kwargs else None
        if windows is not None:
            h = self._record_pool(layer, default, z, *windows)
        else:
            h = default(*args, **kwargs)
        fn = (lambda t: default(t)) if not kwargs else (lambda t: default(t, **kwargs))
        if kind == "elementwise":
            self.activated[id(h)] = len(self.records)
        self.records.append((kind, z, h, fn, layer))
        return h

    def _record_pool(self, layer, default, z, length, w):
        """Pass 1 of a max pool over whole windows. A pool of a recorded activation's output reads
        the pre-activation ``a`` and applies the activation on the fly (its output is then not
        needed). Global pooling of a ReLU (or of no activation): maximum, first argmax and the
        cross-max rule's values in one numba pass. Small windows of a ReLU: with (n, k) known
        (ints in :attr:`replay`), maximum, argmaxes and the cross-max multipliers in one XLA pass
        (:func:`_window_max_rule`); without, TensorFlow's max pool of ``a`` (max ReLU(a) = ReLU(max
        a)), the replay finding the argmaxes. Other activations: maximum and argmax compiled with XLA."""
        tf = _tf()
        src = self.activated.get(id(z))
        act_rec = self.records[src] if src is not None and self.records[src][2] is z else None
        a = z if act_rec is None else act_rec[1]
        act = None if act_rec is None else _Act(act_rec)
        out_shape = _shape([-1, *layer.compute_output_shape(tuple(z.shape))[1:]], z)
        a3 = tf.reshape(a, [-1, length, a.shape[-1]])
        relu = act is None or act.relu
        argmax = a_top = top_a = None
        cross = ()
        pairs = self.replay if self.replay and all(isinstance(v, int) for v in self.replay) else None
        rule = None
        if relu and w <= _SELECT_WINDOW and pairs is not None:
            top_a, *rule = self._compiled(_window_max_rule, act)(a3, *pairs, length // w, w, act is not None)
            top = top_a if act is None else tf.nn.relu(top_a)
        elif relu and w <= _SELECT_WINDOW:
            top_a = default(a)
            top = top_a if act is None else tf.nn.relu(top_a)
        elif relu:
            top, argmax, a_top, *cross = _window_max_numba(a3, length // w, w, act is not None, pairs)
        else:
            top, argmax, a_top = self._compiled(_window_max, act)(a3, length // w, w)
        self.pools[len(self.records)] = _Pool(argmax, a_top, tuple(cross) or None, top_a, a, act,
                                              src if act_rec is not None else None, length, w,
                                              None if rule is None else (*rule, act is not None))
        return tf.reshape(top, out_shape)

    def _compiled(self, helper, act):
        """``helper`` (an :class:`_xla`) compiled with ``act`` (an :class:`_Act` or None) fixed."""
        key = (helper, None if act is None else act.key)
        if key not in self.compiled:
            self.compiled[key] = helper.bind(act)
        return self.compiled[key]

    # pass 2: replay on N*K rows with DeepLIFT multipliers as gradients
    def replay_hook(self, layer, default, *args, **kwargs):
        if any(id(a) not in self.produced for a in args):
            self.input_layers.append(layer)
        out = self._replay(layer, default, *args, **kwargs)
        self.produced.add(id(out))
        return out

    def _replay(self, layer, default, *args, **kwargs):
        kind = _kind(layer)
        on_grad = functools.partial(self.first_layer_grad, layer) if self.hyp_refs is not None else None
        if kind == "linear":
            return self._tapped(layer, _fast_conv(layer, default, *args, sparse=self.sparse, on_grad=on_grad,
                                                  **kwargs))
        if kind == "recurrent":
            trace = self.records[self.i][1]
            self.i += 1
            coefs = map_entries(trace, lambda e: _recurrent_coefficients(e, *self.replay))
            return _no_autograph(recurrent_replay)(layer, args[0], coefs)
        if kind == "act":
            with linear_activation(layer):
                z = self._tapped(layer, _fast_conv(layer, default, *args, sparse=self.sparse, on_grad=on_grad,
                                                   **kwargs))
        else:
            z = args[0]
        rec = self.records[self.i]
        self.i += 1
        if rec[0] == "elementwise":
            out = _rescale_op(z, rec, *self.replay)
            self.rescaled[id(out)] = (out, z, rec)
            return out
        pool = self.pools.get(self.i - 1)
        if pool is not None:
            return self._replay_pool(z, rec, pool)
        return _crossmax_op(z, rec, *self.replay)

    def first_layer_grad(self, layer, up, kernel):
        """Called by a convolution's input gradient in the replay (``up``: its upstream gradient,
        ``kernel`` (J, C_in, C_out)). When that convolution is the only layer reading the model's
        input and ``up`` comes from a max pool over windows of several positions (its non-zeros in
        :attr:`sparse`), sets :attr:`hyp` to the hypothetical contributions averaged over the
        references, by :func:`_window_hyp`: the input gradient of every pair is then never built."""
        hit = self.sparse.get(id(up))
        if (self.input_layers != [layer] or hit is None or hit[0] is not up or hit[1][0].shape[2] == 1
                or self.hyp is not None):
            return
        self.hyp = _window_hyp(hit[1], hit[2], self.hyp_refs, kernel, layer.padding)

    def _tapped(self, layer, z):
        return self.tap[1](z) if self.tap is not None and layer is self.tap[0] else z

    def _replay_pool(self, z, rec, pool):
        """Replay of a max pool over whole windows: the cross-max rule, fused with the rescale rule
        of the activation whose pre-activation pass 1 pooled (see :func:`_window_crossmax_op`)."""
        src = self.rescaled.get(id(z))
        fused = (pool.act is not None and src is not None and src[0] is z
                 and src[2] is self.records[pool.act_record])
        def multipliers(helper, *args):
            """``helper`` (:func:`_window_multipliers` or :func:`_window_rule`) for this pool."""
            return self._compiled(helper, pool.act)(*args, fused)

        if pool.rule is not None and pool.rule[4] != fused:
            pool = pool._replace(rule=None)
        return _window_crossmax_op(src[1] if fused else z, rec, pool, multipliers, *self.replay, self.sparse)


def _recurrent_coefficients(entry, n, k):
    """DeepLIFT multipliers of one operation of a recurrent layer's trace (:mod:`interpret.attribution.recurrent`),
    recorded on ``[x; refs]``, for the ``n * k`` replay rows.

    ``("act", fn, z, h)``: the rescale rule, as for any elementwise nonlinearity. ``("mul", a, b)``:
    the product's Shapley split, ``a(x) b(x) - a(r) b(r) = (b(x) + b(r)) / 2 * (a(x) - a(r)) +
    (a(x) + a(r)) / 2 * (b(x) - b(r))``, exact like the rescale rule (treating the gate as a
    weight, or the plain gradient, leaves a remainder and breaks completeness).
    """
    tf = _tf()
    if entry[0] == "act":
        _, fn, z, h = entry
        zx, zr, hx, hr, gx = _rescale_inputs(("elementwise", z, h, fn, False), n, k)
        return _flat(_rescale_grad(tf.ones_like(zr), zx, zr, hx, hr, gx))
    _, a, b = entry
    ax, ar = _split(a, n, k)
    bx, br = _split(b, n, k)
    return _flat((bx + br) / 2), _flat((ax + ar) / 2)


def gradient_hook(layer, default, *args, **kwargs):
    """``call_fn`` for plain gradients: stride-1 convolutions get the GEMM input gradient."""
    cls = type(layer).__name__
    act = getattr(layer, "activation", None)
    if cls not in ("Conv1D", "Conv2D"):
        return default(*args, **kwargs)
    if act is None or activation_name(act) == "linear":
        return _fast_conv(layer, default, *args, **kwargs)
    with linear_activation(layer):
        z = _fast_conv(layer, default, *args, **kwargs)
    return act(z)


def tapped_gradient_hook(layer, fn):
    """:func:`gradient_hook` with ``layer``'s linear output ``z`` (before its built-in activation)
    replaced by ``fn(z)``: a watched ``z + 0`` there gives the gradient of that output."""
    def hook(lay, default, *args, **kwargs):
        if lay is not layer:
            return gradient_hook(lay, default, *args, **kwargs)
        act = getattr(lay, "activation", None)
        with linear_activation(lay):
            z = fn(gradient_hook(lay, default, *args, **kwargs))
        return z if act is None else act(z)

    return hook


class _xla:
    """Compile an elementwise helper with XLA so its many big elementwise ops fuse into one pass.

    A class, not a closure: AutoGraph caches converted functions by code object, and one shared
    ``wrapper`` closure for every helper could be run with another helper's closure.
    """

    def __init__(self, fn):
        self.fn = fn
        self.compiled = None
        self.__doc__ = fn.__doc__

    def __call__(self, *args):
        if self.compiled is None:
            self.compiled = _jit(self.fn)
        return self.compiled(*args)

    def bind(self, act):
        """The helper compiled with its first argument, an activation (:class:`_Act` or None), fixed."""
        return _jit(functools.partial(self.fn, act))


def _jit(fn):
    tf = _tf()
    return tf.function(tf.autograph.experimental.do_not_convert(fn), jit_compile=True, reduce_retracing=True)


class _Act:
    """A recorded elementwise activation as the compiled pooling helpers apply it: ``fn`` and a
    ``key`` that stays the same from one trace to the next (the activation function, or the
    activation layer, whose recorded ``fn`` is a new closure each trace)."""

    def __init__(self, rec):
        self.fn = rec[3]
        self.key = rec[3] if rec[4] is False else rec[4]
        self.relu = _is_relu(rec)


def _is_relu(rec) -> bool:
    """Whether a recorded elementwise operation is exactly ``max(z, 0)`` (the numba kernels' case)."""
    import keras

    fn, layer = rec[3], rec[4]
    relus = (keras.activations.relu, _tf().nn.relu)
    if layer is False:  # a layer's built-in activation
        return any(fn is r for r in relus)
    if type(layer).__name__ == "Activation":
        return any(layer.activation is r for r in relus)
    return (type(layer).__name__ == "ReLU" and layer.max_value is None and float(layer.negative_slope) == 0
            and float(layer.threshold) == 0)


@njit(cache=True, nogil=True)
def _window_max_kernel(a, p, w, relu, n, k):
    """:func:`_window_max` for the identity or ReLU (``relu``): a (B, L, C) -> maximum, first argmax
    (int32) and ``a`` there, each (B, p, C). One pass at memory speed; XLA's fused reductions
    measured 3-6x slower on these shapes.

    With ``n > 0`` the rows are ``[x; refs]``, ``n`` sequences then ``k`` references of each (in
    order), and two more outputs (B - n, p, C) give each reference's ``a`` at its sequence's argmax
    and its sequence's ``a`` at the reference's argmax (the cross-max rule reads both)."""
    b_, _, c_ = a.shape
    top = np.empty((b_, p, c_), np.float32)
    idx = np.zeros((b_, p, c_), np.int32)
    a_top = np.empty((b_, p, c_), np.float32)
    m = b_ - n if n > 0 else 0
    ar_px = np.empty((m, p, c_), np.float32)
    ax_pr = np.empty((m, p, c_), np.float32)
    zero = np.float32(0)
    for b in range(b_):
        for q in range(p):
            t = top[b, q]  # row views: the channel loops vectorize
            ix = idx[b, q]
            at = a_top[b, q]
            row = a[b, q * w]
            for c in range(c_):
                v = row[c]
                t[c] = max(v, zero) if relu else v
                at[c] = v
            for i in range(1, w):
                row = a[b, q * w + i]
                for c in range(c_):
                    v = row[c]
                    h = max(v, zero) if relu else v
                    gt = h > t[c]  # strictly: ties keep the first position
                    t[c] = h if gt else t[c]
                    ix[c] = i if gt else ix[c]
                    at[c] = v if gt else at[c]
            if n > 0 and b >= n:  # x rows come first: their argmaxes are known
                s = (b - n) // k
                for c in range(c_):
                    ar_px[b - n, q, c] = a[b, q * w + idx[s, q, c], c]
                    ax_pr[b - n, q, c] = a[s, q * w + ix[c], c]
    return top, idx, a_top, ar_px, ax_pr


def _window_max_numba(a, p, w, relu, pairs):
    """:func:`_window_max_kernel` in the graph: ``(top, argmax, a_top)``, and with ``pairs = (n, k)``
    also the two cross values."""
    tf = _tf()
    n, k = pairs if pairs is not None else (0, 1)
    out = tf.numpy_function(lambda t: _window_max_kernel(t, p, w, relu, n, k), [a],
                            [tf.float32, tf.int32, tf.float32, tf.float32, tf.float32], stateful=False)
    out = out if n else out[:3]
    rows = a.shape[0]
    for i, t in enumerate(out):
        t.set_shape([None if rows is None else rows - (n if i > 2 else 0), p, a.shape[-1]])
    return out


class _Pool(NamedTuple):
    """Pass 1 of a max pool over whole windows (see :func:`_pool_windows`)."""

    argmax: object  # (N', P, C) int32: first argmax of every window, its position in the window, or None
    a_top: object  # (N', P, C): ``a`` there, or None
    cross: object  # (a_r at x's argmax, a_x at r's argmax), each (n * k, P, C), or None (not recorded)
    top_a: object  # instead of the three above: the windows' maximum of ``a`` (ReLU or identity pools)
    a: object  # the pooled tensor on [x; refs], or the pre-activation of the activation it is the output of
    act: object  # that activation (:class:`_Act`), or None
    act_record: object  # index of the activation's record, or None
    length: int  # positions pooled
    w: int  # positions per window
    # (px, pr, m_x, m_r, rescale): the argmaxes and multipliers of :func:`_window_rule`, the rescale
    # rule of ``act`` included if ``rescale``, when pass 1 knew (n, k); or None
    rule: object = None


def _gemm_conv_ok(layer, inp) -> bool:
    """Stride-1, undilated, ungrouped Conv1D / Conv2D(1, k) on height-1 input, channels last, with
    ``kernel width * input channels <= filters`` (e.g. a first layer on one-hot input; measured
    slower than TensorFlow's own input gradient for 64 -> 64 channels)."""
    cls = type(layer).__name__
    if cls not in ("Conv1D", "Conv2D") or inp.shape[-2] is None:
        return False
    ks = tuple(layer.kernel_size)
    if cls == "Conv2D" and (ks[0] != 1 or inp.shape.rank != 4 or inp.shape[1] != 1):
        return False
    j, c_in, c_out = int(ks[-1]), inp.shape[-1], layer.filters
    if c_in is None or j * c_in > c_out:  # the GEMM's (L, J, C_in) product would outweigh the upstream
        return False
    return (all(s == 1 for s in layer.strides) and all(d == 1 for d in layer.dilation_rate)
            and getattr(layer, "groups", 1) == 1 and layer.padding in ("same", "valid")
            and getattr(layer, "data_format", "channels_last") == "channels_last")


def _conv_input_grad(up, kernel, length_in, padding):
    """Gradient of a stride-1 1-D convolution w.r.t. its input, as one GEMM and an overlap-add.

    ``up`` (B, L_out, C_out), ``kernel`` (J, C_in, C_out) -> (B, L_in, C_in). Faster on CPU than
    ``Conv2DBackpropInput`` when C_in is small (the one-hot input has 4 channels).
    """
    tf = _tf()
    j, c_in, c_out = kernel.shape
    b = tf.shape(up)[0]
    w = tf.reshape(kernel, [j * c_in, c_out])
    p = tf.matmul(tf.reshape(up, [-1, c_out]), w, transpose_b=True)
    p = tf.reshape(p, [b, -1, j, c_in])  # (B, L_out, J, C_in)
    pad_left = (j - 1) // 2 if padding == "same" else 0
    return _overlap_add(p, length_in, length_in if padding == "same" else length_in - j + 1, pad_left, j)


@_xla
def _overlap_add(p, length_in, length_out, pad_left, j):
    """``out[:, l] = sum_i p[:, l + pad_left - i, i]`` (zero outside); p (B, L_out, J, C) -> (B, L_in, C).

    Each tap's rows are sliced to the valid range and padded on their own: one pad of ``p`` for
    all taps is a copy XLA does not fuse into the sum.
    """
    tf = _tf()
    terms = []
    for i in range(j):
        r0, r1 = max(0, pad_left - i), min(length_out, length_in + pad_left - i)  # rows of p tap i reads
        l0 = r0 + i - pad_left  # where they land
        terms.append(tf.pad(p[:, r0:r1, i], [[0, 0], [l0, length_in - l0 - (r1 - r0)], [0, 0]]))
    return tf.add_n(terms)


def _sparse_conv_input_grad(nonzeros, kernel, length_in, padding):
    """:func:`_conv_input_grad` of the gradient a global max pool sends back: at most two non-zeros
    per (pair, channel), ``nonzeros = (px (n, 1, 1, C), val_x, pr, val_r (n, k, 1, C))`` (positions
    in the convolution's output). Each non-zero adds its value times the channel's kernel at its
    position (a scatter of ``2 C`` kernels per pair instead of a GEMM over every position)."""
    tf = _tf()
    px, val_x, pr, val_r = nonzeros
    j, c_in, c_out = kernel.shape
    pos = tf.reshape(tf.stack([tf.broadcast_to(px, tf.shape(pr)), pr], 2), [-1, 2, c_out])  # (n * k, 2, C)
    val = tf.reshape(tf.stack([val_x, val_r], 2), [-1, 2, c_out])
    pad_left = (j - 1) // 2 if padding == "same" else 0

    def scatter(p, v, kern):  # the kernel as (C, J * C_in) rows, transposed here (a few thousand floats)
        rows = np.ascontiguousarray(kern.reshape(j * c_in, c_out).T)
        return _scatter_kernels(p, v, rows, length_in, pad_left, j)

    g = tf.numpy_function(scatter, [pos, val, kernel], tf.float32, stateful=False)
    g.set_shape([pos.shape[0], length_in, c_in])
    return g


@njit(cache=True, nogil=True)
def _scatter_kernels(pos, val, w, length_in, pad_left, j):
    """``out[b, l] = sum_{s, c} val[b, s, c] * w[c].reshape(j, C_in)[l - pos[b, s, c] + pad_left]``
    (kernel rows outside ``0 <= l < length_in`` dropped): pos, val (B, S, C), w (C, j * C_in) ->
    (B, length_in, C_in)."""
    b_, s_, c_ = pos.shape
    c_in = w.shape[1] // j
    buf = np.empty((length_in + 2 * j) * c_in, np.float32)  # one pair's input gradient, j rows of margin
    out = np.empty((b_, length_in, c_in), np.float32)
    for b in range(b_):
        buf[:] = 0
        for s in range(s_):
            for c in range(c_):
                v = val[b, s, c]
                if v != 0:
                    o = (pos[b, s, c] - pad_left + j) * c_in
                    for t in range(j * c_in):
                        buf[o + t] += v * w[c, t]
        for l in range(length_in):
            for i in range(c_in):
                out[b, l, i] = buf[(l + j) * c_in + i]
    return out


def _window_hyp(nonzeros, w, refs, kernel, padding):
    """Hypothetical contributions averaged over the references, straight from the sparse gradient
    that a max pool over windows sends to a first-layer convolution (:func:`_window_hyp_kernel`).

    ``nonzeros``: ``(px (n, 1, P, C), m_x, pr, m_r, up (n, k, P, C))`` (positions within each window
    of ``w`` positions; the gradient there is ``up * m_x`` and ``up * m_r``), ``refs`` (n, k, L, C_in),
    ``kernel`` (J, C_in, C) -> (n, L, C_in), what :func:`hyp_graph` returns from the input gradient of
    every pair.
    """
    tf = _tf()
    px, m_x, pr, m_r, up = nonzeros
    n, k, p, c = m_x.shape
    length_in, c_in = refs.shape[2], refs.shape[3]
    j = kernel.shape[0]
    pad_left = (j - 1) // 2 if padding == "same" else 0
    length_out = length_in if padding == "same" else length_in - j + 1

    def host(px, m_x, pr, m_r, up, refs, kern):
        # kernel rows flipped and laid out (C_in, J * C): one position's input gradient at base b
        # is the dot product of row b with J consecutive rows of the output gradient
        kflip = np.ascontiguousarray(kern[::-1].transpose(1, 0, 2).reshape(c_in, -1))
        hyp = np.empty((n, length_in, c_in), np.float32)
        cuts = np.linspace(0, n, min(n, _cores()) + 1).astype(int)
        threads = [threading.Thread(target=_window_hyp_kernel, args=(px[:, 0], m_x, pr, m_r, up, refs, kflip,
                                                                      length_out, pad_left, w, a, b, hyp))
                   for a, b in zip(cuts[:-1], cuts[1:])]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return hyp

    with tf.name_scope("window_hyp"):
        hyp = tf.numpy_function(host, [px, m_x, pr, m_r, up, refs, kernel], tf.float32, stateful=False)
    hyp.set_shape([n, length_in, c_in])
    return hyp


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@njit(cache=True, nogil=True, boundscheck=False, fastmath={"reassoc", "contract"})
def _window_hyp_kernel(px, m_x, pr, m_r, up, refs, kflip, length_out, pad_left, w, s0, s1, hyp):
    """Sequences ``s0 <= s < s1`` of :func:`_window_hyp`: ``px`` (n, P, C) int32, ``m_x``, ``pr``, ``m_r``,
    ``up`` (n, k, P, C), ``refs`` (n, k, L, C_in), ``kflip`` (C_in, J * C) -> ``hyp`` (n, L, C_in), written.

    Per pair, the output gradient ``d`` (rows of C channels, J - 1 rows of zeros on each side) is
    built from its two non-zeros per window and channel; the input gradient at the reference's base
    is a dot product of J * C floats per position (one base of a one-hot reference; every non-zero
    base otherwise), which :func:`hyp_graph` subtracts; ``d`` summed over the references gives the
    mean input gradient at every base. A quarter of the GEMM's multiply-adds, and no (n * k, L, C)
    tensor in memory. Slices with non-negative offsets throughout: numba's wraparound check on a
    possibly negative index stops LLVM vectorizing the dot products (measured 6x slower).
    """
    n, k, p, c_ = m_x.shape
    c_in, jc = kflip.shape
    l_in = refs.shape[2]
    m = jc // c_ - 1
    span = p * w * c_
    d = np.zeros((length_out + 2 * m) * c_, np.float32)
    dbar = np.zeros((length_out + 2 * m) * c_, np.float32)
    tsum = np.empty(l_in, np.float32)
    for s in range(s0, s1):
        dbar[:] = 0
        tsum[:] = 0
        xi_s = px[s]
        for r in range(k):
            dd = d[m * c_:m * c_ + span]
            mx_r, ri_r, mr_r, up_r = m_x[s, r], pr[s, r], m_r[s, r], up[s, r]
            for q in range(p):
                xi, mx, ri, mr, u = xi_s[q], mx_r[q], ri_r[q], mr_r[q], up_r[q]
                for i in range(w):
                    row = dd[(q * w + i) * c_:(q * w + i + 1) * c_]
                    slot = np.int32(i)  # int32 like the argmaxes: a 64-bit compare halves the vector width
                    for f in range(c_):
                        row[f] = ((u[f] * mx[f] if xi[f] == slot else np.float32(0))
                                  + (u[f] * mr[f] if ri[f] == slot else np.float32(0)))
            db = dbar[m * c_:m * c_ + span]
            for e in range(span):
                db[e] += dd[e]
            ref = refs[s, r]
            for i in range(l_in):
                win = d[(i + pad_left) * c_:(i + pad_left) * c_ + jc]
                t = np.float32(0)
                for b in range(c_in):
                    v = ref[i, b]
                    if v != 0:
                        kb = kflip[b]
                        u = np.float32(0)
                        for e in range(jc):
                            u += kb[e] * win[e]
                        t += v * u
                tsum[i] += t
        for i in range(l_in):
            win = dbar[(i + pad_left) * c_:(i + pad_left) * c_ + jc]
            for b in range(c_in):
                kb = kflip[b]
                u = np.float32(0)
                for e in range(jc):
                    u += kb[e] * win[e]
                hyp[s, i, b] = (u - tsum[i]) / k


def _fast_conv(layer, default, *args, sparse=None, on_grad=None, **kwargs):
    """Run a linear layer in the replay pass; stride-1 convolutions get the GEMM input gradient.

    ``sparse``: :attr:`Recorder.sparse`, from which a gradient that a global max pool left there
    is taken in its sparse form. ``on_grad(up, kernel (J, C_in, C_out))``, if given, is called with
    the upstream gradient when the input gradient is built (:meth:`Recorder.first_layer_grad`).
    """
    tf = _tf()
    if kwargs or len(args) != 1 or not _gemm_conv_ok(layer, args[0]):
        return default(*args, **kwargs)
    inp = args[0]
    two_d = type(layer).__name__ == "Conv2D"
    length_in = inp.shape[-2]

    @tf.custom_gradient
    def op(v):
        out = default(v)

        def grad(up, variables=None):
            kernel = tf.convert_to_tensor(layer.kernel)
            kernel = kernel[0] if two_d else kernel
            if on_grad is not None:
                on_grad(up, kernel)
            hit = sparse.get(id(up)) if sparse is not None else None
            if hit is not None and hit[0] is up and hit[1][0].shape[2] == 1:  # one window: global pooling
                px, m_x, pr, m_r, upstream = hit[1]
                g = _sparse_conv_input_grad((px, upstream * m_x, pr, upstream * m_r), kernel, length_in,
                                            layer.padding)
            else:
                g = _conv_input_grad(up[:, 0] if two_d else up, kernel, length_in, layer.padding)
            return (g[:, None] if two_d else g), [None] * len(variables or [])

        return out, grad

    return op(inp)


def _split(t, n, k):
    """Recorded tensor on [x; refs] -> (x part (n, 1, ...), refs part (n, k, ...))."""
    tf = _tf()
    shape = tf.shape(t)[1:]
    tx = tf.reshape(t[:n], tf.concat([[n, 1], shape], 0))
    tr = tf.reshape(t[n:], tf.concat([[n, k], shape], 0))
    return tx, tr


def _flat(t):
    tf = _tf()
    return tf.reshape(t, tf.concat([[-1], tf.shape(t)[2:]], 0))


@_xla
def hyp_graph(m, refs):
    """:func:`_hyp_from_multipliers` in the graph: (n, k, L, 4) -> (n, L, 4)."""
    tf = _tf()
    return tf.reduce_mean(m - tf.reduce_sum(m * refs, -1, keepdims=True), axis=1)


@_xla
def _rescale_grad(up, zx, zr, hx, hr, gx):
    """``up * m`` with the rescale multiplier m; x tensors (n, 1, ...) broadcast over refs (n, k, ...)."""
    tf = _tf()
    dz = zx - zr
    small = tf.abs(dz) < _RESCALE_EPS
    return up * tf.where(small, gx, (hx - hr) / tf.where(small, tf.ones_like(dz), dz))


def unflat(t, n, k):
    tf = _tf()
    return tf.reshape(t, tf.concat([[n, k], tf.shape(t)[1:]], 0))


def _rescale_inputs(rec, n, k):
    """``zx, zr, hx, hr, gx`` of a recorded elementwise operation: x parts (n, 1, ...), reference
    parts (n, k, ...), ``gx`` the elementwise derivative at z(x)."""
    tf = _tf()
    _, zall, hall, fn, _ = rec
    zx, zr = _split(zall, n, k)
    hx, hr = _split(hall, n, k)
    zx0 = zall[:n]
    with tf.GradientTape() as t:
        t.watch(zx0)
        hx2 = fn(zx0)
    gx = tf.expand_dims(t.gradient(hx2, zx0), 1)  # (n, 1, ...)
    return zx, zr, hx, hr, gx


def _rescale_op(z, rec, n, k):
    """Identity in the forward direction; gradient = upstream * (h(x) - h(r)) / (z(x) - z(r))."""
    tf = _tf()
    zx, zr, hx, hr, gx = _rescale_inputs(rec, n, k)

    @tf.custom_gradient
    def op(v):
        return tf.identity(v), lambda up: _flat(_rescale_grad(unflat(up, n, k), zx, zr, hx, hr, gx))

    return op(z)


@_xla
def _window_multipliers(act, px, pr, ax_px, ar_pr, ar_px, ax_pr, rescale):
    """Cross-max multipliers of max pooling over non-overlapping windows (global pooling: one window).

    Per window and channel, the first argmax ``px`` (n, 1, P, C) of x (shared by its k references)
    and ``pr`` (n, k, P, C) of each reference (int32, recorded in pass 1), and the pooled values
    there, x's and the reference's: ``ax_px``, ``ar_px``, ``ax_pr``, ``ar_pr`` (n, 1 or k, P, C), or
    the pre-activations of ``act`` (an :class:`_Act`) when the pooled values are its output. In
    every window only the two argmaxes can get a non-zero gradient: returns their multipliers
    ``(m_x, m_r)``, each (n, k, P, C) (the gradient there is ``upstream * m``; :func:`_densify`
    places it). With ``rescale`` the multipliers include the activation's rescale rule (both rules
    in one pass).

    The rule (shap, captum, tangermeme): the change ``max(x) - max(r)`` of each window is credited
    to the argmax of the larger maximum and divided by the input change there; where that change is
    below ``_MAXPOOL_EPS`` the plain gradient (1 at x's argmax) is used.
    """
    tf = _tf()
    f = (lambda t: t) if act is None else act.fn
    ox, orf, zr_px, zx_pr = f(ax_px), f(ar_pr), f(ar_px), f(ax_pr)  # window maxima; z_r at x's argmax, z_x at r's
    top = tf.maximum(ox, orf)
    same = tf.equal(px, pr)
    one, zero = tf.ones_like(orf), tf.zeros_like(orf)
    credit_x = (top - orf) + tf.where(same, ox - top, zero)
    dz_x = ox - zr_px
    small_x = tf.abs(dz_x) < _MAXPOOL_EPS
    m_x = tf.where(small_x, one, credit_x / tf.where(small_x, one, dz_x))
    dz_r = zx_pr - orf
    small_r = tf.abs(dz_r) < _MAXPOOL_EPS
    m_r = tf.where(small_r | same, zero, (ox - top) / tf.where(small_r, one, dz_r))
    if not rescale or act is None:
        return m_x, m_r

    def rescale_rule(zx_, zr_, ax_, ar_):
        """The activation's multiplier (h(x) - h(r)) / (a(x) - a(r)), its derivative at a(x) where
        the pre-activations (nearly) agree."""
        with tf.GradientTape() as t:
            t.watch(ax_)
            hx = f(ax_)
        da = ax_ - ar_
        small = tf.abs(da) < _RESCALE_EPS
        return tf.where(small, t.gradient(hx, ax_), (zx_ - zr_) / tf.where(small, tf.ones_like(da), da))

    return m_x * rescale_rule(ox, zr_px, ax_px, ar_px), m_r * rescale_rule(zx_pr, orf, ax_pr, ar_pr)


@_xla
def _window_argmax_cross(ax, ar, mx, mr, w, relu):
    """For small windows of ReLU(a) (``relu``) or of ``a`` whose maxima of ``a`` pass 1 recorded (``mx``
    (n, 1, P, C), ``mr`` (n, k, P, C)): the first argmaxes and every value :func:`_window_multipliers`
    needs, ``(px, pr, ax_px, ar_pr, ar_px, ax_pr)``, in one elementwise pass over the windows ``ax``
    (n, 1, P, w, C) and ``ar`` (n, k, P, w, C). The first argmax of ReLU(a) is a's where ``max a > 0``,
    else the window's first position (ReLU(a) is 0 throughout)."""
    tf = _tf()

    def first_max(t, m):
        idx = tf.fill(tf.shape(m), w - 1)
        for i in reversed(range(w - 1)):
            idx = tf.where(tf.equal(t[:, :, :, i], m), i, idx)
        if not relu:
            return idx, m
        pos = m > 0
        return tf.where(pos, idx, 0), tf.where(pos, m, t[:, :, :, 0])

    px, ax_px = first_max(ax, mx)
    pr, ar_pr = first_max(ar, mr)
    ar_px, ax_pr = _window_cross.fn(ax, ar, px, pr, w)
    return px, pr, ax_px, ar_pr, ar_px, ax_pr


@_xla
def _window_rule(act, ax, ar, mx, mr, w, relu, rescale):
    """:func:`_window_argmax_cross` then :func:`_window_multipliers` in one compiled function:
    ``(px, pr, m_x, m_r)``. The six (n, k, P, C) values between them stay inside the fusion (on the
    speed benchmark's deep model, 1,020 pairs x 200 bp x 64 channels in windows of 4: 27 ms CPU
    against 25 + 14 ms for the two calls, under load)."""
    px, pr, *values = _window_argmax_cross.fn(ax, ar, mx, mr, w, relu)
    return (px, pr, *_window_multipliers.fn(act, px, pr, *values, rescale))


@_xla
def _window_max_rule(act, a, n, k, p, w, rescale):
    """Pass 1 of a small-window max pool of ReLU(a) (``act``) or of ``a`` (``act`` None) when the
    rows are known to be ``[x; refs]``: the windows' maximum of ``a`` (B, p, C), and
    :func:`_window_rule`'s ``(px, pr, m_x, m_r)``, from one read of ``a`` (B, L, C)."""
    tf = _tf()
    c = a.shape[-1]
    zw = tf.reshape(a[:, :p * w], [-1, p, w, c])
    ax, ar = tf.reshape(zw[:n], [n, 1, p, w, c]), tf.reshape(zw[n:], [n, k, p, w, c])

    def window_max(t):  # elementwise over the window's positions: XLA fuses it with the rule
        m = t[:, :, :, 0]
        for i in range(1, w):
            m = tf.maximum(m, t[:, :, :, i])
        return m

    mx, mr = window_max(ax), window_max(ar)
    rule = _window_rule.fn(act, ax, ar, mx, mr, w, act is not None, rescale)
    return (tf.concat([tf.reshape(mx, [n, p, c]), tf.reshape(mr, [n * k, p, c])], 0), *rule)


@_xla
def _window_cross(ax, ar, px, pr, select):
    """The values :func:`_window_multipliers` needs that pass 1 did not record: a reference's value
    at its sequence's argmax and the sequence's at the reference's, from the windows ``ax`` (n, 1,
    P, w, C) and ``ar`` (n, k, P, w, C) -> (n, k, P, C) each. ``select``: ``w``, to read them by
    selection over each window (small windows); None: by gathers, which read two positions per
    channel instead of the whole window (global pooling)."""
    tf = _tf()

    def pick(t, idx):
        return _select_window(t, idx, select) if select else _gather_window(t, idx)

    return pick(ar, tf.broadcast_to(px, tf.shape(pr))), pick(ax, pr)


def _select_window(t, idx, w):
    """:func:`_gather_window` for small windows, by selection over the ``w`` positions (one
    elementwise pass, which XLA fuses with what follows)."""
    tf = _tf()
    out = None
    for i in range(w):
        ti = t[:, :, :, i]
        out = tf.where(tf.equal(idx, i), ti, tf.zeros_like(ti) if out is None else out)
    return out


def _gather_window(t, idx):
    """``t[i, j, p, idx[i, j, p, c], c]``: t (n, 1 or k, P, w, C), idx (n, k', P, C) int32 -> (n, k', P, C);
    a t with one row per sequence (x tensors) is shared by all k' references."""
    tf = _tf()
    shape, ishape = tf.shape(t), tf.shape(idx)
    rows, p, w, c = shape[1], shape[2], shape[3], shape[4]
    i = tf.range(ishape[0])[:, None, None, None]
    j = tf.range(ishape[1])[None, :, None, None] * tf.cast(rows > 1, tf.int32)
    q = tf.range(p)[None, None, :, None]
    ch = tf.range(c)[None, None, None, :]
    flat = (((i * rows + j) * p + q) * w + idx) * c + ch
    return tf.gather(tf.reshape(t, [-1]), flat)


@_xla
def _densify(up, px, m_x, pr, m_r, w):
    """The gradient of the pooled values, ``up * m`` at the two argmaxes of every window: ``up``,
    ``pr``, ``m_x``, ``m_r`` (n, k, P, C), ``px`` (n, 1, P, C) -> (n, k, P, w, C)."""
    tf = _tf()
    iota = tf.range(w)[:, None]
    zero = tf.zeros_like(up)[:, :, :, None]
    return (tf.where(tf.equal(iota, px[:, :, :, None]), (up * m_x)[:, :, :, None], zero)
            + tf.where(tf.equal(iota, pr[:, :, :, None]), (up * m_r)[:, :, :, None], zero))


@_xla
def _window_max(act, z, p, w):
    """Maximum and first argmax of ``p`` windows of ``w`` positions of ``act(z)`` (``z`` if ``act``
    is None), and ``z`` there: z (B, L, C) -> (B, p, C) values, (B, p, C) int32 positions within
    the window, (B, p, C) values of ``z`` (positions after the last window are ignored)."""
    tf = _tf()
    f = (lambda t: t) if act is None else act.fn
    zw = tf.reshape(z[:, :p * w], [-1, p, w, tf.shape(z)[-1]])
    if w <= _SELECT_WINDOW:  # small windows: one elementwise scan over the window's positions
        a_top = zw[:, :, 0]
        top = f(a_top)
        idx = tf.zeros_like(top, tf.int32)
        for i in range(1, w):
            zi = zw[:, :, i]
            hi = f(zi)
            gt = hi > top  # strictly: ties keep the first position
            top, idx, a_top = tf.where(gt, hi, top), tf.where(gt, i, idx), tf.where(gt, zi, a_top)
        return top, idx, a_top
    hw = f(zw)
    idx = tf.argmax(hw, 2, output_type=tf.int32)
    return tf.reduce_max(hw, 2), idx, _gather_window(zw[:, None], idx[:, None])[:, 0]


def _shape(dims, t):
    """``dims`` with its first entry replaced by ``t``'s batch size (static if known)."""
    tf = _tf()
    if t.shape[0] is not None:
        return [t.shape[0], *dims[1:]]
    return tf.concat([tf.shape(t)[:1], tf.constant(list(dims[1:]), tf.int32)], 0)


def _window_crossmax_op(z, rec, pool, multipliers, n, k, sparse):
    """Max pooling over whole windows with the cross-max rule as its gradient: ``multipliers(helper,
    *args)`` runs :func:`_window_multipliers` or :func:`_window_rule` compiled for the pool (the
    gradient is with respect to ``z``, the pooled values or, when the multipliers include the
    activation's rescale rule, the activation's pre-activation). The gradient's two non-zeros per
    window and channel are also left in ``sparse`` (keyed by the gradient's id) for a convolution
    below that can use them: ``(gradient, (px, m_x, pr, m_r, upstream), w)``, ``px`` (n, 1, P, C) and
    the rest (n, k, P, C); the gradient is ``upstream * m_x`` at ``px``, ``upstream * m_r`` at ``pr``.
    """
    tf = _tf()
    length, w = pool.length, pool.w
    p = length // w
    c = pool.a.shape[-1]

    def win(t, rows):  # (n, rows, ..., L, C) -> (n, rows, P, w, C), the windows' positions
        return tf.reshape(tf.reshape(t, [n, rows, length, c])[:, :, :p * w], [n, rows, p, w, c])

    if pool.rule is not None:
        px, pr, m_x, m_r = pool.rule[:4]
    elif pool.top_a is not None:
        ax, ar = _split(pool.a, n, k)
        mx, mr = _split(pool.top_a, n, k)
        px, pr, m_x, m_r = multipliers(_window_rule, win(ax, 1), win(ar, k), tf.reshape(mx, [n, 1, p, c]),
                                       tf.reshape(mr, [n, k, p, c]), w, pool.act is not None)
    else:
        px, pr = _split(pool.argmax, n, k)
        ax_px, ar_pr = _split(pool.a_top, n, k)
        if pool.cross is not None:
            ar_px, ax_pr = (tf.reshape(t, [n, k, p, c]) for t in pool.cross)
        else:
            ax, ar = _split(pool.a, n, k)
            ar_px, ax_pr = _window_cross(win(ax, 1), win(ar, k), px, pr, w if w <= _SELECT_WINDOW else None)
        m_x, m_r = multipliers(_window_multipliers, px, pr, ax_px, ar_pr, ar_px, ax_pr)
    fn = rec[3]

    @tf.custom_gradient
    def op(v):
        def grad(up):
            up = tf.reshape(up, [n, k, p, c])
            g = tf.reshape(_densify(up, px, m_x, pr, m_r, w), [n * k, p * w, c])
            if p * w < length:  # valid padding: the positions after the last window get nothing
                g = tf.pad(g, [[0, 0], [0, length - p * w], [0, 0]])
            g = tf.reshape(g, _shape(v.shape, v))
            sparse[id(g)] = (g, (px, m_x, pr, m_r, up), w)
            return g

        return fn(v), grad  # forward values of the replay are unused (same shape either way)

    return op(z)


def _pool_windows(layer, shape):
    """``(length, window)`` if ``layer`` max-pools non-overlapping windows along the sequence axis of
    an input of static ``shape`` (B, L, C) or (B, 1, L, C), channels last; ``None`` otherwise.
    Global pooling is one window of all positions (any spatial shape)."""
    if any(d is None for d in shape[1:]) or getattr(layer, "data_format", "channels_last") != "channels_last":
        return None
    if type(layer).__name__ in _GLOBAL_MAXPOOL:
        length = int(np.prod(shape[1:-1]))
        return length, length
    if len(shape) == 4 and shape[1] != 1:
        return None
    length = int(shape[-2])
    pool, strides = tuple(layer.pool_size), tuple(layer.strides)
    if len(pool) == 2:
        if pool[0] != 1 or strides[0] != 1:
            return None
        pool, strides = pool[1:], strides[1:]
    w = int(pool[0])
    if int(strides[0]) != w or (layer.padding != "valid" and length % w):
        return None  # overlapping windows, or 'same' padding that pads: TensorFlow's routing
    return length, w


def _crossmax_op(z, rec, n, k):
    """Max pooling with the cross-max rule (shap / captum / tangermeme) as its gradient, for pools
    whose windows overlap or are padded (TensorFlow's own max-pool gradient routes the credit;
    whole windows take :func:`_window_crossmax_op`)."""
    tf = _tf()
    _, zall, hall, fn, layer = rec
    zx, zr = _split(zall, n, k)
    ox, orf = _split(hall, n, k)

    zx_b = _flat(tf.broadcast_to(zx, tf.shape(zr)))
    zr_f, ox_f, or_f = _flat(zr), _flat(tf.broadcast_to(ox, tf.shape(orf))), _flat(orf)
    top = tf.maximum(ox_f, or_f)
    dz = zx_b - zr_f
    small = tf.abs(dz) < _MAXPOOL_EPS

    def route(inp, g):
        """Gradient of max pooling at ``inp`` for upstream ``g``: ``g`` at each window's argmax."""
        with tf.GradientTape() as t:
            t.watch(inp)
            out = fn(inp)
        return t.gradient(out, inp, output_gradients=g)

    @tf.custom_gradient
    def op(v):
        def grad(up):
            credit = route(zx_b, up * (top - or_f)) + route(zr_f, up * (ox_f - top))
            return tf.where(small, route(zx_b, up), credit / tf.where(small, tf.ones_like(dz), dz))

        return fn(v), grad

    return op(z)
