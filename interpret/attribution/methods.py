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
``tf.function`` s with a fixed input signature (no retracing from one batch to the next), except
DeepSHAP's, which is traced once per batch shape (see ``DeepShap._deeplift_fn``). None of them
branches on a tensor, so they are traced without AutoGraph: converting the Keras layers' Python
cost 5 s of a 41 s ``interpret run`` on 5,000 x 101 bp, 3 of them in the attribution stage.

DeepSHAP implementation
-----------------------
Two passes per batch, so ``x`` and its references are never stacked through the backward pass:

1. forward ``x`` and all references once (one concatenated batch), recording the input and
   output of every nonlinear operation (activations, max pooling);
2. backward through a *replay* of the graph on ``N * K`` rows in which every nonlinear
   operation is a ``tf.custom_gradient`` whose gradient is the DeepLIFT multiplier computed
   from the recorded activations of ``x`` (broadcast over the ``K`` references) and of its
   references. Linear layers back-propagate their ordinary gradient. The replay's forward
   values are never used, and with static batch shapes TensorFlow prunes them from the graph.

Speed-ups (same numbers as the plain rules, checked against the general path in the tests):
max pooling over non-overlapping windows (and global max pooling) records each window's first
argmax in pass 1 (global pooling of a ReLU: one numba pass; small windows of a ReLU: one
compiled pass over the pre-activation that also computes the multipliers) and reduces the
cross-max rule, fused with the rescale rule of the activation feeding the pool, to two
multipliers per window and channel (x's once per sequence, shared by its K references);
first-layer convolutions whose ``kernel width * input channels <= filters`` get their input
gradient as one GEMM and an overlap-add, or, below a global max pool, by scattering each
channel's kernel at its (at most two) argmaxes; the hypothetical contributions are averaged
over the references in the graph, or, when such a convolution alone reads the input and a max
pool over windows follows it, computed from the pool's sparse gradient without the input
gradient of each pair (:func:`interpret.attribution.deeplift._window_hyp`). The gradient methods use the same GEMM input gradient and
centre in the graph.

The rules themselves live in :mod:`interpret.attribution.deeplift`. Supported layers: see its
:data:`~interpret.attribution.deeplift.LINEAR_LAYERS`, :data:`~interpret.attribution.deeplift.ELEMENTWISE_LAYERS`,
:data:`~interpret.attribution.deeplift.MAXPOOL_LAYERS`, :data:`~interpret.attribution.deeplift.ELEMENTWISE_ACTIVATIONS` and :data:`~interpret.attribution.recurrent.RECURRENT_LAYERS`; any other layer raises :class:`InputError` (use
:class:`IntegratedGradients`, which works for any differentiable model).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ..errors import InputError
from .deeplift import (Recorder, check_deepshap_support, gradient_hook, hyp_graph, tapped_gradient_hook, unflat,
                       unsupported_part)
from ..model import Model
from .shuffle import dinucleotide_shuffle

logger = logging.getLogger(__name__)

__all__ = ["AttributionResult", "DeepShap", "IntegratedGradients", "GradientXInput", "Saliency", "ISM",
           "METHODS", "iter_attribute", "get_method", "DELTA_WARN", "check_deepshap_support", "unsupported_part"]

DELTA_WARN = 1e-3



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


def _watcher(tape, taps: list):
    """A tap function: ``z -> z + 0`` with the zero watched by ``tape`` and kept in ``taps``."""
    tf = _tf()

    def watch(z):
        t = tf.zeros_like(z)
        tape.watch(t)
        taps.append(t)
        return z + t

    return watch


def _one_tap(taps: list, layer):
    if len(taps) != 1:
        raise InputError(f"layer '{layer.name}' is called {len(taps)} times in the model; a layer-level "
                         "attribution needs a layer that is called exactly once.")
    return taps[0]


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

            @tf.function(input_signature=[spec], autograph=False)
            def grad(x):
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    y = model.forward(x, output, gradient_hook)[:, target]
                g = tape.gradient(y, x)
                if correct:  # centred in the graph: one pass less over the result on the host
                    g = g - tf.reduce_mean(g, -1, keepdims=True)
                return y, g

            self._fn = grad
        return self._fn

    def layer_gradients_graph(self, x, layer):
        """Gradient of the explained output with respect to ``layer``'s linear output (before its
        built-in activation), uncentred: the layer-level gradient (captum's ``LayerGradientXActivation``
        without the product).

        Graph code, to call inside a ``tf.function``: ``x`` (n, L, 4) -> (n, *output shape of layer).
        """
        tf = _tf()
        taps = []
        with tf.GradientTape() as tape:
            y = self.model.forward(x, self.output, tapped_gradient_hook(layer, _watcher(tape, taps)))[:, self.target]
        return tape.gradient(y, _one_tap(taps, layer))

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

            @tf.function(input_signature=[spec, spec, tf.TensorSpec((None,), tf.float32)], autograph=False)
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
        (averaged over the k references in the graph: the multipliers never reach the host).

        Traced once per batch shape (:meth:`_batches` pads batches to a few shapes): with static
        shapes every shape the replay's gradients ask for is a constant, so TensorFlow prunes the
        replay's forward pass, which would otherwise cost as much as the forward of all references.
        """
        fns = self.__dict__.setdefault("_deeplift_fns", {})
        if hypothetical not in fns:
            tf = _tf()
            model, target, output = self.model, self.target, self.output

            @tf.function(autograph=False)
            def deeplift(x, refs):
                n = x.shape[0]
                k = refs.shape[0] // n
                rec = Recorder()
                rec.replay = (n, k)
                y = model.forward(tf.concat([x, refs], 0), output, rec.record)[:, target]
                u = tf.repeat(x, k, axis=0)  # forward values of the replay are unused and pruned
                if hypothetical:
                    rec.hyp_refs = unflat(refs, n, k)
                with tf.GradientTape() as tape:
                    tape.watch(u)
                    out = model.forward(u, output, rec.replay_hook)
                seed = tf.one_hot(tf.fill([n * k], target), model.n_outputs, dtype=out.dtype)
                m = tape.gradient(out, u, output_gradients=seed)
                if hypothetical:  # rec.hyp: taken at the first layer (the multipliers m are then pruned)
                    m = rec.hyp if rec.hyp is not None else hyp_graph(unflat(m, n, k), rec.hyp_refs)
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
            (:func:`interpret.attribution.shuffle.dinucleotide_shuffle`, seeded); a callable is called as
            ``references(x, n_references, seed)`` and must return ``(N, K, L, 4)``.
        n_references : int
        seed : int

        Returns
        -------
        AttributionResult
        """
        return super().attribute(x, references=references, n_references=n_references, seed=seed)

    def layer_multipliers_graph(self, x, refs, layer):
        """DeepLIFT multipliers of the explained output with respect to ``layer``'s linear output
        (before its built-in activation): the layer-level pass of captum's ``LayerDeepLift``, before
        the product with the layer's difference from reference.

        Graph code, to call inside a ``tf.function``. ``x`` (n, L, 4) and ``refs`` (n * k, L, 4) as
        in :meth:`_deeplift_fn`; returns (n * k, *output shape of layer), row ``i * k + j`` for
        sequence ``i`` against its reference ``j``. The rescale of the layer's activation, and the
        rules of every layer after it, are included: back-propagated linearly through ``layer``
        they give :meth:`multipliers` when the input reaches the output only through ``layer``.
        """
        tf = _tf()
        model, target, output = self.model, self.target, self.output
        n = tf.shape(x)[0]
        k = tf.shape(refs)[0] // n
        taps = []
        tape = tf.GradientTape()
        rec = Recorder(tap=(layer, _watcher(tape, taps)))
        model.forward(tf.concat([x, refs], 0), output, rec.record)
        rec.replay = (n, k)
        with tape:
            out = model.forward(tf.repeat(x, k, axis=0), output, rec.replay_hook)
        seed = tf.one_hot(tf.fill([n * k], target), model.n_outputs, dtype=out.dtype)
        return tape.gradient(out, _one_tap(taps, layer), output_gradients=seed)

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
