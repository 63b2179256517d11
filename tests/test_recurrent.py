"""DeepLIFT rules for LSTM, GRU, SimpleRNN and Bidirectional (issue 16): the unrolled layers equal
Keras's, DeepSHAP's contributions add up to the output difference to 1e-5, and its multipliers
tend to the gradient as the reference approaches the input."""

import numpy as np
import pytest

from interpret import recurrent
from interpret.attribution import DeepShap, unsupported_part
from interpret.model import Model


def _layers():
    import keras

    return keras.layers


def _randomise(keras_model, seed=0, scale=2.0):
    """Weights large enough that gates saturate and states differ from their references."""
    rng = np.random.default_rng(seed)
    for w in keras_model.weights:
        w.assign(w.numpy() * scale if len(w.shape) > 1 else rng.normal(size=w.shape) * 0.3)


@pytest.mark.parametrize("make", [
    lambda L: L.LSTM(4),
    lambda L: L.LSTM(4, return_sequences=True, go_backwards=True),
    lambda L: L.GRU(4),
    lambda L: L.GRU(4, reset_after=False, return_sequences=True, go_backwards=True),
    lambda L: L.SimpleRNN(4, activation="relu", use_bias=False),
    lambda L: L.Bidirectional(L.LSTM(3)),
    lambda L: L.Bidirectional(L.GRU(3, return_sequences=True), merge_mode="mul"),
    lambda L: L.Bidirectional(L.LSTM(3, return_sequences=True), merge_mode="ave"),
    lambda L: L.Bidirectional(L.SimpleRNN(3), merge_mode="sum"),
])
def test_recurrent_forward_equals_the_keras_layer(make):
    import tensorflow as tf

    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 9, 3)).astype(np.float32)
    layer = make(_layers())
    layer(x)
    for w in layer.weights:
        w.assign(rng.normal(size=w.shape).astype(np.float32))
    y, trace = recurrent.forward(layer, tf.constant(x))
    np.testing.assert_allclose(y.numpy(), layer(x).numpy(), atol=1e-5)
    entries = trace["steps"] if "steps" in trace else trace["forward"]["steps"]
    assert all(e[2].shape[:2] == (5, 9) for e in entries)  # every operation recorded at every step


@pytest.fixture(scope="module")
def stacked():
    """Two small recurrent stacks with random weights that between them use every supported variant."""
    return {kind: _stacked(kind) for kind in ("a", "b")}


def _stacked(kind):
    import keras

    L = _layers()
    keras.utils.set_random_seed(0)
    inp = keras.Input((101, 4))
    h = L.MaxPooling1D(4)(L.Conv1D(8, 15, activation="relu")(inp))
    if kind == "a":
        h = L.Bidirectional(L.LSTM(6, return_sequences=True), merge_mode="mul")(h)
        h = L.Flatten()(L.GRU(5, reset_after=False, return_sequences=True)(h))
    else:
        h = L.Bidirectional(L.GRU(5, return_sequences=True))(h)
        h = L.LSTM(4, go_backwards=True, return_sequences=True)(h)
        h = L.SimpleRNN(3)(h)
    model = keras.Model(inp, L.Dense(1, activation="sigmoid")(h))
    _randomise(model)
    return Model.from_keras(model)


@pytest.mark.parametrize("kind", ["a", "b"])
def test_deepshap_on_recurrent_models_is_complete_to_1e_5(kind, stacked, example_sim):
    model = stacked[kind]
    assert unsupported_part(model) is None
    res = DeepShap(model).attribute(example_sim.x[:16], n_references=6, seed=0)
    np.testing.assert_allclose(res.score, model.predict(example_sim.x[:16], 0), atol=1e-4)
    gap = res.score.astype(np.float64) - res.ref_score
    assert np.abs(gap).max() > 0.1  # the references really move the output
    assert np.abs(res.delta).max() < 1e-5


def test_recurrent_multipliers_tend_to_the_gradient_as_the_reference_nears_the_input(stacked, example_sim):
    import tensorflow as tf

    model = stacked["a"]
    deepshap = DeepShap(model)
    x = example_sim.x[:4]
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = model.forward(xt)[:, 0]
    grad = tape.gradient(y, xt).numpy()
    errors = []
    for eps in (1e-2, 1e-3):
        refs = (x + eps * (0.25 - x))[:, None]
        m, _, _ = deepshap.multipliers(x, refs)
        errors.append(np.abs(m[:, 0] - grad).max())
    assert errors[1] < errors[0] / 5 and errors[1] < 0.02 * np.abs(grad).max()


def test_recurrent_configurations_without_a_rule_are_named():
    L = _layers()
    assert recurrent.unsupported(L.LSTM(3, stateful=True)) == "stateful=True"
    assert recurrent.unsupported(L.GRU(3, return_state=True)) == "return_state=True"
    assert recurrent.unsupported(L.Bidirectional(L.LSTM(3), merge_mode=None)) == "merge_mode=None"
    assert recurrent.unsupported(L.Bidirectional(L.LSTM(3))) is None
    import keras

    inp = keras.Input((20, 4))
    h = L.LSTM(3, activation="softmax", name="rnn")(inp)
    model = Model.from_keras(keras.Model(inp, L.Dense(1)(h)))
    assert unsupported_part(model) == "layer 'rnn' (LSTM with activation 'softmax' (not elementwise))"
