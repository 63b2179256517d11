"""Attributions of a Keras DNA model's output to each base of each sequence.

Five methods, each a small class with one :meth:`attribute` call returning an
:class:`AttributionResult` (``contrib``, ``hypothetical``, ``delta``, ``score`` ...):

==========================  ==================================================================
:class:`DeepShap`           DeepLIFT (rescale + cross-max rules) averaged over references
                            (default: 20 dinucleotide shuffles of each sequence).
:class:`IntegratedGradients`  path integral of gradients from references (default: the uniform
                            0.25 background, which makes it agree with the centred gradient).
:class:`GradientXInput`     gradient × input, gradients mean-centred per position.
:class:`Saliency`           the (centred) gradient itself; ``absolute=True`` gives ``|grad|``.
:class:`ISM`                exact in-silico saturation mutagenesis, every single-base variant.
==========================  ==================================================================

What is explained: by default the **pre-activation logit** of output ``target`` (the final
sigmoid/softmax is stripped by :meth:`interpret.model.Model.forward`); ``output="probability"``
explains the probability instead. ``result.explained`` states it in words.

Conventions for every method (``x`` is ``(N, L, 4)`` one-hot, A C G T):

* ``hypothetical[n, i, c]``: what base ``c`` would contribute at position ``i`` of sequence ``n``;
* ``contrib = hypothetical * x``: the contribution of the observed base (0 at other bases);
* ``delta`` (reference methods only): ``sum(contrib) - (f(x) - mean_k f(ref_k))``, the
  completeness error. DeepSHAP's is float round-off; IG's shrinks as ``steps`` grows. A warning
  names every sequence with ``|delta| > 1e-3``.

Large inputs: :func:`iter_attribute` (or ``method.attribute_chunks``) yields ``(start, result)``
chunks so the pipeline can stream them to ``attributions.h5``. All TensorFlow work is in
``tf.function`` s with a fixed input signature (no retracing from one batch to the next).

DeepSHAP implementation
-----------------------
Two passes per batch, so ``x`` and its references are never stacked through the backward pass:

1. forward ``x`` and all references once (one concatenated batch), recording the input and
   output of every nonlinear operation (activations, max pooling);
2. backward through a *replay* of the graph on ``N * K`` rows in which every nonlinear
   operation is a ``tf.custom_gradient`` whose gradient is the DeepLIFT multiplier computed
   from the recorded activations of ``x`` (broadcast over the ``K`` references) and of its
   references. Linear layers back-propagate their ordinary gradient. The replay's forward
   values are never used, so TensorFlow prunes them from the graph.

Speed-ups in the replay (same numbers as the plain rules, checked against the unfused path):
max pooling over non-overlapping windows (and global max pooling) uses one fused XLA rule that
finds each window's argmaxes (x's once per sequence, shared by its K references), fused with the
rescale rule of the activation feeding the pool; first-layer convolutions whose
``kernel width * input channels <= filters`` get their input gradient as one GEMM and an
overlap-add; the hypothetical contributions are averaged over the references in the graph.
The gradient methods use the same GEMM input gradient and centre in the graph.

Supported layers: see :data:`LINEAR_LAYERS`, :data:`ELEMENTWISE_LAYERS`, :data:`MAXPOOL_LAYERS`
and :data:`ELEMENTWISE_ACTIVATIONS`; any other layer raises :class:`InputError` (use
:class:`IntegratedGradients`, which works for any differentiable model).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from .errors import InputError
from .model import Model, activation_name, linear_activation
from .shuffle import dinucleotide_shuffle

logger = logging.getLogger(__name__)

__all__ = ["AttributionResult", "DeepShap", "IntegratedGradients", "GradientXInput", "Saliency", "ISM",
           "METHODS", "iter_attribute", "get_method", "DELTA_WARN"]

DELTA_WARN = 1e-3

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
# Result
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AttributionResult:
    """Attributions of one method for ``N`` sequences.

    Attributes
    ----------
    contrib : ndarray, shape (N, L, 4), float32
        Contribution of each observed base (``hypothetical * x``).
    hypothetical : ndarray, shape (N, L, 4), float32
        Contribution each base would make at each position.
    score : ndarray, shape (N,), float32
        The explained scalar ``f(x)`` (see ``explained``).
    delta : ndarray, shape (N,), float64, or None
        ``sum(contrib) - (f(x) - mean_k f(ref_k))``; ``None`` for methods without references.
    method : str
        Registry name (``"deepshap"``, ``"ig"``, ...).
    explained : str
        What ``score`` is, e.g. ``"logit (pre-sigmoid) of output 0"``.
    ref_score : ndarray, shape (N,), or None
        ``mean_k f(ref_k)`` for reference methods.
    """

    contrib: np.ndarray
    hypothetical: np.ndarray
    score: np.ndarray
    delta: np.ndarray | None
    method: str
    explained: str
    ref_score: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.contrib)


def concat_results(parts: list[AttributionResult]) -> AttributionResult:
    """Join chunk results (in order) into one :class:`AttributionResult`."""
    first = parts[0]

    def cat(name):
        vals = [getattr(p, name) for p in parts]
        return None if vals[0] is None else np.concatenate(vals)

    return AttributionResult(cat("contrib"), cat("hypothetical"), cat("score"), cat("delta"), first.method,
                             first.explained, cat("ref_score"))


# --------------------------------------------------------------------------------------
# Shared plumbing
# --------------------------------------------------------------------------------------
def _tf():
    import tensorflow as tf

    return tf


def _as_model(model) -> Model:
    if isinstance(model, Model):
        return model
    return Model.from_keras(model)


def _check_x(x, model: Model) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 2 and x.shape[-1] == 4:
        raise InputError(f"sequences must have shape (N, L, 4), not {x.shape}; use x[None] for one sequence.")
    if x.ndim != 3 or x.shape[-1] != 4:
        raise InputError(f"sequences must have shape (N, L, 4) one-hot A C G T, not {x.shape}.")
    if x.shape[1] != model.seq_len:
        raise InputError(f"sequences have length {x.shape[1]} but the model takes {model.seq_len}; "
                         "crop or pad them to the model's length.")
    if not np.isfinite(x).all():
        raise InputError("sequences contain NaN or infinite values; one-hot encode them (A C G T, N = all zero).")
    return x


def _resolve_references(x: np.ndarray, references, n_references: int, seed: int, default: str) -> np.ndarray:
    """References for ``x`` as an array ``(N, K, L, 4)`` float32."""
    if references is None:
        references = default
    n = len(x)
    if isinstance(references, str):
        if references == "shuffle":
            return dinucleotide_shuffle(x, n_references, seed)
        if references == "uniform":
            return np.full((n, 1) + x.shape[1:], 0.25, np.float32)
        if references == "zeros":
            return np.zeros((n, 1) + x.shape[1:], np.float32)
        raise InputError(f"references={references!r} is unknown; use 'shuffle', 'uniform', 'zeros', an array or a callable.")
    if callable(references):
        refs = np.asarray(references(x, n_references, seed), dtype=np.float32)
        if refs.ndim != 4 or refs.shape[0] != n or refs.shape[2:] != x.shape[1:]:
            raise InputError(f"the reference function returned shape {refs.shape}; it must return (N, K, L, 4) = "
                             f"({n}, K, {x.shape[1]}, 4).")
        return refs
    refs = np.asarray(references, dtype=np.float32)
    if refs.ndim == 3 and refs.shape[1:] == x.shape[1:]:
        return np.broadcast_to(refs[None], (n,) + refs.shape)
    if refs.ndim == 4 and refs.shape[0] == n and refs.shape[2:] == x.shape[1:]:
        return refs
    raise InputError(f"references have shape {refs.shape}; give (N, K, L, 4) with N = {n}, or (K, L, 4) shared, "
                     f"with L = {x.shape[1]}.")


def _slice_references(references, start: int, stop: int, n_total: int):
    """The part of ``references`` that belongs to rows ``start:stop`` (arrays only)."""
    if references is None or isinstance(references, str) or callable(references):
        return references
    refs = np.asarray(references)
    if refs.ndim == 4 and refs.shape[0] == n_total:
        return refs[start:stop]
    return refs


def _warn_delta(method: str, delta: np.ndarray, offset: int = 0) -> None:
    bad = np.flatnonzero(~(np.abs(delta) <= DELTA_WARN))
    if len(bad):
        shown = ", ".join(str(int(i) + offset) for i in bad[:20])
        more = f" and {len(bad) - 20} more" if len(bad) > 20 else ""
        logger.warning("%s: %d sequence(s) with |delta| > %g (largest %.3g): rows %s%s", method, len(bad),
                       DELTA_WARN, float(np.nanmax(np.abs(delta[bad]))), shown, more)


def _bucket(b: int, full: int) -> int:
    """Rows to compute a batch of ``b`` rows at: the next power of two, at most ``full``."""
    return min(full, 1 << max(0, b - 1).bit_length())


def _padded(a: np.ndarray, rows: int) -> np.ndarray:
    """``a`` with its last row repeated up to ``rows`` rows (``a`` itself if it has that many).

    With :func:`_bucket` a process compiles at most ``log2(full) + 2`` batch shapes: XLA compiles
    the fused DeepLIFT and convolution-gradient helpers once per input shape (0.3-1 s each on
    2 cores), which costs more than the few discarded rows a power-of-two batch adds.
    """
    if len(a) >= rows:
        return a
    return np.concatenate([a, np.repeat(a[-1:], rows - len(a), axis=0)])


def _hyp_from_multipliers(m: np.ndarray, refs: np.ndarray) -> np.ndarray:
    """DeepSHAP hypothetical contributions: ``mean_k (m_k - sum_c r_k m_k)``; shapes (N, K, L, 4) -> (N, L, 4)."""
    return (m - (m * refs).sum(-1, keepdims=True)).mean(1)


class _Method:
    """Common chunking, validation and result building."""

    name = ""
    has_references = False

    def __init__(self, model, target: int = 0, output: str = "logit", batch_size: int = 256,
                 verbose: bool = False):
        self.model = _as_model(model)
        self.target = self.model.check_target(target)
        if output not in ("logit", "probability"):
            raise InputError(f"output must be 'logit' or 'probability', not {output!r}.")
        self.output = output
        self.batch_size = int(batch_size)
        self.verbose = verbose
        self.explained = self.model.explained(self.target, output)
        self._fn = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(target={self.target}, output={self.output!r})"

    def attribute(self, x: np.ndarray, **kwargs) -> AttributionResult:
        """Attributions for ``x`` of shape ``(N, L, 4)``; see the class docstring for options."""
        x = _check_x(x, self.model)
        return self._attribute(x, offset=0, **kwargs)

    def attribute_chunks(self, x: np.ndarray, chunk_size: int = 1024, **kwargs) -> Iterator[tuple[int, AttributionResult]]:
        """Yield ``(start, result)`` for rows ``start:start + len(result)`` of ``x`` (bounded memory)."""
        x_all = x
        n = len(x_all)
        if n and np.shape(x_all)[1:] != (self.model.seq_len, 4):
            _check_x(x_all[:1], self.model)
        starts = range(0, n, max(1, int(chunk_size)))
        if self.verbose:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc=self.name, unit="chunk")
        for start in starts:
            stop = min(n, start + chunk_size)
            xc = _check_x(x_all[start:stop], self.model)
            kw = dict(kwargs)
            if "references" in kw:
                kw["references"] = _slice_references(kw["references"], start, stop, n)
            yield start, self._attribute(xc, offset=start, **kw)

    def _result(self, hyp, x, score, delta=None, ref_score=None, offset=0) -> AttributionResult:
        hyp = np.asarray(hyp, np.float32)
        if delta is not None:
            _warn_delta(self.name, delta, offset)
        return AttributionResult(hyp * x, hyp, np.asarray(score, np.float32), delta, self.name, self.explained,
                                 None if ref_score is None else np.asarray(ref_score, np.float32))

    def _attribute(self, x, offset=0, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError


def _centre(g: np.ndarray) -> np.ndarray:
    """Majdandzic et al. (2023) correction: subtract each position's mean over the 4 bases."""
    return g - g.mean(-1, keepdims=True)


# --------------------------------------------------------------------------------------
# Gradient methods
# --------------------------------------------------------------------------------------
class _GradientBase(_Method):
    def __init__(self, model, target: int = 0, output: str = "logit", correct: bool = True,
                 batch_size: int = 256, verbose: bool = False):
        super().__init__(model, target, output, batch_size, verbose)
        self.correct = correct

    def _grad_fn(self):
        if self._fn is None:
            tf = _tf()
            model, target, output = self.model, self.target, self.output
            spec = tf.TensorSpec((None, model.seq_len, 4), tf.float32)

            correct = getattr(self, "correct", False)

            @tf.function(input_signature=[spec])
            def grad(x):
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    y = model.forward(x, output, _gradient_hook)[:, target]
                g = tape.gradient(y, x)
                if correct:  # centred in the graph: one pass less over the result on the host
                    g = g - tf.reduce_mean(g, -1, keepdims=True)
                return y, g

            self._fn = grad
        return self._fn

    def gradients(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(f(x) (N,), df/dx (N, L, 4))`` in batches of ``batch_size``; mean-centred per
        position when ``correct=True``."""
        tf = _tf()
        fn = self._grad_fn()
        y_all = np.zeros(len(x), np.float32)
        g_all = np.zeros(x.shape, np.float32)
        for i in range(0, len(x), self.batch_size):
            xb = x[i:i + self.batch_size]
            b = len(xb)
            y, g = fn(tf.constant(_padded(xb, _bucket(b, self.batch_size))))
            y_all[i:i + b] = y.numpy()[:b]
            g_all[i:i + b] = g.numpy()[:b]
        return y_all, g_all


class GradientXInput(_GradientBase):
    """Gradient × input.

    ``hypothetical`` is the gradient of the explained scalar, mean-centred per position over
    the 4 bases (``correct=True``, Majdandzic et al. 2023: removes the off-simplex component
    that one-hot inputs cannot move along); ``contrib = hypothetical * x``. No ``delta``.

    Parameters
    ----------
    model : interpret.Model or keras.Model
    target : int
        Output unit to explain.
    output : {"logit", "probability"}
    correct : bool
        Mean-centre gradients per position (default True).
    batch_size : int
        Sequences per compiled call.
    verbose : bool
        Progress bar in :meth:`attribute_chunks`.
    """

    name = "gradxinput"

    def _attribute(self, x, offset=0):
        y, g = self.gradients(x)
        return self._result(g, x, y, offset=offset)


class Saliency(_GradientBase):
    """The gradient itself (Simonyan et al. 2014) as the hypothetical contribution.

    ``hypothetical`` = gradient, mean-centred per position when ``correct=True`` (the default),
    so by default its numbers equal :class:`GradientXInput`'s; ``absolute=True`` gives the
    classic saliency map ``|gradient|`` (then ``contrib = |gradient| * x`` is unsigned).
    """

    name = "saliency"

    def __init__(self, model, target: int = 0, output: str = "logit", correct: bool = True,
                 absolute: bool = False, batch_size: int = 256, verbose: bool = False):
        super().__init__(model, target, output, correct, batch_size, verbose)
        self.absolute = absolute

    def _attribute(self, x, offset=0):
        y, g = self.gradients(x)
        return self._result(np.abs(g) if self.absolute else g, x, y, offset=offset)


class IntegratedGradients(_Method):
    """Integrated gradients (Sundararajan et al. 2017) on straight lines from references.

    For each reference ``r``: ``G = mean over steps of grad f(r + a (x - r))`` at the midpoints
    ``a = (s + 0.5) / steps``, and, as for DeepSHAP, ``hyp = G - sum_c r G`` averaged over the
    references; ``contrib = hyp * x`` sums to ``sum (x - r) G``, the IG attribution, so
    ``delta`` measures the quadrature error and shrinks as ``steps`` grows.

    The default reference is the uniform background (0.25 at every base): then ``hyp`` is the
    path-averaged gradient mean-centred per position, the same correction the gradient methods
    apply. ``references="shuffle"`` uses dinucleotide shuffles, ``"zeros"`` the all-zero input;
    arrays and callables as for :class:`DeepShap`.

    Parameters
    ----------
    model, target, output, batch_size, verbose
        As :class:`GradientXInput`; ``batch_size`` counts path points per compiled call.
    steps : int
        Integration points per path (default 50).
    """

    name = "ig"
    has_references = True

    def __init__(self, model, target: int = 0, output: str = "logit", steps: int = 50,
                 batch_size: int = 1024, verbose: bool = False):
        super().__init__(model, target, output, batch_size, verbose)
        if int(steps) < 1:
            raise InputError(f"steps must be at least 1, not {steps}.")
        self.steps = int(steps)

    def _path_fn(self):
        if self._fn is None:
            tf = _tf()
            model, target, output = self.model, self.target, self.output
            spec = tf.TensorSpec((None, model.seq_len, 4), tf.float32)

            @tf.function(input_signature=[spec, spec, tf.TensorSpec((None,), tf.float32)])
            def path_grad(x, r, alphas):
                s = tf.shape(alphas)[0]
                xs = tf.repeat(x, s, axis=0)
                rs = tf.repeat(r, s, axis=0)
                a = tf.tile(alphas, [tf.shape(x)[0]])[:, None, None]
                pts = rs + a * (xs - rs)
                with tf.GradientTape() as tape:
                    tape.watch(pts)
                    y = model.forward(pts, output)[:, target]
                g = tape.gradient(y, pts)
                return tf.reduce_mean(tf.reshape(g, tf.concat([[-1, s], tf.shape(g)[1:]], 0)), axis=1)

            self._fn = path_grad
        return self._fn

    def _attribute(self, x, offset=0, references=None, n_references: int = 20, seed: int = 0):
        tf = _tf()
        refs = _resolve_references(x, references, n_references, seed, default="uniform")
        n, k = refs.shape[:2]
        flat_r = refs.reshape((n * k,) + x.shape[1:])
        flat_x = np.repeat(x, k, axis=0)
        alphas = tf.constant((np.arange(self.steps, dtype=np.float32) + 0.5) / self.steps)
        fn = self._path_fn()
        per = max(1, self.batch_size // self.steps)
        g = np.concatenate([fn(tf.constant(flat_x[i:i + per]), tf.constant(flat_r[i:i + per]), alphas).numpy()
                            for i in range(0, n * k, per)]) if n else np.zeros_like(flat_x)
        g = g.reshape(refs.shape)
        hyp = _hyp_from_multipliers(g, refs)
        score = self.model.predict(x, self.target, self.output, self.batch_size)
        ref_score = self.model.predict(flat_r, self.target, self.output, self.batch_size).reshape(n, k).mean(1)
        delta = (hyp * x).astype(np.float64).sum((1, 2)) - (score.astype(np.float64) - ref_score)
        return self._result(hyp, x, score, delta, ref_score, offset)


class ISM(_Method):
    """Exact in-silico saturation mutagenesis.

    Every single-base substitution of every sequence is scored (``3 L`` variants per sequence,
    ``4`` at ``N`` positions), batched: ``hypothetical[i, c] = f(x with base c at i) - f(x)``
    (0 for the observed base). With ``centre=True`` (the default, tangermeme's convention) each
    position's mean over the 4 bases is subtracted, so ``contrib`` at the observed base is
    ``-mean_c (f(x with c at i) - f(x))``: positive where mutations hurt. With ``centre=False``
    ``contrib`` (``hypothetical * x``) is identically 0; use ``hypothetical``.

    Parameters
    ----------
    model, target, output, verbose
        As :class:`GradientXInput`.
    centre : bool
        Mean-centre per position (default True).
    batch_size : int
        Variants per compiled forward call.
    """

    name = "ism"

    def __init__(self, model, target: int = 0, output: str = "logit", centre: bool = True,
                 batch_size: int = 1024, verbose: bool = False):
        super().__init__(model, target, output, batch_size, verbose)
        self.centre = centre

    def _attribute(self, x, offset=0):
        n, length, _ = x.shape
        score = self.model.predict(x, self.target, self.output, self.batch_size)
        hyp = np.zeros(x.shape, np.float32)
        # every (sequence, position, base) whose base differs from the sequence's
        seq_i, pos_i, base_i = np.nonzero(x < 0.5)
        per = max(1, self.batch_size)
        eye = np.eye(4, dtype=np.float32)
        for i in range(0, len(seq_i), per):
            s, p, b = seq_i[i:i + per], pos_i[i:i + per], base_i[i:i + per]
            var = x[s].copy()
            var[np.arange(len(s)), p] = eye[b]
            hyp[s, p, b] = self.model.predict(var, self.target, self.output, per) - score[s]
        if self.centre:
            hyp = _centre(hyp)
        return self._result(hyp, x, score, offset=offset)


# --------------------------------------------------------------------------------------
# DeepSHAP
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

    model = _as_model(model)
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


class _Recorder:
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


def _gradient_hook(layer, default, *args, **kwargs):
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
    w = tf.reshape(tf.transpose(kernel, [2, 0, 1]), [c_out, j * c_in])
    p = tf.reshape(tf.matmul(tf.reshape(up, [-1, c_out]), w), [b, -1, j, c_in])  # (B, L_out, J, C_in)
    return _overlap_add(p, length_in, (j - 1) // 2 if padding == "same" else 0, j)


@_xla
def _overlap_add(p, length_in, pad_left, j):
    """``out[:, l] = sum_i p[:, l + pad_left - i, i]`` (zero outside); p (B, L_out, J, C) -> (B, L_in, C)."""
    tf = _tf()
    p = tf.pad(p, [[0, 0], [j, j], [0, 0], [0, 0]])
    return tf.add_n([p[:, j + pad_left - i: j + pad_left - i + length_in, i] for i in range(j)])


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
def _hyp_graph(m, refs):
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


def _unflat(t, n, k):
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
        return tf.identity(v), lambda up: _flat(_rescale_grad(_unflat(up, n, k), zx, zr, hx, hr, gx))

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


class DeepShap(_Method):
    """DeepSHAP: DeepLIFT multipliers averaged over references (Lundberg & Lee 2017).

    Rules: rescale for elementwise nonlinearities (``(h(x)-h(r))/(z(x)-z(r))``, plain gradient
    where ``|z(x)-z(r)| < 1e-6``); cross-max for max pooling (the change ``max(x)-max(r)`` of
    each window is credited to the argmax of the larger maximum, divided by the input change
    there; plain gradient where the input change is 0); ordinary gradients for linear layers.
    The same rules as shap, captum and tangermeme, so contributions sum to
    ``f(x) - mean_k f(ref_k)`` (``delta`` is float round-off).

    ``hypothetical[i, c] = mean_k (m_k[i, c] - sum_c' r_k[i, c'] m_k[i, c'])``.

    Parameters
    ----------
    model : interpret.Model or keras.Model
    target : int
    output : {"logit", "probability"}
        A final softmax has no DeepLIFT rule here: softmax models are explained on logits.
    batch_size : int
        (sequence, reference) pairs per compiled call (default 1024).
    verbose : bool

    Raises
    ------
    InputError
        If the model has a layer without a DeepLIFT rule (it names the layer).
    """

    name = "deepshap"
    has_references = True

    def __init__(self, model, target: int = 0, output: str = "logit", batch_size: int = 1024,
                 verbose: bool = False):
        super().__init__(model, target, output, batch_size, verbose)
        check_deepshap_support(self.model, output)

    def _deeplift_fn(self, hypothetical: bool = False):
        """Compiled pass: ``x`` (n, L, 4), ``refs`` (n*k, L, 4) -> f(x) (n,), f(refs) (n*k,) and the
        multipliers (n*k, L, 4), or with ``hypothetical=True`` the hypothetical contributions (n, L, 4)
        (averaged over the k references in the graph: the multipliers never reach the host)."""
        fns = self.__dict__.setdefault("_deeplift_fns", {})
        if hypothetical not in fns:
            tf = _tf()
            model, target, output = self.model, self.target, self.output
            spec = tf.TensorSpec((None, model.seq_len, 4), tf.float32)

            @tf.function(input_signature=[spec, spec])
            def deeplift(x, refs):
                n = tf.shape(x)[0]
                k = tf.shape(refs)[0] // n
                rec = _Recorder()
                y = model.forward(tf.concat([x, refs], 0), output, rec.record)[:, target]
                rec.replay = (n, k)
                u = tf.repeat(x, k, axis=0)  # forward values of the replay are unused and pruned
                with tf.GradientTape() as tape:
                    tape.watch(u)
                    out = model.forward(u, output, rec.replay_hook)
                seed = tf.one_hot(tf.fill([n * k], target), model.n_outputs, dtype=out.dtype)
                m = tape.gradient(out, u, output_gradients=seed)
                if hypothetical:
                    m = _hyp_graph(_unflat(m, n, k), _unflat(refs, n, k))
                return y[:n], y[n:], m

            fns[hypothetical] = deeplift
        return fns[hypothetical]

    def attribute(self, x: np.ndarray, references=None, n_references: int = 20, seed: int = 0) -> AttributionResult:
        """DeepSHAP attributions.

        Parameters
        ----------
        x : ndarray, shape (N, L, 4)
        references : None, ndarray (N, K, L, 4) or (K, L, 4), callable or str
            ``None``/``"shuffle"``: ``n_references`` dinucleotide shuffles of each sequence
            (:func:`interpret.shuffle.dinucleotide_shuffle`, seeded); a callable is called as
            ``references(x, n_references, seed)`` and must return ``(N, K, L, 4)``.
        n_references : int
        seed : int

        Returns
        -------
        AttributionResult
        """
        return super().attribute(x, references=references, n_references=n_references, seed=seed)

    def multipliers(self, x: np.ndarray, references: np.ndarray):
        """Raw DeepLIFT multipliers of every (sequence, reference) pair, unbatched internals exposed.

        Parameters
        ----------
        x : ndarray, shape (N, L, 4)
        references : ndarray, shape (N, K, L, 4)

        Returns
        -------
        m : ndarray, shape (N, K, L, 4)
            ``sum(m * (x - r))`` over positions and bases equals ``f(x) - f(r)`` for each pair.
        score : ndarray, shape (N,)
        ref_score : ndarray, shape (N, K)
        """
        x = _check_x(x, self.model)
        refs = _resolve_references(x, references, 0, 0, default="shuffle")
        n, k = refs.shape[:2]
        m = np.zeros(refs.shape, np.float32)
        score = np.zeros(n, np.float32)
        ref_score = np.zeros((n, k), np.float32)
        for i, b, y, yr, mi in self._batches(self._deeplift_fn(), x, refs):
            m[i:i + b] = mi[:b * k].reshape((b,) + refs.shape[1:])
            score[i:i + b] = y
            ref_score[i:i + b] = yr
        return m, score, ref_score

    def _batches(self, fn, x, refs):
        """Run ``fn`` (:meth:`_deeplift_fn`) over whole sequences with their references.

        ``x`` (N, L, 4), ``refs`` (N, K, L, 4). Yields ``(start, b, f(x) (b,), f(refs) (b, K), out)``
        for the ``b`` sequences from ``start``; ``out`` is ``fn``'s third output, still holding the
        padding rows of :func:`_padded` (its first ``b`` or ``b * K`` rows are the batch's).
        """
        tf = _tf()
        k = refs.shape[1]
        per = max(1, self.batch_size // k)
        for i in range(0, len(x), per):
            xr = np.ascontiguousarray(refs[i:i + per])
            b = len(xr)
            rows = _bucket(b, per)
            y, yr, out = fn(tf.constant(_padded(x[i:i + per], rows)),
                            tf.constant(_padded(xr.reshape((b * k,) + x.shape[1:]), rows * k)))
            yield i, b, y.numpy()[:b], yr.numpy()[:b * k].reshape(b, k), out.numpy()

    def _attribute(self, x, offset=0, references=None, n_references: int = 20, seed: int = 0):
        refs = _resolve_references(x, references, n_references, seed, default="shuffle")
        n = len(refs)
        hyp = np.zeros(x.shape, np.float32)
        score = np.zeros(n, np.float32)
        ref_score = np.zeros(n, np.float64)
        for i, b, y, yr, h in self._batches(self._deeplift_fn(hypothetical=True), x, refs):
            hyp[i:i + b] = h[:b]
            score[i:i + b] = y
            ref_score[i:i + b] = yr.astype(np.float64).mean(1)
        delta = (hyp * x).astype(np.float64).sum((1, 2)) - (score.astype(np.float64) - ref_score)
        return self._result(hyp, x, score, delta, ref_score, offset)


# --------------------------------------------------------------------------------------
# Registry and streaming
# --------------------------------------------------------------------------------------
METHODS = {"deepshap": DeepShap, "gradxinput": GradientXInput, "saliency": Saliency, "ig": IntegratedGradients,
           "ism": ISM}


def get_method(name: str, model, target: int = 0, **options) -> _Method:
    """Instantiate a method from :data:`METHODS` by name (raises :class:`InputError` if unknown)."""
    if name not in METHODS:
        raise InputError(f"unknown attribution method {name!r}; choose from {', '.join(METHODS)}.")
    return METHODS[name](model, target=target, **options)


def iter_attribute(method_obj: _Method, x: np.ndarray, chunk_size: int = 1024,
                   **kwargs) -> Iterator[tuple[int, AttributionResult]]:
    """Stream attributions of ``x`` (N, L, 4) in chunks: yields ``(start, AttributionResult)``.

    ``kwargs`` go to the method (``references``, ``n_references``, ``seed`` for reference
    methods); a reference array of shape ``(N, K, L, 4)`` is sliced along with ``x``.
    Results do not depend on ``chunk_size`` (shuffles are seeded per sequence).
    """
    return method_obj.attribute_chunks(x, chunk_size=chunk_size, **kwargs)
