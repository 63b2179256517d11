"""A loaded Keras model, seen through the package's conventions.

:class:`Model` wraps a ``keras.Model`` and knows three things the rest of the package needs:

* the input **layout** of the model (``"L4"`` for ``(L, 4)``, ``"1L4"`` for the Conv2D
  ``(1, L, 4)`` layout, ``"4L"`` for channels-first ``(4, L)``) and how to convert the
  package's ``(N, L, 4)`` arrays into it (:meth:`Model.to_model_input`);
* its **outputs** (number of tasks, final activation) and the **pre-activation logit** of
  each, which is what attributions explain by default (:meth:`Model.forward`);
* how to **run the layer graph with a hook** (:func:`run_graph`), so attribution rules and
  filter ablations can replace what one layer does without rebuilding the model.

Files are opened by :mod:`interpret.io`; this module only works on in-memory models.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .errors import InputError

logger = logging.getLogger(__name__)

LAYOUTS = {"L4": "(L, 4)", "1L4": "(1, L, 4)", "4L": "(4, L)"}
_SQUASHING = {"sigmoid", "softmax"}


def quiet_tensorflow() -> None:
    """Import TensorFlow without its C++ banner and silence its and Keras's notices (the absl HDF5
    notice, Keras warnings): for the command line and the Dask worker processes it starts, which
    decide what the user sees. TF 2.21 prints its oneDNN banner from C++ at import, past
    ``TF_CPP_MIN_LOG_LEVEL``, so the import runs with file descriptor 2 pointed at /dev/null."""
    import os
    import warnings

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="keras")
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)


def _keras():
    import keras

    return keras


def activation_name(fn) -> str:
    """Name of a Keras activation function (``"relu"``, ``"sigmoid"``, ``"linear"``, ...)."""
    if fn is None:
        return "linear"
    name = getattr(fn, "__name__", None) or type(fn).__name__
    return name.lower()


def run_graph(keras_model, inputs, call_fn: Callable | None = None):
    """Run ``keras_model`` on ``inputs`` layer by layer, letting ``call_fn`` replace any layer.

    Parameters
    ----------
    keras_model : keras.Model
        Sequential or functional model (nested models are walked recursively).
    inputs : tensor or list of tensors
        In the model's own layout.
    call_fn : callable, optional
        ``call_fn(layer, default, *args, **kwargs)``; ``default(*args, **kwargs)`` runs the
        layer as usual. Returning ``default(*args, **kwargs)`` keeps the layer unchanged.

    Returns
    -------
    The model's outputs (a tensor, or a list for several outputs).
    """
    keras = _keras()
    graph = keras_model
    if isinstance(keras_model, keras.Sequential):
        graph = getattr(keras_model, "_functional", None)
        if graph is None:  # unbuilt Sequential: plain chain of layers
            x = inputs
            for layer in keras_model.layers:
                x = _call(layer, call_fn, x)
            return x

    def _dispatch(op, *args, **kwargs):
        return _call(op, call_fn, *args, **kwargs)

    return graph._run_through_graph(inputs, operation_fn=lambda op: op, call_fn=_dispatch)


def _call(layer, call_fn, *args, **kwargs):
    keras = _keras()
    if isinstance(layer, keras.Model):
        # Nested models are walked too, so hooks see their layers.
        sub_inputs = args[0] if len(args) == 1 else list(args)
        return run_graph(layer, sub_inputs, call_fn)
    kwargs.pop("training", None)

    def default(*a, **k):
        return layer(*a, training=False, **k) if _takes_training(layer) else layer(*a, **k)

    if call_fn is None:
        return default(*args, **kwargs)
    return call_fn(layer, default, *args, **kwargs)


def _takes_training(layer) -> bool:
    return bool(getattr(layer, "_call_has_training_arg", False))


class linear_activation:
    """Context manager: run ``layer`` with its built-in ``activation`` switched to linear.

    Used while tracing, to reach the pre-activation of a Dense/Conv layer; the original
    activation is restored on exit so the user's model is left untouched.
    """

    def __init__(self, layer):
        self.layer = layer
        self.saved = None

    def __enter__(self):
        self.saved = self.layer.activation
        self.layer.activation = _keras().activations.linear
        return self.layer

    def __exit__(self, *exc):
        self.layer.activation = self.saved
        return False


@dataclass
class Model:
    """A Keras DNA model with its input layout and output semantics detected.

    Attributes
    ----------
    keras_model : keras.Model
        The user's model, unchanged.
    layout : str
        ``"L4"``, ``"1L4"`` or ``"4L"``; see :data:`LAYOUTS`.
    seq_len : int
        Sequence length ``L`` the model takes.
    n_outputs : int
        Number of output units (tasks or classes) of the single output tensor.
    output_activation : str
        ``"sigmoid"``, ``"softmax"`` or ``"linear"`` (regression or logits already).
    path : str or None
        File the model came from.
    """

    keras_model: object
    layout: str
    seq_len: int
    n_outputs: int
    output_activation: str
    path: str | None = None
    _final_layer: object = field(default=None, repr=False)

    @classmethod
    def from_keras(cls, keras_model, path: str | None = None) -> "Model":
        """Inspect ``keras_model`` and wrap it; raises :class:`InputError` if it is not a DNA model."""
        keras = _keras()
        if not isinstance(keras_model, keras.Model):
            raise InputError(f"{path or 'object'} is not a Keras model; pass a .h5, .keras or SavedModel path.")
        if len(keras_model.inputs) != 1:
            raise InputError(
                f"the model has {len(keras_model.inputs)} inputs; interpret explains single-input "
                "sequence models: wrap it in a keras.Model that takes one (L, 4) one-hot input."
            )
        shape = tuple(keras_model.inputs[0].shape[1:])
        layout, seq_len = _detect_layout(shape)
        if len(keras_model.outputs) != 1:
            raise InputError(
                f"the model has {len(keras_model.outputs)} output tensors; build a keras.Model "
                "with the one output you want explained."
            )
        out_shape = tuple(keras_model.outputs[0].shape[1:])
        if len(out_shape) != 1:
            raise InputError(
                f"the model's output has shape {out_shape}; interpret explains a vector of "
                "per-sequence scores (N, T): add a Flatten/Dense head."
            )
        final_layer, act = _final_activation(keras_model)
        return cls(keras_model, layout, seq_len, int(out_shape[0]), act, path, final_layer)

    # -- layout ---------------------------------------------------------------------------
    def to_model_input(self, x):
        """Convert ``x`` of shape ``(N, L, 4)`` (numpy or tf) into the model's own layout."""
        import tensorflow as tf

        x = tf.convert_to_tensor(x, dtype=tf.float32)
        if self.layout == "1L4":
            return x[:, None, :, :]
        if self.layout == "4L":
            return tf.transpose(x, (0, 2, 1))
        return x

    # -- outputs --------------------------------------------------------------------------
    def check_target(self, target: int) -> int:
        """Validate ``target`` against the number of outputs; returns it as an int."""
        if not isinstance(target, (int, np.integer)) or not 0 <= int(target) < self.n_outputs:
            raise InputError(
                f"--target {target} is out of range: the model has {self.n_outputs} output(s), "
                f"use 0..{self.n_outputs - 1}."
            )
        return int(target)

    def explained(self, target: int, output: str = "logit") -> str:
        """Human-readable statement of the scalar that is explained, for every output file."""
        if output == "logit" and self.output_activation in _SQUASHING:
            return f"logit (pre-{self.output_activation}) of output {target}"
        if output == "logit":
            return f"output {target} (final activation: {self.output_activation})"
        return f"{self.output_activation} probability of output {target}"

    def forward(self, x, output: str = "logit", call_fn: Callable | None = None):
        """Differentiable forward pass on ``(N, L, 4)``; returns ``(N, n_outputs)``.

        ``output="logit"`` strips the final sigmoid/softmax; ``"probability"`` keeps it.
        ``call_fn`` is passed to :func:`run_graph` for every other layer.
        """
        if output not in ("logit", "probability"):
            raise InputError(f"output must be 'logit' or 'probability', not {output!r}.")
        strip = output == "logit" and self.output_activation in _SQUASHING
        final = self._final_layer

        def hook(layer, default, *args, **kwargs):
            if strip and layer is final:
                if hasattr(layer, "activation") and not _is_activation_layer(layer):
                    with linear_activation(layer):
                        return call_fn(layer, default, *args, **kwargs) if call_fn else default(*args, **kwargs)
                return args[0]  # a standalone Activation/Softmax layer: skip it
            return call_fn(layer, default, *args, **kwargs) if call_fn else default(*args, **kwargs)

        return run_graph(self.keras_model, self.to_model_input(x), hook)

    def predict(self, x: np.ndarray, target: int | None = None, output: str = "logit",
                batch_size: int = 1024) -> np.ndarray:
        """Scores for ``x`` of shape ``(N, L, 4)``: ``(N, n_outputs)``, or ``(N,)`` for one ``target``."""
        import tensorflow as tf

        fn = self._compiled_forward(output)
        chunks = []
        for i in range(0, len(x), batch_size):
            chunks.append(fn(tf.constant(np.asarray(x[i:i + batch_size], dtype=np.float32))).numpy())
        out = np.concatenate(chunks) if chunks else np.zeros((0, self.n_outputs), np.float32)
        return out if target is None else out[:, target]

    def _compiled_forward(self, output: str):
        import tensorflow as tf

        cache = self.__dict__.setdefault("_fwd_cache", {})
        if output not in cache:
            spec = tf.TensorSpec((None, self.seq_len, 4), tf.float32)
            cache[output] = tf.function(lambda x: self.forward(x, output), input_signature=[spec], autograph=False)
        return cache[output]

    def fingerprint(self) -> str:
        """SHA-256 of the layout, outputs, layer types and every weight: equal for the same model
        loaded twice, different when any weight differs (recorded to check resumed runs)."""
        h = hashlib.sha256(f"{self.layout}|{self.seq_len}|{self.n_outputs}|{self.output_activation}".encode())
        h.update("|".join(type(layer).__name__ for layer in self.keras_model.layers).encode())
        for w in self.keras_model.get_weights():
            h.update(str(w.shape).encode())
            h.update(np.ascontiguousarray(w).tobytes())
        return h.hexdigest()

    def describe(self) -> list[dict]:
        """Architecture table: one dict per layer (name, type, output shape, activation, params)."""
        rows = []
        for layer in self.keras_model.layers:
            try:
                shape = str(tuple(layer.output.shape[1:]))
            except Exception:  # layers used several times have no single output shape
                shape = ""
            rows.append({
                "name": layer.name,
                "type": type(layer).__name__,
                "output_shape": shape,
                "activation": activation_name(getattr(layer, "activation", None)) if hasattr(layer, "activation") else "",
                "params": int(layer.count_params()) if layer.built else 0,
            })
        return rows


def _detect_layout(shape: tuple) -> tuple[str, int]:
    msg = (f"the model's input shape {shape} is not a one-hot DNA layout; interpret supports "
           "(L, 4), (1, L, 4) and (4, L) with a fixed length L.")
    if any(d is None for d in shape):
        raise InputError(
            f"the model's input shape {shape} has an unknown length; rebuild it with a fixed "
            "length, e.g. keras.Input((101, 4))."
        )
    if len(shape) == 2 and shape[1] == 4:
        return "L4", int(shape[0])
    if len(shape) == 2 and shape[0] == 4:
        return "4L", int(shape[1])
    if len(shape) == 3 and shape[0] == 1 and shape[2] == 4:
        return "1L4", int(shape[1])
    raise InputError(msg)


def _is_activation_layer(layer) -> bool:
    keras = _keras()
    return isinstance(layer, (keras.layers.Activation, keras.layers.Softmax))


def _final_activation(keras_model):
    """The layer that applies the model's final squashing function, and that function's name."""
    keras = _keras()
    layers = [l for l in keras_model.layers if not isinstance(l, keras.layers.InputLayer)]
    # Walk back over layers that do not change values (dropout at inference, reshape).
    passthrough = (keras.layers.Dropout, keras.layers.Flatten, keras.layers.Reshape)
    for layer in reversed(layers):
        if isinstance(layer, keras.Model):
            return _final_activation(layer)
        if isinstance(layer, passthrough):
            continue
        if isinstance(layer, keras.layers.Softmax):
            return layer, "softmax"
        name = activation_name(getattr(layer, "activation", None))
        if name in _SQUASHING:
            return layer, name
        return layer, "linear"
    return None, "linear"
