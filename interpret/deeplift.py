"""DeepLIFT rules on a Keras graph, as TensorFlow custom gradients.

The engine under :class:`interpret.attribution.DeepShap`: which layers have which rule
(:data:`LINEAR_LAYERS`, :data:`ELEMENTWISE_LAYERS`, :data:`MAXPOOL_LAYERS`,
:data:`ELEMENTWISE_ACTIVATIONS`), the two-pass recorder (:class:`Recorder`: pass 1 records the
inputs and outputs of every nonlinear operation on ``[x; refs]``, pass 2 replays the graph on
``N * K`` rows with the DeepLIFT multipliers as gradients), the rescale and cross-max rules
(fused and compiled with XLA where that is measured faster), and the GEMM input gradient of
stride-1 first-layer convolutions that the gradient methods share.

Nothing here knows about sequences, references or batches; :mod:`interpret.attribution` does.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError
from .model import Model, activation_name, linear_activation


def _tf():
    import tensorflow as tf

    return tf


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
_UNROLL_WINDOW = 8  # max-pool windows up to this size: cross-max rule unrolled over the window


# --------------------------------------------------------------------------------------
# Which rule each layer gets
# --------------------------------------------------------------------------------------
def _kind(layer) -> str:
    """How DeepLIFT treats ``layer``: 'linear', 'act' (built-in activation), 'elementwise', 'maxpool'."""
    cls = type(layer).__name__
    if cls in MAXPOOL_LAYERS:
        return "maxpool"
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


def _unsupported(layer, what):
    raise InputError(
        f"DeepSHAP has no rule for layer '{getattr(layer, 'name', layer)}' ({what}); explain this model "
        "with integrated gradients (--methods ig, or IntegratedGradients) instead."
    )


def check_deepshap_support(model, output: str = "logit") -> None:
    """Raise :class:`InputError` naming the first layer DeepSHAP cannot handle, if any."""
    import keras

    model = model if isinstance(model, Model) else Model.from_keras(model)
    final = model._final_layer
    stripped = output == "logit" and model.output_activation in ("sigmoid", "softmax")
    if output == "probability" and model.output_activation == "softmax":
        raise InputError("DeepSHAP has no rule for the final softmax; explain the logits (output='logit', "
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

    def __init__(self):
        self.records = []
        self.replay = None  # (n, k) tensors during the replay pass
        self.i = 0
        self.rescaled = {}  # id(rescale op output) -> (output, its input, record)

    # pass 1: plain forward on [x; refs], remembering inputs/outputs of nonlinear operations
    def record(self, layer, default, *args, **kwargs):
        kind = _kind(layer)
        if kind == "linear":
            return default(*args, **kwargs)
        if kind == "act":
            act = layer.activation
            with linear_activation(layer):
                z = default(*args, **kwargs)
            h = act(z)
            self.records.append(("elementwise", z, h, act, False))
            return h
        z = args[0]
        h = default(*args, **kwargs)
        fn = (lambda t: default(t)) if not kwargs else (lambda t: default(t, **kwargs))
        self.records.append((kind, z, h, fn, layer))
        return h

    # pass 2: replay on N*K rows with DeepLIFT multipliers as gradients
    def replay_hook(self, layer, default, *args, **kwargs):
        kind = _kind(layer)
        if kind == "linear":
            return _fast_conv(layer, default, *args, **kwargs)
        if kind == "act":
            with linear_activation(layer):
                z = _fast_conv(layer, default, *args, **kwargs)
        else:
            z = args[0]
        rec = self.records[self.i]
        self.i += 1
        if rec[0] == "elementwise":
            out = _rescale_op(z, rec, *self.replay)
            self.rescaled[id(out)] = (out, z, rec)
            return out
        src = self.rescaled.get(id(z))
        if src is not None and src[0] is z and not kwargs:  # activation -> max pool: one fused rule
            return _crossmax_op(z, rec, *self.replay, act=(src[1], src[2]))
        return _crossmax_op(z, rec, *self.replay)


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
            tf = _tf()
            self.compiled = tf.function(tf.autograph.experimental.do_not_convert(self.fn), jit_compile=True,
                                        reduce_retracing=True)
        return self.compiled(*args)


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
    p = tf.reshape(tf.matmul(tf.reshape(up, [-1, c_out]), w, transpose_b=True), [b, -1, j, c_in])  # (B, L_out, J, C_in)
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


def _fast_conv(layer, default, *args, **kwargs):
    """Run a linear layer in the replay pass; stride-1 convolutions get the GEMM input gradient."""
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
            if two_d:
                g = _conv_input_grad(up[:, 0], kernel[0], length_in, layer.padding)[:, None]
            else:
                g = _conv_input_grad(up, kernel, length_in, layer.padding)
            return g, [None] * len(variables or [])

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


def _window_crossmax(up, zx, zr, ox, orf, act=None):
    """Cross-max gradient of max pooling over non-overlapping windows (global pooling: one window).

    ``zx`` (n, 1, P, w, C) and ``zr`` (n, k, P, w, C): the pooled inputs, window ``p`` holding
    ``w`` positions; ``ox`` (n, 1, P, C), ``orf`` and ``up`` (n, k, P, C). In every window only
    two positions can be non-zero: the first argmax of x (found once per sequence, shared by its
    k references) and the first argmax of the reference. Returns (n, k, P, w, C).

    ``act = (ax, ar, gx)``: the pooled values are an elementwise activation of the pre-activations
    ``ax`` (n, 1, P, w, C), ``ar`` (n, k, P, w, C) with derivative ``gx`` at ``ax``; the result is
    then also multiplied by the activation's rescale multiplier (both rules in one pass).
    """
    tf = _tf()
    w = zr.shape[3]
    unroll = w is not None and w <= _UNROLL_WINDOW
    if unroll:  # small windows: every step elementwise on (n, k, P, C), one fused loop
        zxs, zrs = [zx[:, :, :, i] for i in range(w)], [zr[:, :, :, i] for i in range(w)]

        def first_argmax(parts, top_):
            idx = tf.fill(tf.shape(top_), w)
            for i in reversed(range(w)):
                idx = tf.where(tf.equal(parts[i], top_), i, idx)
            return idx

        def pick(parts, idx):
            out = tf.zeros_like(parts[0])
            for i in range(w):
                out = tf.where(tf.equal(idx, i), parts[i], out)
            return out

        px, pr = first_argmax(zxs, ox), first_argmax(zrs, orf)  # (n, 1, P, C), (n, k, P, C)
        zr_px = pick(zrs, tf.broadcast_to(px, tf.shape(pr)))  # z_r at x's argmax
        zx_pr = pick([tf.broadcast_to(t, tf.shape(pr)) for t in zxs], pr)  # z_x at r's argmax
    else:  # large windows (global pooling): one pass to find the argmaxes, gathers at them
        w = tf.shape(zr)[3]
        iota = tf.range(w)[None, None, None, :, None]
        px = tf.reduce_min(tf.where(tf.equal(zx, ox[:, :, :, None]), iota, w), axis=3)  # (n, 1, P, C)
        pr = tf.reduce_min(tf.where(tf.equal(zr, orf[:, :, :, None]), iota, w), axis=3)  # (n, k, P, C)
        px_b = tf.broadcast_to(px, tf.shape(pr))
        zr_px = _gather_window(zr, px_b)  # z_r at x's argmax
        zx_pr = _gather_window(zx, pr)  # z_x at r's argmax
    top = tf.maximum(ox, orf)
    same = tf.equal(px, pr)
    credit_x = up * (top - orf) + tf.where(same, up * (ox - top), tf.zeros_like(up))
    dz_x = ox - zr_px
    small_x = tf.abs(dz_x) < _MAXPOOL_EPS
    val_x = tf.where(small_x, up, credit_x / tf.where(small_x, tf.ones_like(dz_x), dz_x))
    dz_r = zx_pr - orf
    small_r = tf.abs(dz_r) < _MAXPOOL_EPS
    val_r = tf.where(small_r | same, tf.zeros_like(up),
                     up * (ox - top) / tf.where(small_r, tf.ones_like(dz_r), dz_r))
    def rescale(g, zx_, zr_, ax, ar, gx):
        da = ax - ar
        small = tf.abs(da) < _RESCALE_EPS
        return g * tf.where(small, gx, (zx_ - zr_) / tf.where(small, tf.ones_like(da), da))

    if unroll:
        zero = tf.zeros_like(up)
        out = []
        for i in range(w):
            g = tf.where(tf.equal(px, i), val_x, zero) + tf.where(tf.equal(pr, i), val_r, zero)
            if act is not None:
                g = rescale(g, zxs[i], zrs[i], *(t[:, :, :, i] for t in act))
            out.append(g)
        return tf.stack(out, axis=3)
    if act is not None:  # the activation's multiplier is only needed at the two argmaxes
        ax, ar, gx = act
        val_x = rescale(val_x, ox, zr_px, _gather_window(ax, px), _gather_window(ar, px_b), _gather_window(gx, px))
        val_r = rescale(val_r, zx_pr, orf, _gather_window(ax, pr), _gather_window(ar, pr), _gather_window(gx, pr))
    zero = tf.zeros_like(up)[:, :, :, None]
    return (tf.where(tf.equal(iota, px[:, :, :, None]), val_x[:, :, :, None], zero)
            + tf.where(tf.equal(iota, pr[:, :, :, None]), val_r[:, :, :, None], zero))


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
def _window_crossmax_grad(up, zx, zr, ox, orf):
    """:func:`_window_crossmax` compiled."""
    return _window_crossmax(up, zx, zr, ox, orf)


@_xla
def _window_crossmax_rescale_grad(up, zx, zr, ox, orf, ax, ar, gx):
    """:func:`_window_crossmax` of an activation's output, with the activation's rescale rule, compiled."""
    return _window_crossmax(up, zx, zr, ox, orf, (ax, ar, gx))


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


def _crossmax_op(z, rec, n, k, act=None):
    """Max pooling with the cross-max rule (shap / captum / tangermeme) as its gradient.

    ``act = (a, act_rec)``: ``z`` is the output of the rescale op of the recorded elementwise
    operation ``act_rec`` on ``a``. For non-overlapping windows both rules then run as one fused
    gradient of ``a`` (``z``'s rescale op is bypassed on this path only; other consumers of ``z``
    still go through it); other pools use ``z`` as usual.
    """
    tf = _tf()
    _, zall, hall, fn, layer = rec
    zx, zr = _split(zall, n, k)
    ox, orf = _split(hall, n, k)

    windows = _pool_windows(layer, zall.shape)
    if windows is not None:
        length, w = windows
        p = length // w
        c = zall.shape[-1]

        def win(t, rows):  # (n, rows, ..., L, C) -> (n, rows, P, w, C), the windows' positions
            return tf.reshape(tf.reshape(t, [n, rows, length, c])[:, :, :p * w], [n, rows, p, w, c])

        if act is not None:
            ax, ar, _, _, gx = _rescale_inputs(act[1], n, k)
            fused = (win(ax, 1), win(ar, k), win(tf.broadcast_to(gx, tf.shape(ax)), 1))

        @tf.custom_gradient
        def wop(v):
            def grad(up):
                args = (tf.reshape(up, [n, k, p, c]), win(zx, 1), win(zr, k),
                        tf.reshape(ox, [n, 1, p, c]), tf.reshape(orf, [n, k, p, c]))
                g = _window_crossmax_grad(*args) if act is None else _window_crossmax_rescale_grad(*args, *fused)
                g = tf.reshape(g, [n * k, p * w, c])
                if p * w < length:  # valid padding: the positions after the last window get nothing
                    g = tf.pad(g, [[0, 0], [0, length - p * w], [0, 0]])
                return tf.reshape(g, tf.shape(v))

            return fn(v), grad  # forward values of the replay are unused (same shape either way)

        return wop(z if act is None else act[0])

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
