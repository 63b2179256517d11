"""Keras recurrent layers split into the operations DeepLIFT has rules for.

DeepLIFT's rules are local: linear operations keep their gradient, an elementwise nonlinearity
gets the rescale rule, a product of two input-dependent tensors needs a rule of its own. An LSTM,
GRU or SimpleRNN layer is one opaque loop to the Keras graph, so :mod:`interpret.attribution.deeplift` cannot
see inside it. This module recomputes such a layer from its weights, one time step after
another, with every gate activation going through ``ops.act(fn, z)`` and every product of two
input-dependent tensors (gate × state; the ``mul`` merge of ``Bidirectional``) through
``ops.mul(a, b)``; the rest (matrix products, sums, ``1 - z``) is linear.

* :func:`forward` computes the layer's inference output and its *trace*: the input and output
  of every such operation at every step, stacked over time.
* :func:`replay` runs the same recurrence with each operation replaced by a linear one with
  given coefficients: ``act`` by ``m * z``, ``mul`` by ``m_a * a + m_b * b``. Its gradient is
  then the chain of those coefficients, which is how DeepLIFT's multipliers propagate;
  :mod:`interpret.attribution.deeplift` computes the coefficients from the trace of ``[x; references]``.

Both loop with ``tf.scan``, so the graph does not grow with the sequence length (an unrolled
Bidirectional LSTM over 21 steps built 33,000 graph operations and took 26 s of CPU to trace).

Supported: ``LSTM``, ``GRU`` (``reset_after`` either way), ``SimpleRNN``, and ``Bidirectional``
around them (merge ``concat``, ``sum``, ``ave``, ``mul``), with ``return_sequences`` and
``go_backwards`` either way, zero initial state, at inference (dropout off). Not supported:
``stateful`` and ``return_state`` (:func:`unsupported` says so). Masks are ignored: only a
``Masking`` or ``Embedding`` layer makes one, and DeepLIFT has no rule for those anyway.

Nothing here opens files or knows about references.
"""

from __future__ import annotations

#: Recurrent layer classes this module can compute.
RECURRENT_LAYERS = ("LSTM", "GRU", "SimpleRNN", "Bidirectional")


def _tf():
    import tensorflow as tf

    return tf


def unsupported(layer) -> str | None:
    """Why this module cannot reproduce ``layer`` (e.g. ``"stateful=True"``), or ``None``."""
    cls = type(layer).__name__
    if cls == "Bidirectional":
        if layer.merge_mode not in ("concat", "sum", "ave", "mul"):
            return f"merge_mode={layer.merge_mode!r}"
        if layer.return_state:
            return "return_state=True"
        return unsupported(layer.forward_layer) or unsupported(layer.backward_layer)
    if cls not in RECURRENT_LAYERS:
        return f"a {cls} inside Bidirectional"
    for flag in ("stateful", "return_state"):
        if getattr(layer, flag, False):
            return f"{flag}=True"
    return None


def activations(layer) -> list:
    """The activation functions ``layer`` applies elementwise (its cells' ``activation`` and
    ``recurrent_activation``), so the caller can check it has a rule for each."""
    if type(layer).__name__ == "Bidirectional":
        return activations(layer.forward_layer) + activations(layer.backward_layer)
    cell = layer.cell
    return [cell.activation] + ([cell.recurrent_activation] if hasattr(cell, "recurrent_activation") else [])


class _Collect:
    """Step ops that compute each operation and keep its inputs and output."""

    def __init__(self):
        self.entries = []

    def act(self, fn, z):
        h = fn(z)
        self.entries.append(("act", fn, z, h))
        return h

    def mul(self, a, b):
        self.entries.append(("mul", a, b))
        return a * b


class _Linear:
    """Step ops that replace each operation, in trace order, by its linear stand-in."""

    def __init__(self, coefs):
        self.coefs = iter(coefs)

    def act(self, fn, z):
        return next(self.coefs) * z

    def mul(self, a, b):
        m_a, m_b = next(self.coefs)
        return m_a * a + m_b * b


def forward(layer, x):
    """Inference output of recurrent ``layer`` on ``x`` and the trace of its operations.

    Parameters
    ----------
    layer : keras LSTM, GRU, SimpleRNN or Bidirectional
    x : tensor, shape (B, T, C)
        The layer's input; ``T`` must be static.

    Returns
    -------
    y : tensor
        ``(B, T, units)`` with ``return_sequences``, else ``(B, units)`` (``2 units`` for a
        ``concat`` Bidirectional): the layer's own output, up to float round-off.
    trace : dict
        ``{"steps": [entry, ...]}`` for one direction, ``{"forward": trace, "backward": trace,
        "merge": [entry] or []}`` for Bidirectional. An entry is ``("act", fn, z, h)`` or
        ``("mul", a, b)``; step entries hold tensors ``(B, T, ...)`` (steps in loop order,
        reversed for ``go_backwards``), merge entries the merged outputs' shape.
    """
    tf = _tf()
    if type(layer).__name__ == "Bidirectional":
        y, trace_f = forward(layer.forward_layer, x)
        y_rev, trace_b = forward(layer.backward_layer, x)
        y, merge = _merge(layer, y, y_rev, _Collect())
        return y, {"forward": trace_f, "backward": trace_b, "merge": merge.entries}
    step, (kernel, recurrent, bias), xs, state = _setup(layer, x)

    def run(state, xk):
        ops = _Collect()
        new = step(layer.cell, xk, recurrent, bias, state, ops)
        return new, [_tensors(e) for e in ops.entries]

    # step 0 outside the loop gives tf.scan the structure of what each step records
    first_ops = _Collect()
    state = step(layer.cell, xs[0], recurrent, bias, state, first_ops)
    first = [_tensors(e) for e in first_ops.entries]
    states, values = [s[None] for s in state], [[v[None] for v in e] for e in first]
    if xs.shape[0] > 1:
        rest_states, rest = tf.scan(lambda acc, xk: run(acc[0], xk), xs[1:], initializer=(state, first))
        states = [tf.concat([s, r], 0) for s, r in zip(states, rest_states)]
        values = [[tf.concat([v, r], 0) for v, r in zip(e, re)] for e, re in zip(values, rest)]
    steps = [e[:len(e) - len(vals)] + tuple(_batch_first(v) for v in vals) for e, vals in zip(first_ops.entries, values)]
    h = states[0]  # (T, B, units), loop order
    return (_batch_first(h) if layer.return_sequences else h[-1]), {"steps": steps}


def replay(layer, u, coefs):
    """``layer``'s recurrence on ``u`` with every operation replaced by its linear stand-in.

    Parameters
    ----------
    layer : as :func:`forward`
    u : tensor, shape (B, T, C)
    coefs : dict
        The structure of :func:`forward`'s trace with each entry replaced by its coefficients
        for ``u``'s rows: ``m`` for an ``act`` entry, ``(m_a, m_b)`` for a ``mul`` entry, shaped
        like the entry's tensors.

    Returns
    -------
    tensor
        Shaped like the layer's output; its gradient with respect to ``u`` is the chain of the
        coefficients (the forward values themselves mean nothing).
    """
    tf = _tf()
    if type(layer).__name__ == "Bidirectional":
        y = replay(layer.forward_layer, u, coefs["forward"])
        y_rev = replay(layer.backward_layer, u, coefs["backward"])
        return _merge(layer, y, y_rev, _Linear(coefs["merge"]))[0]
    step, (kernel, recurrent, bias), xs, state = _setup(layer, u)
    per_step = tf.nest.map_structure(_time_first, coefs["steps"])

    def run(state, elems):
        xk, c = elems
        return tuple(step(layer.cell, xk, recurrent, bias, state, _Linear(c)))

    states = tf.scan(run, (xs, per_step), initializer=tuple(state))
    h = states[0]
    return _batch_first(h) if layer.return_sequences else h[-1]


def _tensors(entry) -> tuple:
    """The tensors of a trace entry: ``(z, h)`` of an ``act``, ``(a, b)`` of a ``mul``."""
    return entry[2:] if entry[0] == "act" else entry[1:]


def map_entries(trace: dict, fn) -> dict:
    """``trace`` with every entry replaced by ``fn(entry)`` (how the coefficients are built)."""
    if "steps" in trace:
        return {"steps": [fn(e) for e in trace["steps"]]}
    return {"forward": map_entries(trace["forward"], fn), "backward": map_entries(trace["backward"], fn),
            "merge": [fn(e) for e in trace["merge"]]}


def _merge(layer, y, y_rev, ops):
    tf = _tf()
    if layer.return_sequences:
        y_rev = tf.reverse(y_rev, [1])  # back into input order, as Bidirectional does
    if layer.merge_mode == "concat":
        return tf.concat([y, y_rev], -1), ops
    if layer.merge_mode == "sum":
        return y + y_rev, ops
    if layer.merge_mode == "ave":
        return (y + y_rev) / 2, ops
    return ops.mul(y, y_rev), ops


def _setup(layer, x):
    """Step function, weights, time-major input projections in loop order, zero state."""
    tf = _tf()
    cell = layer.cell
    kind = type(layer).__name__
    step = {"LSTM": _lstm_step, "GRU": _gru_step, "SimpleRNN": _simple_step}[kind]
    kernel = tf.convert_to_tensor(cell.kernel)
    recurrent = tf.convert_to_tensor(cell.recurrent_kernel)
    bias = tf.convert_to_tensor(cell.bias) if cell.use_bias else None
    xs = _time_first(tf.einsum("btc,cu->btu", x, kernel))  # every step's input projection at once
    if layer.go_backwards:
        xs = tf.reverse(xs, [0])
    zeros = tf.zeros(tf.stack([tf.shape(x)[0], cell.units]), x.dtype)
    return step, (kernel, recurrent, bias), xs, ((zeros, zeros) if kind == "LSTM" else (zeros,))


def _time_first(t):
    """Swap the first two axes: (B, T, ...) <-> (T, B, ...)."""
    return _tf().transpose(t, [1, 0] + list(range(2, t.shape.rank)))


_batch_first = _time_first


def _lstm_step(cell, xk, recurrent, bias, state, ops):
    tf = _tf()
    h, c = state
    z = xk + tf.matmul(h, recurrent)
    if bias is not None:
        z = z + bias
    z_i, z_f, z_c, z_o = tf.split(z, 4, axis=1)
    act, rec = cell.activation, cell.recurrent_activation
    i, f, g, o = ops.act(rec, z_i), ops.act(rec, z_f), ops.act(act, z_c), ops.act(rec, z_o)
    c = ops.mul(f, c) + ops.mul(i, g)
    return ops.mul(o, ops.act(act, c)), c


def _gru_step(cell, xk, recurrent, bias, state, ops):
    tf = _tf()
    (h,) = state
    u = cell.units
    act, rec = cell.activation, cell.recurrent_activation
    if bias is not None:
        xk = xk + (bias[0] if cell.reset_after else bias)
    x_z, x_r, x_h = tf.split(xk, 3, axis=1)
    if cell.reset_after:
        inner = tf.matmul(h, recurrent)
        if bias is not None:
            inner = inner + bias[1]
        r_z, r_r, r_h = tf.split(inner, 3, axis=1)
        z, r = ops.act(rec, x_z + r_z), ops.act(rec, x_r + r_r)
        hh = ops.act(act, x_h + ops.mul(r, r_h))
    else:
        r_z, r_r = tf.split(tf.matmul(h, recurrent[:, :2 * u]), 2, axis=1)
        z, r = ops.act(rec, x_z + r_z), ops.act(rec, x_r + r_r)
        hh = ops.act(act, x_h + tf.matmul(ops.mul(r, h), recurrent[:, 2 * u:]))
    return (ops.mul(z, h) + ops.mul(1 - z, hh),)


def _simple_step(cell, xk, recurrent, bias, state, ops):
    tf = _tf()
    (h,) = state
    z = xk + tf.matmul(h, recurrent)
    if bias is not None:
        z = z + bias
    return (ops.act(cell.activation, z),)
